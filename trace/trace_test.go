package trace

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mailtrace/mailtrace/trace/tracetest"
)

var t0 = tracetest.T0

func TestFindByEveryKindOfID(t *testing.T) {
	f := tracetest.New(t)
	ctx := context.Background()
	day := Query{From: t0.Add(-time.Hour), To: t0.Add(24 * time.Hour)}
	tests := []struct {
		name string
		q    Query
		want []string // queue IDs
	}{
		{"trace ID", Query{ID: f.Legal.String()}, []string{"4XAA1"}},
		{"trace ID upper case", Query{ID: strings.ToUpper(f.Legal.String())}, []string{"4XAA1"}},
		{"Message-ID", Query{ID: "<n1@court.example>"}, []string{"4XAA1"}},
		{"Message-ID without brackets", Query{ID: "n1@court.example"}, []string{"4XAA1"}},
		{"queue ID", Query{ID: "4XAA1"}, []string{"4XAA1"}},
		{"recipient in range, any case", Query{ID: "ANNA@gmail.test", From: day.From, To: day.To}, []string{"4XAA1"}},
		{"recipient out of range", Query{ID: "anna@gmail.test", From: t0.Add(48 * time.Hour), To: t0.Add(72 * time.Hour)}, nil},
		{"message only in the log", Query{ID: "<plain@corp.example>"}, []string{"4XCC1"}},
		{"message only at the milter", Query{ID: f.Early.String()}, []string{"4XAA9"}},
		{"unknown", Query{ID: "nothing-like-this"}, nil},
	}
	for _, tt := range tests {
		msgs, err := NewReader(f.Store).Find(ctx, tt.q)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		var got []string
		for _, m := range msgs {
			got = append(got, m.QueueID)
		}
		if fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("%s: found %v, want %v", tt.name, got, tt.want)
		}
	}
	if h := NotFoundHint(Query{ID: "anna@gmail.test"}); !strings.Contains(h, "give a time range") {
		t.Errorf("hint for an address without a range: %q", h)
	}
	if _, err := NewReader(f.Store).Find(ctx, Query{ID: "a\nb"}); !errors.Is(err, ErrBadID) {
		t.Errorf("an ID with a newline: %v", err)
	}
}

func TestTimeline(t *testing.T) {
	f := tracetest.New(t)
	msgs, err := NewReader(f.Store).Find(context.Background(), Query{ID: f.Legal.String()})
	if err != nil || len(msgs) != 1 {
		t.Fatalf("%d messages, %v", len(msgs), err)
	}
	m := msgs[0]
	if !m.Sides.Milter || !m.Sides.Log || len(m.Missing) != 0 {
		t.Errorf("sides %+v, missing %q", m.Sides, m.Missing)
	}
	if m.Class != "legal" || m.Subject != "Summons" || m.Client == nil || m.Client.IP != "10.0.0.5" || m.State != "expired" {
		t.Errorf("message %+v", m)
	}
	var got []string
	for _, r := range m.Recipients {
		got = append(got, fmt.Sprintf("%s=%s/%d", r.Address, r.Status, len(r.Attempts)))
	}
	want := "[Anna@gmail.test=sent/1 bob@outlook.test=bounced/1 carl@yahoo.test=expired/2]"
	if fmt.Sprint(got) != want {
		t.Errorf("recipients %v, want %s", got, want)
	}
	if r := m.Recipients[1].Attempts[0]; r.Response != "550 5.1.1 RESOLVER.ADR.RecipientNotFound" || r.SourceIP != "203.0.113.10" || r.Pool != "legal" {
		t.Errorf("bounce attempt %+v", r)
	}
	if len(m.Notifications) != 1 || m.Notifications[0].Kind != "non-delivery" || m.Notifications[0].Recipients[0].Status != "sent" {
		t.Errorf("notifications %+v", m.Notifications)
	}

	logOnly, _ := NewReader(f.Store).Find(context.Background(), Query{ID: "4XCC1"})
	if m := logOnly[0]; m.Sides.Milter || !m.Sides.Log || len(m.Missing) != 1 || !strings.Contains(m.Missing[0], "milter") || m.Recipients[0].Status != "sent" {
		t.Errorf("log-only message: %+v", m)
	}
	milterOnly, _ := NewReader(f.Store).Find(context.Background(), Query{ID: f.Early.String()})
	if m := milterOnly[0]; !m.Sides.Milter || m.Sides.Log || len(m.Missing) != 1 || !strings.Contains(m.Missing[0], "log") || m.Recipients[0].Status != "queued" {
		t.Errorf("milter-only message: %+v", m)
	}
}

func TestSearchPagesAndExport(t *testing.T) {
	f := tracetest.New(t)
	ctx := context.Background()
	base := Filter{From: t0.Add(-time.Hour), To: t0.Add(time.Hour)}
	tests := []struct {
		name string
		mod  func(*Filter)
		want int
	}{
		{"all", func(*Filter) {}, 6},
		{"status", func(f *Filter) { f.Status = "bounced" }, 1},
		{"dsn class", func(f *Filter) { f.DSN = "4" }, 2},
		{"dsn prefix", func(f *Filter) { f.DSN = "5.1" }, 1},
		{"recipient domain", func(f *Filter) { f.Recipient = "@GMAIL.test" }, 2},
		{"recipient", func(f *Filter) { f.Recipient = "carl@yahoo.test" }, 2},
		{"class", func(f *Filter) { f.Class = "legal" }, 4},
		{"pool and provider", func(f *Filter) { f.Pool, f.Provider = "legal", "google" }, 6},
		{"quote in a value", func(f *Filter) { f.Sender = "x'); DROP TABLE delivery_events; --@a" }, 0},
	}
	for _, tt := range tests {
		flt := base
		tt.mod(&flt)
		page, err := Search(ctx, f.Store, flt, "", 0)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if len(page.Rows) != tt.want {
			t.Errorf("%s: %d rows, want %d", tt.name, len(page.Rows), tt.want)
		}
	}
	// Pages of 4 then 2, newest first, no row twice.
	p1, err := Search(ctx, f.Store, base, "", 4)
	if err != nil || len(p1.Rows) != 4 || p1.Next == "" {
		t.Fatalf("page 1: %+v, %v", p1, err)
	}
	p2, err := Search(ctx, f.Store, base, p1.Next, 4)
	if err != nil || len(p2.Rows) != 2 || p2.Next != "" {
		t.Fatalf("page 2: %+v, %v", p2, err)
	}
	seen := map[string]bool{}
	prev := time.Now()
	for _, r := range append(p1.Rows, p2.Rows...) {
		k := r.QueueID + r.Recipient + r.Time.String()
		if seen[k] || r.Time.After(prev) {
			t.Errorf("row %s repeated or out of order", k)
		}
		seen[k], prev = true, r.Time.Time
	}
	var exported []Row
	if err := Export(ctx, f.Store, base, func(r *Row) error { exported = append(exported, *r); return nil }); err != nil || len(exported) != 6 {
		t.Fatalf("export: %d rows, %v", len(exported), err)
	}
	if exported[0].TraceID != f.Legal.String() || exported[len(exported)-1].QueueID != "4XCC1" || exported[len(exported)-1].TraceID != "" {
		t.Errorf("export order or trace IDs: first %+v last %+v", exported[0], exported[len(exported)-1])
	}
}

func TestParseTime(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"", time.Time{}, true},
		{"2026-11-20", time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC), true},
		{"2026-11-20T10:00:01.5+01:00", time.Date(2026, 11, 20, 9, 0, 1, 5e8, time.UTC), true},
		{"yesterday", time.Time{}, false},
		{"2026-11-20 10:00", time.Time{}, false},
	} {
		got, err := ParseTime(tt.in)
		if (err == nil) != tt.ok || !got.Equal(tt.want) {
			t.Errorf("ParseTime(%q) = %v, %v", tt.in, got, err)
		}
	}
}

func TestBadFilters(t *testing.T) {
	now := time.Now()
	tests := []struct {
		f      Filter
		cursor string
		limit  int
		want   string
	}{
		{Filter{}, "", 0, "from and to are required"},
		{Filter{From: now, To: now.Add(-time.Hour)}, "", 0, "must be after"},
		{Filter{From: now.Add(-100 * 24 * time.Hour), To: now}, "", 0, "longer than 92 days"},
		{Filter{From: now.Add(-time.Hour), To: now, Status: "lost"}, "", 0, "status"},
		{Filter{From: now.Add(-time.Hour), To: now, DSN: "6.1"}, "", 0, "dsn"},
		{Filter{From: now.Add(-time.Hour), To: now, DSN: "5.x"}, "", 0, "dsn"},
		{Filter{From: now.Add(-time.Hour), To: now}, "not-a-cursor!", 0, "cursor"},
		{Filter{From: now.Add(-time.Hour), To: now}, "", 5000, "limit"},
	}
	for _, tt := range tests {
		_, err := Search(context.Background(), nil, tt.f, tt.cursor, tt.limit)
		if !errors.Is(err, ErrBadFilter) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v cursor %q limit %d: %v, want %q", tt.f, tt.cursor, tt.limit, err, tt.want)
		}
	}
}

func FuzzDecodeCursor(f *testing.F) {
	f.Add(encodeCursor(t0, 42))
	f.Add("")
	f.Fuzz(func(t *testing.T, c string) {
		ts, id, err := decodeCursor(c)
		if err != nil {
			return
		}
		// What is accepted names one position, the one it encodes to.
		ts2, id2, err := decodeCursor(encodeCursor(ts, id))
		if err != nil || !ts2.Equal(ts) || id2 != id {
			t.Fatalf("%q read as %v/%d, which re-encodes to %v/%d (%v)", c, ts, id, ts2, id2, err)
		}
	})
}
