package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/mailtrace/mailtrace/schema"
)

func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	var c common
	c.register(fs)
	print := fs.Bool("print", false, "print the DDL instead of applying it")
	cluster := fs.String("cluster", "", "render for the ClickHouse cluster of this name (ReplicatedMergeTree, ON CLUSTER, Distributed)")
	retention := fs.Int("retention-days", 0, fmt.Sprintf("keep rows this many days (default from config: %d = 10 years)", schema.DefaultRetentionDays))
	applyRetention := fs.Bool("apply-retention", false, "also set the retention on tables that already exist")
	status := fs.Bool("status", false, "list the applied migrations and exit")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: mailtrace migrate [--print] [--cluster NAME] [--retention-days N] [--apply-retention] [--status]")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: migrate takes no arguments, got %q", errUsage, fs.Args())
	}
	cfg, err := c.load()
	if err != nil {
		return err
	}
	opts := schema.Options{Database: "mailtrace", RetentionDays: cfg.RetentionDays, Cluster: *cluster}
	if *retention != 0 {
		opts.RetentionDays = *retention
	}
	if *print {
		if strings.HasPrefix(cfg.Store, "clickhouse") {
			opts.Database = databaseOf(cfg.Store)
		}
		stmts, err := schema.Render(opts)
		if err != nil {
			return err
		}
		for _, s := range stmts {
			fmt.Fprintf(stdout, "%s;\n\n", s)
		}
		return nil
	}
	open := openStore
	if *status {
		open = openReadOnly // --status only reads
	}
	st, err := open(ctx, cfg)
	if err != nil {
		if *status {
			return heldBySidecar(err, "migrate --status")
		}
		return heldBySidecar(err, "migrate")
	}
	defer st.Close()
	opts.Database = st.Database()
	if *status {
		applied, err := schema.Status(ctx, st, opts)
		if err != nil {
			return err
		}
		for _, a := range applied {
			fmt.Fprintf(stdout, "%04d %s applied %s (checksum %s)\n", a.Version, a.Name, a.At.Format("2006-01-02 15:04:05Z07:00"), a.Checksum)
		}
		return nil
	}
	applied, err := schema.Migrate(ctx, st, opts, *applyRetention)
	if err != nil {
		return err
	}
	if len(applied) == 0 {
		fmt.Fprintln(stdout, "store is up to date")
	}
	for _, m := range applied {
		fmt.Fprintf(stdout, "applied %04d %s (%d statements)\n", m.Version, m.Name, len(m.Statements))
	}
	return nil
}

// databaseOf is the database a clickhouse:// DSN names (mailtrace if none).
func databaseOf(dsn string) string {
	rest := dsn[strings.Index(dsn, "://")+3:]
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		db := rest[i+1:]
		if j := strings.IndexAny(db, "?#"); j >= 0 {
			db = db[:j]
		}
		if db != "" {
			return db
		}
	}
	return "mailtrace"
}
