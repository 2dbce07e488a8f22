package senderauth

import (
	"fmt"
	"strings"
)

// Config is the auth section of mailtrace.yaml: what the checks cannot
// read from the rest of the config.
type Config struct {
	// Classes give each class's From domain and, for classes without VERP,
	// its envelope (MAIL FROM) domain.
	Classes []ClassDomains `yaml:"classes"`
	// DKIM says where the signer keeps its keys.
	DKIM DKIMConfig `yaml:"dkim"`
}

// ClassDomains are the domains one class sends as.
type ClassDomains struct {
	Name           string `yaml:"name"`
	FromDomain     string `yaml:"from_domain"`
	EnvelopeDomain string `yaml:"envelope_domain"`
}

// DKIMConfig names the DKIM signer's configuration (mailtrace does not
// sign: signing belongs to the milter already in place). The selectors and
// private keys are read from whichever is given.
type DKIMConfig struct {
	// OpenDKIM's KeyTable and SigningTable (refile: or plain).
	OpenDKIMKeyTable     string `yaml:"opendkim_key_table"`
	OpenDKIMSigningTable string `yaml:"opendkim_signing_table"`
	// rspamd's local.d/dkim_signing.conf.
	RspamdSigning string `yaml:"rspamd_dkim_signing"`
	// dkimpy-milter's dkimpy-milter.conf.
	DkimpyConfig string `yaml:"dkimpy_config"`
	// Keys listed by hand.
	Keys []KeyConfig `yaml:"keys"`
}

// KeyConfig is one signing key: d=, s= and the private key's PEM file.
type KeyConfig struct {
	Domain     string `yaml:"domain"`
	Selector   string `yaml:"selector"`
	PrivateKey string `yaml:"private_key"`
}

// Validate reports the first setting that cannot work.
func (c Config) Validate() error {
	seen := map[string]bool{}
	for i, cl := range c.Classes {
		if cl.Name == "" {
			return fmt.Errorf("auth.classes[%d] has no name (e.g. {name: legal, from_domain: notices.example.com})", i)
		}
		if seen[cl.Name] {
			return fmt.Errorf("auth.classes: class %q is listed twice", cl.Name)
		}
		seen[cl.Name] = true
		for _, d := range []string{cl.FromDomain, cl.EnvelopeDomain} {
			if d != "" && (strings.ContainsAny(d, "@ /") || !strings.Contains(d, ".")) {
				return fmt.Errorf("auth.classes[%d] (%s): %q is not a domain name", i, cl.Name, d)
			}
		}
	}
	for i, k := range c.DKIM.Keys {
		if k.Domain == "" || k.Selector == "" {
			return fmt.Errorf("auth.dkim.keys[%d]: give domain and selector (and private_key, the PEM file)", i)
		}
	}
	return nil
}
