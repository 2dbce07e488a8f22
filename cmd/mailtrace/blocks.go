package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/mailtrace/mailtrace/block"
	"github.com/mailtrace/mailtrace/trace"
)

// runBlocks lists block incidents: open ones, or all opened in a range.
func runBlocks(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("blocks", flag.ContinueOnError)
	var c common
	c.register(fs)
	all := fs.Bool("all", false, "incidents opened in a time range (--from, --to), open or closed; default: the ones open now")
	from := fs.String("from", "", fmt.Sprintf("with --all: start of the time range, opened at or after (RFC 3339 or YYYY-MM-DD; default %d days before --to)", block.DefaultRange/(24*time.Hour)))
	to := fs.String("to", "", "with --all: end of the time range, opened before (RFC 3339 or YYYY-MM-DD; default now)")
	asJSON := fs.Bool("json", false, "print one JSON object per incident")
	apiURL := fs.String("api", "", "ask a running mailtrace's API at this URL instead of opening the store")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: mailtrace blocks [--all [--from T] [--to T]] [--json] [--api URL]")
		fmt.Fprintln(stderr, "Lists block incidents: a provider refusing one of the pools' source IPs, or an IP on a DNS blocklist.")
		fs.PrintDefaults()
	}
	cfg, err := c.loadNoArgs(fs, args, stderr, nil)
	if err != nil {
		return err
	}
	f := block.Filter{Open: !*all}
	if *all {
		if f.To, err = trace.ParseTime(*to); err != nil {
			return fmt.Errorf("%w: --to %v", errUsage, err)
		}
		if f.To.IsZero() {
			f.To = time.Now()
		}
		if f.From, err = trace.ParseTime(*from); err != nil {
			return fmt.Errorf("%w: --from %v", errUsage, err)
		}
		if f.From.IsZero() {
			f.From = f.To.Add(-block.DefaultRange)
		}
	}
	rd, closeReader, err := openReader(ctx, cfg, *apiURL, stderr, "")
	if err != nil {
		return err
	}
	defer closeReader()
	incidents, err := rd.Blocks(ctx, f)
	if err != nil {
		return apiHint(err)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetEscapeHTML(false)
		for _, inc := range incidents {
			if err := enc.Encode(inc); err != nil {
				return err
			}
		}
		return nil
	}
	if len(incidents) == 0 {
		if *all {
			fmt.Fprintln(stdout, "no block incidents opened in the range")
		} else {
			fmt.Fprintln(stdout, "no block incident is open")
		}
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "OPENED (UTC)\tKIND\tPOOL\tSOURCE IP\tPROVIDER/ZONE\tSIGNALS\tATTEMPTS\tCATEGORY\tCLOSED")
	for _, inc := range incidents {
		closed := "open"
		if inc.ClosedAt != nil {
			closed = inc.ClosedAt.UTC().Format("2006-01-02 15:04") + " (" + string(inc.CloseReason) + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", inc.OpenedAt.UTC().Format("2006-01-02 15:04:05"), inc.Kind, inc.Pool,
			inc.SourceIP, inc.Provider, strconv.FormatUint(inc.Signals, 10), strconv.FormatUint(inc.Attempts, 10), inc.Category, closed)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, inc := range incidents {
		if inc.Sample != "" {
			fmt.Fprintf(stdout, "\n%s %s: %s\n", inc.Provider, inc.SourceIP, inc.Sample)
		}
	}
	return nil
}
