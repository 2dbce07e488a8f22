package milter

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gomilter "github.com/d--j/go-milter"

	"github.com/mailtrace/mailtrace/schema"
	"github.com/mailtrace/mailtrace/store"
	"github.com/mailtrace/mailtrace/store/storetest"
	"github.com/mailtrace/mailtrace/traceid"
	"github.com/mailtrace/mailtrace/verp"
)

// testMessage is one SMTP transaction as Postfix would relay it to the
// milter.
type testMessage struct {
	clientIP, saslUser string
	from, fromArgs     string
	to                 []string
	headers            [][2]string
	body               string
	queueID            string
}

// outcome is what the milter answered.
type outcome struct {
	action  *gomilter.Action
	mods    []gomilter.ModifyAction
	headers map[string][]string // added headers
	deleted []string            // header names deleted
	from    string              // new envelope sender, "" when unchanged
	args    string              // its ESMTP arguments
}

// send runs one message through the milter at addr, as Postfix does.
func send(t testing.TB, addr string, m testMessage) outcome {
	t.Helper()
	macros := gomilter.NewMacroBag()
	macros.Set(gomilter.MacroMTAFQDN, "mx1.test.example")
	client := gomilter.NewClient("tcp", addr, gomilter.WithActions(gomilter.AllClientSupportedActionMasks))
	s, err := client.Session(macros)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	check := func(_ *gomilter.Action, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	check(s.Conn("client.test.example", gomilter.FamilyInet, 40000, m.clientIP))
	check(s.Helo("client.test.example"))
	macros.Set(gomilter.MacroAuthAuthen, m.saslUser)
	check(s.Mail("<"+m.from+">", m.fromArgs))
	for _, r := range m.to {
		check(s.Rcpt("<"+r+">", ""))
	}
	macros.Set(gomilter.MacroQueueId, m.queueID)
	check(s.DataStart())
	for _, h := range m.headers {
		check(s.HeaderField(h[0], " "+h[1], nil))
	}
	check(s.HeaderEnd())
	if m.body == "" {
		m.body = "This notice is served on you.\r\n" // go-milter's client cannot send an empty body
	}
	mods, act, err := s.BodyReadFrom(strings.NewReader(m.body))
	if err != nil {
		t.Fatal(err)
	}
	o := outcome{action: act, mods: mods, headers: map[string][]string{}}
	for _, mod := range mods {
		switch mod.Type {
		case gomilter.ActionAddHeader:
			o.headers[mod.HeaderName] = append(o.headers[mod.HeaderName], strings.TrimSpace(mod.HeaderValue))
		case gomilter.ActionChangeHeader:
			if mod.HeaderValue == "" {
				o.deleted = append(o.deleted, fmt.Sprintf("%s#%d", mod.HeaderName, mod.HeaderIndex))
			}
		case gomilter.ActionChangeFrom:
			o.from, o.args = mod.From, mod.FromArgs
		}
	}
	return o
}

// startFilter runs a filter on loopback for the test.
func startFilter(t testing.TB, cfg Config, rec *Recorder) (*Filter, string) {
	t.Helper()
	f, err := New(cfg, rec, nil, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go f.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		f.Shutdown(ctx)
	})
	return f, ln.Addr().String()
}

func migratedChdb(t testing.TB) store.Store {
	t.Helper()
	st := storetest.Chdb(t)
	if _, err := schema.Migrate(context.Background(), st, schema.Options{Database: st.Database()}, false); err != nil {
		t.Fatal(err)
	}
	return st
}

func newRecorder(t testing.TB, st store.Store, opts RecorderOptions) *Recorder {
	t.Helper()
	if opts.SpoolDir == "" {
		opts.SpoolDir = filepath.Join(t.TempDir(), "spool")
	}
	if opts.MaxDelay == 0 {
		opts.MaxDelay = 20 * time.Millisecond
	}
	if opts.ReplayEvery == 0 {
		opts.ReplayEvery = 50 * time.Millisecond
	}
	opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	r, err := NewRecorder(st, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(context.Background()) })
	return r
}

func testConfig() Config {
	c := DefaultConfig()
	c.DefaultClass = "transactional"
	c.Classes = []Class{
		{Name: "legal", Pool: "legal", VERP: true},
		{Name: "collections", Pool: "collections"},
		{Name: "transactional", Pool: "transactional"},
		{Name: "marketing", Pool: "bulk"},
	}
	c.Rules = []Rule{
		{Name: "court", Class: "legal", Sender: []string{"*@court.example"}},
		{Name: "dunning-app", Class: "collections", SASLUser: []string{"dunning"}},
		{Name: "newsletter", Class: "marketing", Header: map[string]string{"List-Unsubscribe": "."}},
	}
	c.VERP = VERPConfig{Domain: "bounces.example.com", Keys: []VERPKey{{ID: 3, Secret: "a signing secret of enough bytes"}}}
	return c
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestStampClassifyRecord(t *testing.T) {
	st := migratedChdb(t)
	rec := newRecorder(t, st, RecorderOptions{})
	cfg := testConfig()
	_, addr := startFilter(t, cfg, rec)
	signer, _ := cfg.Signer()

	tests := []struct {
		name      string
		msg       testMessage
		class     string
		pool      string
		verp      bool
		wantRet   string
		wantEnvID string // "" = the trace ID
	}{
		{name: "rule by sender, VERP class",
			msg: testMessage{clientIP: "10.0.0.5", from: "clerk@court.example", to: []string{"a@gmail.test"}, queueID: "4Xk1aA1",
				headers: [][2]string{{"Message-ID", "<m1@court.example>"}, {"Subject", "Summons"}, {"From", "Court <clerk@court.example>"}}},
			class: "legal", pool: "legal", verp: true, wantRet: "HDRS"},
		{name: "rule by SASL user, client RET=FULL kept",
			msg: testMessage{clientIP: "10.0.0.6", saslUser: "dunning", from: "billing@corp.example", fromArgs: "RET=FULL", to: []string{"b@outlook.test", "c@yahoo.test"}, queueID: "4Xk1aA2",
				headers: [][2]string{{"Message-ID", "<m2@corp.example>"}, {"Subject", "Reminder"}}},
			class: "collections", wantRet: "FULL"}, // no VERP: Postfix's own routing, no pool
		{name: "rule by header; client ENVID replaced",
			msg: testMessage{clientIP: "10.0.0.7", from: "news@corp.example", fromArgs: "ENVID=app-123", to: []string{"d@gmail.test"}, queueID: "4Xk1aA3",
				headers: [][2]string{{"Message-ID", "<m3@corp.example>"}, {"List-Unsubscribe", "<mailto:u@corp.example>"}}},
			class: "marketing", wantRet: "HDRS"},
		{name: "default class; forged stamp headers removed",
			msg: testMessage{clientIP: "10.0.0.8", from: "app@corp.example", to: []string{"e@gmail.test"}, queueID: "4Xk1aA4",
				headers: [][2]string{{"X-Mailtrace-ID", "0190c7a2-9b1d-7abc-8abc-0123456789ab"}, {"X-Mailtrace-Pool", "legal"}, {"X-Mailtrace-Pool", "legal"}, {"Message-ID", "<m4@corp.example>"}}},
			class: "transactional", wantRet: "HDRS"},
	}
	ids := map[string]traceid.ID{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := send(t, addr, tt.msg)
			if o.action.Type != gomilter.ActionAccept {
				t.Fatalf("answer %v, want accept", o.action)
			}
			id, ok := traceid.Parse(first(o.headers[HeaderID]))
			if !ok || len(o.headers[HeaderID]) != 1 {
				t.Fatalf("X-Mailtrace-ID headers added: %q", o.headers[HeaderID])
			}
			ids[tt.msg.queueID] = id
			if got := o.headers[HeaderClass]; len(got) != 1 || got[0] != tt.class {
				t.Errorf("class header %q, want %q", got, tt.class)
			}
			if got := o.headers[HeaderPool]; tt.pool == "" && len(got) != 0 || tt.pool != "" && (len(got) != 1 || got[0] != tt.pool) {
				t.Errorf("pool header %q, want %q", got, tt.pool)
			}
			wantArgs := "ENVID=" + id.String() + " RET=" + tt.wantRet
			if o.args != wantArgs {
				t.Errorf("change-sender arguments %q, want %q", o.args, wantArgs)
			}
			if tt.verp {
				got, pool, err := signer.ParsePool(o.from)
				if err != nil || got != id || pool != tt.pool {
					t.Errorf("VERP sender %q reads as %s, pool %q, %v; want %s, pool %q", o.from, got, pool, err, id, tt.pool)
				}
			} else if o.from != "<"+tt.msg.from+">" {
				t.Errorf("sender changed to %q, want it kept as <%s>", o.from, tt.msg.from)
			}
			var forged int
			for _, h := range tt.msg.headers {
				if strings.HasPrefix(h[0], "X-Mailtrace-") {
					forged++
				}
			}
			if len(o.deleted) != forged {
				t.Errorf("deleted %q; want the %d X-Mailtrace headers the client sent", o.deleted, forged)
			}
		})
	}
	waitFor(t, "accept records", func() bool { return rec.Stats().Stored == uint64(len(tests)) })
	rows, err := st.Query(context.Background(), "SELECT queue_id, trace_id, host, sender, recipients, client_ip, sasl_user, class, pool, message_id, subject, from_header, size FROM accept_records ORDER BY queue_id", nil)
	if err != nil {
		t.Fatal(err)
	}
	all, err := rows.All()
	if err != nil || len(all) != len(tests) {
		t.Fatalf("%d accept records, %v; want %d", len(all), err, len(tests))
	}
	for i, tt := range tests {
		row := all[i]
		want := []any{tt.msg.queueID, ids[tt.msg.queueID], "mx1", tt.msg.from, tt.msg.to, tt.msg.clientIP, tt.msg.saslUser, tt.class, tt.pool}
		for j, w := range want {
			got := row[j]
			switch g := got.(type) {
			case [16]byte:
				got = traceid.ID(g)
			}
			if fmt.Sprint(got) != fmt.Sprint(w) {
				t.Errorf("%s: column %d = %v, want %v", tt.msg.queueID, j, got, w)
			}
		}
	}
	if all[0][10] != "Summons" || all[0][11] != "Court <clerk@court.example>" || all[0][9] != "<m1@court.example>" {
		t.Errorf("headers in the record: %v", all[0][9:12])
	}
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

func TestClassHeaderTrust(t *testing.T) {
	st := migratedChdb(t)
	rec := newRecorder(t, st, RecorderOptions{})
	cfg := testConfig()
	cfg.ClassHeader.TrustedNetworks = []string{"10.1.0.0/16"}
	_, addr := startFilter(t, cfg, rec)
	tests := []struct {
		clientIP, sasl, header, want string
	}{
		{"10.1.2.3", "", "legal", "legal"},                 // trusted network
		{"10.2.2.3", "", "legal", "transactional"},         // untrusted: rules decide
		{"10.1.2.3", "", "no-such-class", "transactional"}, // trusted but unknown
		{"10.2.2.3", "dunning", "marketing", "collections"},
	}
	for i, tt := range tests {
		o := send(t, addr, testMessage{clientIP: tt.clientIP, saslUser: tt.sasl, from: "app@corp.example", to: []string{"x@gmail.test"},
			queueID: fmt.Sprintf("Q%d", i), headers: [][2]string{{"X-Mailtrace-Class", tt.header}}})
		if got := first(o.headers[HeaderClass]); got != tt.want {
			t.Errorf("client %s sasl %q header %q: class %q, want %q", tt.clientIP, tt.sasl, tt.header, got, tt.want)
		}
		if len(o.deleted) != 1 {
			t.Errorf("the client's X-Mailtrace-Class was not replaced: deleted %q", o.deleted)
		}
	}
}

func TestNullSenderEnvelopeUntouched(t *testing.T) {
	st := migratedChdb(t)
	rec := newRecorder(t, st, RecorderOptions{})
	_, addr := startFilter(t, testConfig(), rec)
	o := send(t, addr, testMessage{clientIP: "10.0.0.1", from: "", to: []string{"x@gmail.test"}, queueID: "Q1"})
	if o.from != "" || o.args != "" {
		t.Fatalf("null-sender message got sender %q args %q; DSNs are never sent for it", o.from, o.args)
	}
	if len(o.headers[HeaderID]) != 1 {
		t.Fatal("null-sender message not stamped")
	}
}

func TestHostileMessageBounded(t *testing.T) {
	st := migratedChdb(t)
	rec := newRecorder(t, st, RecorderOptions{})
	_, addr := startFilter(t, testConfig(), rec)
	var to []string
	for i := range maxRecipients + 50 {
		to = append(to, fmt.Sprintf("r%d@gmail.test", i))
	}
	huge := strings.Repeat("x", 60000)
	headers := [][2]string{{"Subject", huge}}
	for range 200 {
		headers = append(headers, [2]string{"List-Unsubscribe", huge})
	}
	o := send(t, addr, testMessage{clientIP: "10.0.0.1", from: "a@corp.example", fromArgs: "SIZE=2800000 BODY=8BITMIME", to: to, queueID: "QH", headers: headers,
		body: strings.Repeat("line of body\r\n", 200000)})
	if o.action.Type != gomilter.ActionAccept || len(o.headers[HeaderID]) != 1 {
		t.Fatalf("hostile message: %v, headers %v", o.action, o.headers)
	}
	waitFor(t, "record", func() bool { return rec.Stats().Stored == 1 })
	if n := storetest.Count(t, st, "SELECT length(recipients) FROM accept_records"); n != maxRecipients {
		t.Errorf("%d recipients listed, want the first %d", n, maxRecipients)
	}
	if n := storetest.Count(t, st, "SELECT toUInt64(length(subject)) FROM accept_records"); n != maxHeaderValue {
		t.Errorf("subject kept at %d bytes, want %d", n, maxHeaderValue)
	}
	if n := storetest.Count(t, st, "SELECT size FROM accept_records"); n != 2800000 {
		t.Errorf("size %d, want the 2800000 the client declared", n)
	}
}

func TestListenNotation(t *testing.T) {
	tests := []struct{ spec, network, address string }{
		{"inet:127.0.0.1:8894", "tcp", "127.0.0.1:8894"},
		{"inet::8894", "tcp", "127.0.0.1:8894"},
		{"inet6:[::1]:8894", "tcp", "[::1]:8894"},
		{"unix:/run/mailtrace/milter.sock", "unix", "/run/mailtrace/milter.sock"},
		{"127.0.0.1:8894", "", ""},
		{"inet:127.0.0.1", "", ""},
		{"unix:relative.sock", "", ""},
	}
	for _, tt := range tests {
		n, a, err := ParseListen(tt.spec)
		if tt.network == "" {
			if err == nil {
				t.Errorf("ParseListen(%q) accepted", tt.spec)
			}
			continue
		}
		if err != nil || n != tt.network || a != tt.address {
			t.Errorf("ParseListen(%q) = %s %s %v", tt.spec, n, a, err)
		}
	}
}

var _ = verp.ErrNotVERP

// A report coming back to the VERP bounce domain passes unstamped: a pool
// header would route it out through a pool instead of to the bounce
// intake. A pool header it came with is removed all the same.
func TestReportsToTheBounceDomainPassUnstamped(t *testing.T) {
	st := migratedChdb(t)
	rec := newRecorder(t, st, RecorderOptions{})
	cfg := testConfig()
	if cfg.VERP.Domain == "" {
		t.Fatal("test config without VERP")
	}
	_, addr := startFilter(t, cfg, rec)
	o := send(t, addr, testMessage{clientIP: "192.0.2.1", from: "", to: []string{"mt-x@" + strings.ToUpper(cfg.VERP.Domain)}, queueID: "R1",
		headers: [][2]string{{"X-Mailtrace-Pool", "bulk"}}})
	if len(o.headers[HeaderID]) != 0 || len(o.headers[HeaderPool]) != 0 || o.from != "" {
		t.Errorf("a report to the bounce domain was stamped: %+v", o)
	}
	if len(o.deleted) != 1 {
		t.Errorf("the report's own pool header was not removed: %q", o.deleted)
	}
	// Mail to the bounce domain and elsewhere is ordinary mail.
	o = send(t, addr, testMessage{clientIP: "192.0.2.1", from: "a@corp.example", to: []string{"mt-x@" + cfg.VERP.Domain, "x@gmail.test"}, queueID: "R2"})
	if len(o.headers[HeaderID]) != 1 {
		t.Error("mail to the bounce domain and a receiver was not stamped")
	}
}

// A class with read_receipt asks for read receipts at its VERP return
// path, the same address as the envelope sender (RFC 8098 section 2.1);
// a message that asks for receipts itself keeps its own request; other
// classes ask for none.
func TestReadReceiptAsksAtTheReturnPath(t *testing.T) {
	st := migratedChdb(t)
	rec := newRecorder(t, st, RecorderOptions{})
	cfg := testConfig()
	cfg.Classes[0].ReadReceipt = true // legal
	_, addr := startFilter(t, cfg, rec)
	signer, _ := cfg.Signer()
	for _, tt := range []struct {
		name    string
		msg     testMessage
		receipt bool
	}{
		{"read_receipt class", testMessage{clientIP: "10.0.0.5", from: "clerk@court.example", to: []string{"a@gmail.test"}, queueID: "RR1"}, true},
		{"the message's own request is kept", testMessage{clientIP: "10.0.0.5", from: "clerk@court.example", to: []string{"a@gmail.test"}, queueID: "RR2",
			headers: [][2]string{{"Disposition-Notification-To", "<clerk@court.example>"}}}, false},
		{"class without read_receipt", testMessage{clientIP: "10.0.0.8", from: "app@corp.example", to: []string{"e@gmail.test"}, queueID: "RR3"}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			o := send(t, addr, tt.msg)
			got := o.headers[HeaderReadReceipt]
			if !tt.receipt {
				if len(got) != 0 {
					t.Errorf("Disposition-Notification-To added: %q", got)
				}
				return
			}
			if len(got) != 1 || got[0] != o.from {
				t.Fatalf("Disposition-Notification-To %q, want the return path %q", got, o.from)
			}
			id, _ := traceid.Parse(first(o.headers[HeaderID]))
			if v, err := signer.Parse(got[0]); err != nil || v != id {
				t.Errorf("receipt address %q reads as %s, %v; want the message's VERP address for %s", got[0], v, err, id)
			}
		})
	}
}

func TestReadReceiptNeedsVERP(t *testing.T) {
	cfg := testConfig()
	cfg.Classes[1].ReadReceipt = true // collections, no VERP
	if _, err := cfg.compile(); err == nil || !strings.Contains(err.Error(), "verp: true") {
		t.Errorf("read_receipt without VERP: %v", err)
	}
}

// TestHeaderMemoryBounded feeds one session more header bytes than it may
// keep: of every name the milter reads, many values each longer than one
// kept value. What it keeps stays within the bounds per value, per name
// and per message, and the first values are kept.
func TestHeaderMemoryBounded(t *testing.T) {
	f, err := New(testConfig(), nil, nil, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		t.Fatal(err)
	}
	s := &session{f: f}
	names := []string{"Message-ID", "Subject", "From", "Disposition-Notification-To", "List-Unsubscribe", "List-Unsubscribe-Post"}
	for i := range 3 * maxValuesKept {
		for _, name := range names {
			if _, err := s.Header(name, fmt.Sprintf("%d %s", i, strings.Repeat("x", maxHeaderValue+100)), nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	total := 0
	for name, values := range s.headers {
		if len(values) > maxValuesKept {
			t.Errorf("%s: %d values kept, want at most %d", name, len(values), maxValuesKept)
		}
		for _, v := range values {
			if len(v) > maxHeaderValue {
				t.Errorf("%s: a value of %d bytes kept, want at most %d", name, len(v), maxHeaderValue)
			}
			total += len(v)
		}
	}
	// The bound is checked before a value is added: at most one value
	// more than it.
	if total > maxKeptBytes+maxHeaderValue {
		t.Errorf("%d header bytes kept for one message, want at most %d", total, maxKeptBytes+maxHeaderValue)
	}
	if v := s.headers["subject"]; len(v) == 0 || !strings.HasPrefix(v[0], "0 x") {
		t.Errorf("the first Subject was not kept: %.20q", v)
	}
}
