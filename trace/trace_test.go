package trace

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mailtrace/mailtrace/schema"
	"github.com/mailtrace/mailtrace/store"
	"github.com/mailtrace/mailtrace/store/storetest"
	"github.com/mailtrace/mailtrace/traceid"
)

var t0 = time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)

// fixture stores three messages as the milter and the collector write them:
// a legal notice with one delivered, one bounced and one deferred-then-
// expired recipient and a non-delivery notification; a message that never
// passed the milter; and one the milter saw but the log does not know yet.
type fixture struct {
	st                    store.Store
	legal, logOnly, early traceid.ID
}

func insert(t testing.TB, st store.Store, table *store.Table, rows ...store.Row) {
	t.Helper()
	enc := store.NewEncoder(table)
	for _, r := range rows {
		r.AppendRow(enc)
	}
	b, err := enc.Block()
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Insert(context.Background(), b); err != nil {
		t.Fatal(err)
	}
}

func newFixture(t testing.TB) *fixture {
	st := storetest.Chdb(t)
	if _, err := schema.Migrate(context.Background(), st, schema.Options{Database: st.Database()}, false); err != nil {
		t.Fatal(err)
	}
	f := &fixture{st: st, legal: traceid.New(), early: traceid.New()}
	insert(t, st, schema.AcceptRecords,
		&schema.AcceptRecord{Time: t0, TraceID: f.legal, Host: "mx1", QueueID: "4XAA1", MessageID: "<n1@court.example>",
			Sender: "clerk@court.example", Recipients: []string{"Anna@gmail.test", "bob@outlook.test", "carl@yahoo.test"},
			ClientIP: "10.0.0.5", ClientName: "app.court.example", Helo: "app", Class: "legal", Pool: "legal", Subject: "Summons"},
		&schema.AcceptRecord{Time: t0.Add(time.Hour), TraceID: f.early, Host: "mx1", QueueID: "4XAA9", MessageID: "<n9@court.example>",
			Sender: "clerk@court.example", Recipients: []string{"dora@gmail.test"}, Class: "legal", Pool: "legal"})
	legal := [16]byte(f.legal)
	insert(t, st, schema.Messages,
		&schema.MessageRecord{FirstSeen: t0, LastSeen: t0.Add(10 * time.Minute), Host: "mx1", QueueID: "4XAA1", TraceID: legal,
			MessageID: "<n1@court.example>", Sender: "clerk@court.example", Origin: "smtpd", Pool: "legal",
			Recipients: []string{"anna@gmail.test", "bob@outlook.test", "carl@yahoo.test"}, Children: []string{"4XBB1"}, State: "expired"},
		&schema.MessageRecord{FirstSeen: t0.Add(2 * time.Second), LastSeen: t0.Add(3 * time.Second), Host: "mx1", QueueID: "4XBB1",
			Origin: "notification", ParentQueueID: "4XAA1", Notification: "non-delivery", Recipients: []string{"clerk@court.example"}, State: "removed"},
		&schema.MessageRecord{FirstSeen: t0.Add(30 * time.Minute), LastSeen: t0.Add(31 * time.Minute), Host: "mx1", QueueID: "4XCC1",
			MessageID: "<plain@corp.example>", Sender: "app@corp.example", Origin: "smtpd", Recipients: []string{"eve@gmail.test"}, State: "removed"})
	ev := func(at time.Duration, qid, rcpt, status, dsn, resp string) store.Row {
		return &schema.DeliveryEvent{Time: t0.Add(at), EventID: uint64(at) + uint64(len(rcpt)), Host: "mx1", QueueID: qid, Recipient: rcpt,
			Status: status, DSN: dsn, Response: resp, Pool: "legal", SourceIP: "203.0.113.10", Provider: "google", Service: "postfix-legal/smtp",
			Sender: "clerk@court.example", RelayHost: "mx.example", TraceID: map[string][16]byte{"4XAA1": legal}[qid]}
	}
	insert(t, st, schema.DeliveryEvents,
		ev(time.Second, "4XAA1", "anna@gmail.test", "sent", "2.0.0", "250 2.0.0 OK"),
		ev(time.Second, "4XAA1", "bob@outlook.test", "bounced", "5.1.1", "550 5.1.1 RESOLVER.ADR.RecipientNotFound"),
		ev(time.Second, "4XAA1", "carl@yahoo.test", "deferred", "4.7.0", "421 4.7.0 [TSS04] try later"),
		ev(10*time.Minute, "4XAA1", "carl@yahoo.test", "expired", "4.7.0", "421 4.7.0 [TSS04] try later"),
		ev(3*time.Second, "4XBB1", "clerk@court.example", "sent", "2.0.0", "250 ok"),
		ev(31*time.Minute, "4XCC1", "eve@gmail.test", "sent", "2.0.0", "250 ok plain"),
	)
	return f
}

func TestFindByEveryKindOfID(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	day := Query{From: t0.Add(-time.Hour), To: t0.Add(24 * time.Hour)}
	tests := []struct {
		name string
		q    Query
		want []string // queue IDs
	}{
		{"trace ID", Query{ID: f.legal.String()}, []string{"4XAA1"}},
		{"trace ID upper case", Query{ID: strings.ToUpper(f.legal.String())}, []string{"4XAA1"}},
		{"Message-ID", Query{ID: "<n1@court.example>"}, []string{"4XAA1"}},
		{"Message-ID without brackets", Query{ID: "n1@court.example"}, []string{"4XAA1"}},
		{"queue ID", Query{ID: "4XAA1"}, []string{"4XAA1"}},
		{"recipient in range, any case", Query{ID: "ANNA@gmail.test", From: day.From, To: day.To}, []string{"4XAA1"}},
		{"recipient out of range", Query{ID: "anna@gmail.test", From: t0.Add(48 * time.Hour), To: t0.Add(72 * time.Hour)}, nil},
		{"message only in the log", Query{ID: "<plain@corp.example>"}, []string{"4XCC1"}},
		{"message only at the milter", Query{ID: f.early.String()}, []string{"4XAA9"}},
		{"unknown", Query{ID: "nothing-like-this"}, nil},
	}
	for _, tt := range tests {
		msgs, err := Find(ctx, f.st, tt.q)
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
	if _, err := Find(ctx, f.st, Query{ID: "a\nb"}); !errors.Is(err, ErrBadID) {
		t.Errorf("an ID with a newline: %v", err)
	}
}

func TestTimeline(t *testing.T) {
	f := newFixture(t)
	msgs, err := Find(context.Background(), f.st, Query{ID: f.legal.String()})
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

	logOnly, _ := Find(context.Background(), f.st, Query{ID: "4XCC1"})
	if m := logOnly[0]; m.Sides.Milter || !m.Sides.Log || len(m.Missing) != 1 || !strings.Contains(m.Missing[0], "milter") || m.Recipients[0].Status != "sent" {
		t.Errorf("log-only message: %+v", m)
	}
	milterOnly, _ := Find(context.Background(), f.st, Query{ID: f.early.String()})
	if m := milterOnly[0]; !m.Sides.Milter || m.Sides.Log || len(m.Missing) != 1 || !strings.Contains(m.Missing[0], "log") || m.Recipients[0].Status != "queued" {
		t.Errorf("milter-only message: %+v", m)
	}
}

func TestSearchPagesAndExport(t *testing.T) {
	f := newFixture(t)
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
		page, err := Search(ctx, f.st, flt, "", 0)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if len(page.Rows) != tt.want {
			t.Errorf("%s: %d rows, want %d", tt.name, len(page.Rows), tt.want)
		}
	}
	// Pages of 4 then 2, newest first, no row twice.
	p1, err := Search(ctx, f.st, base, "", 4)
	if err != nil || len(p1.Rows) != 4 || p1.Next == "" {
		t.Fatalf("page 1: %+v, %v", p1, err)
	}
	p2, err := Search(ctx, f.st, base, p1.Next, 4)
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
		seen[k], prev = true, r.Time
	}
	var exported []Row
	if err := Export(ctx, f.st, base, func(r *Row) error { exported = append(exported, *r); return nil }); err != nil || len(exported) != 6 {
		t.Fatalf("export: %d rows, %v", len(exported), err)
	}
	if exported[0].TraceID != f.legal.String() || exported[len(exported)-1].QueueID != "4XCC1" || exported[len(exported)-1].TraceID != "" {
		t.Errorf("export order or trace IDs: first %+v last %+v", exported[0], exported[len(exported)-1])
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
		if err == nil && encodeCursor(ts, id) == "" {
			t.Fatal("decoded cursor does not encode")
		}
	})
}
