// Package config reads mailtrace's configuration: one YAML file, overridden
// by MAILTRACE_* environment variables, overridden by command-line flags.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"strconv"
	"time"

	"github.com/mailtrace/mailtrace/api"
	"github.com/mailtrace/mailtrace/authreport"
	"github.com/mailtrace/mailtrace/block"
	"github.com/mailtrace/mailtrace/bounce"
	"github.com/mailtrace/mailtrace/evidence"
	"github.com/mailtrace/mailtrace/milter"
	"github.com/mailtrace/mailtrace/pool"
	"github.com/mailtrace/mailtrace/reply"
	"github.com/mailtrace/mailtrace/schema"
	"github.com/mailtrace/mailtrace/senderauth"
	"github.com/mailtrace/mailtrace/store"

	"go.yaml.in/yaml/v3"
)

// DefaultPath is where the config file is looked for when none is named.
const DefaultPath = "/etc/mailtrace/mailtrace.yaml"

// DefaultStore is the embedded store's default location.
const DefaultStore = "chdb:///var/lib/mailtrace/store"

// Config is the whole configuration: one section per part of mailtrace,
// each read and checked by the package of that part.
type Config struct {
	// Store is where everything is kept: chdb:///path (embedded, the
	// default) or clickhouse://user:pass@host:9000/db (clickhouses:// for TLS).
	Store string `yaml:"store"`
	// ChdbLibrary is the path of libchdb.so when it is not where set-up
	// installed it.
	ChdbLibrary string `yaml:"chdb_library"`
	// RetentionDays is how long a new store keeps rows (by default
	// schema.DefaultRetentionDays, ten years). A store keeps the retention it was created with
	// until `mailtrace migrate --retention-days N --apply-retention`.
	RetentionDays int `yaml:"retention_days"`
	// LogLevel is debug, info, warn or error.
	LogLevel string `yaml:"log_level"`
	// MetricsListen serves Prometheus metrics at http://ADDR/metrics
	// (e.g. 127.0.0.1:9465); empty serves none.
	MetricsListen string `yaml:"metrics_listen"`
	// Collector reads the Postfix log.
	Collector Collector `yaml:"collector"`
	// Milter stamps, classifies and records every message Postfix accepts.
	Milter milter.Config `yaml:"milter"`
	// API serves traces, searches, exports and the web UI.
	API api.Config `yaml:"api"`
	// SQL bounds every analyst's query, through `mailtrace sql` and
	// /api/v1/sql alike.
	SQL store.SQLLimits `yaml:"sql"`
	// Pools are the dedicated-IP pools: each has a Postfix transport
	// smtp-NAME bound to its source IP, logging as syslog_name
	// (default postfix-NAME).
	Pools []pool.Pool `yaml:"pools"`
	// Classify sets how receivers' replies are classified.
	Classify reply.Config `yaml:"classify"`
	// Bounces sets where bounce reports arrive (LMTP, Maildir).
	Bounces bounce.Config `yaml:"bounces"`
	// Blocks sets how block incidents are detected and announced.
	Blocks block.Config `yaml:"blocks"`
	// DNSResolver is the resolver (host:port) for every DNS lookup: sender
	// authentication checks, report sources' names, and DNS blocklists
	// unless blocks.dnsbl.resolver names another. Default: the first
	// nameserver of /etc/resolv.conf.
	DNSResolver string `yaml:"dns_resolver"`
	// Reports sets where DMARC and TLS reports arrive.
	Reports authreport.Config `yaml:"reports"`
	// Auth describes the sending domains and the DKIM signer for
	// `mailtrace doctor auth`.
	Auth senderauth.Config `yaml:"auth"`
	// Evidence is the tamper-evident ledger of every fact stored.
	Evidence evidence.Config `yaml:"evidence"`
}

// Collector configures how the Postfix log is read.
type Collector struct {
	// Logs are the files Postfix writes (maillog_file or syslog's file).
	Logs []string `yaml:"logs"`
	// Journal follows journald instead of (or besides) files.
	Journal bool `yaml:"journal"`
	// JournalArgs select journald's entries in journalctl's terms
	// (default SYSLOG_FACILITY=2).
	JournalArgs []string `yaml:"journal_args"`
	// Timezone of timestamps without one (BSD syslog, maillog_file):
	// Local (default), UTC, or a zone name such as Europe/Berlin.
	Timezone string `yaml:"timezone"`
	// Grace is how long a message that left the queue is kept for lines
	// that arrive late, before its record is written (default 30s).
	Grace time.Duration `yaml:"grace"`
}

// Location is the collector's time zone.
func (c Collector) Location() (*time.Location, error) {
	if c.Timezone == "" || c.Timezone == "Local" {
		return time.Local, nil
	}
	loc, err := time.LoadLocation(c.Timezone)
	if err != nil {
		return nil, fmt.Errorf("config: collector.timezone %q: %w", c.Timezone, err)
	}
	return loc, nil
}

// Default is the configuration without a file.
func Default() Config {
	return Config{Store: DefaultStore, RetentionDays: schema.DefaultRetentionDays, LogLevel: "info",
		Collector: Collector{Logs: []string{"/var/log/mail.log"}, Grace: 30 * time.Second},
		Milter:    milter.DefaultConfig(), API: api.DefaultConfig(), Bounces: bounce.DefaultConfig(),
		Blocks: block.DefaultConfig(), SQL: store.DefaultSQLLimits(), Evidence: evidence.DefaultConfig()}
}

// Load reads the file at path (DefaultPath when path is empty, and then a
// missing file is fine) over the defaults, then applies the environment.
func Load(path string) (Config, error) {
	c, err := Read(path)
	if err != nil {
		return c, err
	}
	return c, c.Validate()
}

// Read is Load without Validate: it reads no secret file and checks
// nothing the file does not say itself, for commands that only print what
// the configuration calls for (doctor --print-postfix).
func Read(path string) (Config, error) {
	c := Default()
	explicit := path != ""
	if !explicit {
		path = os.Getenv("MAILTRACE_CONFIG")
		explicit = path != ""
	}
	if path == "" {
		path = DefaultPath
	}
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		// An empty file (io.EOF) means all defaults.
		if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
			return c, fmt.Errorf("config %s: %w", path, err)
		}
	case errors.Is(err, fs.ErrNotExist) && !explicit:
	default:
		return c, fmt.Errorf("config: %w", err)
	}
	return c, c.applyEnv()
}

func (c *Config) applyEnv() error {
	if v := os.Getenv("MAILTRACE_STORE"); v != "" {
		c.Store = v
	}
	if v := os.Getenv("MAILTRACE_CHDB_LIBRARY"); v != "" {
		c.ChdbLibrary = v
	}
	if v := os.Getenv("MAILTRACE_LOG_LEVEL"); v != "" {
		c.LogLevel = v
	}
	if v := os.Getenv("MAILTRACE_METRICS_LISTEN"); v != "" {
		c.MetricsListen = v
	}
	if v := os.Getenv("MAILTRACE_API_LISTEN"); v != "" {
		c.API.Listen = v
	}
	if v := os.Getenv("MAILTRACE_MILTER_LISTEN"); v != "" {
		c.Milter.Listen = v
	}
	if v := os.Getenv("MAILTRACE_BOUNCES_LISTEN"); v != "" {
		c.Bounces.Listen = v
	}
	if v := os.Getenv("MAILTRACE_RETENTION_DAYS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("MAILTRACE_RETENTION_DAYS=%q: not a number of days", v)
		}
		c.RetentionDays = n
	}
	return nil
}

// Validate reports the first setting that cannot work.
func (c *Config) Validate() error {
	if c.Store == "" {
		return errors.New("config: store is empty; use chdb:///var/lib/mailtrace/store or clickhouse://user:pass@host:9000/db")
	}
	if err := schema.CheckRetention(c.RetentionDays); err != nil {
		return fmt.Errorf("config: retention_days (or MAILTRACE_RETENTION_DAYS): %w", err)
	}
	if _, err := c.Collector.Location(); err != nil {
		return err
	}
	if err := c.Evidence.Validate(); err != nil {
		return err
	}
	pools := map[string]bool{}
	for i := range c.Pools {
		p := &c.Pools[i]
		if p.Name == "" {
			return fmt.Errorf("config: pools[%d] has no name (e.g. {name: legal, source_ip: 203.0.113.10})", i)
		}
		p.SyslogName = p.Syslog()
		if p.SourceIP != "" {
			if _, err := netip.ParseAddr(p.SourceIP); err != nil {
				return fmt.Errorf("config: pools[%d] (%s): source_ip %q is not an IP address", i, p.Name, p.SourceIP)
			}
		}
		pools[p.Name] = true
	}
	for _, cl := range c.Milter.Classes {
		if len(c.Pools) > 0 && cl.Pool != "" && !pools[cl.Pool] {
			return fmt.Errorf("config: milter class %q leaves through pool %q, which is not in pools; add {name: %s, source_ip: ...} to pools", cl.Name, cl.Pool, cl.Pool)
		}
	}
	if err := c.Milter.Validate(); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	if err := c.Blocks.Validate(); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	if err := c.Bounces.Validate(); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	if err := c.Reports.Validate(); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	if err := c.Auth.Validate(); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	if _, err := c.Classify.Classifier(); err != nil {
		return fmt.Errorf("config: classify: %w", err)
	}
	if err := c.API.Validate(); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	if err := c.SQL.Validate(); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("config: log_level %q: use debug, info, warn or error", c.LogLevel)
	}
	return nil
}
