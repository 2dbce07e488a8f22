package milter

import (
	"fmt"
	"net/netip"
	"path"
	"regexp"
	"slices"
	"strings"
)

// Class is a kind of mail with its own delivery treatment: legal notices,
// collections, transactional, marketing... A class with VERP leaves through
// its dedicated-IP pool; one without leaves as Postfix routes it.
type Class struct {
	Name string `yaml:"name"`
	// Pool is the dedicated-IP pool. It needs verp: true: the milter
	// names the pool in the VERP return path (PREFIX-POOL-TOKEN@BOUNCE),
	// and Postfix's sender_dependent_default_transport_maps sends mail
	// with that envelope sender, when Postfix would hand it to its
	// default transport, through the transport smtp-POOL. Local, virtual,
	// relay_domains and transport_maps recipients keep their routes. A
	// class without VERP leaves as Postfix routes it, whatever it names
	// here (Unrouted lists such classes). Pool names in VERP classes hold
	// only lowercase letters and digits.
	Pool string `yaml:"pool"`
	// VERP replaces the envelope sender of this class's mail with a signed
	// return path in the bounce domain (needs the verp section).
	VERP bool `yaml:"verp"`
	// ReadReceipt asks the recipients' mail clients for read receipts
	// (RFC 8098 message disposition notifications): the milter adds
	// Disposition-Notification-To with the message's VERP return path,
	// so that receipts come back to the bounce intake and clients may
	// send them (RFC 8098 section 2.1: a client should not send one
	// automatically to an address other than the Return-Path). It needs
	// verp: true. A receipt says what the client did with the message
	// (displayed, deleted...), never that a person read it.
	ReadReceipt bool `yaml:"read_receipt"`
	// Bulk marks marketing mail, which Gmail and Yahoo require to carry
	// one-click unsubscribe (RFC 8058); the milter counts its messages
	// that do not (mailtrace_milter_unsubscribe_missing_total). Mail goes
	// through unchanged either way.
	Bulk bool `yaml:"bulk"`
}

// Rule picks a class for the messages it matches. Every condition given
// must hold; a list condition holds when any of its entries does. Rules are
// tried in order; the first that matches wins.
type Rule struct {
	// Name identifies the rule in logs and accept records (default rule-N).
	Name  string `yaml:"name"`
	Class string `yaml:"class"`
	// Sender matches the envelope sender: an address, "@domain", or a
	// shell pattern such as "*@notices.example" (case-insensitive).
	Sender []string `yaml:"sender"`
	// SASLUser matches the SMTP AUTH user name exactly.
	SASLUser []string `yaml:"sasl_user"`
	// ClientNetwork matches the SMTP client's address: CIDR or address.
	ClientNetwork []string `yaml:"client_network"`
	// RecipientDomain holds when any recipient is in one of these domains
	// (or their subdomains).
	RecipientDomain []string `yaml:"recipient_domain"`
	// Header maps a header name to a regular expression (RE2 syntax) its
	// value must match.
	Header map[string]string `yaml:"header"`
	// Subject is a regular expression for the Subject header.
	Subject string `yaml:"subject"`
}

// envelope is what a rule looks at.
type envelope struct {
	sender     string
	saslUser   string
	clientIP   netip.Addr
	recipients []string
	headers    map[string][]string // lowercase name -> values
}

// rule is a Rule ready to match.
type rule struct {
	name     string
	class    *Class
	senders  []string
	sasl     []string
	networks []netip.Prefix
	domains  []string
	headers  []headerMatch
	subject  *regexp.Regexp
}

type headerMatch struct {
	name string // lowercase
	re   *regexp.Regexp
}

// classifier holds the compiled rules and classes.
type classifier struct {
	classes  map[string]*Class
	rules    []rule
	fallback *Class
	// headers are the (lowercase) header names the rules read.
	headers map[string]bool
}

func newClassifier(classes []Class, rules []Rule, defaultClass string) (*classifier, error) {
	c := &classifier{classes: map[string]*Class{}, headers: map[string]bool{}}
	for i := range classes {
		cl := classes[i]
		if cl.Name == "" {
			return nil, fmt.Errorf("milter.classes[%d]: each class needs a name (e.g. {name: legal, pool: legal, verp: true})", i)
		}
		if !validToken(cl.Name) || cl.Pool != "" && !validToken(cl.Pool) {
			return nil, fmt.Errorf("milter.classes[%d]: class %q and pool %q may hold only letters, digits, '-' and '_' (they become header values and transport names)", i, cl.Name, cl.Pool)
		}
		if c.classes[cl.Name] != nil {
			return nil, fmt.Errorf("milter.classes: class %q is defined twice", cl.Name)
		}
		if cl.ReadReceipt && !cl.VERP {
			return nil, fmt.Errorf("milter.classes[%d]: class %q asks for read receipts but has no verp: true; receipts go to the VERP return path, so set verp: true (and the verp section) or drop read_receipt", i, cl.Name)
		}
		c.classes[cl.Name] = &cl
	}
	if len(classes) == 0 {
		return nil, fmt.Errorf("milter.classes is empty; define at least one class, e.g. {name: transactional, pool: transactional, verp: true}")
	}
	c.fallback = c.classes[defaultClass]
	if c.fallback == nil {
		return nil, fmt.Errorf("milter.default_class %q is not one of milter.classes", defaultClass)
	}
	for i, r := range rules {
		cr := rule{name: r.Name, class: c.classes[r.Class]}
		if cr.name == "" {
			cr.name = fmt.Sprintf("rule-%d", i+1)
		}
		where := fmt.Sprintf("milter.rules[%d] (%s)", i, cr.name)
		if cr.class == nil {
			return nil, fmt.Errorf("%s: class %q is not one of milter.classes", where, r.Class)
		}
		for _, s := range r.Sender {
			s = strings.ToLower(s)
			if _, err := path.Match(s, ""); err != nil {
				return nil, fmt.Errorf("%s: sender pattern %q: %v", where, s, err)
			}
			cr.senders = append(cr.senders, s)
		}
		cr.sasl = r.SASLUser
		var err error
		if cr.networks, err = parseNetworks(r.ClientNetwork); err != nil {
			return nil, fmt.Errorf("%s: client_network: %w", where, err)
		}
		for _, d := range r.RecipientDomain {
			cr.domains = append(cr.domains, strings.ToLower(strings.TrimPrefix(d, "@")))
		}
		for name, expr := range r.Header {
			re, err := regexp.Compile(expr)
			if err != nil {
				return nil, fmt.Errorf("%s: header %s: %v", where, name, err)
			}
			n := strings.ToLower(name)
			cr.headers = append(cr.headers, headerMatch{name: n, re: re})
			c.headers[n] = true
		}
		if r.Subject != "" {
			re, err := regexp.Compile(r.Subject)
			if err != nil {
				return nil, fmt.Errorf("%s: subject: %v", where, err)
			}
			cr.subject = re
			c.headers["subject"] = true
		}
		if len(cr.senders)+len(cr.sasl)+len(cr.networks)+len(cr.domains)+len(cr.headers) == 0 && cr.subject == nil {
			return nil, fmt.Errorf("%s: no condition; a rule without conditions would match everything (use default_class instead)", where)
		}
		c.rules = append(c.rules, cr)
	}
	return c, nil
}

// classify returns the class of the first matching rule (and its name), or
// the default class.
func (c *classifier) classify(e *envelope) (*Class, string) {
	for i := range c.rules {
		if c.rules[i].matches(e) {
			return c.rules[i].class, c.rules[i].name
		}
	}
	return c.fallback, "default"
}

func (r *rule) matches(e *envelope) bool {
	if len(r.senders) > 0 && !matchSender(r.senders, strings.ToLower(e.sender)) {
		return false
	}
	if len(r.sasl) > 0 && !slices.Contains(r.sasl, e.saslUser) {
		return false
	}
	if len(r.networks) > 0 && !inNetworks(r.networks, e.clientIP) {
		return false
	}
	if len(r.domains) > 0 && !anyRecipientIn(r.domains, e.recipients) {
		return false
	}
	for _, h := range r.headers {
		if !anyMatch(h.re, e.headers[h.name]) {
			return false
		}
	}
	if r.subject != nil && !anyMatch(r.subject, e.headers["subject"]) {
		return false
	}
	return true
}

func matchSender(patterns []string, sender string) bool {
	for _, p := range patterns {
		switch {
		case strings.HasPrefix(p, "@"):
			if strings.HasSuffix(sender, p) {
				return true
			}
		case strings.ContainsAny(p, "*?["):
			if ok, _ := path.Match(p, sender); ok {
				return true
			}
		case p == sender:
			return true
		}
	}
	return false
}

func anyRecipientIn(domains, recipients []string) bool {
	for _, r := range recipients {
		at := strings.LastIndexByte(r, '@')
		if at < 0 {
			continue
		}
		d := strings.ToLower(r[at+1:])
		for _, want := range domains {
			if d == want || strings.HasSuffix(d, "."+want) {
				return true
			}
		}
	}
	return false
}

func anyMatch(re *regexp.Regexp, values []string) bool {
	for _, v := range values {
		if re.MatchString(v) {
			return true
		}
	}
	return false
}

// parseNetworks reads a list of networks, each a CIDR or a single address.
func parseNetworks(list []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, n := range list {
		p, err := netip.ParsePrefix(n)
		if err != nil {
			a, aerr := netip.ParseAddr(n)
			if aerr != nil {
				return nil, fmt.Errorf("%q is neither a CIDR nor an address", n)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// inNetworks tells whether ip (IPv4-mapped IPv6 counts as IPv4) is in
// one of the networks.
func inNetworks(nets []netip.Prefix, ip netip.Addr) bool {
	if !ip.IsValid() {
		return false
	}
	for _, p := range nets {
		if p.Contains(ip.Unmap()) {
			return true
		}
	}
	return false
}

// validToken tells whether s is safe as a header value and in a Postfix
// transport name.
func validToken(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
