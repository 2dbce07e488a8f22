// Package config reads mailtrace's configuration: one YAML file, overridden
// by MAILTRACE_* environment variables, overridden by command-line flags.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"

	"go.yaml.in/yaml/v3"
)

// DefaultPath is where the config file is looked for when none is named.
const DefaultPath = "/etc/mailtrace/mailtrace.yaml"

// DefaultStore is the embedded store's default location.
const DefaultStore = "chdb:///var/lib/mailtrace/store"

// Config is the whole configuration. Later parts of mailtrace (milter,
// collector, API) add their sections here.
type Config struct {
	// Store is where everything is kept: chdb:///path (embedded, the
	// default) or clickhouse://user:pass@host:9000/db (clickhouses:// for TLS).
	Store string `yaml:"store"`
	// ChdbLibrary is the path of libchdb.so when it is not where set-up
	// installed it.
	ChdbLibrary string `yaml:"chdb_library"`
	// RetentionDays is how long rows are kept (5 years by default).
	RetentionDays int `yaml:"retention_days"`
	// LogLevel is debug, info, warn or error.
	LogLevel string `yaml:"log_level"`
}

// Default is the configuration without a file.
func Default() Config {
	return Config{Store: DefaultStore, RetentionDays: 1826, LogLevel: "info"}
}

// Load reads the file at path (DefaultPath when path is empty, and then a
// missing file is fine) over the defaults, then applies the environment.
func Load(path string) (Config, error) {
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
	if err := c.applyEnv(); err != nil {
		return c, err
	}
	return c, c.Validate()
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
	if c.RetentionDays < 1 {
		return fmt.Errorf("config: retention_days is %d; give a positive number of days (1826 = 5 years)", c.RetentionDays)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("config: log_level %q: use debug, info, warn or error", c.LogLevel)
	}
	return nil
}
