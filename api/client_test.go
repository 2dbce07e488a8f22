package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mailtrace/mailtrace/authreport"
	"github.com/mailtrace/mailtrace/block"
	"github.com/mailtrace/mailtrace/trace"
	"github.com/mailtrace/mailtrace/trace/tracetest"
)

// TestClientReadsAsTheStore: every read through a running API's Client
// gives what the StoreReader gives from the store itself, and the API's
// refusals come back as StatusErrors.
func TestClientReadsAsTheStore(t *testing.T) {
	ts := start(t, withTokens)
	ctx := context.Background()
	local := NewStoreReader(ts.fx.Store, withTokens.SQL)
	remote := NewClient(ts.URL, adminToken)
	same := func(t *testing.T, what string, read func(Reader) (any, error)) {
		t.Helper()
		want, err := read(local)
		if err != nil {
			t.Fatalf("%s from the store: %v", what, err)
		}
		got, err := read(remote)
		if err != nil {
			t.Fatalf("%s through the API: %v", what, err)
		}
		wj, _ := json.Marshal(want)
		gj, _ := json.Marshal(got)
		if string(wj) != string(gj) {
			t.Errorf("%s through the API:\n%s\nfrom the store:\n%s", what, gj, wj)
		}
	}
	day := trace.Query{From: tracetest.T0.Add(-time.Hour), To: tracetest.T0.Add(time.Hour)}
	for _, tt := range []struct {
		name string
		q    trace.Query
		n    int
	}{
		{"trace ID", trace.Query{ID: ts.fx.Legal.String()}, 1},
		{"recipient in a range", trace.Query{ID: "carl@yahoo.test", From: day.From, To: day.To}, 1},
		{"unknown queue ID", trace.Query{ID: "4XZZ9"}, 0},
	} {
		t.Run("trace "+tt.name, func(t *testing.T) {
			same(t, "trace", func(r Reader) (any, error) {
				msgs, err := r.Trace(ctx, tt.q)
				if err == nil && len(msgs) != tt.n {
					t.Errorf("%T: %d messages, want %d", r, len(msgs), tt.n)
				}
				return msgs, err
			})
		})
	}
	t.Run("blocks open", func(t *testing.T) {
		same(t, "blocks", func(r Reader) (any, error) { return r.Blocks(ctx, block.Filter{Open: true}) })
	})
	t.Run("blocks in a range", func(t *testing.T) {
		same(t, "blocks", func(r Reader) (any, error) {
			return r.Blocks(ctx, block.Filter{From: tracetest.T0.Add(-24 * time.Hour), To: tracetest.T0.Add(24 * time.Hour)})
		})
	})
	t.Run("reports", func(t *testing.T) {
		same(t, "reports", func(r Reader) (any, error) {
			return r.Reports(ctx, authreport.Range{From: tracetest.T0.Add(-24 * time.Hour), To: tracetest.T0.Add(24 * time.Hour)})
		})
	})
	t.Run("sql", func(t *testing.T) {
		same(t, "sql", func(r Reader) (any, error) {
			var b strings.Builder
			err := r.SQL(ctx, "SELECT queue_id, status FROM delivery_events ORDER BY event_id", "tsv", &b)
			if err == nil && !strings.Contains(b.String(), "4XAA1\tsent") {
				t.Errorf("%T: %q", r, b.String())
			}
			return b.String(), err
		})
	})
	for _, tt := range []struct {
		name  string
		token string
		code  int
	}{
		{"no token", "", http.StatusUnauthorized},
		{"a token not accepted", "not-a-token-0123456789", http.StatusUnauthorized},
		{"an analyst's token for SQL", analystToken, http.StatusForbidden},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := NewClient(ts.URL, tt.token).SQL(ctx, "SELECT 1", "tsv", &strings.Builder{})
			var se *StatusError
			if !errors.As(err, &se) || se.Code != tt.code || se.Message == "" {
				t.Errorf("error %v, want a StatusError %d with the API's reason", err, tt.code)
			}
		})
	}
}
