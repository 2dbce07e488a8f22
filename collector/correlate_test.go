package collector

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/mailtrace/mailtrace/pool"
	"github.com/mailtrace/mailtrace/postfixlog"
	"github.com/mailtrace/mailtrace/schema"
	"github.com/mailtrace/mailtrace/store"
)

// collected keeps what a correlator wrote.
type collected struct {
	events   []*schema.DeliveryEvent
	messages []*schema.MessageRecord
	unknown  []*schema.UnknownLine // kept
	unknowns int                   // seen
}

func (c *collected) Unknown(u *schema.UnknownLine, keep bool) error {
	c.unknowns++
	if keep {
		c.unknown = append(c.unknown, u)
	}
	return nil
}

func (c *collected) Delivery(e *schema.DeliveryEvent) error {
	c.events = append(c.events, e)
	return nil
}
func (c *collected) Message(m *schema.MessageRecord) error {
	c.messages = append(c.messages, m)
	return nil
}

// final returns the last record written for each queue ID.
func (c *collected) final() map[string]*schema.MessageRecord {
	out := map[string]*schema.MessageRecord{}
	for _, m := range c.messages {
		out[m.QueueID] = m
	}
	return out
}

func (c *collected) attempts(qid string) []string {
	var out []string
	for _, e := range c.events {
		if e.QueueID == qid {
			out = append(out, e.Recipient+" "+string(e.Status))
		}
	}
	return out
}

var ref = time.Date(2026, 11, 25, 23, 0, 0, 0, time.UTC)

func correlate(t *testing.T, log string, pools []pool.Pool) *collected {
	t.Helper()
	out := &collected{}
	c := NewCorrelator(out, pools, 30*time.Second)
	c.Announce = true
	p := postfixlog.Parser{Reference: ref}
	var r postfixlog.Record
	for _, line := range bytes.Split([]byte(strings.TrimSpace(log)), []byte("\n")) {
		line = bytes.TrimLeft(line, "\t ")
		if !p.Parse(line, &r) {
			t.Fatalf("unparsed: %s", line)
		}
		if err := c.Add(&r, line); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Drain(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestMixedOutcomesAndContext(t *testing.T) {
	out := correlate(t, `
	Nov 25 10:00:00 mx1 postfix/smtpd[42]: 4dK9Fq1MpkzB3: client=app.example[192.0.2.7], sasl_method=PLAIN, sasl_username=billing
	Nov 25 10:00:00 mx1 postfix/cleanup[43]: 4dK9Fq1MpkzB3: message-id=<n1@court.example>
	Nov 25 10:00:00 mx1 postfix/cleanup[43]: 4dK9Fq1MpkzB3: milter-header-info: header X-Mailtrace-ID: 01934f6a-0000-7000-8000-0000000000ff from app.example[192.0.2.7]; from=<n@court.example> to=<a@gmail.example> proto=ESMTP helo=<app>
	Nov 25 10:00:00 mx1 postfix/cleanup[43]: 4dK9Fq1MpkzB3: milter-header-filter: header X-Mailtrace-Pool: legal from app.example[192.0.2.7]; from=<n@court.example> to=<a@gmail.example> proto=ESMTP helo=<app>: smtp-legal:
	Nov 25 10:00:00 mx1 postfix/qmgr[44]: 4dK9Fq1MpkzB3: from=<n@court.example>, size=4321, nrcpt=3 (queue active)
	Nov 25 10:00:01 mx1 postfix-legal/smtp[51]: Untrusted TLS connection established to gmail-smtp-in.l.google.com[142.250.1.27]:25: TLSv1.3 with cipher X
	Nov 25 10:00:02 mx1 postfix-legal/smtp[51]: 4dK9Fq1MpkzB3: to=<a@gmail.example>, relay=gmail-smtp-in.l.google.com[142.250.1.27]:25, delay=1.2, delays=0.1/0.01/0.3/0.79, dsn=2.0.0, status=sent (250 2.0.0 OK)
	Nov 25 10:00:02 mx1 postfix-legal/smtp[52]: 4dK9Fq1MpkzB3: to=<b@yahoo.example>, relay=mx.yahoo.example[192.0.2.10]:25, delay=1.5, delays=0.1/0.01/1/0.4, dsn=4.7.0, status=deferred (421 4.7.0 [TSS04] try later)
	Nov 25 10:00:02 mx1 postfix-legal/smtp[53]: 4dK9Fq1MpkzB3: to=<c@nx.example>, relay=mx.nx.example[192.0.2.11]:25, delay=1, delays=0/0/0.5/0.5, dsn=5.1.1, status=bounced (550 5.1.1 no such user)
	Nov 25 10:10:02 mx1 postfix-legal/smtp[52]: 4dK9Fq1MpkzB3: to=<b@yahoo.example>, relay=mx.yahoo.example[192.0.2.10]:25, delay=601, delays=600/0.01/0.3/0.7, dsn=2.0.0, status=sent (250 ok dirdel)
	Nov 25 10:10:02 mx1 postfix/qmgr[44]: 4dK9Fq1MpkzB3: removed
	`, []pool.Pool{{Name: "legal", SyslogName: "postfix-legal", SourceIP: "203.0.113.10"}})
	if got := out.attempts("4dK9Fq1MpkzB3"); strings.Join(got, ",") != "a@gmail.example sent,b@yahoo.example deferred,c@nx.example bounced,b@yahoo.example sent" {
		t.Errorf("attempts %v", got)
	}
	e := out.events[0]
	if e.MessageID != "<n1@court.example>" || e.Sender != "n@court.example" || e.Pool != "legal" || e.SourceIP != "203.0.113.10" ||
		e.TLS != "TLSv1.3 with cipher X" || e.RelayIP != "142.250.1.27" || e.Service != "postfix-legal/smtp" ||
		store.FormatUUID(e.TraceID) != "01934f6a-0000-7000-8000-0000000000ff" {
		t.Errorf("first attempt lacks its context: %+v", e)
	}
	if out.events[1].TLS != "" {
		t.Errorf("TLS of process 51 given to process 52's attempt: %q", out.events[1].TLS)
	}
	m := out.final()["4dK9Fq1MpkzB3"]
	if m.State != "removed" || m.Origin != "smtpd" || m.SASLUser != "billing" || m.Size != 4321 || m.Nrcpt != 3 ||
		strings.Join(m.Recipients, ",") != "a@gmail.example,b@yahoo.example,c@nx.example" ||
		strings.Join(m.Statuses, ",") != "sent,sent,bounced" || m.Pool != "legal" {
		t.Errorf("message record %+v", m)
	}
	if len(out.messages) != 2 {
		t.Errorf("%d message records, want a provisional and a final one", len(out.messages))
	}
}

func TestExpiry(t *testing.T) {
	out := correlate(t, `
	Nov 25 22:51:39 mx1 postfix/pickup[21787]: 0AE91984252: uid=0 from=<sender@test.example>
	Nov 25 22:51:39 mx1 postfix/cleanup[21794]: 0AE91984252: message-id=<t1@test.example>
	Nov 25 22:51:39 mx1 postfix/qmgr[21788]: 0AE91984252: from=<sender@test.example>, size=243, nrcpt=2 (queue active)
	Nov 25 22:51:39 mx1 postfix/smtp[21797]: 0AE91984252: to=<rcpt@far.example>, relay=none, delay=0.03, delays=0.02/0.01/0/0, dsn=4.4.1, status=deferred (connect to 127.0.0.1[127.0.0.1]:2599: Connection refused)
	Nov 25 22:51:39 mx1 postfix/smtp[21797]: 0AE91984252: to=<ok@far.example>, relay=x[127.0.0.1]:2599, delay=0.03, delays=0.02/0.01/0/0, dsn=2.0.0, status=sent (250 ok)
	Nov 25 22:51:39 mx1 postfix/qmgr[21788]: 0AE91984252: from=<sender@test.example>, status=expired, returned to sender
	Nov 25 22:51:39 mx1 postfix/cleanup[21794]: 12ABF9842E2: message-id=<20261125225139.12ABF9842E2@mx1.test.example>
	Nov 25 22:51:39 mx1 postfix/bounce[21798]: 0AE91984252: sender non-delivery notification: 12ABF9842E2
	Nov 25 22:51:39 mx1 postfix/qmgr[21788]: 12ABF9842E2: from=<>, size=2179, nrcpt=1 (queue active)
	Nov 25 22:51:39 mx1 postfix/qmgr[21788]: 0AE91984252: removed
	Nov 25 22:51:39 mx1 postfix/smtp[21797]: 12ABF9842E2: to=<sender@test.example>, relay=none, delay=0, delays=0/0/0/0, dsn=4.4.1, status=deferred (connect to 127.0.0.1[127.0.0.1]:2599: Connection refused)
	Nov 25 22:51:39 mx1 postfix/qmgr[21788]: 12ABF9842E2: from=<>, status=expired, returned to sender
	Nov 25 22:51:39 mx1 postfix/qmgr[21788]: 12ABF9842E2: removed
	`, nil)
	if got := strings.Join(out.attempts("0AE91984252"), ","); got != "rcpt@far.example deferred,ok@far.example sent,rcpt@far.example expired" {
		t.Errorf("attempts %s", got)
	}
	exp := out.events[2]
	if exp.DSN != "4.4.1" || !strings.Contains(exp.Response, "Connection refused") {
		t.Errorf("expiry should carry the last deferral's reason: %+v", exp)
	}
	msgs := out.final()
	parent, child := msgs["0AE91984252"], msgs["12ABF9842E2"]
	if parent.State != "expired" || strings.Join(parent.Statuses, ",") != "expired,sent" || strings.Join(parent.Children, ",") != "12ABF9842E2" {
		t.Errorf("parent %+v", parent)
	}
	if child.ParentQueueID != "0AE91984252" || child.Notification != "non-delivery" || child.Origin != "notification" ||
		child.MessageID != "<20261125225139.12ABF9842E2@mx1.test.example>" || child.State != "expired" {
		t.Errorf("child %+v", child)
	}
	if parent.Origin != "pickup" {
		t.Errorf("parent origin %q", parent.Origin)
	}
}

func TestQueueIDReuse(t *testing.T) {
	out := correlate(t, `
	Nov 25 10:00:00 mx1 postfix/smtpd[42]: ABCDEF123: client=a.example[192.0.2.1]
	Nov 25 10:00:00 mx1 postfix/cleanup[43]: ABCDEF123: message-id=<first@x>
	Nov 25 10:00:00 mx1 postfix/qmgr[44]: ABCDEF123: from=<s@x>, size=1, nrcpt=1 (queue active)
	Nov 25 10:00:01 mx1 postfix/smtp[51]: ABCDEF123: to=<r1@y>, relay=m[192.0.2.9]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 ok)
	Nov 25 10:00:01 mx1 postfix/qmgr[44]: ABCDEF123: removed
	Nov 25 10:00:05 mx1 postfix/smtpd[42]: ABCDEF123: client=b.example[192.0.2.2]
	Nov 25 10:00:05 mx1 postfix/cleanup[43]: ABCDEF123: message-id=<second@x>
	Nov 25 10:00:05 mx1 postfix/qmgr[44]: ABCDEF123: from=<s2@x>, size=2, nrcpt=1 (queue active)
	Nov 25 10:00:06 mx1 postfix/smtp[51]: ABCDEF123: to=<r2@y>, relay=m[192.0.2.9]:25, delay=1, delays=0/0/0/1, dsn=5.1.1, status=bounced (550 no)
	Nov 25 10:00:06 mx1 postfix/qmgr[44]: ABCDEF123: removed
	`, nil)
	var finals []string
	for _, m := range out.messages {
		if m.State != "queued" {
			finals = append(finals, m.MessageID+" "+strings.Join(m.Recipients, ",")+" "+m.ClientIP)
		}
	}
	sort.Strings(finals)
	if strings.Join(finals, "|") != "<first@x> r1@y 192.0.2.1|<second@x> r2@y 192.0.2.2" {
		t.Errorf("reused queue ID: %v", finals)
	}
	if out.events[1].MessageID != "<second@x>" {
		t.Errorf("second message's attempt has Message-ID %q", out.events[1].MessageID)
	}
}

// TestLateLine: a line of another process about a removed message, logged
// after "removed", still belongs to it within the grace window.
func TestLateLine(t *testing.T) {
	out := correlate(t, `
	Nov 25 10:00:00 mx1 postfix/qmgr[44]: ABCDEF123: from=<s@x>, size=1, nrcpt=2 (queue active)
	Nov 25 10:00:01 mx1 postfix/smtp[51]: ABCDEF123: to=<r1@y>, relay=m[192.0.2.9]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 ok)
	Nov 25 10:00:01 mx1 postfix/qmgr[44]: ABCDEF123: removed
	Nov 25 10:00:01 mx1 postfix/smtp[52]: ABCDEF123: to=<r2@y>, relay=m[192.0.2.9]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 ok)
	`, nil)
	m := out.final()["ABCDEF123"]
	if strings.Join(m.Recipients, ",") != "r1@y,r2@y" || m.State != "removed" {
		t.Errorf("late line lost: %+v", m)
	}
	if len(out.messages) != 2 {
		t.Errorf("%d message records, want 2", len(out.messages))
	}
}

func TestRejects(t *testing.T) {
	out := correlate(t, `
	Nov 25 10:12:00 mx1 postfix/smtpd[42]: NOQUEUE: reject: RCPT from unknown[198.51.100.66]: 554 5.7.1 <x@y.example>: Relay access denied; from=<spam@y.example> to=<x@y.example> proto=ESMTP helo=<spammer>
	`, nil)
	if len(out.events) != 1 {
		t.Fatalf("%d events", len(out.events))
	}
	e := out.events[0]
	if e.Status != "rejected" || e.Recipient != "x@y.example" || e.Sender != "spam@y.example" || e.DSN != "5.7.1" || e.RelayIP != "198.51.100.66" || e.QueueID != "" {
		t.Errorf("reject event %+v", e)
	}
}

func TestSnapshotRestore(t *testing.T) {
	log := strings.Split(strings.TrimSpace(`
Nov 25 10:00:00 mx1 postfix/smtpd[42]: ABCDEF123: client=a.example[192.0.2.1]
Nov 25 10:00:00 mx1 postfix/cleanup[43]: ABCDEF123: message-id=<first@x>
Nov 25 10:00:00 mx1 postfix/qmgr[44]: ABCDEF123: from=<s@x>, size=1, nrcpt=1 (queue active)
Nov 25 10:00:01 mx1 postfix/smtp[51]: ABCDEF123: to=<r1@y>, relay=m[192.0.2.9]:25, delay=1, delays=0/0/0/1, dsn=4.0.0, status=deferred (450 later)
Nov 25 10:20:01 mx1 postfix/smtp[51]: ABCDEF123: to=<r1@y>, relay=m[192.0.2.9]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 ok)
Nov 25 10:20:01 mx1 postfix/qmgr[44]: ABCDEF123: removed`), "\n")
	p := postfixlog.Parser{Reference: ref}
	var r postfixlog.Record
	first := &collected{}
	c := NewCorrelator(first, nil, time.Second)
	for _, l := range log[:4] {
		p.Parse([]byte(l), &r)
		c.Add(&r, []byte(l))
	}
	state, err := c.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	second := &collected{}
	c2 := NewCorrelator(second, nil, time.Second)
	if err := c2.Restore(state); err != nil {
		t.Fatal(err)
	}
	for _, l := range log[4:] {
		p.Parse([]byte(l), &r)
		c2.Add(&r, []byte(l))
	}
	c2.Drain()
	m := second.final()["ABCDEF123"]
	if m == nil || m.MessageID != "<first@x>" || m.ClientIP != "192.0.2.1" || strings.Join(m.Statuses, ",") != "sent" {
		t.Errorf("after restore: %+v", m)
	}
	if second.events[0].MessageID != "<first@x>" {
		t.Errorf("attempt after restore lacks context: %+v", second.events[0])
	}
}

func TestEventIDsAreStable(t *testing.T) {
	a := correlate(t, `Nov 25 10:00:01 mx1 postfix/smtp[51]: ABCDEF123: to=<r1@y>, relay=m[192.0.2.9]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 ok)`, nil)
	b := correlate(t, `Nov 25 10:00:01 mx1 postfix/smtp[51]: ABCDEF123: to=<r1@y>, relay=m[192.0.2.9]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 ok)`, nil)
	c := correlate(t, `Nov 25 10:00:01 mx1 postfix/smtp[51]: ABCDEF123: to=<r2@y>, relay=m[192.0.2.9]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 ok)`, nil)
	if a.events[0].EventID != b.events[0].EventID || a.events[0].EventID == c.events[0].EventID {
		t.Errorf("event IDs %x %x %x", a.events[0].EventID, b.events[0].EventID, c.events[0].EventID)
	}
}

// TestTimeDigitsCarried checks that every row the collector writes says
// how precise its log's timestamps were.
func TestTimeDigitsCarried(t *testing.T) {
	tests := []struct {
		name, stamp string // stamp stands for the timestamp of every line
		want        uint8
	}{
		{"maillog_file, whole seconds", "Nov 25 10:00:00", 0},
		{"rsyslog RFC 3339 high precision", "2026-11-25T10:00:00.412345+00:00", 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := correlate(t, strings.ReplaceAll(`
	TS mx1 postfix/smtpd[42]: 3F1ABC23DEF: client=app.example[192.0.2.7]
	TS mx1 postfix/qmgr[44]: 3F1ABC23DEF: from=<n@court.example>, size=4321, nrcpt=3 (queue active)
	TS mx1 postfix/smtp[51]: 3F1ABC23DEF: to=<a@gmail.example>, relay=x[192.0.2.1]:25, delay=1.2, delays=0.1/0.01/0.3/0.79, dsn=2.0.0, status=sent (250 2.0.0 OK)
	TS mx1 postfix/smtp[52]: 3F1ABC23DEF: to=<b@yahoo.example>, relay=x[192.0.2.10]:25, delay=1.5, delays=0.1/0.01/1/0.4, dsn=4.7.0, status=deferred (421 4.7.0 try later)
	TS mx1 postfix/smtpd[42]: NOQUEUE: reject: RCPT from app.example[192.0.2.7]: 550 5.1.1 <c@x.example>: Recipient address rejected; from=<n@court.example> to=<c@x.example> proto=ESMTP helo=<app>
	TS mx1 postfix/qmgr[44]: 3F1ABC23DEF: from=<n@court.example>, status=expired, returned to sender
	TS mx1 postfix/bounce[53]: 3F1ABC23DEF: sender non-delivery notification: 3F1ABC23DE0
	TS mx1 postfix/qmgr[44]: 3F1ABC23DEF: removed
	`, "TS", tt.stamp), nil)
			var got []string
			for _, e := range out.events {
				got = append(got, fmt.Sprintf("%s %s %d", e.Recipient, e.Status, e.TimeDigits))
			}
			for _, m := range out.messages {
				got = append(got, fmt.Sprintf("message %s %d", m.QueueID, m.TimeDigits))
			}
			for _, g := range got {
				if !strings.HasSuffix(g, fmt.Sprintf(" %d", tt.want)) {
					t.Errorf("%s: want %d digits", g, tt.want)
				}
			}
			if len(out.events) != 4 || len(out.messages) < 2 {
				t.Errorf("rows %q: want 4 attempts (sent, deferred, rejected, expired) and the message and its notification", got)
			}
		})
	}
}

// An attempt's pool is the transport's that made it: of one message with
// a VERP sender, the remote recipient leaves through the pool, while the
// local, virtual and transport_maps ones leave through no pool, even where
// the log names the pool the message was meant for.
func TestAttemptPoolIsItsTransports(t *testing.T) {
	out := correlate(t, `
	Nov 25 10:00:00 mx1 postfix/smtpd[42]: 5AB12989C46: client=localhost[127.0.0.1]
	Nov 25 10:00:00 mx1 postfix/cleanup[43]: 5AB12989C46: message-id=<r1@court.example>
	Nov 25 10:00:00 mx1 postfix/cleanup[43]: 5AB12989C46: milter-header-info: header X-Mailtrace-ID: 01934f6a-0000-7000-8000-0000000000aa from localhost[127.0.0.1]; from=<mt-legal-aibq@bounces.example> to=<bob@remote.example> proto=ESMTP helo=<app>
	Nov 25 10:00:00 mx1 postfix/cleanup[43]: 5AB12989C46: milter-header-info: header X-Mailtrace-Pool: legal from localhost[127.0.0.1]; from=<mt-legal-aibq@bounces.example> to=<bob@remote.example> proto=ESMTP helo=<app>
	Nov 25 10:00:00 mx1 postfix/qmgr[44]: 5AB12989C46: from=<mt-legal-aibq@bounces.example>, size=396, nrcpt=4 (queue active)
	Nov 25 10:00:01 mx1 postfix/local[50]: 5AB12989C46: to=<root@mx1.test.example>, relay=local, delay=0.1, delays=0.04/0.05/0/0, dsn=2.0.0, status=sent (delivered to mailbox)
	Nov 25 10:00:01 mx1 postfix/virtual[51]: 5AB12989C46: to=<dave@virt.example>, relay=virtual, delay=0.1, delays=0.04/0.05/0/0, dsn=2.0.0, status=sent (delivered to mailbox)
	Nov 25 10:00:01 mx1 postfix/smtp[52]: 5AB12989C46: to=<carol@partner.example>, relay=127.0.0.1[127.0.0.1]:2526, delay=0.1, delays=0.04/0.05/0/0, dsn=2.0.0, status=sent (250 2.0.0 OK: queued)
	Nov 25 10:00:01 mx1 postfix-legal/smtp[53]: 5AB12989C46: to=<bob@remote.example>, relay=mx.remote.example[127.0.0.9]:25, delay=0.1, delays=0.04/0.05/0/0, dsn=2.0.0, status=sent (250 2.0.0 OK: queued)
	Nov 25 10:00:01 mx1 postfix/qmgr[44]: 5AB12989C46: removed
	`, []pool.Pool{{Name: "legal", SyslogName: "postfix-legal", SourceIP: "127.0.0.2"}})
	want := map[string]string{"root@mx1.test.example": "/", "dave@virt.example": "/", "carol@partner.example": "/", "bob@remote.example": "legal/127.0.0.2"}
	if len(out.events) != len(want) {
		t.Fatalf("%d attempts, want %d", len(out.events), len(want))
	}
	for _, e := range out.events {
		if got := e.Pool + "/" + e.SourceIP; got != want[e.Recipient] {
			t.Errorf("attempt to %s by %s: pool/source %q, want %q", e.Recipient, e.Service, got, want[e.Recipient])
		}
	}
}
