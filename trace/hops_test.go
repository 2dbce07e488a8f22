package trace

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/mailtrace/mailtrace/collector"
	"github.com/mailtrace/mailtrace/pool"
	"github.com/mailtrace/mailtrace/schema"
	"github.com/mailtrace/mailtrace/store/storetest"
	"github.com/mailtrace/mailtrace/trace/tracetest"
	"github.com/mailtrace/mailtrace/traceid"
)

// chainLog: a message stamped by the milter goes to amavis on
// 127.0.0.1:10024, comes back as 3F2A81C0B2 (logged before the hand-off,
// as the filter queues it before it answers) and is delivered to one
// recipient and refused for the other.
const chainLog = `2026-11-20T09:00:00.100000+00:00 mx1 postfix/smtpd[42]: 0AE91984252: client=app.court.example[10.0.0.5]
2026-11-20T09:00:00.200000+00:00 mx1 postfix/cleanup[43]: 0AE91984252: message-id=<chain@court.example>
2026-11-20T09:00:00.300000+00:00 mx1 postfix/cleanup[43]: 0AE91984252: milter-header-info: header X-Mailtrace-ID: TRACE from app.court.example[10.0.0.5]; from=<clerk@court.example> to=<anna@gmail.test> proto=ESMTP helo=<app>
2026-11-20T09:00:00.400000+00:00 mx1 postfix/qmgr[44]: 0AE91984252: from=<clerk@court.example>, size=4321, nrcpt=2 (queue active)
2026-11-20T09:00:01.100000+00:00 mx1 postfix/smtpd[70]: 3F2A81C0B2: client=localhost[127.0.0.1]
2026-11-20T09:00:01.200000+00:00 mx1 postfix/cleanup[43]: 3F2A81C0B2: message-id=<chain@court.example>
2026-11-20T09:00:01.300000+00:00 mx1 postfix/qmgr[44]: 3F2A81C0B2: from=<clerk@court.example>, size=5000, nrcpt=2 (queue active)
2026-11-20T09:00:01.400000+00:00 mx1 postfix/smtp[51]: 0AE91984252: to=<anna@gmail.test>, relay=127.0.0.1[127.0.0.1]:10024, delay=1.3, delays=0.4/0/0/0.9, dsn=2.0.0, status=sent (250 2.0.0 from MTA(smtp:[127.0.0.1]:10025): 250 2.0.0 Ok: queued as 3F2A81C0B2)
2026-11-20T09:00:01.400000+00:00 mx1 postfix/smtp[51]: 0AE91984252: to=<bob@outlook.test>, relay=127.0.0.1[127.0.0.1]:10024, delay=1.3, delays=0.4/0/0/0.9, dsn=2.0.0, status=sent (250 2.0.0 from MTA(smtp:[127.0.0.1]:10025): 250 2.0.0 Ok: queued as 3F2A81C0B2)
2026-11-20T09:00:01.500000+00:00 mx1 postfix/qmgr[44]: 0AE91984252: removed
2026-11-20T09:00:02.000000+00:00 mx1 postfix-legal/smtp[52]: 3F2A81C0B2: to=<anna@gmail.test>, relay=gmail-smtp-in.l.google.com[142.250.1.27]:25, delay=0.7, delays=0/0/0.3/0.4, dsn=2.0.0, status=sent (250 2.0.0 OK gsmtp)
2026-11-20T09:00:02.100000+00:00 mx1 postfix-legal/smtp[53]: 3F2A81C0B2: to=<bob@outlook.test>, relay=x.mail.protection.outlook.com[52.101.1.1]:25, delay=0.8, delays=0/0/0.4/0.4, dsn=5.1.1, status=bounced (host x.mail.protection.outlook.com[52.101.1.1] said: 550 5.1.1 RESOLVER.ADR.RecipientNotFound (in reply to RCPT TO command))
2026-11-20T09:00:02.200000+00:00 mx1 postfix/qmgr[44]: 3F2A81C0B2: removed
`

// TestTraceAcrossContentFilter: the trace of a message that went through a
// content filter shows both queue entries, by any of its IDs, with each
// recipient's outcome from the real delivery; search and export find the
// real delivery by the original's class.
func TestTraceAcrossContentFilter(t *testing.T) {
	st := storetest.Chdb(t)
	ctx := context.Background()
	if _, err := schema.Migrate(ctx, st, schema.Options{Database: st.Database()}, false); err != nil {
		t.Fatal(err)
	}
	id := traceid.New()
	tracetest.Insert(t, st, schema.AcceptRecords, &schema.AcceptRecord{Time: tracetest.T0.Add(300 * time.Millisecond), TraceID: id,
		Host: "mx1", QueueID: "0AE91984252", MessageID: "<chain@court.example>", Sender: "clerk@court.example", ClientIP: "10.0.0.5",
		Recipients: []string{"anna@gmail.test", "bob@outlook.test"}, Class: "legal", Pool: "legal"})
	path := filepath.Join(t.TempDir(), "mail.log")
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(chainLog, "TRACE", id.String())), 0o644); err != nil {
		t.Fatal(err)
	}
	p := collector.NewPipeline(st, collector.PipelineOptions{Pools: []pool.Pool{{Name: "legal", SyslogName: "postfix-legal"}}})
	if _, err := collector.Import(ctx, p, path); err != nil {
		t.Fatal(err)
	}
	p.Close(ctx)

	day := Query{From: tracetest.T0.Add(-time.Hour), To: tracetest.T0.Add(time.Hour)}
	for _, q := range []Query{{ID: id.String()}, {ID: "0AE91984252"}, {ID: "3F2A81C0B2"}, {ID: "<chain@court.example>"},
		{ID: "bob@outlook.test", From: day.From, To: day.To}} {
		t.Run(q.ID, func(t *testing.T) {
			msgs, err := NewReader(st).Find(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			if len(msgs) != 1 {
				t.Fatalf("%d messages, want the one", len(msgs))
			}
			m := msgs[0]
			if m.QueueID != "0AE91984252" || m.TraceID != id.String() || m.Class != "legal" || len(m.Hops) != 2 ||
				m.Hops[0].QueueID != "0AE91984252" || m.Hops[1].QueueID != "3F2A81C0B2" || m.Hops[1].QueuedFrom != "0AE91984252" ||
				m.Client == nil || m.Client.IP != "10.0.0.5" || m.State != "removed" {
				t.Errorf("message: %+v hops %+v", m, m.Hops)
			}
			got := map[string]string{}
			for _, r := range m.Recipients {
				var steps []string
				for _, a := range r.Attempts {
					steps = append(steps, a.QueueID+" "+string(a.Status)+" "+a.QueuedAs)
				}
				got[r.Address] = string(r.Status) + ": " + strings.Join(steps, ", ")
			}
			want := map[string]string{
				"anna@gmail.test":  "sent: 0AE91984252 handoff 3F2A81C0B2, 3F2A81C0B2 sent ",
				"bob@outlook.test": "bounced: 0AE91984252 handoff 3F2A81C0B2, 3F2A81C0B2 bounced ",
			}
			for k, v := range want {
				if got[k] != v {
					t.Errorf("%s: %q, want %q", k, got[k], v)
				}
			}
			if len(got) != 2 {
				t.Errorf("recipients %v", got)
			}
		})
	}
	f := Filter{From: day.From, To: day.To, Class: "legal", Status: "sent"}
	page, err := Search(ctx, st, f, "", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Rows) != 1 || page.Rows[0].QueueID != "3F2A81C0B2" || page.Rows[0].Relay != "gmail-smtp-in.l.google.com" || page.Rows[0].TraceID != id.String() {
		t.Errorf("search for the legal class's sent mail: %+v", page.Rows)
	}
	var exported []string
	f.Status = ""
	if err := Export(ctx, st, f, func(r *Row) error {
		exported = append(exported, r.QueueID+" "+r.Recipient+" "+string(r.Status))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	sort.Strings(exported)
	if strings.Join(exported, ",") != "0AE91984252 anna@gmail.test handoff,0AE91984252 bob@outlook.test handoff,3F2A81C0B2 anna@gmail.test sent,3F2A81C0B2 bob@outlook.test bounced" {
		t.Errorf("export: %v", exported)
	}
}
