package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/mailtrace/mailtrace/trace"
)

func runTrace(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("trace", flag.ContinueOnError)
	var c common
	c.register(fs)
	asJSON := fs.Bool("json", false, "print each message as one JSON object per line (recipients[] with address, status, attempts[])")
	from := fs.String("from", "", "start of the time range: seen at or after (RFC 3339 or YYYY-MM-DD); a recipient is looked up within --from and --to")
	to := fs.String("to", "", "end of the time range: seen before (RFC 3339 or YYYY-MM-DD)")
	local := fs.Bool("local", false, "print times in this machine's zone instead of UTC")
	apiURL := fs.String("api", "", "ask a running mailtrace's API at this URL instead of opening the store (default: when the embedded store is held by a running mailtrace, http://api.listen)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: mailtrace trace ID [--json] [--from T --to T] [--api URL]")
		fmt.Fprintln(stderr, "ID is a trace ID, a Message-ID, a queue ID, or a recipient address within a time range (--from and --to).")
		fmt.Fprintln(stderr, "A token for the API is read from $MAILTRACE_API_TOKEN.")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("%w: trace takes one ID (a trace ID, Message-ID, queue ID, or a recipient with --from and --to), got %d arguments", errUsage, fs.NArg())
	}
	id := fs.Arg(0)
	cfg, err := c.load()
	if err != nil {
		return err
	}
	var q trace.Query
	q.ID = id
	if q.From, err = trace.ParseTime(*from); err != nil {
		return fmt.Errorf("%w: --from %v", errUsage, err)
	}
	if q.To, err = trace.ParseTime(*to); err != nil {
		return fmt.Errorf("%w: --to %v", errUsage, err)
	}
	rd, closeReader, err := openReader(ctx, cfg, *apiURL, stderr, "")
	if err != nil {
		return err
	}
	defer closeReader()
	msgs, err := rd.Trace(ctx, q)
	if err != nil {
		return apiHint(err)
	}
	if len(msgs) == 0 {
		return errors.New(strings.Replace(trace.NotFoundHint(q), "(from and to)", "(--from and --to)", 1))
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetEscapeHTML(false)
		for _, m := range msgs {
			if err := enc.Encode(m); err != nil {
				return err
			}
		}
		return nil
	}
	loc := time.UTC
	if *local {
		loc = time.Local
	}
	return trace.WriteText(stdout, msgs, loc)
}
