package trace

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mailtrace/mailtrace/collector"
	"github.com/mailtrace/mailtrace/pool"
	"github.com/mailtrace/mailtrace/schema"
	"github.com/mailtrace/mailtrace/store"
	"github.com/mailtrace/mailtrace/store/storetest"
	"github.com/mailtrace/mailtrace/trace/tracetest"
	"github.com/mailtrace/mailtrace/traceid"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json from what the trace assembles")

// goldenID is the whole message's trace ID: fixed, so that the golden file
// is the same every run.
const goldenID = "019ea0a1-2b60-7c3d-8e4f-5a6b7c8d9e0f"

// goldenLog: a message stamped by the milter goes through a content filter
// (0AE91984252 hands it to 127.0.0.1:10024, which queues it again as
// 3F2A81C0B2); anna is deferred once, then delivered over TLS; bob is
// refused.
const goldenLog = `2026-11-20T09:00:00.100000+00:00 mx1 postfix/smtpd[42]: 0AE91984252: client=app.court.example[10.0.0.5], sasl_method=PLAIN, sasl_username=clerk
2026-11-20T09:00:00.200000+00:00 mx1 postfix/cleanup[43]: 0AE91984252: message-id=<golden@court.example>
2026-11-20T09:00:00.300000+00:00 mx1 postfix/cleanup[43]: 0AE91984252: milter-header-info: header X-Mailtrace-ID: TRACE from app.court.example[10.0.0.5]; from=<clerk@court.example> to=<anna@gmail.test> proto=ESMTP helo=<app>
2026-11-20T09:00:00.400000+00:00 mx1 postfix/qmgr[44]: 0AE91984252: from=<mt-verp@bounces.court.example>, size=4321, nrcpt=2 (queue active)
2026-11-20T09:00:01.100000+00:00 mx1 postfix/smtpd[70]: 3F2A81C0B2: client=localhost[127.0.0.1]
2026-11-20T09:00:01.200000+00:00 mx1 postfix/cleanup[43]: 3F2A81C0B2: message-id=<golden@court.example>
2026-11-20T09:00:01.300000+00:00 mx1 postfix/qmgr[44]: 3F2A81C0B2: from=<mt-verp@bounces.court.example>, size=5000, nrcpt=2 (queue active)
2026-11-20T09:00:01.400000+00:00 mx1 postfix/smtp[51]: 0AE91984252: to=<anna@gmail.test>, relay=127.0.0.1[127.0.0.1]:10024, delay=1.3, delays=0.4/0/0/0.9, dsn=2.0.0, status=sent (250 2.0.0 from MTA(smtp:[127.0.0.1]:10025): 250 2.0.0 Ok: queued as 3F2A81C0B2)
2026-11-20T09:00:01.400000+00:00 mx1 postfix/smtp[51]: 0AE91984252: to=<bob@outlook.test>, relay=127.0.0.1[127.0.0.1]:10024, delay=1.3, delays=0.4/0/0/0.9, dsn=2.0.0, status=sent (250 2.0.0 from MTA(smtp:[127.0.0.1]:10025): 250 2.0.0 Ok: queued as 3F2A81C0B2)
2026-11-20T09:00:01.500000+00:00 mx1 postfix/qmgr[44]: 0AE91984252: removed
2026-11-20T09:00:02.000000+00:00 mx1 postfix-legal/smtp[52]: 3F2A81C0B2: to=<anna@gmail.test>, relay=gmail-smtp-in.l.google.com[142.250.1.27]:25, delay=0.7, delays=0/0/0.3/0.4, dsn=4.7.28, status=deferred (host gmail-smtp-in.l.google.com[142.250.1.27] said: 421 4.7.28 Gmail has detected an unusual rate (in reply to end of DATA command))
2026-11-20T09:00:02.100000+00:00 mx1 postfix-legal/smtp[53]: 3F2A81C0B2: to=<bob@outlook.test>, relay=x.mail.protection.outlook.com[52.101.1.1]:25, delay=0.8, delays=0/0/0.4/0.4, dsn=5.1.1, status=bounced (host x.mail.protection.outlook.com[52.101.1.1] said: 550 5.1.1 RESOLVER.ADR.RecipientNotFound (in reply to RCPT TO command))
2026-11-20T09:10:00.000000+00:00 mx1 postfix-legal/smtp[54]: Trusted TLS connection established to gmail-smtp-in.l.google.com[142.250.1.26]:25: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)
2026-11-20T09:10:00.500000+00:00 mx1 postfix-legal/smtp[54]: 3F2A81C0B2: to=<anna@gmail.test>, relay=gmail-smtp-in.l.google.com[142.250.1.26]:25, delay=599.2, delays=598/0.01/0.3/0.9, dsn=2.0.0, status=sent (250 2.0.0 OK 1700000000 gsmtp)
2026-11-20T09:10:00.600000+00:00 mx1 postfix/qmgr[44]: 3F2A81C0B2: removed
`

// goldenStore stores the whole message: the milter's accept record, the
// log above (through the collector), and two reports that came back: a
// DSN saying anna's mailbox failed after all, and bob's read receipt.
func goldenStore(t testing.TB) store.Store {
	t.Helper()
	st := storetest.Chdb(t)
	ctx := context.Background()
	if _, err := schema.Migrate(ctx, st, schema.Options{Database: st.Database()}, false); err != nil {
		t.Fatal(err)
	}
	id, ok := traceid.Parse(goldenID)
	if !ok {
		t.Fatal("golden trace ID does not parse")
	}
	tracetest.Insert(t, st, schema.AcceptRecords, &schema.AcceptRecord{Time: tracetest.T0.Add(312345 * time.Microsecond), TraceID: id,
		Host: "mx1", QueueID: "0AE91984252", MessageID: "<golden@court.example>", Sender: "clerk@court.example",
		Recipients: []string{"anna@gmail.test", "bob@outlook.test"}, ClientIP: "10.0.0.5", ClientName: "app.court.example",
		Helo: "app-helo", SASLUser: "clerk", Size: 4321, Class: "legal", Pool: "legal", Subject: "Summons", FromHeader: "Court <clerk@court.example>"})
	path := filepath.Join(t.TempDir(), "mail.log")
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(goldenLog, "TRACE", id.String())), 0o644); err != nil {
		t.Fatal(err)
	}
	p := collector.NewPipeline(st, collector.PipelineOptions{Pools: []pool.Pool{{Name: "legal", SyslogName: "postfix-legal"}}})
	if _, err := collector.Import(ctx, p, path); err != nil {
		t.Fatal(err)
	}
	p.Close(ctx)
	tracetest.Insert(t, st, schema.Bounces,
		&schema.Bounce{Time: tracetest.T0.Add(2 * time.Hour), EventID: 1, Kind: "dsn", MatchedBy: "verp", TraceID: id, Host: "mx1",
			QueueID: "0AE91984252", Recipient: "anna@gmail.test", Action: "failed", Status: "5.2.2", InferredStatus: "5.2.2",
			Diagnostic: "552 5.2.2 mailbox full", RemoteMTA: "mx.gmail.test", ReportingMTA: "mx.gmail.test", Category: "mailbox-full",
			Provider: "google", TimeDigits: 0},
		&schema.Bounce{Time: tracetest.T0.Add(3 * time.Hour), EventID: 2, Kind: "mdn", MatchedBy: "message_id", TraceID: id, Host: "mx1",
			QueueID: "0AE91984252", Recipient: "bob@outlook.test", Action: "displayed", Diagnostic: "Seen.",
			Disposition: "manual-action/MDN-sent-manually; displayed", TimeDigits: 0})
	return st
}

// TestGoldenMessage assembles the whole message and compares its JSON,
// field by field, with testdata/message.golden.json (go test -update
// rewrites it): any field read from the wrong column shows.
func TestGoldenMessage(t *testing.T) {
	st := goldenStore(t)
	msgs, err := NewReader(st).Find(context.Background(), Query{ID: goldenID})
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 {
		t.Fatalf("%d messages, want the one", len(msgs))
	}
	got, err := json.MarshalIndent(msgs[0], "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	golden := filepath.Join("testdata", "message.golden.json")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (go test -run TestGoldenMessage -update writes it)", err)
	}
	if !bytes.Equal(got, want) {
		gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
		for i := range max(len(gl), len(wl)) {
			var g, w string
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Errorf("line %d: got %s, want %s", i+1, strings.TrimSpace(g), strings.TrimSpace(w))
			}
		}
	}
}

// BenchmarkFind measures a whole trace lookup by trace ID of the golden
// message (two queue entries, five attempts, two reports) on the embedded
// store.
func BenchmarkFind(b *testing.B) {
	st := goldenStore(b)
	r := NewReader(st)
	ctx := context.Background()
	// CPU time, the embedded store's threads' too: on a shared machine
	// it varies less than the time the lookup takes.
	var before, after syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &before)
	for b.Loop() {
		msgs, err := r.Find(ctx, Query{ID: goldenID})
		if err != nil || len(msgs) != 1 {
			b.Fatal(msgs, err)
		}
	}
	syscall.Getrusage(syscall.RUSAGE_SELF, &after)
	cpu := time.Duration(after.Utime.Nano() + after.Stime.Nano() - before.Utime.Nano() - before.Stime.Nano())
	b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/op")
}
