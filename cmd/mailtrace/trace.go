package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/mailtrace/mailtrace/config"
	"github.com/mailtrace/mailtrace/store"
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
	st, base, err := storeOrAPI(ctx, cfg, *apiURL, stderr, "")
	if err != nil {
		return err
	}
	var msgs []*trace.Message
	if st != nil {
		defer st.Close()
		msgs, err = trace.NewReader(st).Find(ctx, q)
	} else {
		msgs, err = traceByAPI(ctx, base, q)
	}
	if err != nil {
		return err
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

func traceByAPI(ctx context.Context, base string, q trace.Query) ([]*trace.Message, error) {
	v := url.Values{}
	if !q.From.IsZero() {
		v.Set("from", q.From.Format(time.RFC3339Nano))
	}
	if !q.To.IsZero() {
		v.Set("to", q.To.Format(time.RFC3339Nano))
	}
	var buf bytes.Buffer
	err := apiGet(ctx, base, "/api/v1/trace/"+url.PathEscape(q.ID), v, &buf)
	if errors.Is(err, errNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var body struct {
		Messages []*trace.Message `json:"messages"`
	}
	if err := json.Unmarshal(buf.Bytes(), &body); err != nil {
		return nil, fmt.Errorf("API answer: %w", err)
	}
	return body.Messages, nil
}

// storeOrAPI opens the store, read-only, for a command that reads it. When apiURL is
// given, or a running mailtrace holds the embedded store (one process
// only may open it), it returns no store but the API to ask instead, and
// says so on stderr (with note appended).
func storeOrAPI(ctx context.Context, cfg config.Config, apiURL string, stderr io.Writer, note string) (store.Store, string, error) {
	// A library named for the embedded store must be there, whether the
	// store is opened (store.Open checks) or a running sidecar's API is
	// asked: the same setting would stop the sidecar at its next start.
	// A server store does not use it.
	if strings.HasPrefix(cfg.Store, "chdb:") {
		if err := store.CheckChdbLibrary(cfg.ChdbLibrary); err != nil {
			return nil, "", err
		}
	}
	if apiURL != "" {
		return nil, apiURL, nil
	}
	st, err := openReadOnly(ctx, cfg)
	if err == nil {
		return st, "", nil
	}
	if !errors.Is(err, store.ErrInUse) {
		return nil, "", err
	}
	u := "http://" + cfg.API.Listen
	fmt.Fprintf(stderr, "mailtrace: the store is held by a running mailtrace; asking its API at %s%s\n", u, note)
	return nil, u, nil
}

var errNotFound = errors.New("not found")

// apiGet asks a running mailtrace's API and copies a successful answer to
// w, with the token from MAILTRACE_API_TOKEN.
func apiGet(ctx context.Context, base, path string, q url.Values, w io.Writer) error {
	u := strings.TrimSuffix(base, "/") + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
	if err != nil {
		return err
	}
	if tok := os.Getenv("MAILTRACE_API_TOKEN"); tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	res, err := http.DefaultClient.Do(req)
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("the API ended its answer before it began (%v); the server's log says why", err)
	}
	if err != nil {
		return fmt.Errorf("asking the API: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode == http.StatusOK {
		if _, err := io.Copy(w, res.Body); err != nil {
			return fmt.Errorf("the API's answer was cut short (%v); the server's log says why", err)
		}
		return nil
	}
	var body struct {
		Error string `json:"error"`
	}
	json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(&body)
	switch res.StatusCode {
	case http.StatusNotFound:
		return errNotFound
	case http.StatusUnauthorized:
		return fmt.Errorf("API %s: %s (mailtrace commands send the token in MAILTRACE_API_TOKEN)", res.Status, body.Error)
	}
	return fmt.Errorf("API %s: %s", res.Status, body.Error)
}
