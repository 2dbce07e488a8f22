package senderauth

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path"
	"strings"
	"unicode"
)

// SigningKey is one key the DKIM signer signs with.
type SigningKey struct {
	Domain   string // d=
	Selector string // s=
	KeyFile  string // the private key (PEM), "" when the signer's config does not name one
	// Patterns are the senders it signs for (OpenDKIM's SigningTable);
	// empty means every sender of Domain.
	Patterns []string
	Source   string // which config named it
}

// SignsFor tells whether the key signs mail from an address in domain.
func (k SigningKey) SignsFor(domain string) bool {
	domain = strings.ToLower(domain)
	if len(k.Patterns) == 0 {
		return strings.EqualFold(k.Domain, domain)
	}
	for _, p := range k.Patterns {
		p = strings.ToLower(p)
		if !strings.Contains(p, "@") {
			if p == domain || strings.HasPrefix(p, "*.") && strings.HasSuffix(domain, p[1:]) || p == "*" {
				return true
			}
			continue
		}
		for _, who := range []string{"postmaster@" + domain, "x@" + domain} {
			if ok, _ := path.Match(p, who); ok {
				return true
			}
		}
		if strings.HasSuffix(p, "@"+domain) || p == "*" {
			return true
		}
	}
	return false
}

// SigningKeys reads the signer's keys from every configuration named.
func (c DKIMConfig) SigningKeys(domains []string) ([]SigningKey, []error) {
	var keys []SigningKey
	var errs []error
	if c.OpenDKIMKeyTable != "" {
		k, err := readOpenDKIM(c.OpenDKIMKeyTable, c.OpenDKIMSigningTable, "OpenDKIM")
		keys, errs = append(keys, k...), appendErr(errs, err)
	}
	if c.RspamdSigning != "" {
		k, err := readRspamd(c.RspamdSigning, domains)
		keys, errs = append(keys, k...), appendErr(errs, err)
	}
	if c.DkimpyConfig != "" {
		k, err := readDkimpy(c.DkimpyConfig)
		keys, errs = append(keys, k...), appendErr(errs, err)
	}
	for _, k := range c.Keys {
		keys = append(keys, SigningKey{Domain: strings.ToLower(k.Domain), Selector: k.Selector, KeyFile: k.PrivateKey, Source: "mailtrace.yaml auth.dkim.keys"})
	}
	return keys, errs
}

func appendErr(errs []error, err error) []error {
	if err != nil {
		return append(errs, err)
	}
	return errs
}

// tableLines reads a whitespace-separated table (OpenDKIM's tables,
// dkimpy-milter's config), without comments and blank lines.
func tableLines(file string) ([][]string, error) {
	name := strings.TrimPrefix(strings.TrimPrefix(file, "refile:"), "file:")
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	var out [][]string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		if f := strings.Fields(line); len(f) > 0 {
			out = append(out, f)
		}
	}
	return out, sc.Err()
}

// readOpenDKIM reads a KeyTable ("NAME DOMAIN:SELECTOR:KEYFILE") and a
// SigningTable ("PATTERN NAME") as opendkim.conf(5) describes them.
func readOpenDKIM(keyTable, signingTable, source string) ([]SigningKey, error) {
	lines, err := tableLines(keyTable)
	if err != nil {
		return nil, fmt.Errorf("%s KeyTable: %w", source, err)
	}
	byName := map[string]*SigningKey{}
	var order []string
	for _, f := range lines {
		if len(f) < 2 {
			continue
		}
		parts := strings.SplitN(f[1], ":", 3)
		if len(parts) < 2 {
			return nil, fmt.Errorf("%s KeyTable %s: %q is not DOMAIN:SELECTOR:KEYFILE", source, keyTable, f[1])
		}
		k := &SigningKey{Domain: strings.ToLower(parts[0]), Selector: parts[1], Source: source + " " + keyTable}
		if len(parts) == 3 {
			k.KeyFile = parts[2]
		}
		byName[f[0]] = k
		order = append(order, f[0])
	}
	if signingTable != "" {
		lines, err := tableLines(signingTable)
		if err != nil {
			return nil, fmt.Errorf("%s SigningTable: %w", source, err)
		}
		for _, f := range lines {
			if len(f) >= 2 {
				if k := byName[f[1]]; k != nil {
					k.Patterns = append(k.Patterns, f[0])
				}
			}
		}
	}
	out := make([]SigningKey, 0, len(order))
	for _, n := range order {
		k := *byName[n]
		if signingTable != "" && len(k.Patterns) == 0 {
			continue // in the KeyTable, but the SigningTable never uses it
		}
		out = append(out, k)
	}
	return out, nil
}

// readDkimpy reads dkimpy-milter.conf: Domain, Selector, KeyFile (and the
// Ed25519 pair), or a KeyTable and SigningTable.
func readDkimpy(file string) ([]SigningKey, error) {
	lines, err := tableLines(file)
	if err != nil {
		return nil, fmt.Errorf("dkimpy-milter config: %w", err)
	}
	settings := map[string]string{}
	for _, f := range lines {
		if len(f) >= 2 {
			settings[strings.ToLower(f[0])] = strings.Join(f[1:], " ")
		}
	}
	source := "dkimpy-milter " + file
	if kt := settings["keytable"]; kt != "" {
		return readOpenDKIM(kt, settings["signingtable"], "dkimpy-milter")
	}
	var out []SigningKey
	for _, d := range strings.FieldsFunc(settings["domain"], func(r rune) bool { return r == ',' || unicode.IsSpace(r) }) {
		if s := settings["selector"]; s != "" {
			out = append(out, SigningKey{Domain: strings.ToLower(d), Selector: s, KeyFile: settings["keyfile"], Source: source})
		}
		if s := settings["selectored25519"]; s != "" {
			out = append(out, SigningKey{Domain: strings.ToLower(d), Selector: s, KeyFile: settings["keyfileed25519"], Source: source})
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("dkimpy-milter config %s names no Domain with a Selector", file)
	}
	return out, nil
}

// readRspamd reads rspamd's dkim_signing.conf (UCL): the global selector
// and path (with $domain and $selector), and per-domain blocks
// (domain { NAME { selector = ...; path = ...; } }, or a selectors list).
func readRspamd(file string, domains []string) ([]SigningKey, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("rspamd dkim_signing.conf: %w", err)
	}
	root, err := parseUCL(data)
	if err != nil {
		return nil, fmt.Errorf("rspamd %s: %w", file, err)
	}
	source := "rspamd " + file
	var out []SigningKey
	expand := func(p, d, s string) string {
		return strings.NewReplacer("$domain", d, "$selector", s).Replace(p)
	}
	globalSel, globalPath := root.str("selector"), root.str("path")
	listed := map[string]bool{}
	if dom := root.block("domain"); dom != nil {
		for _, name := range dom.order {
			b := dom.blocks[name]
			if b == nil {
				continue
			}
			listed[strings.ToLower(name)] = true
			sels := b.list("selectors")
			if len(sels) == 0 {
				sels = []*ucl{b}
			}
			for _, sb := range sels {
				sel := sb.str("selector")
				if sel == "" {
					sel = globalSel
				}
				p := sb.str("path")
				if p == "" {
					p = globalPath
				}
				out = append(out, SigningKey{Domain: strings.ToLower(name), Selector: sel, KeyFile: expand(p, name, sel), Source: source})
			}
		}
	}
	// The global selector and path sign every domain not listed.
	if globalSel != "" && globalPath != "" {
		for _, d := range domains {
			if !listed[strings.ToLower(d)] {
				out = append(out, SigningKey{Domain: strings.ToLower(d), Selector: globalSel, KeyFile: expand(globalPath, d, globalSel), Source: source + " (global selector)"})
			}
		}
	}
	return out, nil
}

// ucl is a parsed block of rspamd's configuration language, the part
// dkim_signing.conf uses: key = value; pairs, name { ... } blocks and
// key = [ { ... }, ... ] lists.
type ucl struct {
	values map[string]string
	blocks map[string]*ucl
	lists  map[string][]*ucl
	order  []string
}

func newUCL() *ucl {
	return &ucl{values: map[string]string{}, blocks: map[string]*ucl{}, lists: map[string][]*ucl{}}
}

func (u *ucl) str(k string) string  { return u.values[k] }
func (u *ucl) block(k string) *ucl  { return u.blocks[k] }
func (u *ucl) list(k string) []*ucl { return u.lists[k] }

func parseUCL(data []byte) (*ucl, error) {
	toks, err := uclTokens(string(data))
	if err != nil {
		return nil, err
	}
	p := &uclParser{toks: toks}
	root := newUCL()
	if err := p.body(root, ""); err != nil {
		return nil, err
	}
	return root, nil
}

func uclTokens(s string) ([]string, error) {
	var out []string
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '#':
			for i < len(s) && s[i] != '\n' {
				i++
			}
		case strings.HasPrefix(s[i:], "/*"):
			end := strings.Index(s[i+2:], "*/")
			if end < 0 {
				return nil, fmt.Errorf("a comment does not end")
			}
			i += end + 4
		case unicode.IsSpace(rune(c)):
			i++
		case strings.ContainsRune("{}[]=;:,", rune(c)):
			out = append(out, string(c))
			i++
		case c == '"' || c == '\'':
			j := i + 1
			var b strings.Builder
			for j < len(s) && s[j] != c {
				if s[j] == '\\' && j+1 < len(s) {
					j++
				}
				b.WriteByte(s[j])
				j++
			}
			if j >= len(s) {
				return nil, fmt.Errorf("a quoted string does not end")
			}
			out = append(out, "\x00"+b.String())
			i = j + 1
		default:
			j := i
			for j < len(s) && !unicode.IsSpace(rune(s[j])) && !strings.ContainsRune("{}[]=;:,\"'#", rune(s[j])) {
				j++
			}
			out = append(out, "\x00"+s[i:j])
			i = j
		}
	}
	return out, nil
}

type uclParser struct {
	toks []string
	pos  int
}

func (p *uclParser) peek() string {
	if p.pos < len(p.toks) {
		return p.toks[p.pos]
	}
	return ""
}

func (p *uclParser) next() string { t := p.peek(); p.pos++; return t }

// body reads pairs until end ("}" or the end of input).
func (p *uclParser) body(u *ucl, end string) error {
	for {
		t := p.peek()
		switch {
		case t == "" && end == "":
			return nil
		case t == "":
			return fmt.Errorf("a block does not end")
		case t == end:
			p.next()
			return nil
		case t == ";" || t == ",":
			p.next()
			continue
		case t[0] != 0:
			return fmt.Errorf("unexpected %q", t)
		}
		key := p.next()[1:]
		if p.peek() == "=" || p.peek() == ":" {
			p.next()
		}
		switch v := p.next(); {
		case v == "{":
			b := newUCL()
			if err := p.body(b, "}"); err != nil {
				return err
			}
			u.blocks[key] = b
			u.order = append(u.order, key)
		case v == "[":
			for {
				t := p.next()
				if t == "]" {
					break
				}
				if t == "" {
					return fmt.Errorf("a list does not end")
				}
				if t == "{" {
					b := newUCL()
					if err := p.body(b, "}"); err != nil {
						return err
					}
					u.lists[key] = append(u.lists[key], b)
				}
			}
		case v != "" && v[0] == 0:
			u.values[key] = v[1:]
		default:
			return fmt.Errorf("%s has no value", key)
		}
	}
}
