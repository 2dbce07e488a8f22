package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/mailtrace/mailtrace/collector"
)

func runImport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	var c common
	c.register(fs)
	tz := fs.String("timezone", "", "time zone of timestamps without one (default from config: Local)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: mailtrace import [flags] FILE...   (plain or .gz Postfix logs, oldest first)")
		fmt.Fprintln(stderr, "Importing a file again adds nothing; an import cut off continues where it stopped.")
		fmt.Fprintln(stderr, "A file without a Postfix log line is skipped, and the others imported; a missing one stops it before it starts.")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return fmt.Errorf("%w: import takes the log files to read, e.g. mailtrace import /var/log/mail.log.2.gz /var/log/mail.log.1", errUsage)
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
		return err
	}
	defer st.Close()
	p := collector.NewPipeline(st, pipelineOptions(cfg, loc, classifier, newLogger(cfg.LogLevel, stderr)))
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
		switch {
		case res.Lines == 0 && res.SkippedTo > 0:
			fmt.Fprintf(stdout, "%s: already imported (%d bytes), nothing added\n", path, res.SkippedTo)
		default:
			rate := float64(res.Lines) / max(res.Elapsed.Seconds(), 1e-9)
			resumed := ""
			if res.SkippedTo > 0 {
				resumed = fmt.Sprintf(", continued after byte %d", res.SkippedTo)
			}
			fmt.Fprintf(stdout, "%s: %d lines, %d delivery events, %d message records in %s (%.0f lines/s%s)\n",
				path, res.Lines, res.Events, res.Messages, res.Elapsed.Round(time.Millisecond), rate, resumed)
		}
	}
	if len(skipped) > 0 {
		return fmt.Errorf("%d of %d file(s) not imported, as they hold no Postfix log line: %s", len(skipped), fs.NArg(), strings.Join(skipped, ", "))
	}
	return nil
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
