package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mailtrace/mailtrace/authreport"
	"github.com/mailtrace/mailtrace/bounce"
	"github.com/mailtrace/mailtrace/config"
	"github.com/mailtrace/mailtrace/dsn"
	"github.com/mailtrace/mailtrace/evidence"
	"github.com/mailtrace/mailtrace/schema"
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
		fmt.Fprintln(stderr, "Usage: mailtrace dsn parse FILE... [--json]   show what is read from bounce reports (DSN, ARF, read receipts, auto-replies, JSON notifications)")
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
	// Every file is there before any is read, as for import.
	if err := checkFiles(files, "report files, one message each as saved from a mailbox"); err != nil {
		return err
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
	logger := newLogger(cfg.LogLevel, stderr)
	var reports *authreport.Intake
	if st != nil {
		if reports, err = newReportIntake(cfg, st, nil, logger); err != nil {
			return err
		}
	}
	ev, closeLedger, err := openLedgers(ctx, cfg, st, nil, logger, verb == "ingest")
	if err != nil {
		return err
	}
	defer closeLedger()
	in, err := newIntake(cfg, st, reports, ev, nil, logger)
	if err != nil {
		return err
	}
	// A file that is not a report (too large, not a mail message) is
	// skipped, nothing stored for it, and the others go on.
	var skipped, failed int
	for _, path := range files {
		raw, err := bounce.ReadFile(path)
		if err == nil {
			err = dsn.CheckMessage(raw)
		}
		if err != nil {
			fmt.Fprintf(stderr, "mailtrace: %s: %s; nothing stored for it\n", escapeText(path), escapeText(err.Error()))
			skipped++
			continue
		}
		var res *bounce.Result
		if verb == "ingest" {
			if res, err = in.Ingest(ctx, raw, nil); err != nil {
				fmt.Fprintf(stderr, "mailtrace: %s: %s\n", escapeText(path), escapeText(err.Error()))
				failed++
				continue
			}
		} else {
			res = in.Parse(raw)
		}
		printReport(stdout, path, res, verb == "ingest", *asJSON)
	}
	var problems []string
	if failed > 0 {
		problems = append(problems, fmt.Sprintf("%d of %d file(s) not stored: give them again once the store answers", failed, len(files)))
	}
	if skipped > 0 {
		problems = append(problems, fmt.Sprintf("%d of %d file(s) skipped: not mail messages", skipped, len(files)))
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

// printReport writes what was read from one report. Reports come from
// strangers: every text in it is escaped (escapeText), in JSON too.
func printReport(w io.Writer, path string, res *bounce.Result, matched, asJSON bool) {
	rep := *res.Report
	escapeStrings(reflect.ValueOf(&rep).Elem())
	path = escapeText(path)
	parseErr := ""
	if res.ParseErr != nil {
		parseErr = escapeText(res.ParseErr.Error())
	}
	if asJSON {
		out := struct {
			File string `json:"file"`
			*dsn.Report
			Error     string           `json:"error,omitempty"`
			MatchedBy schema.MatchedBy `json:"matched_by,omitempty"`
		}{File: path, Report: &rep, Error: parseErr}
		if matched {
			out.MatchedBy = res.MatchedBy
		}
		json.NewEncoder(w).Encode(out)
		return
	}
	fmt.Fprintf(w, "%s: %s (%s)", path, rep.Kind, rep.Format)
	if parseErr != "" {
		fmt.Fprintf(w, " unreadable: %s", parseErr)
	}
	if matched {
		fmt.Fprintf(w, ", matched by %s", res.MatchedBy)
		if res.Message != nil {
			fmt.Fprintf(w, " to %s/%s", escapeText(res.Message.Host), escapeText(res.Message.QueueID))
		}
	}
	fmt.Fprintln(w)
	for _, r := range rep.Recipients {
		status := r.Status
		if r.InferredStatus != "" {
			status += " (words say " + r.InferredStatus + ")"
		}
		if rep.Kind == dsn.KindMDN {
			fmt.Fprintf(w, "  %s\tacknowledged by the recipient's mail client: %s\t%s\n", r.Address, r.Action, r.Disposition)
			continue
		}
		fmt.Fprintf(w, "  %s\t%s\t%s\t%s\t%s\n", r.Address, r.Action, status, r.Category, r.Diagnostic)
	}
}

// escapeText makes a text from a stranger safe to print on a terminal and
// keep on one line: bytes that are not UTF-8 become \xNN, control
// characters \t, \n, \r or \xNN (C0, DEL) and \u00NN (C1), other
// characters that do not print (format characters such as bidirectional
// overrides, line and paragraph separators) \uNNNN, and a backslash
// itself \\, so that every escape reads back one way.
func escapeText(s string) string {
	clean := true
	for _, r := range s {
		if r == '\\' || r == utf8.RuneError || !unicode.IsPrint(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r > 0xffff && !unicode.IsPrint(r):
			fmt.Fprintf(&b, `\U%08x`, r)
		case !unicode.IsPrint(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
		i += size
	}
	return b.String()
}

// escapeStrings escapes every exported string in v (a settable struct,
// pointer, slice or string), copying pointees and slices first so that what v shares with
// others is left as it was.
func escapeStrings(v reflect.Value) {
	switch v.Kind() {
	case reflect.String:
		v.SetString(escapeText(v.String()))
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				escapeStrings(v.Field(i))
			}
		}
	case reflect.Pointer:
		if v.IsNil() {
			return
		}
		c := reflect.New(v.Type().Elem())
		c.Elem().Set(v.Elem())
		v.Set(c)
		escapeStrings(c.Elem())
	case reflect.Slice:
		if v.IsNil() || v.Type().Elem().Kind() == reflect.Uint8 {
			return
		}
		c := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		reflect.Copy(c, v)
		v.Set(c)
		for i := range c.Len() {
			escapeStrings(c.Index(i))
		}
	}
}

// newIntake makes the bounce intake the config describes; st may be nil
// for parsing only, reports nil for DMARC and TLS reports taken as any
// other mail, reg nil for no metrics.
func newIntake(cfg config.Config, st store.Store, reports *authreport.Intake, ev *evidence.Ledgers, reg prometheus.Registerer, logger *slog.Logger) (*bounce.Intake, error) {
	signer, err := cfg.Milter.Signer()
	if err != nil {
		return nil, err
	}
	classifier, err := cfg.Classify.Classifier()
	if err != nil {
		return nil, err
	}
	opts := bounce.Options{Signer: signer, Classifier: classifier, Logger: logger, Evidence: ev}
	if reg != nil {
		opts.Metrics = bounce.NewMetrics(reg)
	}
	if reports != nil {
		// DMARC and TLS reports arrive with the bounces; they go to their
		// own intake (the rua=, ruf= and TLS-RPT addresses, or by their form).
		opts.Reports = authreport.NewRouter(cfg.Reports, reports)
	}
	return bounce.NewIntake(st, opts), nil
}
