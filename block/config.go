package block

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/mailtrace/mailtrace/internal/secret"
)

// Config is the blocks section of mailtrace.yaml.
type Config struct {
	// Window is how far back block replies are counted (default 10m).
	Window time.Duration `yaml:"window"`
	// MinBlocks block replies within the window open an incident (5)...
	MinBlocks int `yaml:"min_blocks"`
	// ...if they are at least this share of the attempts (0.1).
	MinRatio float64 `yaml:"min_ratio"`
	// Quiet closes an incident after this long without a block reply (30m).
	Quiet time.Duration `yaml:"quiet"`
	// CloseAfterDeliveries closes it after this many deliveries in a row
	// with no block reply in between (20).
	CloseAfterDeliveries int `yaml:"close_after_deliveries"`
	// Webhook receives incidents as they open and close.
	Webhook WebhookConfig `yaml:"webhook"`
	// DNSBL checks the pools' source IPs against DNS blocklists.
	DNSBL DNSBLConfig `yaml:"dnsbl"`
}

// WebhookConfig is where incidents are posted.
type WebhookConfig struct {
	// URL receives a JSON POST per opened or closed incident; empty for none.
	URL string `yaml:"url"`
	// SecretFile holds the HMAC-SHA256 key (or Secret, inline) the
	// X-Mailtrace-Signature header is made with.
	SecretFile string `yaml:"secret_file"`
	Secret     string `yaml:"secret"`
	// Timeout bounds one POST (10s); MaxAttempts bounds retries (8, with
	// backoff from 1s doubling to 5m).
	Timeout     time.Duration `yaml:"timeout"`
	MaxAttempts int           `yaml:"max_attempts"`
}

// DNSBLConfig configures the blocklist checks.
type DNSBLConfig struct {
	// Zones are the lists to look the IPs up in; none disables the checks.
	Zones []string `yaml:"zones"`
	// Resolver is the DNS server (host:port) asked; default the first
	// nameserver of /etc/resolv.conf. Spamhaus refuses queries through
	// public resolvers: use your own.
	Resolver string `yaml:"resolver"`
	// Interval between checks (default 15m).
	Interval time.Duration `yaml:"interval"`
}

// DefaultConfig is the blocks section's defaults.
func DefaultConfig() Config {
	return Config{Window: 10 * time.Minute, MinBlocks: 5, MinRatio: 0.1, Quiet: 30 * time.Minute, CloseAfterDeliveries: 20,
		Webhook: WebhookConfig{Timeout: 10 * time.Second, MaxAttempts: 8},
		DNSBL:   DNSBLConfig{Zones: []string{"zen.spamhaus.org", "b.barracudacentral.org", "bl.spamcop.net"}, Interval: 15 * time.Minute}}
}

// Validate reports the first setting that cannot work.
func (c Config) Validate() error {
	switch {
	case c.Window <= 0:
		return errors.New("blocks.window must be positive (e.g. 10m)")
	case c.MinBlocks < 1:
		return errors.New("blocks.min_blocks must be at least 1")
	case c.MinRatio < 0 || c.MinRatio > 1:
		return errors.New("blocks.min_ratio is a share of the attempts, between 0 and 1")
	case c.Quiet <= 0:
		return errors.New("blocks.quiet must be positive (e.g. 30m)")
	case c.CloseAfterDeliveries < 1:
		return errors.New("blocks.close_after_deliveries must be at least 1")
	}
	if c.Webhook.URL != "" {
		u, err := url.Parse(c.Webhook.URL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return fmt.Errorf("blocks.webhook.url %q: want an http(s) URL", c.Webhook.URL)
		}
		if _, err := c.Webhook.secret(); err != nil {
			return err
		}
	}
	for _, z := range c.DNSBL.Zones {
		if z == "" || strings.ContainsAny(z, " /:") {
			return fmt.Errorf("blocks.dnsbl.zones: %q is not a DNS zone", z)
		}
	}
	if c.DNSBL.Resolver != "" {
		if _, _, err := net.SplitHostPort(c.DNSBL.Resolver); err != nil {
			return fmt.Errorf("blocks.dnsbl.resolver %q: want host:port, e.g. 127.0.0.1:53", c.DNSBL.Resolver)
		}
	}
	return nil
}

func (w WebhookConfig) secret() ([]byte, error) {
	switch {
	case w.SecretFile != "" && w.Secret != "":
		return nil, errors.New("blocks.webhook: give secret_file or secret, not both")
	case w.SecretFile != "":
		b, err := secret.ReadFile(w.SecretFile)
		if err != nil {
			return nil, fmt.Errorf("blocks.webhook.secret_file: %w", err)
		}
		if len(b) < 16 {
			return nil, fmt.Errorf("blocks.webhook.secret_file %s: the key is shorter than 16 characters", w.SecretFile)
		}
		return b, nil
	case len(w.Secret) >= 16:
		return []byte(w.Secret), nil
	default:
		return nil, errors.New("blocks.webhook: set secret_file (or secret, at least 16 characters) so receivers can check the signature")
	}
}
