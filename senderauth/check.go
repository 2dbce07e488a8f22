package senderauth

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"blitiri.com.ar/go/spf"

	"github.com/mailtrace/mailtrace/pool"
	"github.com/mailtrace/mailtrace/postfixconf"
	"github.com/mailtrace/mailtrace/resolver"
)

// Class is a class of mail with the domains it sends as.
type Class struct {
	Name, Pool     string
	VERP           bool
	FromDomain     string
	EnvelopeDomain string // MAIL FROM domain without VERP; default the From domain
	Bulk           bool
}

// Setup is everything the checks look at.
type Setup struct {
	Classes      []Class
	Pools        []pool.Pool
	BounceDomain string // the VERP bounce domain
	// ReportAddresses receive rua, ruf and TLS-RPT reports (the intake).
	ReportAddresses []string
	DKIM            DKIMConfig
	// Postfix is the live configuration, for the transports' TLS level,
	// HELO name and IPv6, and for the source address of classes that leave
	// through Postfix's own routing (see Source); nil skips those checks
	// and leaves that address unknown.
	Postfix *postfixconf.Postconf
}

// Envelope is the MAIL FROM domain of a class's mail.
func (s Setup) Envelope(c Class) string {
	switch {
	case c.VERP && s.BounceDomain != "":
		return strings.ToLower(s.BounceDomain)
	case c.EnvelopeDomain != "":
		return strings.ToLower(c.EnvelopeDomain)
	}
	return strings.ToLower(c.FromDomain)
}

func (s Setup) pool(name string) (pool.Pool, bool) {
	for _, p := range s.Pools {
		if p.Name == name {
			return p, true
		}
	}
	return pool.Pool{}, false
}

// Severities, as the rest of the doctor says them.
const (
	OK      = postfixconf.OK
	Warning = postfixconf.Warning
	Problem = postfixconf.Problem
)

type checker struct {
	s   Setup
	r   *resolver.Resolver
	ctx context.Context
	out []postfixconf.Finding
}

func (c *checker) add(sev postfixconf.Severity, fix, format string, args ...any) {
	c.out = append(c.out, postfixconf.Finding{Severity: sev, Message: fmt.Sprintf(format, args...), Fix: fix})
}

// Check runs every check and returns what it found, each problem with the
// record or line that fixes it.
func (s Setup) Check(ctx context.Context, r *resolver.Resolver) []postfixconf.Finding {
	c := &checker{s: s, r: r, ctx: ctx}
	var classes []Class
	for _, cl := range s.Classes {
		if cl.FromDomain == "" {
			c.add(Warning, "mailtrace.yaml:\nauth:\n  classes:\n    - {name: "+cl.Name+", from_domain: example.com}",
				"class %s: no from_domain in auth.classes, so its SPF, DKIM and DMARC are not checked", cl.Name)
			continue
		}
		classes = append(classes, cl)
	}
	for _, p := range s.Pools {
		c.checkPool(p)
	}
	c.checkSPF(classes)
	keys := c.checkDKIMKeys(classes)
	c.checkDMARC(classes, keys)
	c.checkReportingRecords(classes)
	for _, cl := range classes {
		if cl.Bulk {
			c.add(OK, "", "class %s is bulk mail: each message must carry List-Unsubscribe with an https URI and List-Unsubscribe-Post: List-Unsubscribe=One-Click (RFC 8058); the milter counts those without (mailtrace_milter_unsubscribe_missing_total)", cl.Name)
		}
	}
	return c.out
}

// checkPool: forward-confirmed reverse DNS equal to the HELO name, IPv6,
// TLS.
func (c *checker) checkPool(p pool.Pool) {
	helo := p.HeloName
	var svc *postfixconf.Service
	if pc := c.s.Postfix; pc != nil {
		svc = pc.Services[postfixconf.Transport(p.Name)+"/unix"]
		if svc != nil {
			if h := option(pc, svc, "smtp_helo_name"); h != "" {
				if helo != "" && !strings.EqualFold(h, helo) {
					c.add(Problem, fmt.Sprintf("master.cf, under %s:\n  -o smtp_helo_name=%s", postfixconf.Transport(p.Name), helo),
						"pool %s: its transport greets as %s, not %s as mailtrace.yaml says", p.Name, h, helo)
				}
				helo = h
			}
		}
	}
	if p.SourceIP == "" {
		c.add(Warning, "", "pool %s has no source_ip: its reverse DNS, SPF and HELO are not checked", p.Name)
		return
	}
	ip := p.SourceIP
	names, err := c.r.LookupAddr(c.ctx, ip)
	switch {
	case resolver.IsNotFound(err):
		c.add(Problem, fmt.Sprintf("your IP provider's reverse zone (ask them):\n%s PTR %s.", reverse(ip), orName(helo)),
			"pool %s: %s has no reverse DNS (PTR); Gmail and Yahoo refuse bulk mail from it (Gmail: 4.7.23/5.7.25)", p.Name, ip)
		return
	case err != nil:
		c.add(Problem, "", "pool %s: reverse DNS of %s: %v", p.Name, ip, err)
		return
	}
	confirmed := ""
	for _, n := range names {
		n = strings.TrimSuffix(n, ".")
		addrs, err := c.r.LookupIPAddr(c.ctx, n)
		if err != nil {
			continue
		}
		for _, a := range addrs {
			if x, ok := netip.AddrFromSlice(a.IP); ok && x.Unmap().String() == mustAddr(ip) {
				confirmed = n
			}
		}
	}
	if confirmed == "" {
		c.add(Problem, fmt.Sprintf("your DNS zone:\n%s. IN %s %s", strings.TrimSuffix(names[0], "."), addrType(ip), ip),
			"pool %s: %s's reverse name %s does not resolve back to it (forward-confirmed reverse DNS fails)", p.Name, ip, strings.TrimSuffix(names[0], "."))
	} else {
		c.add(OK, "", "pool %s: %s has forward-confirmed reverse DNS %s", p.Name, ip, confirmed)
	}
	switch {
	case helo == "":
		c.add(Warning, fmt.Sprintf("master.cf, under %s:\n  -o smtp_helo_name=%s", postfixconf.Transport(p.Name), orName(confirmed)),
			"pool %s: no HELO name is set for its transport; it greets with myhostname", p.Name)
	case confirmed != "" && !strings.EqualFold(helo, confirmed):
		c.add(Warning, fmt.Sprintf("master.cf, under %s:\n  -o smtp_helo_name=%s", postfixconf.Transport(p.Name), confirmed),
			"pool %s: greets as %s but %s's reverse DNS is %s; receivers trust a HELO that matches", p.Name, helo, ip, confirmed)
	case confirmed != "":
		c.add(OK, "", "pool %s: HELO name %s matches the reverse DNS", p.Name, helo)
	}
	if helo != "" {
		res := EvaluateSPF(c.ctx, c.r, ip, helo, "postmaster@"+helo)
		c.spfFinding(fmt.Sprintf("pool %s: SPF for HELO %s from %s", p.Name, helo, ip), helo, ip, res, Warning)
	}
	if pc := c.s.Postfix; pc != nil && svc != nil {
		protocols := strings.ToLower(option(pc, svc, "inet_protocols"))
		if addr, err := netip.ParseAddr(ip); err == nil && addr.Is4() && (protocols == "all" || strings.Contains(protocols, "ipv6")) &&
			option(pc, svc, "smtp_bind_address6") == "" {
			c.add(Warning, fmt.Sprintf("master.cf, under %s:\n  -o inet_protocols=ipv4\n(or -o smtp_bind_address6=YOUR:IPV6::ADDRESS with its PTR and SPF)", postfixconf.Transport(p.Name)),
				"pool %s: IPv6 is enabled (inet_protocols = %s) but the pool has no IPv6 source address: mail to IPv6 MX hosts leaves from an address without the pool's reverse DNS and SPF", p.Name, protocols)
		}
		switch level := strings.ToLower(option(pc, svc, "smtp_tls_security_level")); level {
		case "may", "encrypt", "dane", "dane-only", "verify", "secure", "fingerprint":
			c.add(OK, "", "pool %s: its transport uses TLS (smtp_tls_security_level = %s)", p.Name, level)
		default:
			c.add(Problem, fmt.Sprintf("master.cf, under %s:\n  -o smtp_tls_security_level=may", postfixconf.Transport(p.Name)),
				"pool %s: its transport does not use TLS (smtp_tls_security_level = %q); Gmail refuses bulk mail without it (4.7.29)", p.Name, level)
		}
	}
}

func option(pc *postfixconf.Postconf, svc *postfixconf.Service, name string) string {
	for _, o := range svc.Options {
		if o.Name == name {
			return o.Value
		}
	}
	return pc.Main[name]
}

func mustAddr(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	return a.Unmap().String()
}

func addrType(ip string) string {
	if strings.Contains(ip, ":") {
		return "AAAA"
	}
	return "A"
}

func orName(n string) string {
	if n == "" {
		return "mail.example.com."
	}
	return n
}

func reverse(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	if a.Is4() {
		b := a.As4()
		return fmt.Sprintf("%d.%d.%d.%d.in-addr.arpa.", b[3], b[2], b[1], b[0])
	}
	b := a.As16()
	var parts []string
	for i := 15; i >= 0; i-- {
		parts = append(parts, fmt.Sprintf("%x", b[i]&0xf), fmt.Sprintf("%x", b[i]>>4))
	}
	return strings.Join(parts, ".") + ".ip6.arpa."
}

func (c *checker) spfFinding(what, domain, ip string, res SPFResult, failSeverity postfixconf.Severity) {
	switch res.Result {
	case spf.Pass:
		c.add(OK, "", "%s: pass", what)
	case spf.TempError:
		c.add(Problem, "", "%s: temperror (%v): receivers defer or refuse; check the resolver and the domain's name servers", what, res.Err)
	case spf.PermError:
		c.add(Problem, "", "%s: permerror (%v): receivers treat the record as broken; fix it", what, res.Err)
	default:
		rec, _ := spfRecord(c.ctx, c.r, domain)
		c.add(failSeverity, "your DNS zone:\n"+zoneTXT(domain, withIP(rec, ip)),
			"%s: %s: %s is not allowed to send as %s", what, res.Result, ip, domain)
	}
}

func (c *checker) checkSPF(classes []Class) {
	counted := map[string]bool{}
	for _, cl := range classes {
		env := c.s.Envelope(cl)
		if !counted[env] {
			counted[env] = true
			n, err := CountSPF(c.ctx, c.r, env)
			switch {
			case err != nil:
				c.add(Problem, "", "SPF of %s: %v", env, err)
			case n.Record == "":
				// The evaluation below reports it with the record to publish.
			case n.Lookups > MaxLookups:
				c.add(Problem, "", "SPF of %s needs %d DNS lookups, over the limit of %d: receivers get permerror; replace includes by ip4:/ip6: ranges", env, n.Lookups, MaxLookups)
			case n.Voids > MaxVoidLookups:
				c.add(Problem, "", "SPF of %s makes %d void lookups (names that do not exist), over the limit of %d: receivers get permerror; remove them", env, n.Voids, MaxVoidLookups)
			default:
				c.add(OK, "", "SPF of %s: %d of %d DNS lookups, %d void", env, n.Lookups, MaxLookups, n.Voids)
			}
			if len(n.Macros) > 0 {
				c.add(Warning, "", "SPF of %s has macro terms (%s) whose lookups depend on each message; not counted", env, strings.Join(n.Macros, " "))
			}
		}
		src := c.s.Source(cl)
		if len(src.IPs) == 0 {
			if src.Routed {
				continue // the pool's own finding says it has no source_ip
			}
			rec, _ := spfRecord(c.ctx, c.r, env)
			published := "no SPF record is published"
			if rec != "" {
				published = fmt.Sprintf("the published record %q must allow it", rec)
			}
			c.add(Warning, "your DNS zone, the host's outgoing address in place of "+unknownAddress+":\n"+zoneTXT(env, withIP(rec, unknownAddress)),
				"class %s leaves through Postfix's own routing (no verp: true with a pool) from an address mailtrace does not know (%s): SPF for MAIL FROM @%s is not evaluated for it; %s",
				cl.Name, src.From, env, published)
			continue
		}
		for _, ip := range src.IPs {
			res := EvaluateSPF(c.ctx, c.r, ip, orName(src.Helo), "postmaster@"+env)
			c.spfFinding(fmt.Sprintf("class %s: SPF for MAIL FROM @%s from %s (%s)", cl.Name, env, src.Via, ip), env, ip, res, Problem)
		}
	}
}

// checkDKIMKeys checks every signing key in DNS; it returns the keys whose
// record holds their public half.
func (c *checker) checkDKIMKeys(classes []Class) []SigningKey {
	var domains []string
	for _, cl := range classes {
		if !slices.Contains(domains, strings.ToLower(cl.FromDomain)) {
			domains = append(domains, strings.ToLower(cl.FromDomain))
		}
	}
	keys, errs := c.s.DKIM.SigningKeys(domains)
	for _, err := range errs {
		c.add(Problem, "", "DKIM signer: %v", err)
	}
	if len(keys) == 0 && len(errs) == 0 {
		c.add(Warning, "mailtrace.yaml:\nauth:\n  dkim:\n    opendkim_key_table: /etc/opendkim/KeyTable\n    opendkim_signing_table: /etc/opendkim/SigningTable",
			"no DKIM signer configured in auth.dkim: keys are not checked (Gmail, Yahoo and Outlook require DKIM)")
	}
	var good []SigningKey
	for _, k := range keys {
		what := fmt.Sprintf("DKIM key %s._domainkey.%s (%s)", k.Selector, k.Domain, k.Source)
		dk, err := LookupDKIM(c.ctx, c.r, k.Domain, k.Selector)
		signer, perr := ReadPrivateKey(k.KeyFile)
		if k.KeyFile == "" {
			perr = fmt.Errorf("the signer's config names no key file")
		}
		if err != nil {
			fix := ""
			if perr == nil {
				fix = "your DNS zone:\n" + zoneTXT(k.Selector+"._domainkey."+k.Domain, dkimRecord(signer.Public()))
			}
			c.add(Problem, fix, "%s: %v: receivers cannot verify its signatures", what, err)
			continue
		}
		if dk.Revoked {
			c.add(Problem, "", "%s is revoked (p= empty): the signer signs with a key receivers refuse; sign with another selector", what)
			continue
		}
		switch {
		case dk.Type == "ed25519":
			c.add(OK, "", "%s: Ed25519 (RFC 8463); receivers that do not know it ignore the signature: keep an RSA signature beside it", what)
		case dk.Bits < MinRSABits:
			c.add(Problem, "", "%s: RSA of %d bits; verifiers refuse keys under %d bits (RFC 8301) and Yahoo requires 1024: make a 2048-bit key", what, dk.Bits, MinRSABits)
			continue
		case dk.Bits < AdvisedRSABits:
			c.add(Warning, "", "%s: RSA of %d bits; 2048 is advised (RFC 8301)", what, dk.Bits)
		default:
			c.add(OK, "", "%s: RSA of %d bits", what, dk.Bits)
		}
		if dk.Testing {
			c.add(Warning, "", "%s is in testing mode (t=y): verifiers may treat its signatures as unsigned", what)
		}
		if perr != nil {
			c.add(Warning, "", "%s: the private key %q cannot be read (%v): not compared with the DNS key (run the doctor as a user who may read it)", what, k.KeyFile, perr)
			good = append(good, k)
			continue
		}
		if !samePublic(signer, dk.Public) {
			c.add(Problem, "your DNS zone:\n"+zoneTXT(dk.Name, dkimRecord(signer.Public())),
				"%s: the key in DNS is not the public half of %s: every signature fails", what, k.KeyFile)
			continue
		}
		if err := VerifyThroughDNS(c.ctx, c.r, k.Domain, k.Selector, signer); err != nil {
			c.add(Problem, "", "%s: a message signed with %s does not verify through DNS: %v", what, k.KeyFile, err)
			continue
		}
		c.add(OK, "", "%s matches %s: a message signed with it verifies through DNS", what, k.KeyFile)
		good = append(good, k)
	}
	return good
}

func (c *checker) checkDMARC(classes []Class, keys []SigningKey) {
	policies := map[string]Policy{}
	for _, cl := range classes {
		from := strings.ToLower(cl.FromDomain)
		pol, seen := policies[from]
		if !seen {
			var err error
			pol, err = Discover(c.ctx, c.r, from)
			policies[from] = pol
			if err != nil {
				c.add(Problem, "", "DMARC of %s: %v", from, err)
				continue
			}
			c.dmarcRecordFindings(pol)
		}
		if pol.Record == nil {
			continue
		}
		env := c.s.Envelope(cl)
		spfAligned, err := Aligned(c.ctx, c.r, env, from, pol.Record.ASPF)
		if err != nil {
			c.add(Problem, "", "class %s: alignment of %s with %s: %v", cl.Name, env, from, err)
			continue
		}
		dkimAligned := ""
		for _, k := range keys {
			if !k.SignsFor(from) {
				continue
			}
			if ok, err := Aligned(c.ctx, c.r, k.Domain, from, pol.Record.ADKIM); err == nil && ok {
				dkimAligned = k.Selector + "._domainkey." + k.Domain
				break
			}
		}
		switch {
		case dkimAligned != "" && spfAligned:
			c.add(OK, "", "class %s: DMARC aligned through DKIM (d=%s) and SPF (MAIL FROM @%s)", cl.Name, dkimAligned, env)
		case dkimAligned != "":
			c.add(Warning, "", "class %s: DMARC aligned through DKIM (d=%s) only: MAIL FROM @%s is not aligned with From %s (aspf=%s), so mail fails DMARC whenever DKIM breaks (a forwarder, a mailing list); use a bounce domain under %s",
				cl.Name, dkimAligned, env, from, orRelaxed(pol.Record.ASPF), pol.OrgDomain)
		case spfAligned:
			c.add(Warning, "", "class %s: DMARC aligned through SPF (MAIL FROM @%s) only: no DKIM key that signs for %s is aligned with it (adkim=%s); Gmail, Yahoo and Outlook require DKIM",
				cl.Name, env, from, orRelaxed(pol.Record.ADKIM))
		default:
			c.add(Problem, "", "class %s: DMARC will fail: MAIL FROM @%s is not aligned with From %s and no working DKIM key signs for it; receivers apply p=%s",
				cl.Name, env, from, orNone(pol.Record.P))
		}
	}
}

func orRelaxed(m string) string {
	if m == "" {
		return AlignRelaxed
	}
	return m
}

func orNone(p string) string {
	if p == "" {
		return "none"
	}
	return p
}

func (c *checker) intake() string {
	if len(c.s.ReportAddresses) > 0 {
		return c.s.ReportAddresses[0]
	}
	return ""
}

func (c *checker) dmarcRecordFindings(pol Policy) {
	from := pol.Domain
	rua := "dmarc-reports@" + pol.OrgDomain
	if a := c.intake(); a != "" {
		rua = a
	}
	if pol.Record == nil {
		c.add(Problem, "your DNS zone:\n"+zoneTXT("_dmarc."+pol.OrgDomain, "v=DMARC1; p=none; rua=mailto:"+rua),
			"DMARC: %s has no DMARC record, nor has any domain above it; Gmail and Yahoo require one (at least p=none), Microsoft refuses bulk mail without it (5.7.515)", from)
		return
	}
	rec := pol.Record
	where := pol.At
	if where != from {
		where = pol.At + ", for " + from
	}
	policy := rec.P
	if where != from && rec.SP != "" {
		policy = rec.SP
	}
	if rec.P == "" {
		c.add(Warning, "", "DMARC of %s: no p= tag; receivers read it as p=none", where)
	} else {
		c.add(OK, "", "DMARC of %s: p=%s sp=%s np=%s", where, rec.P, orDash(rec.SP), orDash(rec.NP))
	}
	if policy == "none" {
		c.add(OK, "", "DMARC of %s is p=none: enough for Gmail and Yahoo; move to quarantine once reports show every source aligned", where)
	}
	if rec.Pct != "" && rec.Pct != "100" {
		c.add(Warning, "", "DMARC of %s has pct=%s: RFC 9989 removed pct; receivers apply the policy to all mail or use t=y", where, rec.Pct)
	}
	if len(rec.RUA) == 0 {
		c.add(Warning, "your DNS zone:\n"+zoneTXT("_dmarc."+pol.At, addTag(rec.Raw, "rua=mailto:"+rua)),
			"DMARC of %s asks for no aggregate reports (rua=): nobody tells you which sources fail", where)
	} else if a := c.intake(); a != "" && !slices.ContainsFunc(rec.RUA, func(u string) bool { return strings.EqualFold(mailto(u), a) }) {
		c.add(Warning, "", "DMARC of %s sends aggregate reports to %s, not to mailtrace's intake %s: they are not shown", where, strings.Join(rec.RUA, ","), a)
	}
	for _, u := range append(append([]string{}, rec.RUA...), rec.RUF...) {
		addr := mailto(u)
		at := strings.LastIndexByte(addr, '@')
		if at < 0 {
			continue
		}
		dest := strings.ToLower(addr[at+1:])
		if ok, _ := Aligned(c.ctx, c.r, dest, pol.At, AlignRelaxed); ok {
			continue
		}
		name := pol.At + "._report._dmarc." + dest
		txts, err := c.r.LookupTXT(c.ctx, name)
		authorised := err == nil && slices.ContainsFunc(txts, func(t string) bool { return strings.HasPrefix(strings.ToLower(strings.TrimSpace(t)), "v=dmarc1") })
		if authorised {
			c.add(OK, "", "DMARC of %s: reports to %s are authorised by %s", where, addr, name)
		} else {
			c.add(Problem, "the DNS zone of "+dest+":\n"+zoneTXT(name, "v=DMARC1"),
				"DMARC of %s: reports to %s, another domain, are not authorised (no v=DMARC1 at %s): receivers send none there (RFC 9990 section 4)", where, addr, name)
		}
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func mailto(u string) string {
	u = strings.TrimSpace(u)
	if i := strings.IndexByte(u, '!'); i >= 0 { // a size limit: mailto:a@b!10m
		u = u[:i]
	}
	return strings.TrimPrefix(strings.TrimPrefix(u, "mailto:"), "MAILTO:")
}

// addTag adds a tag to a record, for the fix.
func addTag(record, tag string) string {
	return strings.TrimRight(strings.TrimSpace(record), ";") + "; " + tag
}

// checkReportingRecords: TLS-RPT and MTA-STS for our domains.
func (c *checker) checkReportingRecords(classes []Class) {
	var domains []string
	for _, cl := range classes {
		if d := strings.ToLower(cl.FromDomain); !slices.Contains(domains, d) {
			domains = append(domains, d)
		}
	}
	rua := c.intake()
	for _, d := range domains {
		txts, err := c.r.LookupTXT(c.ctx, "_smtp._tls."+d)
		has := err == nil && slices.ContainsFunc(txts, func(t string) bool { return strings.HasPrefix(strings.ToLower(t), "v=tlsrptv1") })
		if has {
			c.add(OK, "", "TLS-RPT: %s asks for SMTP TLS reports (%s)", d, txts[0])
		} else {
			to := rua
			if to == "" {
				to = "tls-reports@" + d
			}
			c.add(Warning, "your DNS zone:\n"+zoneTXT("_smtp._tls."+d, "v=TLSRPTv1; rua=mailto:"+to),
				"TLS-RPT: %s publishes no _smtp._tls record: receivers that fail TLS with its MX hosts tell nobody", d)
		}
		txts, err = c.r.LookupTXT(c.ctx, "_mta-sts."+d)
		if err == nil && slices.ContainsFunc(txts, func(t string) bool { return strings.HasPrefix(strings.ToLower(t), "v=stsv1") }) {
			c.add(OK, "", "MTA-STS: %s publishes a policy (%s)", d, txts[0])
		} else {
			c.add(Warning, "", "MTA-STS: %s publishes no _mta-sts record: senders to it may fall back to plain text (RFC 8461: also serve https://mta-sts.%s/.well-known/mta-sts.txt)", d, d)
		}
	}
}
