package bounce

import (
	"fmt"
	"net"
	"strings"
	"time"
)

// Config is the bounces section of mailtrace.yaml: where reports arrive.
type Config struct {
	// Listen is the LMTP listener Postfix delivers the bounce domain to:
	// host:port (default 127.0.0.1:8026) or unix:/PATH; "off" for none.
	Listen string `yaml:"listen"`
	// Maildir is a mailbox (Maildir with new/ and cur/) where bounces land,
	// for setups where they are delivered to a mailbox; empty for none.
	// Files are moved to cur/ once stored.
	Maildir string `yaml:"maildir"`
	// PollInterval is how often the Maildir is looked at (default 10s).
	PollInterval time.Duration `yaml:"poll_interval"`
}

// DefaultConfig is the bounces section's defaults.
func DefaultConfig() Config {
	return Config{Listen: "127.0.0.1:8026", PollInterval: 10 * time.Second}
}

// Validate checks the listen address.
func (c Config) Validate() error {
	if c.Listen == "" || c.Listen == "off" {
		return nil
	}
	if _, _, err := c.network(); err != nil {
		return err
	}
	if c.PollInterval < 0 {
		return fmt.Errorf("bounces.poll_interval %s is negative", c.PollInterval)
	}
	return nil
}

func (c Config) network() (string, string, error) {
	if path, ok := strings.CutPrefix(c.Listen, "unix:"); ok {
		if !strings.HasPrefix(path, "/") {
			return "", "", fmt.Errorf("bounces.listen %q: give an absolute socket path, unix:/var/spool/postfix/private/mailtrace-bounces", c.Listen)
		}
		return "unix", path, nil
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		return "", "", fmt.Errorf("bounces.listen %q: want host:port (127.0.0.1:8026), unix:/PATH or off", c.Listen)
	}
	return "tcp", c.Listen, nil
}

// PostfixTransport is the transport Postfix's transport_maps gives the
// bounce domain to reach this listener, or "" when none listens.
func (c Config) PostfixTransport() string {
	network, addr, err := c.network()
	if c.Listen == "" || c.Listen == "off" || err != nil {
		return ""
	}
	if network == "unix" {
		return "lmtp:unix:" + addr
	}
	return "lmtp:inet:" + addr
}
