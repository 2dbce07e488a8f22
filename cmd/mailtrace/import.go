package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/mailtrace/mailtrace/collector"
	"github.com/mailtrace/mailtrace/schema"
)

func runImport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	var c common
	c.register(fs)
	tz := fs.String("timezone", "", "time zone of timestamps without one (default from config: Local)")
	again := fs.Bool("again", false, "read the files from their start even if imported before (with --before: to add rows an earlier import left out)")
	beforeFlag := fs.String("before", "", "store only rows from before this RFC 3339 time (the cutoff an earlier import named)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: mailtrace import [flags] FILE...   (Postfix logs: plain, .gz or journalctl -o export; oldest first)")
		fmt.Fprintln(stderr, "Importing a file again adds nothing; an import cut off continues where it stopped.")
		fmt.Fprintln(stderr, "A file without a Postfix log line is skipped, and the others imported; a missing one stops it before it starts.")
		fmt.Fprintln(stderr, "Rows older than the store's retention are not stored: the summary says how many and how to keep them.")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return fmt.Errorf("%w: import takes the log files to read, e.g. mailtrace import /var/log/mail.log.2.gz /var/log/mail.log.1", errUsage)
	}
	var before time.Time
	if *beforeFlag != "" {
		t, err := time.Parse(time.RFC3339, *beforeFlag)
		if err != nil {
			return fmt.Errorf("%w: --before %q: give an RFC 3339 time such as 2021-12-03T10:00:00Z", errUsage, *beforeFlag)
		}
		if !*again {
			return fmt.Errorf("%w: --before is for importing files again: give --again too", errUsage)
		}
		before = t
	}
	// Every file is there before any is read: files go in order (oldest
	// first, a message's lines may span two), so a missing one would put
	// the next out of step.
	if err := checkFiles(fs.Args(), "log files, e.g. mailtrace import /var/log/mail.log.2.gz /var/log/mail.log.1"); err != nil {
		return err
	}
	cfg, err := c.load()
	if err != nil {
		return err
	}
	if *tz != "" {
		cfg.Collector.Timezone = *tz
	}
	loc, err := cfg.Collector.Location()
	if err != nil {
		return err
	}
	classifier, err := cfg.Classify.Classifier()
	if err != nil {
		return err
	}
	st, err := openMigrated(ctx, cfg)
	if err != nil {
		return heldBySidecar(err, "import FILE...")
	}
	defer st.Close()
	logger := newLogger(cfg.LogLevel, stderr)
	opts := pipelineOptions(cfg, loc, classifier, logger)
	if opts.RetentionDays, err = schema.Retention(ctx, st); err != nil {
		return err
	}
	// Closed after the pipeline (defers run last first): its last facts
	// are in, then the last checkpoint is signed.
	ev, closeLedger, err := openLedgers(ctx, cfg, st, nil, logger, true)
	if err != nil {
		return err
	}
	defer closeLedger()
	opts.Evidence = ev
	opts.Again, opts.Before = *again, before
	p := collector.NewPipeline(st, opts)
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		p.Close(closeCtx)
	}()
	var skipped []string
	for _, path := range fs.Args() {
		res, err := collector.Import(ctx, p, path)
		switch {
		case errors.Is(err, collector.ErrNotPostfixLog):
			// Nothing of it is stored; the others go on.
			fmt.Fprintf(stderr, "mailtrace: %v\n", err)
			skipped = append(skipped, path)
			continue
		case errors.Is(err, collector.ErrUnreadable):
			return fmt.Errorf("import: %w (the file is damaged or cannot be read; lines before it are stored)", err)
		case err != nil:
			return fmt.Errorf("import: %w (run the same command again to continue where it stopped)", err)
		}
		printImported(stdout, path, res, before, p.Cutoff())
	}
	if len(skipped) > 0 {
		return fmt.Errorf("%d of %d file(s) not imported, as they hold no Postfix log line: %s", len(skipped), fs.NArg(), strings.Join(skipped, ", "))
	}
	return nil
}

// printImported says what the import of one file stored, what it left out
// and how to add that.
func printImported(stdout io.Writer, path string, res collector.ImportResult, before, cutoff time.Time) {
	if res.Lines == 0 && res.SkippedTo > 0 {
		fmt.Fprintf(stdout, "%s: already imported (%d bytes), nothing added\n", path, res.SkippedTo)
		return
	}
	rate := float64(res.Lines) / max(res.Elapsed.Seconds(), 1e-9)
	resumed := ""
	if res.SkippedTo > 0 {
		resumed = fmt.Sprintf(", continued after byte %d", res.SkippedTo)
	}
	fmt.Fprintf(stdout, "%s: %s, %s and %s stored in %s (%.0f lines/s%s)\n",
		path, collector.Count(res.Lines, "line"), collector.Count(res.Events, "delivery event"),
		collector.Count(res.Messages, "message record"), res.Elapsed.Round(time.Millisecond), rate, resumed)
	if res.Skipped > 0 {
		fmt.Fprintf(stdout, "  %d rows from %s on were stored by the earlier import and not written again\n",
			res.Skipped, before.Format(time.RFC3339))
	}
	printUnknown(stdout, res.Unknown)
	if hint := res.Outside.Hint(); hint != "" {
		fmt.Fprintf(stdout, "  %s, then import the file again with `mailtrace import --again --before %s %s`\n",
			hint, cutoff.Format(time.RFC3339), path)
	}
}

// checkFiles makes sure every path names a regular file this process can
// read, before a command that reads them stores anything; what says what
// the command takes.
func checkFiles(paths []string, what string) error {
	for _, path := range paths {
		fi, err := os.Stat(path)
		if err != nil {
			return fmt.Errorf("%s: %v; nothing was read (give %s)", path, unwrapPath(err), what)
		}
		if fi.IsDir() {
			return fmt.Errorf("%s is a directory; nothing was read (give %s; for every file of a directory, DIR/*)", path, what)
		}
		if !fi.Mode().IsRegular() {
			return fmt.Errorf("%s is not a regular file (%s); nothing was read (give %s)", path, fi.Mode().Type(), what)
		}
		f, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("%s: %v; nothing was read (run as a user who may read it)", path, unwrapPath(err))
		}
		f.Close()
	}
	return nil
}

// unwrapPath drops the path an *os.PathError repeats.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// printUnknown tells how many lines about a message were not understood,
// by kind, and where a few of each are kept.
func printUnknown(w io.Writer, unknown map[string]uint64) {
	if len(unknown) == 0 {
		return
	}
	kinds := make([]string, 0, len(unknown))
	total := uint64(0)
	for k, n := range unknown {
		kinds = append(kinds, k)
		total += n
	}
	sort.Slice(kinds, func(i, j int) bool {
		return unknown[kinds[i]] > unknown[kinds[j]] || unknown[kinds[i]] == unknown[kinds[j]] && kinds[i] < kinds[j]
	})
	var parts []string
	for i, k := range kinds {
		if i == 10 {
			parts = append(parts, fmt.Sprintf("%d more kinds", len(kinds)-10))
			break
		}
		parts = append(parts, fmt.Sprintf("%s %d", k, unknown[k]))
	}
	fmt.Fprintf(w, "  %s about a message not understood (%s); a few of each kind are kept: "+
		"mailtrace sql \"SELECT kind, line FROM unknown_lines ORDER BY time DESC LIMIT 50\"\n", collector.Count(total, "line"), strings.Join(parts, ", "))
}
