package evidence

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Config is the evidence: section of mailtrace's configuration.
type Config struct {
	// Enabled turns the ledger on (the default): every fact stored is
	// also appended as an evidence record.
	Enabled bool `yaml:"enabled"`
	// KeyFile holds the checkpoint signing key (mode 0600); `mailtrace
	// run` makes one there at first start. Default: evidence.key beside
	// an embedded store's directory (/var/lib/mailtrace/evidence.key for
	// the default store), else DefaultKeyFile.
	KeyFile string `yaml:"key_file"`
	// VerifierKeys are the public keys of earlier signing keys (after a
	// rotation), so that their checkpoints keep verifying.
	VerifierKeys []string `yaml:"verifier_keys"`
	// OriginPrefix names the logs: each Postfix host's log is
	// PREFIX/HOST (default "mailtrace/" + this machine's name).
	OriginPrefix string `yaml:"origin_prefix"`
	// TSAURL is the RFC 3161 time-stamp authority checkpoints are sent to
	// (an ONAC-accredited one in Colombia, an eIDAS qualified one, or any
	// for trials); empty: checkpoints are signed but not anchored.
	TSAURL string `yaml:"tsa_url"`
	// TSARoots are PEM files of the certificates the TSA's tokens must
	// chain to.
	TSARoots []string `yaml:"tsa_roots"`
	// CheckpointInterval is how often a checkpoint is signed while
	// records arrive (default and at most 60 s).
	CheckpointInterval time.Duration `yaml:"checkpoint_interval"`
	// CertificateLang is the language of the certificate in exported
	// bundles: es (the default) or en.
	CertificateLang string `yaml:"certificate_lang"`
	// CertificateZone is the certificate's time zone beside UTC (default
	// America/Bogota).
	CertificateZone string `yaml:"certificate_zone"`
}

// DefaultKeyFile is where the signing key is kept unless configured,
// with a store on a ClickHouse server.
const DefaultKeyFile = "/var/lib/mailtrace/evidence.key"

// DefaultConfig is the ledger's configuration without a file: on, with
// a key in the data directory, no TSA.
func DefaultConfig() Config {
	return Config{Enabled: true, CheckpointInterval: time.Minute, CertificateLang: "es", CertificateZone: "America/Bogota"}
}

// Validate reports a setting that cannot work.
func (c *Config) Validate() error {
	if c.CheckpointInterval <= 0 {
		c.CheckpointInterval = time.Minute
	}
	if c.CheckpointInterval > time.Minute {
		return fmt.Errorf("config: evidence.checkpoint_interval %s: at most 1m, so that records are signed within a minute", c.CheckpointInterval)
	}
	if c.TSAURL != "" && !strings.HasPrefix(c.TSAURL, "http://") && !strings.HasPrefix(c.TSAURL, "https://") {
		return fmt.Errorf("config: evidence.tsa_url %q: give the TSA's http:// or https:// URL", c.TSAURL)
	}
	if c.TSAURL != "" && len(c.TSARoots) == 0 {
		return fmt.Errorf("config: evidence.tsa_url is set but evidence.tsa_roots is empty: name the PEM file of the TSA's root certificate, so that its tokens can be verified")
	}
	if c.CertificateLang != "" && c.CertificateLang != "es" && c.CertificateLang != "en" {
		return fmt.Errorf("config: evidence.certificate_lang %q: es or en", c.CertificateLang)
	}
	if c.CertificateZone != "" {
		if _, err := time.LoadLocation(c.CertificateZone); err != nil {
			return fmt.Errorf("config: evidence.certificate_zone %q: %v (an IANA zone name, such as America/Bogota)", c.CertificateZone, err)
		}
	}
	for _, k := range c.VerifierKeys {
		if _, _, err := Verifiers(k); err != nil {
			return fmt.Errorf("config: evidence.verifier_keys: %w", err)
		}
	}
	return nil
}

// KeyPath is the signing key's file: KeyFile, or evidence.key beside the
// directory of an embedded store (chdb:///var/lib/mailtrace/store ->
// /var/lib/mailtrace/evidence.key), or DefaultKeyFile.
func (c *Config) KeyPath(storeDSN string) string {
	if c.KeyFile != "" {
		return c.KeyFile
	}
	if u, err := url.Parse(storeDSN); err == nil && u.Scheme == "chdb" && strings.HasPrefix(u.Path, "/") {
		return filepath.Join(filepath.Dir(filepath.Clean(u.Path)), "evidence.key")
	}
	return DefaultKeyFile
}

// Origin is the name of a Postfix host's log.
func (c *Config) Origin(host string) string {
	prefix := c.OriginPrefix
	if prefix == "" {
		name, _ := os.Hostname()
		name, _, _ = strings.Cut(name, ".")
		if name == "" {
			name = "localhost"
		}
		prefix = "mailtrace/" + name
	}
	if host == "" {
		return prefix
	}
	return prefix + "/" + host
}
