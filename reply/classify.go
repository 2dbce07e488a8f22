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
	// soft finds the patterns of rules whose category is not hard, for
	// temporary replies; softOf maps its pattern numbers to patterns.
	soft   *automaton
	softOf []int32
	// expiry finds the words of a report that gave up on a message, read
	// with every run of digits as '#' (any number in a pattern);
	// expiryDigits the patterns that hold digits themselves, read as they
	// are.
	expiry, expiryDigits *automaton
	blockOf              map[string]bool
	hard                 map[string]bool
	statuses             map[string]string // category -> SUBJECT.DETAIL it supports
	codes                map[string]string
	basic                map[string]string
	byHost               map[string]string // host or parent domain -> provider
	byDomain             map[string]string // recipient domain -> provider
}

// Result is how one reply is classified.
type Result struct {
	// Category is empty for a successful delivery.
	Category string `json:"category"`
	Block    bool   `json:"block"`
	Provider string `json:"provider,omitempty"`
	// By tells what decided: text (the reply's words), context (the
	// words around it: a report's human-readable part), enhanced, basic,
	// or expired (a message given up on after temporary failures).
	By Decider `json:"by,omitempty"`
	// Pattern is the text pattern that matched, for rule authors.
	Pattern string `json:"pattern,omitempty"`
	// Inferred is the enhanced status code the category supports, in the
	// reply's class (5.1.1 for a permanent bad-mailbox), or "" when the
	// category names no single code or the codes decided. A report's
	// reader uses it where the report gives only a class.
	Inferred string `json:"inferred,omitempty"`
	// Auth names the sender authentication requirement the receiver
	// refused the mail for (a text rule's auth), or is empty.
	Auth AuthRequirement `json:"auth,omitempty"`
}

// Decider names the evidence that decided a category.
type Decider string

// Evidence, from the most to the least specific.
const (
	ByExpired  Decider = "expired"  // the message was given up on: its last reply does not matter
	ByText     Decider = "text"     // a text pattern in the reply
	ByContext  Decider = "context"  // a text pattern in the words around the reply
	ByEnhanced Decider = "enhanced" // the enhanced status code
	ByBasic    Decider = "basic"    // the basic reply code
)

// Reply is what is known of one receiver's reply.
type Reply struct {
	// Text is the reply as Postfix logged it or a report's diagnostic.
	Text string
	// Enhanced is its enhanced status code when it came apart from the
	// text (Postfix's dsn=, a DSN's Status field); else it is read from
	// the text.
	Enhanced string
	// Class is '4' or '5' when the reply's class is known apart from its
	// codes (a DSN's Status of 5.0.0 says only that), else 0.
	Class byte
	// Host is the MX or relay host that answered (may be empty);
	// RcptDomain the recipient's domain.
	Host, RcptDomain string
	// Context is more words about the same failure, read when the reply's
	// own words decide nothing: a report's human-readable part about this
	// recipient.
	Context string
	// Expired tells that the message was given up on after temporary
	// failures: its category is message-expired whatever its last reply.
	Expired bool
}

// New compiles rules, with extra providers tried before the rules' own.
func New(r *Rules, extra []Provider) (*Classifier, error) {
	if err := checkProviders(extra); err != nil {
		return nil, err
	}
	c := &Classifier{rules: r.Text, blockOf: map[string]bool{}, hard: map[string]bool{}, statuses: map[string]string{},
		codes: r.Codes, basic: r.Basic, byHost: map[string]string{}, byDomain: map[string]string{}}
	for _, cat := range r.Categories {
		c.blockOf[cat.Name], c.hard[cat.Name] = cat.Block, cat.Hard
		if cat.Status != "" {
			c.statuses[cat.Name] = cat.Status
		}
	}
	var soft []string
	for i, t := range r.Text {
		for _, p := range t.Patterns {
			if !c.hard[t.Category] {
				soft = append(soft, strings.ToLower(p))
				c.softOf = append(c.softOf, int32(len(c.patterns)))
			}
			c.patterns = append(c.patterns, strings.ToLower(p))
			c.ruleOf = append(c.ruleOf, int32(i))
		}
	}
	c.text, c.soft = newAutomaton(c.patterns), newAutomaton(soft)
	var expiry, expiryDigits []string
	for _, p := range r.Expired {
		if strings.ContainsAny(p, "0123456789") {
			expiryDigits = append(expiryDigits, strings.ToLower(p))
		} else {
			expiry = append(expiry, strings.ToLower(p))
		}
	}
	c.expiry = newAutomaton(expiry)
	if len(expiryDigits) > 0 {
		c.expiryDigits = newAutomaton(expiryDigits)
	}
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
	return c.ClassifyReply(Reply{Text: text, Enhanced: enhanced, Host: host, RcptDomain: rcptDomain})
}

// ClassifyReply classifies a reply with all that is known of it. The
// evidence goes from the most to the least specific: an expiry, the
// reply's words, the words around it, its enhanced code, its basic code.
//
// A temporary reply (class 4) never gets a hard category (one that says
// the address itself is bad, such as bad-mailbox): "450 4.2.0 mailbox
// temporarily unavailable" says nothing lasting about the mailbox, and a
// hard category would have it struck off. Such evidence is passed over
// for the next, down to other.
func (c *Classifier) ClassifyReply(in Reply) Result {
	r := Result{Provider: c.Provider(in.Host, in.RcptDomain)}
	enhanced := in.Enhanced
	if enhanced == "" {
		enhanced = EnhancedCode(in.Text)
	}
	basic := BasicCode(in.Text)
	class := in.Class
	switch {
	case class != 0:
	case enhanced != "":
		class = enhanced[0]
	case basic != "":
		class = basic[0]
	}
	if class == '2' {
		return r
	}
	temporary := class == '4'
	decide := func(cat string, by Decider) Result {
		r.Category, r.By, r.Block = cat, by, c.blockOf[cat]
		if by != ByEnhanced && by != ByBasic {
			if st := c.statuses[cat]; st != "" {
				if class != '4' {
					class = '5'
				}
				r.Inferred = string(class) + "." + st
			}
		}
		return r
	}
	if in.Expired {
		class = '5' // given up on: a permanent failure, whatever the last deferral's class
		return decide("message-expired", ByExpired)
	}
	for _, t := range []struct {
		text string
		by   Decider
	}{{in.Text, ByText}, {in.Context, ByContext}} {
		if i := c.firstPattern(t.text, temporary); i >= 0 {
			rule := c.rules[c.ruleOf[i]]
			decide(rule.Category, t.by)
			r.Pattern, r.Auth = c.patterns[i], rule.Auth
			if rule.Block != nil {
				r.Block = *rule.Block
			}
			return r
		}
	}
	if cat := c.byCode(enhanced); cat != "" && !(temporary && c.hard[cat]) {
		return decide(cat, ByEnhanced)
	}
	if cat := c.byBasic(basic); cat != "" && !(temporary && c.hard[cat]) {
		return decide(cat, ByBasic)
	}
	return decide("other", "")
}

// firstPattern is the lowest pattern found in text, among the patterns of
// soft categories only when the reply is temporary, or -1.
func (c *Classifier) firstPattern(text string, temporary bool) int {
	if text == "" {
		return -1
	}
	if !temporary {
		return c.text.first(text)
	}
	if i := c.soft.first(text); i >= 0 {
		return int(c.softOf[i])
	}
	return -1
}

// Expired tells whether a report's words say that the message was given up
// on because it stayed undelivered too long ("retry timeout exceeded",
// "message expired", "delivery failed 20 attempts"), by the rules'
// expired patterns; '#' in a pattern stands for any number.
func (c *Classifier) Expired(text string) bool {
	if text == "" {
		return false
	}
	// A pattern without digits is found in the text just when it is
	// found in the text with its numbers made '#'.
	if c.expiry.firstNumbers(text) >= 0 {
		return true
	}
	return c.expiryDigits != nil && c.expiryDigits.first(text) >= 0
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
// with, or that follow "said: " or "refused to talk to me: " in Postfix's
// wording, or "".
func BasicCode(text string) string {
	if i := strings.Index(text, "said: "); i >= 0 {
		text = text[i+len("said: "):]
	} else if i := strings.Index(text, "talk to me: "); i >= 0 { // Postfix: "refused to talk to me: 421 ..."
		text = text[i+len("talk to me: "):]
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
