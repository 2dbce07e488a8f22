package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/mailtrace/mailtrace/reply"

	"github.com/mailtrace/mailtrace/collector"
	"github.com/mailtrace/mailtrace/schema"

	"github.com/mailtrace/mailtrace/config"
	"github.com/mailtrace/mailtrace/store"
)

// common are the flags every store-using command takes.
type common struct {
	configPath  string
	storeDSN    string
	chdbLibrary string
	logLevel    string
}

func (c *common) register(fs *flag.FlagSet) {
	fs.StringVar(&c.configPath, "config", "", "config file (default "+config.DefaultPath+" if it exists, or $MAILTRACE_CONFIG)")
	fs.StringVar(&c.storeDSN, "store", "", "store: chdb:///path or clickhouse://user:pass@host:9000/db (default from config, $MAILTRACE_STORE, "+config.DefaultStore+")")
	fs.StringVar(&c.chdbLibrary, "chdb-library", "", "path of libchdb.so for the embedded store (default: where set-up installed it)")
	fs.StringVar(&c.logLevel, "log-level", "", "debug, info, warn or error")
}

// load reads the config and applies the flags over it.
func (c *common) load() (config.Config, error) {
	cfg, err := config.Load(c.configPath)
	if err != nil {
		return cfg, err
	}
	if c.storeDSN != "" {
		cfg.Store = c.storeDSN
	}
	if c.chdbLibrary != "" {
		cfg.ChdbLibrary = c.chdbLibrary
	}
	if c.logLevel != "" {
		cfg.LogLevel = c.logLevel
	}
	return cfg, cfg.Validate()
}

// openStore opens the store for a command that writes to it: an embedded
// store's directory and a server's database are created when missing.
func openStore(ctx context.Context, cfg config.Config) (store.Store, error) {
	st, err := store.Open(ctx, cfg.Store, store.Options{ChdbLibrary: cfg.ChdbLibrary})
	if err != nil {
		return nil, fmt.Errorf("opening store %s: %w", store.Redact(cfg.Store), err)
	}
	return st, nil
}

// heldBySidecar adds to the error of a command that cannot ask the
// sidecar's API for what it needs (command, as the user would type it),
// when a running mailtrace holds the embedded store, how to run it.
func heldBySidecar(err error, command string) error {
	if !errors.Is(err, store.ErrInUse) {
		return err
	}
	return fmt.Errorf("%w: mailtrace %s needs the embedded store to itself, not through the running mailtrace's API; "+
		"stop it for the time (sudo systemctl stop mailtrace; sudo -u mailtrace mailtrace %s; sudo systemctl start mailtrace: "+
		"meanwhile mail flows unstamped and through Postfix's default transport)", err, command, command)
}

// openReadOnly opens the store for a command that only reads it. Nothing
// is created: a store that is not there (a mistyped --store, a config not
// found, nothing migrated yet) is said to be missing.
func openReadOnly(ctx context.Context, cfg config.Config) (store.Store, error) {
	st, err := store.Open(ctx, cfg.Store, store.Options{ChdbLibrary: cfg.ChdbLibrary, ReadOnly: true})
	if errors.Is(err, store.ErrNoStore) {
		why := strings.TrimPrefix(err.Error(), store.ErrNoStore.Error()+": ")
		return nil, fmt.Errorf("no mailtrace store at %s (%s); check --store/--config, or run `mailtrace migrate`", store.Redact(cfg.Store), why)
	}
	if err != nil {
		return nil, fmt.Errorf("opening store %s: %w", store.Redact(cfg.Store), err)
	}
	return st, nil
}

// loadNoArgs parses the flags of a command that takes no arguments, loads
// the config, applies the command's flag overrides to it, and checks the
// result.
func (c *common) loadNoArgs(fs *flag.FlagSet, args []string, stderr io.Writer, override func(*config.Config)) (config.Config, error) {
	if err := parseFlags(fs, args, stderr); err != nil {
		return config.Config{}, err
	}
	if fs.NArg() > 0 {
		return config.Config{}, fmt.Errorf("%w: %s takes no arguments (see mailtrace %s -h)", errUsage, fs.Name(), fs.Name())
	}
	cfg, err := c.load()
	if err != nil || override == nil {
		return cfg, err
	}
	override(&cfg)
	return cfg, cfg.Validate()
}

// set overrides a config value with a flag's when the flag was given.
func set(dst *string, flagValue string) {
	if flagValue != "" {
		*dst = flagValue
	}
}

// openMigrated opens the store and brings its schema up to date, as the
// commands that write to it do before they start.
func openMigrated(ctx context.Context, cfg config.Config) (store.Store, error) {
	st, err := openStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if _, err := schema.Migrate(ctx, st, schema.Options{Database: st.Database(), RetentionDays: cfg.RetentionDays}, false); err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

// pipelineOptions are a collector pipeline's options from the config.
func pipelineOptions(cfg config.Config, loc *time.Location, classifier *reply.Classifier, logger *slog.Logger) collector.PipelineOptions {
	return collector.PipelineOptions{Pools: cfg.Pools, Grace: cfg.Collector.Grace, Location: loc, Logger: logger,
		Classifier: classifier}
}
