package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mailtrace/mailtrace/certificate"
	"github.com/mailtrace/mailtrace/evidence"
	"github.com/mailtrace/mailtrace/store"
	"github.com/mailtrace/mailtrace/trace"
	"github.com/mailtrace/mailtrace/traceid"
)

// EvidenceOptions let the API export evidence bundles: the log's public
// keys to put in them, and the certificate's defaults.
type EvidenceOptions struct {
	PublicKeys []string
	Lang       string         // es (default) or en
	Zone       *time.Location // default America/Bogota
	// CheckpointInterval is evidence.checkpoint_interval: a message not
	// yet covered by a checkpoint is answered 503 with a Retry-After of
	// this many seconds (default 1m).
	CheckpointInterval time.Duration
}

func (s *Server) evidenceRoutes() []route {
	return []route{{method: "GET", path: "/api/v1/evidence/{id}",
		summary: "One message's evidence bundle (zip): its evidence records, their proofs against a signed, time-stamped checkpoint, the log's key and the delivery certificate (PDF); verify it offline with mailtrace evidence verify BUNDLE.zip (docs/evidence-format.md).",
		role:    RoleAnalyst, produces: "application/zip", handler: s.evidence,
		responses: map[string]any{
			"404": errorResponse("no message is known by this identifier, the ledger has no record of it, or evidence is off"),
			"503": retryResponse("the message's records are in the ledger but no signed checkpoint covers them yet: ask again after Retry-After seconds (the next checkpoint, within evidence.checkpoint_interval)"),
		},
		params: []param{
			{name: "id", in: "path", typ: "string", required: true, description: "trace ID, Message-ID, queue ID, or recipient address (with from and to): it must name one message"},
			{name: "from", in: "query", typ: "string", description: "seen at or after (RFC 3339 or YYYY-MM-DD); needed for recipients"},
			{name: "to", in: "query", typ: "string", description: "seen before (RFC 3339 or YYYY-MM-DD); needed for recipients"},
			{name: "lang", in: "query", typ: "string", enum: []string{"es", "en"}, description: "the certificate's language (default es)"},
		}}}
}

func (s *Server) evidence(w http.ResponseWriter, r *http.Request, q url.Values) error {
	if s.evidenceOpts == nil || len(s.evidenceOpts.PublicKeys) == 0 {
		writeError(w, http.StatusNotFound, "no evidence ledger: evidence.enabled is off, or its key cannot be read by this process")
		return nil
	}
	from, to, err := parseRange(q)
	if err != nil {
		return err
	}
	lang := q.Get("lang")
	if lang == "" {
		lang = s.evidenceOpts.Lang
	}
	if lang != "" && lang != "es" && lang != "en" {
		return fmt.Errorf("%w: lang %q: es or en", errBadRequest, lang)
	}
	tq := trace.Query{ID: r.PathValue("id"), From: from, To: to}
	msgs, err := s.read.Trace(r.Context(), tq)
	if err != nil {
		return err
	}
	groups := GroupMessages(msgs)
	switch {
	case len(groups) == 0:
		writeError(w, http.StatusNotFound, trace.NotFoundHint(tq))
		return nil
	case len(groups) > 1:
		var names []string
		for _, g := range groups {
			names = append(names, g.Name)
		}
		return fmt.Errorf("%w: %q names %d messages (%s): ask for one by its trace ID", errBadRequest, tq.ID, len(groups), strings.Join(names, ", "))
	}
	g := groups[0]
	opts := certificate.Options{Lang: lang, Zone: s.evidenceOpts.Zone}
	var buf bytes.Buffer
	storage := evidence.NewStoreStorage(s.st, store.WriterOptions{Logger: s.logger})
	defer storage.Close(r.Context())
	_, err = evidence.Export(r.Context(), &buf, evidence.ExportOptions{Storage: storage, Messages: g.Keys, Query: tq.ID,
		PublicKeys: s.evidenceOpts.PublicKeys, Now: time.Now(),
		Certificate: func(bc *evidence.BundleContents) ([]byte, error) {
			return certificate.Render(bc.Records, bc.ManifestSHA256, opts)
		}})
	if errors.Is(err, evidence.ErrNoCheckpointYet) {
		// Not missing: the next checkpoint covers it.
		interval := s.evidenceOpts.CheckpointInterval
		if interval <= 0 {
			interval = time.Minute
		}
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(interval.Seconds()))))
		writeError(w, http.StatusServiceUnavailable, "message "+g.Name+": "+err.Error())
		return nil
	}
	if err != nil {
		writeError(w, http.StatusNotFound, "message "+g.Name+": "+err.Error())
		return nil
	}
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Disposition", `attachment; filename="evidence-`+safeFileName(g.Name)+`.zip"`)
	_, err = w.Write(buf.Bytes())
	return err
}

// MessageGroup is the chain keys of messages exported together in one
// bundle: a message, the queue entries it passed through (content
// filters, re-injection), and any other message found sharing one.
type MessageGroup struct {
	Name string // the trace ID, else the queue ID
	Keys []string
}

// GroupMessages groups the messages a trace lookup found into bundles.
func GroupMessages(msgs []*trace.Message) []MessageGroup {
	var groups []MessageGroup
	for _, m := range msgs {
		var keys []string
		if id, ok := traceid.Parse(m.TraceID); ok {
			keys = append(keys, evidence.MessageKey(id, m.Host, m.QueueID))
		}
		keys = append(keys, evidence.MessageKey([16]byte{}, m.Host, m.QueueID))
		for _, h := range m.Hops {
			keys = append(keys, evidence.MessageKey([16]byte{}, m.Host, h.QueueID))
		}
		name := m.QueueID
		if m.TraceID != "" {
			name = m.TraceID
		}
		merged := false
		for i := range groups {
			if slices.ContainsFunc(keys, func(k string) bool { return slices.Contains(groups[i].Keys, k) }) {
				for _, k := range keys {
					if !slices.Contains(groups[i].Keys, k) {
						groups[i].Keys = append(groups[i].Keys, k)
					}
				}
				merged = true
				break
			}
		}
		if !merged {
			slices.Sort(keys)
			groups = append(groups, MessageGroup{Name: name, Keys: slices.Compact(keys)})
		}
	}
	return groups
}

func safeFileName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || r == '.' || r == '_' || ('0' <= r && r <= '9') || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') {
			return r
		}
		return '_'
	}, s)
}

// Evidence asks the API for the bundle of the one message q names and
// writes it to w: what `mailtrace evidence export` does when a running
// mailtrace holds the embedded store.
func (c *Client) Evidence(ctx context.Context, q trace.Query, lang string, w io.Writer) error {
	v := url.Values{}
	if !q.From.IsZero() {
		v.Set("from", q.From.UTC().Format(time.RFC3339Nano))
	}
	if !q.To.IsZero() {
		v.Set("to", q.To.UTC().Format(time.RFC3339Nano))
	}
	if lang != "" {
		v.Set("lang", lang)
	}
	return c.get(ctx, "/api/v1/evidence/"+url.PathEscape(q.ID), v, w)
}
