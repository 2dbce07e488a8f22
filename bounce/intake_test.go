package bounce

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/mailtrace/mailtrace/postfixtest"
	"github.com/mailtrace/mailtrace/schema"
	"github.com/mailtrace/mailtrace/store"
	"github.com/mailtrace/mailtrace/trace"
	"github.com/mailtrace/mailtrace/trace/tracetest"
	"github.com/mailtrace/mailtrace/traceid"
	"github.com/mailtrace/mailtrace/verp"
)

var testKey = verp.Key{ID: 1, Secret: []byte("bounce intake test key, 32 bytes!")}

func signer(t *testing.T, keys ...verp.Key) *verp.Signer {
	s, err := verp.New("mt", "bounces.example.com", keys)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// reportDate is the Date of every test report: the same report made twice
// is byte for byte the same.
var reportDate = time.Now().UTC().Add(-time.Hour).Truncate(time.Second)

// dsnFor is a DSN about one recipient, with an ENVID and returned headers
// (each left out when empty).
func dsnFor(rcpt, envid, msgid, traceID, status, diag string) []byte {
	var returned []string
	if msgid != "" || traceID != "" {
		returned = []string{"Message-ID: " + msgid, "X-Mailtrace-ID: " + traceID}
	}
	return postfixtest.DSN{Recipient: rcpt, EnvID: envid, Status: status, Diagnostic: diag,
		RemoteMTA: "gmail-smtp-in.l.google.com", Date: reportDate, Returned: returned}.Bytes()
}

func status(t *testing.T, st store.Store, id, rcpt string) string {
	t.Helper()
	refs, err := trace.Resolve(context.Background(), st, trace.Query{ID: id})
	if err != nil || len(refs) == 0 {
		t.Fatalf("resolve %s: %v %v", id, refs, err)
	}
	m, err := trace.NewReader(st).Assemble(context.Background(), refs[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range m.Recipients {
		if strings.EqualFold(r.Address, rcpt) {
			return string(r.Status)
		}
	}
	t.Fatalf("%s has no recipient %s", id, rcpt)
	return ""
}

func countRows(t *testing.T, st store.Store, where string) int {
	t.Helper()
	rows, err := st.Query(context.Background(), "SELECT count() FROM (SELECT DISTINCT event_id FROM bounces WHERE "+where+")", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var n uint64
	for rows.Next() {
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
	}
	return int(n)
}

func TestMatching(t *testing.T) {
	f := tracetest.New(t)
	ctx := context.Background()
	s := signer(t, testKey)
	in := NewIntake(f.Store, Options{Signer: s, RecordWait: time.Second})
	legal := f.Legal.String()
	bare := "5.1.1"
	diag := "550-5.1.1 The email account that you tried to reach does not exist."

	forger := signer(t, verp.Key{ID: 1, Secret: []byte("somebody else's key, not ours!!!")})
	for _, tc := range []struct {
		name     string
		raw      []byte
		envelope []string
		by       schema.MatchedBy
		forged   bool
	}{
		{"VERP signed by another key", dsnFor("anna@gmail.test", legal, "<n1@court.example>", legal, bare, diag), []string{forger.Address(f.Legal)}, schema.MatchedNone, true},
		{"VERP prefix with a broken token", dsnFor("anna@gmail.test", legal, "", "", bare, diag), []string{"mt-notatoken@bounces.example.com"}, schema.MatchedNone, true},
		{"ENVID of the message, recipient not its own", dsnFor("stranger@gmail.test", legal, "", "", bare, diag), nil, schema.MatchedNone, false},
		{"unknown trace ID", dsnFor("anna@gmail.test", traceid.New().String(), "", "", bare, diag), nil, schema.MatchedNone, false},
		{"nothing to go by", dsnFor("anna@gmail.test", "", "", "", bare, diag), []string{"bounces@example.com"}, schema.MatchedNone, false},
	} {
		res, err := in.Ingest(ctx, tc.raw, tc.envelope)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if res.MatchedBy != tc.by || res.Forged != tc.forged || res.Message != nil {
			t.Errorf("%s: matched by %s forged %v message %v", tc.name, res.MatchedBy, res.Forged, res.Message)
		}
	}
	if got := status(t, f.Store, legal, "anna@gmail.test"); got != "sent" {
		t.Fatalf("after forged and unmatched reports anna is %s, want still sent", got)
	}
	if n := countRows(t, f.Store, "matched_by = 'none'"); n != 5 {
		t.Errorf("%d unmatched rows, want 5 (every report is kept)", n)
	}

	// A signed report for a message sent moments ago that the store does
	// not hold yet is refused for now, to be offered again.
	if _, err := in.Ingest(ctx, dsnFor("anna@gmail.test", "", "", "", bare, diag), []string{s.Address(traceid.New())}); !errors.Is(err, ErrNotRecordedYet) {
		t.Errorf("report for a message not recorded yet: %v, want ErrNotRecordedYet", err)
	}

	// Genuine reports, one per way of matching.
	for _, tc := range []struct {
		name, id, rcpt string
		raw            []byte
		envelope       []string
		by             schema.MatchedBy
	}{
		{"VERP", legal, "anna@gmail.test", dsnFor("anna@gmail.test", "", "", "", bare, diag), []string{"<" + s.Address(f.Legal) + ">"}, schema.MatchedVERP},
		{"ENVID", legal, "Anna@gmail.test", dsnFor("Anna@gmail.test", legal, "", "", bare, diag), nil, schema.MatchedEnvelope},
		{"X-Mailtrace-ID", legal, "anna@gmail.test", dsnFor("anna@gmail.test", "", "", legal, bare, diag), nil, schema.MatchedHeader},
		{"Message-ID", "<plain@corp.example>", "eve@gmail.test", dsnFor("eve@gmail.test", "", "<plain@corp.example>", "", bare, diag), nil, schema.MatchedMessageID},
	} {
		res, err := in.Ingest(ctx, tc.raw, tc.envelope)
		if err != nil {
			t.Fatal(err)
		}
		if res.MatchedBy != tc.by || res.Message == nil {
			t.Errorf("%s: matched by %s, message %v", tc.name, res.MatchedBy, res.Message)
		}
		if r := res.Report.Recipients[0]; r.Category != "bad-mailbox" || r.Provider != "google" {
			t.Errorf("%s: classified %+v", tc.name, r)
		}
	}
	if got := status(t, f.Store, legal, "anna@gmail.test"); got != "bounced" {
		t.Errorf("after a matched DSN anna is %s, want bounced", got)
	}
	if got := status(t, f.Store, "<plain@corp.example>", "eve@gmail.test"); got != "bounced" {
		t.Errorf("eve is %s, want bounced", got)
	}

	// The same report again is the same report.
	before := countRows(t, f.Store, "1")
	if _, err := in.Ingest(ctx, dsnFor("anna@gmail.test", "", "", legal, bare, diag), nil); err != nil {
		t.Fatal(err)
	}
	if after := countRows(t, f.Store, "1"); after != before {
		t.Errorf("the same report taken in twice: rows %d -> %d", before, after)
	}
	if n := countAll(t, f.Store); n != before {
		t.Errorf("%d rows stored for %d distinct ones: the repeated insert was not deduplicated", n, before)
	}
}

// countAll counts the bounces table's rows, replayed ones too.
func countAll(t *testing.T, st store.Store) int {
	t.Helper()
	rows, err := st.Query(context.Background(), "SELECT count() FROM bounces", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var n uint64
	for rows.Next() {
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return int(n)
}

type failingStore struct{ store.Store }

func (failingStore) Insert(context.Context, *store.NativeBlock) error {
	return errors.New("store down")
}

func TestLMTPAndMaildir(t *testing.T) {
	f := tracetest.New(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := signer(t, testKey)
	in := NewIntake(f.Store, Options{Signer: s})
	srv, err := ListenLMTP(Config{Listen: "127.0.0.1:0"}, in)
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ctx)
	raw := dsnFor("bob@outlook.test", "", "", "", "5.1.1", "550 5.1.1 RESOLVER.ADR.RecipientNotFound")
	send := func(addr string) error {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			return err
		}
		c := smtp.NewClientLMTP(conn)
		defer c.Close()
		if err := c.Hello("postfix.test"); err != nil {
			return err
		}
		return c.SendMail("", []string{s.Address(f.Legal)}, strings.NewReader(string(raw)))
	}
	if err := send(srv.Addr().String()); err != nil {
		t.Fatalf("LMTP: %v", err)
	}
	if n := countRows(t, f.Store, "matched_by = 'verp' AND recipient = 'bob@outlook.test'"); n != 1 {
		t.Errorf("LMTP report rows: %d", n)
	}

	// A store that refuses: the report is refused with 451, to be retried.
	down := NewIntake(failingStore{f.Store}, Options{Signer: s})
	srv2, err := ListenLMTP(Config{Listen: "127.0.0.1:0"}, down)
	if err != nil {
		t.Fatal(err)
	}
	go srv2.Serve(ctx)
	var se *smtp.SMTPError
	if err := send(srv2.Addr().String()); !errors.As(err, &se) || se.Code != 451 {
		t.Errorf("store down: %v, want 451", err)
	}

	// Maildir: stored files move to cur/, the rest stay in new/.
	dir := t.TempDir()
	for _, sub := range []string{"new", "cur", "tmp"} {
		os.Mkdir(filepath.Join(dir, sub), 0o700)
	}
	withTo := append([]byte("Delivered-To: "+s.Address(f.Legal)+"\r\n"), dsnFor("carl@yahoo.test", "", "", "", "5.2.2", "552 5.2.2 Mailbox full")...)
	os.WriteFile(filepath.Join(dir, "new", "1.report"), withTo, 0o600)
	if n, err := down.scanMaildir(ctx, dir); err == nil || n != 0 {
		t.Errorf("store down: %d %v", n, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "new", "1.report")); err != nil {
		t.Errorf("a report the store did not take left new/: %v", err)
	}
	if n, err := in.scanMaildir(ctx, dir); err != nil || n != 1 {
		t.Fatalf("maildir: %d %v", n, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "cur", "1.report:2,S")); err != nil {
		t.Errorf("stored report not in cur/: %v", err)
	}
	if n := countRows(t, f.Store, "matched_by = 'verp' AND recipient = 'carl@yahoo.test' AND category = 'quota-issues'"); n != 1 {
		t.Errorf("Maildir report rows: %d", n)
	}
	if err := WatchMaildir(ctx, t.TempDir(), time.Second, in); err == nil {
		t.Error("a directory without new/cur/tmp was accepted as a Maildir")
	}
}

func TestConfig(t *testing.T) {
	for _, tc := range []struct{ listen, transport string }{
		{"127.0.0.1:8026", "lmtp:inet:127.0.0.1:8026"},
		{"unix:/var/spool/postfix/private/mailtrace", "lmtp:unix:/var/spool/postfix/private/mailtrace"},
		{"off", ""},
	} {
		c := Config{Listen: tc.listen}
		if err := c.Validate(); err != nil || c.PostfixTransport() != tc.transport {
			t.Errorf("%s: %q %v", tc.listen, c.PostfixTransport(), err)
		}
	}
	for _, bad := range []string{"8026", "unix:relative", "localhost"} {
		if err := (Config{Listen: bad}).Validate(); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestReportTime(t *testing.T) {
	now := time.Date(2026, 11, 25, 10, 0, 0, 412345000, time.UTC)
	tests := []struct {
		name       string
		date       time.Time
		want       time.Time
		wantDigits uint8
	}{
		{"a plausible Date: its whole seconds", now.Add(-time.Hour).Truncate(time.Second), now.Add(-time.Hour).Truncate(time.Second), 0},
		{"no Date: when it was taken in", time.Time{}, now, 6},
		{"a Date ahead of now", now.Add(time.Hour), now, 6},
		{"a Date over 30 days old", now.Add(-31 * 24 * time.Hour), now, 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, digits := reportTime(tt.date, now)
			if !got.Equal(tt.want) || digits != tt.wantDigits {
				t.Errorf("reportTime = %v, %d digits; want %v, %d", got, digits, tt.want, tt.wantDigits)
			}
		})
	}
}
