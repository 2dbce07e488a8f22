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

	"github.com/mailtrace/mailtrace/authreport"
)

// runReports reads the reports receivers send back about our sender
// authentication (DMARC aggregate and failure reports, SMTP TLS reports):
// parse shows them, ingest stores them, list shows what is stored.
func runReports(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("reports", flag.ContinueOnError)
	var c common
	c.register(fs)
	asJSON := fs.Bool("json", false, "print one JSON object per report per line")
	from := fs.String("from", "", "list: start of the time range (RFC 3339 or YYYY-MM-DD; default 30 days before --to)")
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
	f, err := os.Open(path)
	if err != nil {
		return []authreport.Report{{Source: path, Kind: authreport.KindUnknown, Err: err}}
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, authreport.MaxMessage+1))
	if err != nil {
		return []authreport.Report{{Source: path, Kind: authreport.KindUnknown, Err: err}}
	}
	return authreport.Read(path, raw)
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

func listReports(ctx context.Context, c common, from, to, apiURL string, asJSON bool, stdout, stderr io.Writer) error {
	return errors.New("TODO")
}

func ingestReports(ctx context.Context, c common, files []string, stdout, stderr io.Writer) error {
	return errors.New("TODO")
}
