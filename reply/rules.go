package reply

import (
	_ "embed"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// DefaultRules is the rules file shipped with mailtrace.
//
//go:embed rules.yaml
var DefaultRules []byte

// Rules is the content of a rules file.
type Rules struct {
	// Categories list every category with whether its replies are block
	// signals by default.
	Categories []CategoryDef `yaml:"categories"`
	// Text rules are tried in order: the first rule with a pattern found
	// in the reply decides.
	Text []TextRule `yaml:"text"`
	// Codes map enhanced status codes without their class ("1.1" for
	// 4.1.1 and 5.1.1) to a category; a code not listed falls back to its
	// subject ("1" for x.1.*) written as "1.*".
	Codes map[string]string `yaml:"codes"`
	// Expired are phrases of a report's prose that say the message was
	// given up on after staying undelivered too long.
	Expired []string `yaml:"expired"`
	// Basic maps basic reply codes ("550") to a category; "4xx" and "5xx"
	// are the fallbacks.
	Basic map[string]string `yaml:"basic"`
	// Providers name receiving mailbox providers by their MX hosts and
	// their users' domains.
	Providers []Provider `yaml:"providers"`
}

// CategoryDef is one category.
type CategoryDef struct {
	Name  string `yaml:"name"`
	Block bool   `yaml:"block"`
	// Hard categories say the address itself is bad; a temporary reply
	// never gets one.
	Hard bool `yaml:"hard"`
	// Status is the enhanced status code the category supports, without
	// its class ("1.1" for bad-mailbox), inferred for reports that give
	// only a class; empty when the category spans many codes.
	Status      string `yaml:"status"`
	Description string `yaml:"description"`
}

// TextRule gives a category to replies containing any of its patterns.
type TextRule struct {
	Category string `yaml:"category"`
	// Block overrides the category's default: a rate limit "due to IP
	// reputation" is a block signal, "too many connections" is not.
	Block *bool `yaml:"block"`
	// Auth names the sender authentication requirement a refusal says
	// failed (see AuthRequirement); empty for other replies.
	Auth AuthRequirement `yaml:"auth"`
	// Patterns are matched case-insensitively as plain substrings.
	Patterns []string `yaml:"patterns"`
}

// AuthRequirement is what a receiver refused our mail for lacking: the
// requirements Gmail, Yahoo and Microsoft set for bulk senders.
type AuthRequirement string

const (
	AuthPTR             AuthRequirement = "ptr"             // forward-confirmed reverse DNS (Gmail 4.7.23, 5.7.25)
	AuthSPF             AuthRequirement = "spf"             // SPF did not pass (4.7.27)
	AuthTLS             AuthRequirement = "tls"             // not sent over TLS (4.7.29)
	AuthDKIM            AuthRequirement = "dkim"            // DKIM did not pass (4.7.30)
	AuthDMARC           AuthRequirement = "dmarc"           // no DMARC policy, or refused by it (4.7.31)
	AuthAlignment       AuthRequirement = "alignment"       // From not aligned with SPF or DKIM (4.7.32)
	AuthUnauthenticated AuthRequirement = "unauthenticated" // neither SPF nor DKIM (5.7.26; Yahoo)
	AuthLevel           AuthRequirement = "auth-level"      // Microsoft 5.7.515: below the required authentication level
)

// AuthRequirements lists every requirement.
var AuthRequirements = []AuthRequirement{AuthPTR, AuthSPF, AuthTLS, AuthDKIM, AuthDMARC, AuthAlignment, AuthUnauthenticated, AuthLevel}

// Provider is a receiving mailbox provider.
type Provider struct {
	Name string `yaml:"name"`
	// Hosts are MX or relay host names, matched as the name itself or a
	// domain it is under: "google.com" covers gmail-smtp-in.l.google.com.
	Hosts []string `yaml:"hosts"`
	// Domains are recipient domains hosted by the provider, used when the
	// reply names no host (a connection that failed before any answer).
	Domains []string `yaml:"domains"`
}

// LoadRules reads a rules file; an empty path gives the shipped rules.
func LoadRules(path string) (*Rules, error) {
	data := DefaultRules
	if path != "" {
		var err error
		if data, err = os.ReadFile(path); err != nil {
			return nil, fmt.Errorf("reading reply rules: %w", err)
		}
	}
	var r Rules
	if err := yaml.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("reply rules %s: %w (see reply/rules.yaml for the format)", orShipped(path), err)
	}
	if err := r.check(); err != nil {
		return nil, fmt.Errorf("reply rules %s: %w", orShipped(path), err)
	}
	return &r, nil
}

func orShipped(path string) string {
	if path == "" {
		return "(shipped)"
	}
	return path
}

var (
	codeKey  = regexp.MustCompile(`^[0-9]{1,3}(\.[0-9]{1,3}|\.\*)$`)
	basicKey = regexp.MustCompile(`^[2-5]([0-9][0-9]|xx)$`)
	hostName = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$`)
)

// check refuses rules that name unknown categories or have malformed keys,
// naming the culprit.
func (r *Rules) check() error {
	known := map[string]bool{}
	for _, c := range r.Categories {
		if c.Name == "" || known[c.Name] {
			return fmt.Errorf("category %q is empty or listed twice", c.Name)
		}
		known[c.Name] = true
		if c.Status != "" && (!codeKey.MatchString(c.Status) || strings.HasSuffix(c.Status, "*")) {
			return fmt.Errorf("category %s: status %q is not SUBJECT.DETAIL (e.g. 1.1)", c.Name, c.Status)
		}
	}
	if !known["other"] || !known["message-expired"] {
		return fmt.Errorf("categories other and message-expired are needed (the classifier falls back on them)")
	}
	if len(known) == 0 {
		return fmt.Errorf("no categories")
	}
	for i, t := range r.Text {
		if !known[t.Category] {
			return fmt.Errorf("text rule %d: unknown category %q", i+1, t.Category)
		}
		if len(t.Patterns) == 0 {
			return fmt.Errorf("text rule %d (%s): no patterns", i+1, t.Category)
		}
		if t.Auth != "" && !slices.Contains(AuthRequirements, t.Auth) {
			return fmt.Errorf("text rule %d (%s): auth %q is not one of %v", i+1, t.Category, t.Auth, AuthRequirements)
		}
		for _, p := range t.Patterns {
			if strings.TrimSpace(p) == "" {
				return fmt.Errorf("text rule %d (%s): empty pattern", i+1, t.Category)
			}
		}
	}
	for _, p := range r.Expired {
		if strings.TrimSpace(p) == "" {
			return fmt.Errorf("expired: empty pattern")
		}
	}
	for k, c := range r.Codes {
		if !codeKey.MatchString(k) || !known[c] {
			return fmt.Errorf("code %q: want SUBJECT.DETAIL or SUBJECT.* and a known category, got %q", k, c)
		}
	}
	for k, c := range r.Basic {
		if !basicKey.MatchString(k) || !known[c] {
			return fmt.Errorf("basic code %q: want e.g. 550 or 5xx and a known category, got %q", k, c)
		}
	}
	return checkProviders(r.Providers)
}

// checkProviders refuses provider entries without a name or with host
// names that are not host names.
func checkProviders(ps []Provider) error {
	for _, p := range ps {
		if p.Name == "" {
			return fmt.Errorf("a provider has no name")
		}
		for _, h := range append(append([]string{}, p.Hosts...), p.Domains...) {
			if !hostName.MatchString(strings.ToLower(h)) {
				return fmt.Errorf("provider %s: %q is not a host or domain name", p.Name, h)
			}
		}
	}
	return nil
}
