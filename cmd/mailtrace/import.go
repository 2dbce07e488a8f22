package main

import (
	"context"
	"flag"
	"fmt"
	"io"
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
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return fmt.Errorf("%w: import takes the log files to read, e.g. mailtrace import /var/log/mail.log.2.gz /var/log/mail.log.1", errUsage)
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
	for _, path := range fs.Args() {
		res, err := collector.Import(ctx, p, path)
		if err != nil {
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
	return nil
}
