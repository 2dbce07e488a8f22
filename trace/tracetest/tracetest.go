// Package tracetest fills an embedded store with a small, realistic set of
// messages for tests of what reads traces (package trace, the API, the web
// UI).
package tracetest

import (
	"context"
	"hash/crc32"
	"testing"
	"time"

	"github.com/mailtrace/mailtrace/schema"
	"github.com/mailtrace/mailtrace/store"
	"github.com/mailtrace/mailtrace/store/storetest"
	"github.com/mailtrace/mailtrace/traceid"
)

// T0 is the whole second in which the fixture's first message was
// accepted (Accepted, by the milter's clock) and first logged.
var T0 = time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)

// Accepted is when the milter accepted the legal notice: 0.41 s into the
// second whose whole-second log lines (maillog_file) show its first
// attempts.
var Accepted = T0.Add(412345 * time.Microsecond)

// VERP is the legal notice's envelope sender in the log: the class sends
// with a signed VERP return path, so the log's from= is not the
// application's sender (Sender).
const (
	VERP   = "mt-aebqaaxwjfmeyszbkqjhkibtgq4tomzzhfqwkaq2@bounces.court.example"
	Sender = "clerk@court.example"
)

// Fixture stores three messages as the milter and the collector write them:
// a legal notice with one delivered, one bounced and one deferred-then-
// expired recipient and a non-delivery notification, sent with a VERP
// return path and logged in whole seconds (maillog_file); a message that
// never passed the milter; and one the milter saw but the log does not
// know yet.
type Fixture struct {
	Store        store.Store
	Legal, Early traceid.ID // the legal notice's and the milter-only message's trace IDs
}

// Insert stores rows into a table.
func Insert(t testing.TB, st store.Store, table *store.Table, rows ...store.Row) {
	t.Helper()
	if err := store.InsertRows(context.Background(), st, table, rows...); err != nil {
		t.Fatal(err)
	}
}

// New opens an embedded store and fills it with the fixture.
func New(t testing.TB) *Fixture {
	st := storetest.Chdb(t)
	if _, err := schema.Migrate(context.Background(), st, schema.Options{Database: st.Database()}, false); err != nil {
		t.Fatal(err)
	}
	f := &Fixture{Store: st, Legal: IDAt(Accepted), Early: IDAt(T0.Add(time.Hour))}
	Insert(t, st, schema.AcceptRecords,
		&schema.AcceptRecord{Time: Accepted, TraceID: f.Legal, Host: "mx1", QueueID: "4XAA1", MessageID: "<n1@court.example>",
			Sender: Sender, Recipients: []string{"Anna@gmail.test", "bob@outlook.test", "carl@yahoo.test"},
			ClientIP: "10.0.0.5", ClientName: "app.court.example", Helo: "app", Class: "legal", Pool: "legal", Subject: "Summons"},
		&schema.AcceptRecord{Time: T0.Add(time.Hour), TraceID: f.Early, Host: "mx1", QueueID: "4XAA9", MessageID: "<n9@court.example>",
			Sender: "clerk@court.example", Recipients: []string{"dora@gmail.test"}, Class: "legal", Pool: "legal"})
	legal := [16]byte(f.Legal)
	Insert(t, st, schema.Messages,
		&schema.MessageRecord{FirstSeen: T0, LastSeen: T0.Add(10 * time.Minute), Host: "mx1", QueueID: "4XAA1", TraceID: legal,
			MessageID: "<n1@court.example>", Sender: VERP, Origin: "smtpd", Pool: "legal",
			Recipients: []string{"anna@gmail.test", "bob@outlook.test", "carl@yahoo.test"}, Children: []string{"4XBB1"}, State: "expired"},
		&schema.MessageRecord{FirstSeen: T0.Add(2*time.Second + time.Microsecond), LastSeen: T0.Add(3 * time.Second), Host: "mx1", QueueID: "4XBB1",
			Origin: "notification", ParentQueueID: "4XAA1", Notification: "non-delivery", Recipients: []string{"clerk@court.example"}, State: "removed"},
		&schema.MessageRecord{FirstSeen: T0.Add(30 * time.Minute), LastSeen: T0.Add(31 * time.Minute), Host: "mx1", QueueID: "4XCC1",
			MessageID: "<plain@corp.example>", Sender: "app@corp.example", Origin: "smtpd", Recipients: []string{"eve@gmail.test"}, State: "removed"})
	// Whole-second log times, with the collector's microsecond per line
	// of one second that keeps them in log order.
	ev := func(at time.Duration, qid, rcpt string, status schema.DeliveryStatus, dsn, resp string) store.Row {
		return &schema.DeliveryEvent{Time: T0.Add(at), EventID: uint64(at) + uint64(crc32.ChecksumIEEE([]byte(rcpt))), Host: "mx1", QueueID: qid, Recipient: rcpt,
			Status: status, DSN: dsn, Response: resp, Pool: "legal", SourceIP: "203.0.113.10", Provider: "google", Service: "postfix-legal/smtp",
			Sender: map[string]string{"4XAA1": VERP, "4XBB1": "", "4XCC1": "app@corp.example"}[qid], RelayHost: "mx.example",
			TraceID: map[string][16]byte{"4XAA1": legal}[qid]}
	}
	Insert(t, st, schema.DeliveryEvents,
		ev(time.Microsecond, "4XAA1", "anna@gmail.test", schema.StatusSent, "2.0.0", "250 2.0.0 OK"),
		ev(2*time.Microsecond, "4XAA1", "bob@outlook.test", schema.StatusBounced, "5.1.1", "550 5.1.1 RESOLVER.ADR.RecipientNotFound"),
		ev(3*time.Microsecond, "4XAA1", "carl@yahoo.test", schema.StatusDeferred, "4.7.0", "421 4.7.0 [TSS04] try later"),
		ev(10*time.Minute, "4XAA1", "carl@yahoo.test", schema.StatusExpired, "4.7.0", "421 4.7.0 [TSS04] try later"),
		ev(3*time.Second, "4XBB1", "clerk@court.example", schema.StatusSent, "2.0.0", "250 ok"),
		ev(31*time.Minute, "4XCC1", "eve@gmail.test", schema.StatusSent, "2.0.0", "250 ok plain"),
	)
	return f
}

// IDAt is a trace ID made at t, as the milter makes them (UUIDv7: its
// first 48 bits are t's Unix milliseconds).
func IDAt(t time.Time) traceid.ID {
	id := traceid.New()
	ms := uint64(t.UnixMilli())
	for i := range 6 {
		id[i] = byte(ms >> (40 - 8*i))
	}
	return id
}
