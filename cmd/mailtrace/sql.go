package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

func runSQL(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sql", flag.ContinueOnError)
	var c common
	c.register(fs)
	format := fs.String("format", "tsv", "output: tsv or csv (with a header line) or json (one object per line)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: mailtrace sql [--format tsv|csv|json] \"SELECT ...\"   (or - to read the query from standard input)")
		fmt.Fprintln(stderr, "When a running mailtrace holds the embedded store, asks its API (api.listen), where SQL needs the admin role:")
		fmt.Fprintln(stderr, "an admin token in $MAILTRACE_API_TOKEN.")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("%w: sql takes one query, e.g. mailtrace sql \"SELECT status, count() FROM delivery_events GROUP BY status\"", errUsage)
	}
	query := fs.Arg(0)
	if query == "-" {
		b, err := io.ReadAll(os.Stdin)
		if err != nil {
			return err
		}
		query = string(b)
	}
	if strings.TrimSpace(query) == "" {
		return fmt.Errorf("%w: empty query", errUsage)
	}
	cfg, err := c.load()
	if err != nil {
		return err
	}
	// The store is read with the same checks and limits as /api/v1/sql:
	// this is the path for analysts on this machine, not a maintenance
	// console.
	rd, closeReader, err := openReader(ctx, cfg, "", stderr, " (sql needs the admin role: an admin token in MAILTRACE_API_TOKEN, or api.anonymous_role: admin)")
	if err != nil {
		return err
	}
	defer closeReader()
	w := bufio.NewWriterSize(stdout, 64<<10)
	if err := rd.SQL(ctx, query, *format, w); err != nil {
		w.Flush()
		return apiHint(err)
	}
	return w.Flush()
}
