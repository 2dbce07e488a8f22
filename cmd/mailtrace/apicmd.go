package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/mailtrace/mailtrace/config"
	"github.com/mailtrace/mailtrace/schema"
	"github.com/mailtrace/mailtrace/store"
)

func runAPI(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("api", flag.ContinueOnError)
	var c common
	c.register(fs)
	listen := fs.String("listen", "", "host:port for the API and web UI (config: api.listen, default 127.0.0.1:8025)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: mailtrace api [--listen 127.0.0.1:8025]")
		fmt.Fprintln(stderr, "Serves the query API (/api/v1), the web UI (/), /metrics, /healthz and /readyz.")
		fs.PrintDefaults()
	}
	cfg, err := c.loadNoArgs(fs, args, stderr, func(cfg *config.Config) { set(&cfg.API.Listen, *listen) })
	if err != nil {
		return err
	}
	// The API only reads: it serves a store that exists and is up to date,
	// and creates nothing.
	st, err := openReadOnly(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := checkMigrated(ctx, st); err != nil {
		return err
	}
	return serveOn(ctx, cfg, st, stderr, apiPart)
}

// checkMigrated refuses a store that lacks migrations this binary has:
// its queries would fail on tables or columns that are not there yet.
func checkMigrated(ctx context.Context, st store.Store) error {
	opts := schema.Options{Database: st.Database()}
	applied, err := schema.Status(ctx, st, opts)
	if err != nil {
		return err
	}
	all, err := schema.Migrations(opts)
	if err != nil {
		return err
	}
	if len(applied) < len(all) {
		return fmt.Errorf("the store has %d of this mailtrace's %d migrations: run `mailtrace migrate` (mailtrace run, collect and milter apply them when they start)", len(applied), len(all))
	}
	return nil
}
