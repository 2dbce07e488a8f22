package reply

import (
	"fmt"
	"strings"
)

// Classifier classifies replies by a set of rules. It is safe for
// concurrent use.
type Classifier struct {
	text     *automaton
	patterns []string // by pattern number, lowercased
	ruleOf   []int32  // pattern number -> text rule
	rules    []TextRule
	blockOf  map[string]bool
	codes    map[string]string
	basic    map[string]string
	byHost   map[string]string // host or parent domain -> provider
	byDomain map[string]string // recipient domain -> provider
}

// Result is how one reply is classified.
type Result struct {
	// Category is empty for a successful delivery.
	Category string `json:"category"`
	Block    bool   `json:"block"`
	Provider string `json:"provider,omitempty"`
	// By tells what decided: text, enhanced, basic, or status (an expired
	// message).
	By string `json:"by,omitempty"`
	// Pattern is the text pattern that matched, for rule authors.
	Pattern string `json:"pattern,omitempty"`
}

// New compiles rules, with extra providers tried before the rules' own.
func New(r *Rules, extra []Provider) (*Classifier, error) {
	if err := checkProviders(extra); err != nil {
		return nil, err
	}
	c := &Classifier{rules: r.Text, blockOf: map[string]bool{}, codes: r.Codes, basic: r.Basic,
		byHost: map[string]string{}, byDomain: map[string]string{}}
	for _, cat := range r.Categories {
		c.blockOf[cat.Name] = cat.Block
	}
	for i, t := range r.Text {
		for _, p := range t.Patterns {
			c.patterns = append(c.patterns, strings.ToLower(p))
			c.ruleOf = append(c.ruleOf, int32(i))
		}
	}
	c.text = newAutomaton(c.patterns)
	for _, p := range append(append([]Provider{}, extra...), r.Providers...) {
		for _, h := range p.Hosts {
			h = strings.ToLower(h)
			if _, ok := c.byHost[h]; !ok {
				c.byHost[h] = p.Name
			}
		}
		for _, d := range p.Domains {
			d = strings.ToLower(d)
			if _, ok := c.byDomain[d]; !ok {
				c.byDomain[d] = p.Name
			}
		}
	}
	return c, nil
}

// Default is a classifier with the shipped rules.
func Default() *Classifier {
	r, err := LoadRules("")
	if err != nil {
		panic(fmt.Sprintf("shipped reply rules: %v", err))
	}
	c, err := New(r, nil)
	if err != nil {
		panic(fmt.Sprintf("shipped reply rules: %v", err))
	}
	return c
}

// Classify classifies a reply: its text, its enhanced status code if it
// came separately (Postfix's dsn=, a DSN's Status field; else it is read
// from the text), the host that answered (MX or relay; may be empty) and
// the recipient's domain.
func (c *Classifier) Classify(text, enhanced, host, rcptDomain string) Result {
	r := Result{Provider: c.Provider(host, rcptDomain)}
	if enhanced == "" {
		enhanced = EnhancedCode(text)
	}
	basic := BasicCode(text)
	if strings.HasPrefix(enhanced, "2.") || (enhanced == "" && strings.HasPrefix(basic, "2")) {
		return r
	}
	if i := c.text.first(text); i >= 0 {
		rule := c.rules[c.ruleOf[i]]
		r.Category, r.By, r.Pattern = rule.Category, "text", c.patterns[i]
		r.Block = c.blockOf[rule.Category]
		if rule.Block != nil {
			r.Block = *rule.Block
		}
		return r
	}
	if cat := c.byCode(enhanced); cat != "" {
		r.Category, r.By = cat, "enhanced"
	} else if cat := c.byBasic(basic); cat != "" {
		r.Category, r.By = cat, "basic"
	} else {
		r.Category = "other"
	}
	r.Block = c.blockOf[r.Category]
	return r
}

func (c *Classifier) byCode(code string) string {
	_, rest, ok := strings.Cut(code, ".")
	if !ok {
		return ""
	}
	if cat, ok := c.codes[rest]; ok {
		return cat
	}
	subject, _, _ := strings.Cut(rest, ".")
	return c.codes[subject+".*"]
}

func (c *Classifier) byBasic(code string) string {
	if code == "" {
		return ""
	}
	if cat, ok := c.basic[code]; ok {
		return cat
	}
	return c.basic[code[:1]+"xx"]
}

// Provider names the provider of an MX or relay host, else of a recipient
// domain, or "" when neither is known. Host names are matched with every
// parent domain (gmail-smtp-in.l.google.com, l.google.com, google.com).
func (c *Classifier) Provider(host, rcptDomain string) string {
	if p := lookupSuffix(c.byHost, host); p != "" {
		return p
	}
	return lookupSuffix(c.byDomain, rcptDomain)
}

func lookupSuffix(m map[string]string, name string) string {
	if name == "" || len(m) == 0 {
		return ""
	}
	name = strings.TrimSuffix(name, ".")
	if hasUpper(name) {
		name = strings.ToLower(name)
	}
	for {
		if p, ok := m[name]; ok {
			return p
		}
		i := strings.IndexByte(name, '.')
		if i < 0 {
			return ""
		}
		name = name[i+1:]
	}
}

func hasUpper(s string) bool {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			return true
		}
	}
	return false
}

// EnhancedCode finds the first enhanced status code (RFC 3463:
// class.subject.detail, class 2, 4 or 5, up to three digits each) in a
// reply, or "".
func EnhancedCode(text string) string {
	for i := 0; i+4 < len(text); i++ {
		c := text[i]
		if (c != '2' && c != '4' && c != '5') || text[i+1] != '.' || (i > 0 && (isDigit(text[i-1]) || text[i-1] == '.')) {
			continue
		}
		j := i + 2
		a := digits(text, j)
		if a == 0 || a > 3 || j+a >= len(text) || text[j+a] != '.' {
			continue
		}
		k := j + a + 1
		b := digits(text, k)
		if b == 0 || b > 3 || (k+b < len(text) && (text[k+b] == '.' || isAlnum(text[k+b]))) {
			continue
		}
		return text[i : k+b]
	}
	return ""
}

// BasicCode finds the basic reply code: the three digits the reply starts
// with, or that follow "said: " in Postfix's wording, or "".
func BasicCode(text string) string {
	if i := strings.Index(text, "said: "); i >= 0 {
		text = text[i+len("said: "):]
	}
	if len(text) >= 3 && text[0] >= '2' && text[0] <= '5' && isDigit(text[1]) && isDigit(text[2]) &&
		(len(text) == 3 || text[3] == ' ' || text[3] == '-') {
		return text[:3]
	}
	return ""
}

func isDigit(b byte) bool { return '0' <= b && b <= '9' }

func isAlnum(b byte) bool { return isDigit(b) || 'a' <= lower(b) && lower(b) <= 'z' }

func digits(s string, i int) int {
	n := 0
	for i+n < len(s) && isDigit(s[i+n]) {
		n++
	}
	return n
}

// Domain is the domain of an address, or "".
func Domain(address string) string {
	if i := strings.LastIndexByte(address, '@'); i >= 0 {
		return address[i+1:]
	}
	return ""
}
