package api

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/mailtrace/mailtrace/block"
	"github.com/mailtrace/mailtrace/schema"
	"github.com/mailtrace/mailtrace/trace"
)

// Parameters shared by search and export.
var filterParams = []param{
	{name: "from", in: "query", typ: "string", description: "start of the time range (RFC 3339, or YYYY-MM-DD in UTC); default 24 hours before to"},
	{name: "to", in: "query", typ: "string", description: "end of the time range, exclusive (RFC 3339, or YYYY-MM-DD); default now"},
	{name: "sender", in: "query", typ: "string", description: "envelope sender, or @domain: matches the sender the application gave (the accept record's) or the one Postfix logged (from=, the VERP return path for classes with VERP)"},
	{name: "recipient", in: "query", typ: "string", description: "recipient address, or @domain"},
	{name: "subject", in: "query", typ: "string", description: "text the Subject contains, in any case (from the accept record: messages that did not pass the milter have none)"},
	{name: "class", in: "query", typ: "string", description: "message class (legal, collections...)"},
	{name: "pool", in: "query", typ: "string", description: "dedicated-IP pool"},
	{name: "source_ip", in: "query", typ: "string", description: "sending IP address"},
	{name: "provider", in: "query", typ: "string", description: "receiving provider (google, microsoft...)"},
	{name: "status", in: "query", typ: "string", description: "attempt status", enum: enumOf(schema.DeliveryStatuses)},
	{name: "dsn", in: "query", typ: "string", description: "enhanced status code or its prefix: 5, 5.7, 5.7.1"},
}

// enumOf lists a vocabulary's values for the API's description.
func enumOf[T ~string](values []T) []string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = string(v)
	}
	return out
}

func (s *Server) routeTable() []route {
	return append(append(s.baseRoutes(), s.reportRoutes()...), s.evidenceRoutes()...)
}

func (s *Server) baseRoutes() []route {
	return []route{
		{method: "GET", path: "/healthz", summary: "The process is up.", produces: "application/json",
			handler: func(w http.ResponseWriter, r *http.Request, _ url.Values) error {
				return writeJSON(w, map[string]string{"status": "ok"})
			}},
		{method: "GET", path: "/readyz", summary: "The store answers.", produces: "application/json",
			handler: s.ready},
		{method: "GET", path: "/api/v1/openapi.json", summary: "This document.", produces: "application/json",
			handler: func(w http.ResponseWriter, r *http.Request, _ url.Values) error {
				return writeJSON(w, s.openAPI())
			}},
		{method: "GET", path: "/api/v1/trace/{id}", summary: "Every message an identifier names, with its whole story.",
			role: RoleAnalyst, produces: "application/json", handler: s.trace,
			params: []param{
				{name: "id", in: "path", typ: "string", required: true, description: "trace ID, Message-ID, queue ID, or recipient address (with from and to)"},
				{name: "from", in: "query", typ: "string", description: "seen at or after (RFC 3339 or YYYY-MM-DD); needed for recipients"},
				{name: "to", in: "query", typ: "string", description: "seen before (RFC 3339 or YYYY-MM-DD); needed for recipients"},
				{name: "limit", in: "query", typ: "integer", description: "most messages to return (default 20, at most 1000)"},
			}},
		{method: "GET", path: "/api/v1/search", summary: "Delivery attempts matching a filter, newest first, one page at a time.",
			role: RoleAnalyst, produces: "application/json", handler: s.search,
			params: append(append([]param(nil), filterParams...),
				param{name: "cursor", in: "query", typ: "string", description: "the next value of the previous page"},
				param{name: "limit", in: "query", typ: "integer", description: fmt.Sprintf("rows per page (default %d, at most %d)", trace.DefaultPage, trace.MaxPage)}),
		},
		{method: "GET", path: "/api/v1/export", summary: fmt.Sprintf("Every attempt matching a filter, oldest first, streamed (range at most %d days).", int(trace.MaxExportSpan.Hours()/24)),
			role: RoleAnalyst, produces: "text/csv", handler: s.export,
			params: append(append([]param(nil), filterParams...),
				param{name: "format", in: "query", typ: "string", enum: []string{"csv", "jsonl"}, description: "csv (default, with a header line) or jsonl (one JSON object per line)"}),
		},
		{method: "GET", path: "/api/v1/blocks", summary: "Block incidents: a provider refusing one of our source IPs, or an IP on a DNS blocklist; newest first. Their times are in whole seconds (an incident opens at an attempt whose log line may have whole seconds only).",
			role: RoleAnalyst, produces: "application/json", handler: s.blocks,
			params: []param{
				{name: "state", in: "query", typ: "string", enum: []string{"open", "all"}, description: "open (default): the incidents open now, whenever they opened; all: those opened in the range"},
				{name: "from", in: "query", typ: "string", description: fmt.Sprintf("with state=all: opened at or after (RFC 3339 or YYYY-MM-DD); default %d days before to", block.DefaultRange/(24*time.Hour))},
				{name: "to", in: "query", typ: "string", description: "with state=all: opened before (RFC 3339 or YYYY-MM-DD); default now"},
				{name: "limit", in: "query", typ: "integer", description: "most incidents (default 100, at most 10000)"},
			}},
		{method: "GET", path: "/api/v1/sql", summary: "A read-only SELECT on the store.", role: RoleAdmin, produces: "text/tab-separated-values",
			handler: s.sql,
			params: []param{
				{name: "query", in: "query", typ: "string", required: true, description: "one SELECT or WITH query"},
				{name: "format", in: "query", typ: "string", enum: []string{"tsv", "csv", "json"}, description: "tsv (default), csv or json (one object per line)"},
			}},
	}
}

func (s *Server) blocks(w http.ResponseWriter, r *http.Request, q url.Values) error {
	f := block.Filter{Open: q.Get("state") != "all"}
	var err error
	if f.Limit, err = parseLimit(q.Get("limit")); err != nil {
		return err
	}
	if !f.Open {
		f.To = time.Now()
		if v := q.Get("to"); v != "" {
			if f.To, err = parseTime("to", v); err != nil {
				return err
			}
		}
		f.From = f.To.Add(-block.DefaultRange)
		if v := q.Get("from"); v != "" {
			if f.From, err = parseTime("from", v); err != nil {
				return err
			}
		}
		if !f.From.Before(f.To) {
			return fmt.Errorf("%w: from must be before to", errBadRequest)
		}
	}
	incs, err := s.read.Blocks(r.Context(), f)
	if err != nil {
		return err
	}
	return writeJSON(w, map[string]any{"incidents": incs})
}

func (s *Server) ready(w http.ResponseWriter, r *http.Request, _ url.Values) error {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	rows, err := s.st.Query(ctx, "SELECT 1", nil)
	if err == nil {
		_, err = rows.All()
	}
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "store: "+err.Error())
		return nil
	}
	return writeJSON(w, map[string]string{"status": "ready", "store": s.st.Backend()})
}

// parseTime reads RFC 3339 or a date (midnight UTC).
func parseTime(name, v string) (time.Time, error) {
	t, err := trace.ParseTime(v)
	if err != nil {
		return t, fmt.Errorf("%w: %s %v", errBadRequest, name, err)
	}
	return t, nil
}

// parseRange reads the from and to parameters (either may be absent: zero).
func parseRange(q url.Values) (from, to time.Time, err error) {
	if from, err = parseTime("from", q.Get("from")); err != nil {
		return from, to, err
	}
	to, err = parseTime("to", q.Get("to"))
	return from, to, err
}

func parseLimit(v string) (int, error) {
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("%w: limit %q is not a positive number", errBadRequest, v)
	}
	return n, nil
}

func (s *Server) trace(w http.ResponseWriter, r *http.Request, q url.Values) error {
	from, to, err := parseRange(q)
	if err != nil {
		return err
	}
	limit, err := parseLimit(q.Get("limit"))
	if err != nil {
		return err
	}
	tq := trace.Query{ID: r.PathValue("id"), From: from, To: to, Limit: limit}
	msgs, err := s.read.Trace(r.Context(), tq)
	if err != nil {
		return err
	}
	if len(msgs) == 0 {
		writeError(w, http.StatusNotFound, trace.NotFoundHint(tq))
		return nil
	}
	return writeJSON(w, map[string]any{"messages": msgs})
}

// filter reads the search and export parameters; the range defaults to
// the 24 hours before to (or now).
func filter(q url.Values) (trace.Filter, error) {
	from, to, err := parseRange(q)
	if err != nil {
		return trace.Filter{}, err
	}
	if to.IsZero() {
		to = time.Now().UTC()
	}
	if from.IsZero() {
		from = to.Add(-24 * time.Hour)
	}
	return trace.Filter{From: from, To: to, Sender: q.Get("sender"), Recipient: q.Get("recipient"), Subject: q.Get("subject"), Class: q.Get("class"),
		Pool: q.Get("pool"), SourceIP: q.Get("source_ip"), Provider: q.Get("provider"), Status: schema.DeliveryStatus(q.Get("status")), DSN: q.Get("dsn")}, nil
}

func (s *Server) search(w http.ResponseWriter, r *http.Request, q url.Values) error {
	f, err := filter(q)
	if err != nil {
		return err
	}
	limit, err := parseLimit(q.Get("limit"))
	if err != nil {
		return err
	}
	page, err := trace.Search(r.Context(), s.st, f, q.Get("cursor"), limit)
	if err != nil {
		return err
	}
	return writeJSON(w, page)
}

func (s *Server) export(w http.ResponseWriter, r *http.Request, q url.Values) error {
	f, err := filter(q)
	if err != nil {
		return err
	}
	if err := f.Check(trace.MaxExportSpan); err != nil {
		return err
	}
	format := q.Get("format")
	name := fmt.Sprintf("mailtrace-%s-%s", f.From.Format("20060102T150405Z"), f.To.Format("20060102T150405Z"))
	var emit func(*trace.Row) error
	var finish func() error
	switch format {
	case "", "csv":
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+`.csv"`)
		cw := csv.NewWriter(w)
		if err := cw.Write(trace.Columns); err != nil {
			return err
		}
		emit = func(row *trace.Row) error { return cw.Write(row.Values()) }
		finish = func() error { cw.Flush(); return cw.Error() }
	default:
		w.Header().Set("Content-Type", "application/x-ndjson")
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+`.jsonl"`)
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		emit = func(row *trace.Row) error { return enc.Encode(row) }
		finish = func() error { return nil }
	}
	// The answer streams: rows leave as the store reads them, and a
	// client that goes away stops the query.
	n := 0
	err = trace.Export(r.Context(), s.st, f, func(row *trace.Row) error {
		if err := emit(row); err != nil {
			return err
		}
		if n++; n%1000 == 0 {
			if fl, ok := w.(http.Flusher); ok {
				fl.Flush()
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return finish()
}

func (s *Server) sql(w http.ResponseWriter, r *http.Request, q url.Values) error {
	format := q.Get("format")
	if format == "" {
		format = "tsv"
	}
	w.Header().Set("Content-Type", map[string]string{"tsv": "text/tab-separated-values", "csv": "text/csv", "json": "application/x-ndjson"}[format])
	// The first 64 KiB wait, so that a query that fails early (a limit
	// reached by an aggregate, say) gets an error answer instead of a
	// header line and a cut.
	out := &heldWriter{w: w, limit: 64 << 10}
	err := s.read.SQL(r.Context(), q.Get("query"), format, out)
	if err == nil {
		return out.flush()
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	if !out.flushed {
		// A refusal, a syntax error, a limit the query reached: all say
		// what to change in the query.
		return fmt.Errorf("%w: %v", errBadRequest, err)
	}
	// Part of the answer is out: end the response abruptly, so that the
	// client sees an error rather than a shorter answer.
	s.logger.Error("sql answer cut short", "err", err)
	panic(http.ErrAbortHandler)
}

// heldWriter keeps the first limit bytes of an answer, then writes
// through.
type heldWriter struct {
	w       http.ResponseWriter
	limit   int
	held    []byte
	flushed bool
}

func (h *heldWriter) Write(b []byte) (int, error) {
	if !h.flushed && len(h.held)+len(b) <= h.limit {
		h.held = append(h.held, b...)
		return len(b), nil
	}
	if err := h.flush(); err != nil {
		return 0, err
	}
	return h.w.Write(b)
}

func (h *heldWriter) flush() error {
	if h.flushed {
		return nil
	}
	h.flushed = true
	_, err := h.w.Write(h.held)
	h.held = nil
	return err
}
