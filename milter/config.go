package milter

import (
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/mailtrace/mailtrace/internal/secret"
	"github.com/mailtrace/mailtrace/verp"
)

// Config is the milter's section of the config file.
type Config struct {
	// Listen is where Postfix connects, in Postfix's notation:
	// inet:127.0.0.1:8894 or unix:/run/mailtrace/milter.sock.
	Listen string `yaml:"listen"`
	// Host names this Postfix in accept records, as its log does (the first
	// label of myhostname). Default: taken from Postfix's macro j.
	Host string `yaml:"host"`
	// OnError is the answer to Postfix when something inside the milter
	// fails (a rule, the spool): accept (default; the message is stamped as
	// far as possible) or tempfail (the client retries later).
	OnError string `yaml:"on_error"`
	// DefaultClass is the class of messages no rule matches.
	DefaultClass string  `yaml:"default_class"`
	Classes      []Class `yaml:"classes"`
	Rules        []Rule  `yaml:"rules"`
	// ClassHeader says whose X-Mailtrace-Class header is believed. An
	// application may name its message's class itself; by default nobody is
	// trusted and the header is replaced by the rules' answer.
	ClassHeader ClassHeader `yaml:"class_header"`
	// KeepClientEnvID leaves an ENVID the client gave in place instead of
	// replacing it with the trace ID (receivers' DSNs then cannot be matched
	// by ENVID; the X-Mailtrace-ID header and VERP still work).
	KeepClientEnvID bool `yaml:"keep_client_envid"`
	// VERP signs return paths for classes with verp: true.
	VERP VERPConfig `yaml:"verp"`
	// SpoolDir keeps accept records while the store cannot take them.
	SpoolDir string `yaml:"spool_dir"`
	// QueueSize bounds the records waiting in memory for the store; past
	// it they go straight to the spool.
	QueueSize int `yaml:"queue_size"`
}

// ClassHeader configures trust in an X-Mailtrace-Class header set by the
// sending application.
type ClassHeader struct {
	// TrustedNetworks are client addresses (CIDR) whose header is believed.
	TrustedNetworks []string `yaml:"trusted_networks"`
	// TrustAuthenticated believes the header of SASL-authenticated clients.
	TrustAuthenticated bool `yaml:"trust_authenticated"`
}

// VERPConfig configures signed VERP return paths.
type VERPConfig struct {
	// Domain is the bounce domain; Postfix must route it to mailtrace's
	// bounce intake.
	Domain string `yaml:"domain"`
	// Prefix starts every VERP local part (default "mt").
	Prefix string `yaml:"prefix"`
	// Keys sign (the first) and verify (all).
	Keys []VERPKey `yaml:"keys"`
}

// VERPKey is one signing key; the secret comes from a file (preferred) or
// inline.
type VERPKey struct {
	ID         uint8  `yaml:"id"`
	SecretFile string `yaml:"secret_file"`
	Secret     string `yaml:"secret"`
}

// DefaultConfig is the milter's configuration without a file: every
// message is transactional mail leaving through the default pool.
func DefaultConfig() Config {
	return Config{
		Listen:       "inet:127.0.0.1:8894",
		OnError:      "accept",
		DefaultClass: "transactional",
		Classes:      []Class{{Name: "transactional"}},
		SpoolDir:     "/var/lib/mailtrace/spool",
		QueueSize:    10000,
	}
}

// Validate reports the first setting that cannot work.
func (c *Config) Validate() error {
	if err := c.checkSettings(); err != nil {
		return err
	}
	_, err := c.compile()
	return err
}

// checkSettings checks what compile does not read.
func (c *Config) checkSettings() error {
	if _, _, err := ParseListen(c.Listen); err != nil {
		return err
	}
	switch c.OnError {
	case "accept", "tempfail":
	default:
		return fmt.Errorf("milter.on_error %q: use accept (mail flows, stamped as far as possible) or tempfail", c.OnError)
	}
	if c.QueueSize < 1 {
		return fmt.Errorf("milter.queue_size %d: give a positive number of records", c.QueueSize)
	}
	if c.SpoolDir == "" {
		return fmt.Errorf("milter.spool_dir is empty; records must have somewhere to wait while the store is down")
	}
	return nil
}

// compiled is a Config ready to use: rules, networks and keys read.
type compiled struct {
	classifier *classifier
	trusted    []netip.Prefix
	signer     *verp.Signer // nil without VERP
}

func (c *Config) compile() (compiled, error) {
	var out compiled
	var err error
	if out.classifier, err = newClassifier(c.Classes, c.Rules, c.DefaultClass); err != nil {
		return out, err
	}
	if out.trusted, err = parseNetworks(c.ClassHeader.TrustedNetworks); err != nil {
		return out, fmt.Errorf("milter.class_header.trusted_networks: %w", err)
	}
	if out.signer, err = c.Signer(); err != nil {
		return out, err
	}
	for i, cl := range c.Classes {
		if cl.VERP && cl.Pool != "" && out.signer != nil {
			if err := out.signer.CheckPool(cl.Pool); err != nil {
				return out, fmt.Errorf("milter.classes[%d] (%s): pool: %w; rename the pool (in pools and in the Postfix transport smtp-POOL)", i, cl.Name, err)
			}
		}
	}
	return out, nil
}

// Unrouted lists the classes that name a pool but have no verp: true.
// Their mail does not leave through the pool: Postfix routes it by the
// envelope sender, which only VERP sets.
func (c *Config) Unrouted() []Class {
	var out []Class
	for _, cl := range c.Classes {
		if cl.Pool != "" && !cl.VERP {
			out = append(out, cl)
		}
	}
	return out
}

// RoutedPool is the pool a class's mail leaves through: its pool with
// VERP, none without.
func (cl *Class) RoutedPool() string {
	if cl.VERP {
		return cl.Pool
	}
	return ""
}

// Signer builds the VERP signer, or nil when VERP is not configured.
func (c *Config) Signer() (*verp.Signer, error) {
	wanted := false
	for _, cl := range c.Classes {
		wanted = wanted || cl.VERP
	}
	if c.VERP.Domain == "" {
		if wanted {
			return nil, fmt.Errorf("milter: a class asks for verp but milter.verp.domain is not set")
		}
		return nil, nil
	}
	var keys []verp.Key
	for i, k := range c.VERP.Keys {
		key := k.Secret
		if k.SecretFile != "" {
			data, err := secret.ReadFile(k.SecretFile)
			if err != nil {
				return nil, fmt.Errorf("milter.verp.keys[%d]: %w (make a key with: head -c 32 /dev/urandom | base64 > %s; chmod 600 %[3]s)", i, err, k.SecretFile)
			}
			key = string(data)
		}
		keys = append(keys, verp.Key{ID: k.ID, Secret: []byte(key)})
	}
	prefix := c.VERP.Prefix
	if prefix == "" {
		prefix = "mt"
	}
	s, err := verp.New(prefix, c.VERP.Domain, keys)
	if err != nil {
		return nil, fmt.Errorf("milter.verp: %w", err)
	}
	return s, nil
}

// ParseListen reads Postfix's milter address notation: inet:HOST:PORT,
// inet6:[HOST]:PORT or unix:/PATH (and local:/PATH).
func ParseListen(spec string) (network, address string, err error) {
	kind, rest, ok := strings.Cut(spec, ":")
	switch {
	case !ok || rest == "":
	case kind == "inet" || kind == "inet6" || kind == "tcp":
		host, port, found := strings.Cut(rest, ":")
		if i := strings.LastIndex(rest, "]:"); strings.HasPrefix(rest, "[") && i > 0 {
			host, port, found = rest[1:i], rest[i+2:], true
		} else if strings.Count(rest, ":") > 1 {
			found = false
		}
		if found && port != "" {
			if host == "" {
				host = "127.0.0.1"
			}
			return "tcp", net.JoinHostPort(host, port), nil
		}
	case kind == "unix" || kind == "local":
		if strings.HasPrefix(rest, "/") {
			return "unix", rest, nil
		}
	}
	return "", "", fmt.Errorf("milter listen address %q: use inet:127.0.0.1:8894, inet6:[::1]:8894 or unix:/run/mailtrace/milter.sock", spec)
}
