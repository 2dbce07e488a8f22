package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mailtrace/mailtrace/bounce"
	"github.com/mailtrace/mailtrace/config"
	"github.com/mailtrace/mailtrace/dsn"
	"github.com/mailtrace/mailtrace/store"
)

// runDSN reads bounce reports from files: parse shows what is read,
// ingest stores it.
func runDSN(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("dsn", flag.ContinueOnError)
	var c common
	c.register(fs)
	asJSON := fs.Bool("json", false, "print one JSON object per file")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: mailtrace dsn parse FILE... [--json]   show what is read from bounce reports (DSN, ARF, auto-replies)")
		fmt.Fprintln(stderr, "       mailtrace dsn ingest FILE... [--json]  match them to their messages and store them")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	verb := fs.Arg(0)
	if verb != "parse" && verb != "ingest" {
		fs.Usage()
		return fmt.Errorf("%w: dsn needs parse or ingest", errUsage)
	}
	files := fs.Args()[1:]
	if len(files) == 0 {
		return fmt.Errorf("%w: name the report files (one message each, as saved from a mailbox)", errUsage)
	}
	cfg, err := c.load()
	if err != nil {
		return err
	}
	var st store.Store
	if verb == "ingest" {
		if st, err = openMigrated(ctx, cfg); err != nil {
			if errors.Is(err, store.ErrInUse) {
				return fmt.Errorf("%w: a running mailtrace holds the store; hand the reports to it instead: copy them into its bounces.maildir, or deliver them to its LMTP listener (%s)", err, cfg.Bounces.Listen)
			}
			return err
		}
		defer st.Close()
	}
	in, err := newIntake(cfg, st, nil, newLogger(cfg.LogLevel, stderr))
	if err != nil {
		return err
	}
	failed := 0
	for _, path := range files {
		raw, err := bounce.ReadFile(path)
		if err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", path, err)
			failed++
			continue
		}
		var res *bounce.Result
		if verb == "ingest" {
			if res, err = in.Ingest(ctx, raw, nil); err != nil {
				fmt.Fprintf(stderr, "%s: %v\n", path, err)
				failed++
				continue
			}
		} else {
			res = in.Parse(raw)
		}
		printReport(stdout, path, res, verb == "ingest", *asJSON)
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d file(s) not read", failed, len(files))
	}
	return nil
}

func printReport(w io.Writer, path string, res *bounce.Result, matched, asJSON bool) {
	rep := res.Report
	if asJSON {
		out := struct {
			File string `json:"file"`
			*dsn.Report
			Error     string `json:"error,omitempty"`
			MatchedBy string `json:"matched_by,omitempty"`
		}{File: path, Report: rep}
		if res.ParseErr != nil {
			out.Error = res.ParseErr.Error()
		}
		if matched {
			out.MatchedBy = res.MatchedBy
		}
		json.NewEncoder(w).Encode(out)
		return
	}
	fmt.Fprintf(w, "%s: %s (%s)", path, rep.Kind, rep.Format)
	if res.ParseErr != nil {
		fmt.Fprintf(w, " unreadable: %v", res.ParseErr)
	}
	if matched {
		fmt.Fprintf(w, ", matched by %s", res.MatchedBy)
		if res.Message != nil {
			fmt.Fprintf(w, " to %s/%s", res.Message.Host, res.Message.QueueID)
		}
	}
	fmt.Fprintln(w)
	for _, r := range rep.Recipients {
		fmt.Fprintf(w, "  %s\t%s\t%s\t%s\t%s\n", r.Address, r.Action, r.Status, r.Category, r.Diagnostic)
	}
}

// newIntake makes the bounce intake the config describes; st may be nil
// for parsing only, reg nil for no metrics.
func newIntake(cfg config.Config, st store.Store, reg prometheus.Registerer, logger *slog.Logger) (*bounce.Intake, error) {
	signer, err := cfg.Milter.Signer()
	if err != nil {
		return nil, err
	}
	classifier, err := cfg.Classify.Classifier()
	if err != nil {
		return nil, err
	}
	opts := bounce.Options{Signer: signer, Classifier: classifier, Logger: logger}
	if reg != nil {
		opts.Metrics = bounce.NewMetrics(reg)
	}
	return bounce.NewIntake(st, opts), nil
}

// serveBounces runs the bounce intake (LMTP listener, Maildir watcher)
// until ctx ends.
func serveBounces(ctx context.Context, cfg config.Config, st store.Store, reg *prometheus.Registry, logger *slog.Logger) error {
	logger = logger.With("part", "bounces")
	in, err := newIntake(cfg, st, reg, logger)
	if err != nil {
		return err
	}
	srv, err := bounce.ListenLMTP(cfg.Bounces, in)
	if err != nil {
		return fmt.Errorf("bounce intake: %w", err)
	}
	var wg sync.WaitGroup
	var lmtpErr, maildirErr error
	if srv != nil {
		logger.Info("taking bounce reports over LMTP", "listen", srv.Addr().String(), "postfix_transport", cfg.Bounces.PostfixTransport())
		wg.Go(func() { lmtpErr = srv.Serve(ctx) })
	}
	if cfg.Bounces.Maildir != "" {
		logger.Info("watching a Maildir for bounce reports", "maildir", cfg.Bounces.Maildir)
		wg.Go(func() { maildirErr = bounce.WatchMaildir(ctx, cfg.Bounces.Maildir, cfg.Bounces.PollInterval, in) })
	}
	if srv == nil && cfg.Bounces.Maildir == "" {
		<-ctx.Done() // nothing to take in; returning would stop the sidecar
	}
	wg.Wait()
	return errors.Join(lmtpErr, maildirErr)
}
