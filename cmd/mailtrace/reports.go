package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mailtrace/mailtrace/authreport"
	"github.com/mailtrace/mailtrace/store"
	"github.com/mailtrace/mailtrace/trace"
)

// runReports reads the reports receivers send back about our sender
// authentication (DMARC aggregate and failure reports, SMTP TLS reports):
// parse shows them, ingest stores them, list shows what is stored.
func runReports(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("reports", flag.ContinueOnError)
	var c common
	c.register(fs)
	asJSON := fs.Bool("json", false, "print one JSON object per report per line")
	from := fs.String("from", "", fmt.Sprintf("list: start of the time range (RFC 3339 or YYYY-MM-DD; default %d days before --to)", authreport.DefaultRange/(24*time.Hour)))
	to := fs.String("to", "", "list: end of the time range (RFC 3339 or YYYY-MM-DD; default now)")
	apiURL := fs.String("api", "", "list: ask a running mailtrace's API at this URL instead of opening the store")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: mailtrace reports parse FILE... [--json]  show what is read from DMARC aggregate, DMARC failure and SMTP TLS reports")
		fmt.Fprintln(stderr, "       mailtrace reports ingest FILE...         store them (once per reporter and report ID)")
		fmt.Fprintln(stderr, "       mailtrace reports [list] [--from T --to T] [--json]  per reporter, day and pool: messages, DKIM/SPF/DMARC pass and aligned; unknown sources")
		fmt.Fprintln(stderr, "FILE is a saved message (.eml) or a report itself: .xml, .xml.gz, .zip, .json, .json.gz.")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	verb := fs.Arg(0)
	switch verb {
	case "", "list":
		return listReports(ctx, c, *from, *to, *apiURL, *asJSON, stdout, stderr)
	case "parse", "ingest":
	default:
		fs.Usage()
		return fmt.Errorf("%w: reports takes parse, ingest or list, not %q", errUsage, verb)
	}
	files := fs.Args()[1:]
	if len(files) == 0 {
		return fmt.Errorf("%w: name the report files (saved messages, or .xml, .xml.gz, .zip, .json files)", errUsage)
	}
	if err := checkFiles(files, "report files: saved messages, or .xml, .xml.gz, .zip, .json files"); err != nil {
		return err
	}
	if verb == "ingest" {
		return ingestReports(ctx, c, files, stdout, stderr)
	}
	refused := 0
	for _, path := range files {
		for _, rep := range readReportFile(path) {
			if rep.Err != nil {
				refused++
			}
			printAuthReport(stdout, &rep, *asJSON)
		}
	}
	if refused > 0 {
		return fmt.Errorf("%d report(s) refused; each says why", refused)
	}
	return nil
}

// readReportFile reads the reports of one file.
func readReportFile(path string) []authreport.Report {
	raw, err := readCappedFile(path)
	if err != nil {
		return []authreport.Report{{Source: path, Kind: authreport.KindUnknown, Err: err}}
	}
	return authreport.Read(path, raw)
}

// readCappedFile reads a report file, refusing one over
// authreport.MaxMessage.
func readCappedFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, authreport.MaxMessage+1))
	if err != nil {
		return nil, err
	}
	if len(raw) > authreport.MaxMessage {
		return nil, authreport.ErrMessageLarge
	}
	return raw, nil
}

// printAuthReport writes one report. Reports come from strangers: every
// text is escaped (escapeText), in JSON too.
func printAuthReport(w io.Writer, rep *authreport.Report, asJSON bool) {
	j := rep.JSON()
	escapeStrings(reflect.ValueOf(&j).Elem())
	if asJSON {
		json.NewEncoder(w).Encode(j)
		return
	}
	fmt.Fprintf(w, "%s: %s", j.File, j.Kind)
	if j.Error != "" {
		fmt.Fprintf(w, " refused: %s\n", j.Error)
		return
	}
	fmt.Fprintf(w, " from %q, report %s, %s to %s\n", j.Org, j.ReportID, j.Begin, j.End)
	switch {
	case j.Records != nil:
		p := j.Policy
		fmt.Fprintf(w, "  domain %s: p=%s sp=%s np=%s adkim=%s aspf=%s pct=%s t=%s\n", j.Domain, p.P, p.SP, p.NP, p.ADKIM, p.ASPF, p.Pct, p.Testing)
		for _, r := range *j.Records {
			fmt.Fprintf(w, "  %s\t%d\t%s\tdkim=%s spf=%s\tfrom=%s\n", r.SourceIP, r.Count, r.Disposition, r.DKIM, r.SPF, r.HeaderFrom)
		}
	case j.Policies != nil:
		for _, p := range *j.Policies {
			fmt.Fprintf(w, "  %s %s mx=%s: %d successful, %d failed\n", p.PolicyType, p.PolicyDomain, strings.Join(p.MXHost, ","), p.Successful, p.Failed)
			for _, f := range p.Failures {
				fmt.Fprintf(w, "    %s %s -> %s: %d\n", f.ResultType, f.SendingMTAIP, f.ReceivingMXHostname, f.FailedSessionCount)
			}
		}
	case j.FeedbackType != nil:
		fmt.Fprintf(w, "  %s: %s failed for %s from %s (aligned: %s)\n", *j.FeedbackType, *j.AuthFailure, *j.ReportedDomain, *j.SourceIP, *j.IdentityAlignment)
	}
}

// ingestReports stores the reports of each file, once.
func ingestReports(ctx context.Context, c common, files []string, stdout, stderr io.Writer) error {
	cfg, err := c.load()
	if err != nil {
		return err
	}
	st, err := openMigrated(ctx, cfg)
	if err != nil {
		if errors.Is(err, store.ErrInUse) {
			return fmt.Errorf("%w: a running mailtrace holds the store; hand the reports to it instead: copy them into its bounces.maildir, or deliver them to its LMTP listener (%s)", err, cfg.Bounces.Listen)
		}
		return err
	}
	defer st.Close()
	in, err := newReportIntake(cfg, st, nil, newLogger(cfg.LogLevel, stderr))
	if err != nil {
		return err
	}
	var refused, failed int
	defer in.Wait() // the sources' reverse DNS, looked up after storing
	for _, path := range files {
		raw, err := readCappedFile(path)
		if err != nil {
			fmt.Fprintf(stderr, "mailtrace: %s: %s\n", escapeText(path), escapeText(err.Error()))
			failed++
			continue
		}
		results, err := in.Ingest(ctx, path, raw)
		for _, r := range results {
			j := r.Report.JSON()
			escapeStrings(reflect.ValueOf(&j).Elem())
			fmt.Fprintf(stdout, "%s: %s %s", j.File, j.Kind, r.Outcome)
			if j.Error != "" {
				fmt.Fprintf(stdout, ": %s (kept aside in auth_reports)", j.Error)
				refused++
			} else {
				fmt.Fprintf(stdout, " (%q, report %s)", j.Org, j.ReportID)
			}
			fmt.Fprintln(stdout)
		}
		if err != nil {
			fmt.Fprintf(stderr, "mailtrace: %s: %s\n", escapeText(path), escapeText(err.Error()))
			failed++
		}
	}
	var problems []string
	if failed > 0 {
		problems = append(problems, fmt.Sprintf("%d of %d file(s) not stored: give them again once the store answers (what was stored is not stored twice)", failed, len(files)))
	}
	if refused > 0 {
		problems = append(problems, fmt.Sprintf("%d report(s) refused, each with its reason", refused))
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

// listReports shows what is stored: per reporter, day and pool, unknown
// sources, coverage, and the reports received.
func listReports(ctx context.Context, c common, from, to, apiURL string, asJSON bool, stdout, stderr io.Writer) error {
	cfg, err := c.load()
	if err != nil {
		return err
	}
	var rg authreport.Range
	if rg.To, err = trace.ParseTime(to); err != nil {
		return fmt.Errorf("%w: --to %v", errUsage, err)
	}
	if rg.To.IsZero() {
		rg.To = time.Now()
	}
	if rg.From, err = trace.ParseTime(from); err != nil {
		return fmt.Errorf("%w: --from %v", errUsage, err)
	}
	if rg.From.IsZero() {
		rg.From = rg.To.Add(-authreport.DefaultRange)
	}
	rd, closeReader, err := openReader(ctx, cfg, apiURL, stderr, "")
	if err != nil {
		return err
	}
	defer closeReader()
	got, err := rd.Reports(ctx, rg)
	if err != nil {
		return apiHint(err)
	}
	v := *got
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetEscapeHTML(false)
		escapeStrings(reflect.ValueOf(&v).Elem())
		return enc.Encode(v)
	}
	escapeStrings(reflect.ValueOf(&v).Elem())
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "DMARC, %s to %s: per reporter, day and pool (messages; DKIM and SPF passed, aligned; DMARC passed)\n",
		rg.From.UTC().Format("2006-01-02"), rg.To.UTC().Format("2006-01-02"))
	fmt.Fprintln(tw, "DAY\tREPORTER\tDOMAIN\tPOOL\tMESSAGES\tDKIM\tSPF\tDKIM ALIGNED\tSPF ALIGNED\tDMARC")
	for _, d := range v.Summary {
		pool := d.Pool
		if pool == "" {
			pool = "(none)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\n", d.Day, d.Org, d.Domain, pool, d.Messages, d.DKIMPass, d.SPFPass, d.DKIMAligned, d.SPFAligned, d.DMARCPass)
	}
	tw.Flush()
	if len(v.UnknownSources) > 0 {
		fmt.Fprintln(stdout, "\nUnknown sources: IPs in no pool sending as your domains")
		tw = tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "SOURCE IP\tPTR\tMESSAGES\tDMARC PASS\tFROM\tREPORTERS\tFIRST\tLAST")
		for _, u := range v.UnknownSources {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%s\t%s\t%s\n", u.SourceIP, u.PTR, u.Messages, u.DMARCPass, strings.Join(u.Domains, ","), strings.Join(u.Reporters, ","), u.FirstDay, u.LastDay)
		}
		tw.Flush()
	}
	if len(v.Coverage) > 0 {
		fmt.Fprintln(stdout, "\nCoverage: what a reporter counted from your pools against your deliveries to it that day")
		tw = tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "DAY\tREPORTER\tPROVIDER\tREPORTED\tFROM POOLS\tDELIVERED\tRATIO")
		for _, c := range v.Coverage {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%.2f\n", c.Day, c.Org, c.Provider, c.Reported, c.FromPools, c.Delivered, c.Ratio)
		}
		tw.Flush()
	}
	fmt.Fprintf(stdout, "\n%d report(s) about or received in the range", len(v.Reports))
	refused := 0
	for _, r := range v.Reports {
		if r.Error != "" {
			refused++
		}
	}
	if refused > 0 {
		fmt.Fprintf(stdout, ", %d refused (SELECT source, error FROM auth_reports WHERE error != '')", refused)
	}
	fmt.Fprintln(stdout)
	return nil
}
