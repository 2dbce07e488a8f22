package collector

import (
	"bytes"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/mailtrace/mailtrace/pool"
	"github.com/mailtrace/mailtrace/postfixlog"
	"github.com/mailtrace/mailtrace/reply"
	"github.com/mailtrace/mailtrace/schema"
	"github.com/mailtrace/mailtrace/store"
)

const traceA = "01934f6a-0000-7000-8000-0000000000ff"

// original is a message an application hands in, stamped by the milter,
// routed to a content filter on 127.0.0.1:10024 (content_filter =
// smtp:[127.0.0.1]:10024).
const original = `
Nov 25 10:00:00 mx1 postfix/smtpd[42]: 0AE91984252: client=app.example[192.0.2.7], sasl_method=PLAIN, sasl_username=billing
Nov 25 10:00:00 mx1 postfix/cleanup[43]: 0AE91984252: message-id=<n1@court.example>
Nov 25 10:00:00 mx1 postfix/cleanup[43]: 0AE91984252: milter-header-info: header X-Mailtrace-ID: ` + traceA + ` from app.example[192.0.2.7]; from=<n@court.example> to=<a@gmail.example> proto=ESMTP helo=<app>
Nov 25 10:00:00 mx1 postfix/cleanup[43]: 0AE91984252: milter-header-filter: header X-Mailtrace-Pool: legal from app.example[192.0.2.7]; from=<n@court.example> to=<a@gmail.example> proto=ESMTP helo=<app>: smtp-legal:
Nov 25 10:00:00 mx1 postfix/qmgr[44]: 0AE91984252: from=<n@court.example>, size=4321, nrcpt=2 (queue active)`

// reinjected is what the filter hands back to the smtpd on 10025.
const reinjected = `
Nov 25 10:00:01 mx1 postfix/smtpd[70]: 3F2A81C0B2: client=localhost[127.0.0.1]
Nov 25 10:00:01 mx1 postfix/cleanup[43]: 3F2A81C0B2: message-id=<n1@court.example>
Nov 25 10:00:01 mx1 postfix/qmgr[44]: 3F2A81C0B2: from=<n@court.example>, size=5000, nrcpt=2 (queue active)`

const handoffs = `
Nov 25 10:00:01 mx1 postfix/smtp[51]: 0AE91984252: to=<a@gmail.example>, relay=127.0.0.1[127.0.0.1]:10024, delay=1.1, delays=0.1/0/0/1, dsn=2.0.0, status=sent (250 2.0.0 from MTA(smtp:[127.0.0.1]:10025): 250 2.0.0 Ok: queued as 3F2A81C0B2)
Nov 25 10:00:01 mx1 postfix/smtp[51]: 0AE91984252: to=<b@outlook.example>, relay=127.0.0.1[127.0.0.1]:10024, delay=1.1, delays=0.1/0/0/1, dsn=2.0.0, status=sent (250 2.0.0 from MTA(smtp:[127.0.0.1]:10025): 250 2.0.0 Ok: queued as 3F2A81C0B2)
Nov 25 10:00:01 mx1 postfix/qmgr[44]: 0AE91984252: removed`

const deliveries = `
Nov 25 10:00:02 mx1 postfix-legal/smtp[52]: 3F2A81C0B2: to=<a@gmail.example>, relay=gmail-smtp-in.l.google.com[142.250.1.27]:25, delay=1, delays=0/0/0.5/0.5, dsn=2.0.0, status=sent (250 2.0.0 OK gsmtp)
Nov 25 10:00:02 mx1 postfix-legal/smtp[53]: 3F2A81C0B2: to=<b@outlook.example>, relay=x.mail.protection.outlook.com[52.101.1.1]:25, delay=1, delays=0/0/0.5/0.5, dsn=5.7.1, status=bounced (host x[52.101.1.1] said: 550 5.7.1 blocked (in reply to RCPT TO command))
Nov 25 10:00:02 mx1 postfix/qmgr[44]: 3F2A81C0B2: removed`

// checkChain checks what a content filter chain must come to, whatever the
// order of its lines.
func checkChain(t *testing.T, out *collected) {
	t.Helper()
	if got := strings.Join(out.attempts("0AE91984252"), ","); got != "a@gmail.example handoff,b@outlook.example handoff" {
		t.Errorf("the hand-offs to the filter: %s", got)
	}
	if got := strings.Join(out.attempts("3F2A81C0B2"), ","); got != "a@gmail.example sent,b@outlook.example bounced" {
		t.Errorf("the real deliveries: %s", got)
	}
	for _, e := range out.events {
		switch e.QueueID {
		case "0AE91984252":
			if e.QueuedAs != "3F2A81C0B2" {
				t.Errorf("hand-off %s does not name the new queue entry: %q", e.Recipient, e.QueuedAs)
			}
		case "3F2A81C0B2":
			if store.FormatUUID(e.TraceID) != traceA || e.Sender != "n@court.example" || e.Pool != "legal" || e.SourceIP != "203.0.113.10" ||
				e.MessageID != "<n1@court.example>" || e.QueuedAs != "" {
				t.Errorf("the re-injected copy's attempt lost the original's context: %+v", e)
			}
		}
	}
	msgs := out.final()
	a, b := msgs["0AE91984252"], msgs["3F2A81C0B2"]
	if a == nil || b == nil {
		t.Fatalf("message records: %v", msgs)
	}
	if strings.Join(a.QueuedAs, ",") != "3F2A81C0B2" || strings.Join(a.Statuses, ",") != "handoff,handoff" || a.QueuedFrom != "" {
		t.Errorf("original's record: %+v", a)
	}
	if b.QueuedFrom != "0AE91984252" || store.FormatUUID(b.TraceID) != traceA || b.ClientIP != "192.0.2.7" || b.ClientHost != "app.example" ||
		b.SASLUser != "billing" || b.Origin != "smtpd" || b.Sender != "n@court.example" || b.Pool != "legal" ||
		strings.Join(b.Statuses, ",") != "sent,bounced" {
		t.Errorf("re-injected copy's record: %+v", b)
	}
}

var legal = []pool.Pool{{Name: "legal", SyslogName: "postfix-legal", SourceIP: "203.0.113.10"}}

func TestContentFilterChain(t *testing.T) {
	tests := []struct {
		name string
		log  string
	}{
		// The filter queues the copy before it answers: its lines come
		// first.
		{"copy logged before the hand-off", original + reinjected + handoffs + deliveries},
		// A fast local delivery of the copy can be logged before the
		// hand-off's line.
		{"copy delivered before the hand-off is logged", original + reinjected + deliveries + handoffs},
		// Syslog may also bring the filter's answer first.
		{"hand-off logged before the copy", original + handoffs + reinjected + deliveries},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkChain(t, correlate(t, tt.log, legal))
		})
	}
}

// TestHandoffToSmarthost: a next hop on localhost that takes the mail and
// does not queue it in this log (a smarthost relay, another host's
// Postfix behind a tunnel) is a delivery, not a hand-off.
func TestHandoffToSmarthost(t *testing.T) {
	out := correlate(t, original+`
Nov 25 10:00:01 mx1 postfix/smtp[51]: 0AE91984252: to=<a@gmail.example>, relay=127.0.0.1[127.0.0.1]:2525, delay=1.1, delays=0.1/0/0/1, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 3F2A81C0B2)
Nov 25 10:00:01 mx1 postfix/smtp[51]: 0AE91984252: to=<b@outlook.example>, relay=smarthost.example[198.51.100.25]:25, delay=1.1, delays=0.1/0/0/1, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 4C3B91C0D7)
Nov 25 10:00:01 mx1 postfix/qmgr[44]: 0AE91984252: removed
Nov 25 10:05:00 mx1 postfix/qmgr[44]: 3F2A81C0B2: removed`, legal)
	got := out.attempts("0AE91984252")
	sort.Strings(got)
	if got := strings.Join(got, ","); got != "a@gmail.example sent,b@outlook.example sent" {
		t.Errorf("attempts %s", got)
	}
	for _, e := range out.events {
		if e.QueuedAs != "" {
			t.Errorf("linked to a queue entry that is not in this log: %+v", e)
		}
	}
	if a := out.final()["0AE91984252"]; len(a.QueuedAs) != 0 || strings.Join(a.Statuses, ",") != "sent,sent" {
		t.Errorf("record %+v", a)
	}
}

// TestInstances: mail passed from one Postfix instance to another on the
// same host (multi-instance, distinct syslog names).
func TestInstances(t *testing.T) {
	out := correlate(t, original+`
Nov 25 10:00:01 mx1 postfix-out/smtpd[70]: 3F2A81C0B2: client=localhost[127.0.0.1]
Nov 25 10:00:01 mx1 postfix-out/cleanup[71]: 3F2A81C0B2: message-id=<n1@court.example>
Nov 25 10:00:01 mx1 postfix-out/qmgr[72]: 3F2A81C0B2: from=<n@court.example>, size=5000, nrcpt=1 (queue active)
Nov 25 10:00:01 mx1 postfix/smtp[51]: 0AE91984252: to=<a@gmail.example>, relay=127.0.0.1[127.0.0.1]:2525, delay=1.1, delays=0.1/0/0/1, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 3F2A81C0B2)
Nov 25 10:00:02 mx1 postfix-out/smtp[73]: 3F2A81C0B2: to=<a@gmail.example>, relay=gmail-smtp-in.l.google.com[142.250.1.27]:25, delay=1, delays=0/0/0.5/0.5, dsn=2.0.0, status=sent (250 2.0.0 OK gsmtp)
Nov 25 10:00:02 mx1 postfix-out/qmgr[72]: 3F2A81C0B2: removed
Nov 25 10:00:02 mx1 postfix/qmgr[44]: 0AE91984252: removed`, legal)
	if got := strings.Join(append(out.attempts("0AE91984252"), out.attempts("3F2A81C0B2")...), ","); got != "a@gmail.example handoff,a@gmail.example sent" {
		t.Errorf("attempts %s", got)
	}
	if b := out.final()["3F2A81C0B2"]; b.QueuedFrom != "0AE91984252" || store.FormatUUID(b.TraceID) != traceA || b.ClientIP != "192.0.2.7" {
		t.Errorf("second instance's entry: %+v", b)
	}
}

// TestXforward: a filter that passes XFORWARD makes smtpd log the original
// queue ID with the new one's client line.
func TestXforward(t *testing.T) {
	out := correlate(t, original+`
Nov 25 10:00:01 mx1 postfix/smtpd[70]: 3F2A81C0B2: client=app.example[192.0.2.7], orig_queue_id=0AE91984252, orig_client=app.example[192.0.2.7]
Nov 25 10:00:01 mx1 postfix/qmgr[44]: 3F2A81C0B2: from=<n@court.example>, size=5000, nrcpt=1 (queue active)
Nov 25 10:00:01 mx1 postfix/smtp[51]: 0AE91984252: to=<a@gmail.example>, relay=filter.example[192.0.2.50]:10024, delay=1.1, delays=0.1/0/0/1, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 3F2A81C0B2)
Nov 25 10:00:02 mx1 postfix/smtp[52]: 3F2A81C0B2: to=<a@gmail.example>, relay=gmail-smtp-in.l.google.com[142.250.1.27]:25, delay=1, delays=0/0/0.5/0.5, dsn=2.0.0, status=sent (250 2.0.0 OK gsmtp)`, legal)
	if got := strings.Join(append(out.attempts("0AE91984252"), out.attempts("3F2A81C0B2")...), ","); got != "a@gmail.example handoff,a@gmail.example sent" {
		t.Errorf("attempts %s", got)
	}
	if b := out.final()["3F2A81C0B2"]; b.QueuedFrom != "0AE91984252" || store.FormatUUID(b.TraceID) != traceA {
		t.Errorf("entry: %+v", b)
	}
}

// TestRequeue: postsuper -r moves a message's file to the maildrop, and
// pickup queues it again under a new ID with orig_id=; the old entry
// leaves the queue without a "removed" line. Lines as Postfix 3.7 logs
// them.
func TestRequeue(t *testing.T) {
	out := correlate(t, original+`
Nov 25 10:00:01 mx1 postfix/smtp[51]: 0AE91984252: to=<a@gmail.example>, relay=gmail-smtp-in.l.google.com[142.250.1.27]:25, delay=1, delays=0/0/0.5/0.5, dsn=4.7.28, status=deferred (host gmail-smtp-in.l.google.com[142.250.1.27] said: 421 4.7.28 rate limited (in reply to RCPT TO command))
Nov 25 10:05:00 mx1 postfix/postsuper[80]: Requeued: 1 message
Nov 25 10:05:01 mx1 postfix/pickup[45]: 6AF00991F57: uid=102 from=<n@court.example> orig_id=0AE91984252
Nov 25 10:05:01 mx1 postfix/cleanup[43]: 6AF00991F57: message-id=<n1@court.example>
Nov 25 10:05:01 mx1 postfix/qmgr[44]: 6AF00991F57: from=<n@court.example>, size=4400, nrcpt=1 (queue active)
Nov 25 10:05:02 mx1 postfix-legal/smtp[52]: 6AF00991F57: to=<a@gmail.example>, relay=gmail-smtp-in.l.google.com[142.250.1.27]:25, delay=1, delays=0/0/0.5/0.5, dsn=2.0.0, status=sent (250 2.0.0 OK gsmtp)
Nov 25 10:05:02 mx1 postfix/qmgr[44]: 6AF00991F57: removed`, legal)
	msgs := out.final()
	old, requeued := msgs["0AE91984252"], msgs["6AF00991F57"]
	if old.State != "requeued" || strings.Join(old.QueuedAs, ",") != "6AF00991F57" {
		t.Errorf("old entry: %+v", old)
	}
	if requeued.QueuedFrom != "0AE91984252" || store.FormatUUID(requeued.TraceID) != traceA || requeued.Origin != "smtpd" || requeued.ClientIP != "192.0.2.7" {
		t.Errorf("requeued entry: %+v", requeued)
	}
	if e := out.events[len(out.events)-1]; e.QueueID != "6AF00991F57" || store.FormatUUID(e.TraceID) != traceA || e.Status != "sent" {
		t.Errorf("delivery after requeue: %+v", e)
	}
}

// TestLocalClientNotHeldWhenStamped: an application on this host submits
// over localhost; the milter stamps it, so it continues no other entry and
// its attempts are written as they come, not held back.
func TestLocalClientNotHeldWhenStamped(t *testing.T) {
	out := &collected{}
	c := NewCorrelator(out, nil, 30*time.Second)
	feed(t, c, `
Nov 25 10:00:00 mx1 postfix/smtpd[42]: 0AE91984252: client=localhost[127.0.0.1]
Nov 25 10:00:00 mx1 postfix/cleanup[43]: 0AE91984252: milter-header-info: header X-Mailtrace-ID: `+traceA+` from localhost[127.0.0.1]; from=<n@court.example> to=<a@gmail.example> proto=ESMTP helo=<app>
Nov 25 10:00:00 mx1 postfix/qmgr[44]: 0AE91984252: from=<n@court.example>, size=4321, nrcpt=1 (queue active)
Nov 25 10:00:01 mx1 postfix/smtp[51]: 0AE91984252: to=<a@gmail.example>, relay=gmail-smtp-in.l.google.com[142.250.1.27]:25, delay=1, delays=0/0/0.5/0.5, dsn=2.0.0, status=sent (250 2.0.0 OK gsmtp)`)
	if len(out.events) != 1 {
		t.Fatalf("%d events written before the end, want the attempt at once", len(out.events))
	}
	// An unstamped one from localhost waits Grace in log time, then is
	// written as it is.
	out2 := &collected{}
	c2 := NewCorrelator(out2, nil, 30*time.Second)
	feed(t, c2, `
Nov 25 10:00:00 mx1 postfix/smtpd[42]: 0AE91984252: client=localhost[127.0.0.1]
Nov 25 10:00:00 mx1 postfix/qmgr[44]: 0AE91984252: from=<n@court.example>, size=4321, nrcpt=1 (queue active)
Nov 25 10:00:01 mx1 postfix/smtp[51]: 0AE91984252: to=<a@gmail.example>, relay=gmail-smtp-in.l.google.com[142.250.1.27]:25, delay=1, delays=0/0/0.5/0.5, dsn=2.0.0, status=sent (250 2.0.0 OK gsmtp)`)
	if len(out2.events) != 0 {
		t.Fatalf("an unstamped local entry's attempt was written before Grace: %+v", out2.events[0])
	}
	if err := c2.Tick(time.Date(2026, 11, 25, 10, 0, 31, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	if len(out2.events) != 1 || out2.events[0].Status != "sent" {
		t.Fatalf("after Grace: %v", out2.attempts("0AE91984252"))
	}
}

// TestChainAcrossRestart: a collector stopped between the copy's lines and
// the hand-off's still links them.
func TestChainAcrossRestart(t *testing.T) {
	lines := strings.Split(strings.TrimSpace(original+reinjected+deliveries+handoffs), "\n")
	split := len(strings.Split(strings.TrimSpace(original+reinjected+deliveries), "\n"))
	out := &collected{}
	c := NewCorrelator(out, legal, 30*time.Second)
	feed(t, c, strings.Join(lines[:split], "\n"))
	state, err := c.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	c2 := NewCorrelator(out, legal, 30*time.Second)
	if err := c2.Restore(state); err != nil {
		t.Fatal(err)
	}
	feed(t, c2, strings.Join(lines[split:], "\n"))
	if err := c2.Drain(); err != nil {
		t.Fatal(err)
	}
	checkChain(t, out)
}

func feed(t *testing.T, c *Correlator, log string) {
	t.Helper()
	p := postfixlog.Parser{Reference: ref}
	var r postfixlog.Record
	for _, line := range bytes.Split([]byte(strings.TrimSpace(log)), []byte("\n")) {
		line = bytes.TrimLeft(line, "\t ")
		p.Parse(line, &r)
		if err := c.Add(&r, line); err != nil {
			t.Fatal(err)
		}
	}
}

// TestPolicyDecisions: what Postfix refused, warned about, discarded or
// expired, as it logged it.
func TestPolicyDecisions(t *testing.T) {
	out := correlate(t, `
Nov 25 10:00:00 mx1 postfix/smtpd[42]: NOQUEUE: reject_warning: RCPT from app[192.0.2.7]: 450 4.1.2 <w@nx.example>: Recipient address rejected: Domain not found; from=<n@court.example> to=<w@nx.example> proto=ESMTP helo=<app>
Nov 25 10:00:00 mx1 postfix/smtpd[42]: 62384991F2D: client=app.example[192.0.2.7]
Nov 25 10:00:00 mx1 postfix/smtpd[42]: 62384991F2D: reject_warning: RCPT from app.example[192.0.2.7]: 554 5.7.1 <ok@dest.example>: Recipient address rejected: Access denied; from=<n@court.example> to=<ok@dest.example> proto=ESMTP helo=<app>
Nov 25 10:00:00 mx1 postfix/qmgr[44]: 62384991F2D: from=<n@court.example>, size=333, nrcpt=1 (queue active)
Nov 25 10:00:01 mx1 postfix/smtp[51]: 62384991F2D: to=<ok@dest.example>, relay=mx.dest.example[192.0.2.9]:25, delay=1, delays=0/0/0.5/0.5, dsn=2.0.0, status=sent (250 ok)
Nov 25 10:00:01 mx1 postfix/qmgr[44]: 62384991F2D: removed
Nov 25 10:00:02 mx1 postfix/smtpd[42]: NOQUEUE: reject: VRFY from unknown[198.51.100.3]: 454 4.7.1 <v@b.example>: Relay access denied; to=<v@b.example> proto=SMTP helo=<me>
Nov 25 10:00:03 mx1 postfix/qmgr[44]: 7B1C2991A01: from=<old@court.example>, status=force-expired, returned to sender
Nov 25 10:00:03 mx1 postfix/qmgr[44]: 7B1C2991A01: removed
Nov 25 10:00:04 mx1 postfix/cleanup[43]: 8C2D3991B02: reject: header Subject: win big from app.example[192.0.2.7]; from=<n@court.example> to=<h@dest.example> proto=ESMTP helo=<app>: 5.7.1 message content rejected
Nov 25 10:00:05 mx1 postfix/cleanup[43]: 9D3E4991C03: milter-reject: END-OF-MESSAGE from app.example[192.0.2.7]: 4.7.1 Service unavailable - try again later; from=<n@court.example> to=<m@dest.example> proto=ESMTP helo=<app>
Nov 25 10:00:06 mx1 postfix/lmtp[61]: AE4F5991D04: to=<u@mx1.example>, relay=mx1.example[private/dovecot-lmtp], delay=0.1, delays=0/0/0/0.1, dsn=2.0.0, status=sent (250 2.0.0 <u@mx1.example> Saved)
`, nil)
	byRcpt := map[string]*schema.DeliveryEvent{}
	var statuses []string
	for _, e := range out.events {
		statuses = append(statuses, e.Recipient+" "+string(e.Status))
		byRcpt[e.Recipient] = e
	}
	want := "w@nx.example warning,ok@dest.example warning,ok@dest.example sent,v@b.example rejected,h@dest.example rejected,m@dest.example rejected,u@mx1.example sent"
	if got := strings.Join(statuses, ","); got != want {
		t.Errorf("events\n got %s\nwant %s", got, want)
	}
	if m := out.final()["62384991F2D"]; strings.Join(m.Statuses, ",") != "sent" {
		t.Errorf("a warning is not the recipient's outcome: %+v", m)
	}
	if e := byRcpt["v@b.example"]; e.Response != "454 4.7.1 <v@b.example>: Relay access denied" || e.DSN != "4.7.1" || e.Sender != "" {
		t.Errorf("VRFY reject: %+v", e)
	}
	if e := byRcpt["h@dest.example"]; e.Response != "5.7.1 message content rejected" || e.DSN != "5.7.1" || e.Sender != "n@court.example" {
		t.Errorf("header check reject: %+v", e)
	}
	if e := byRcpt["m@dest.example"]; e.DSN != "4.7.1" {
		t.Errorf("milter-reject lost its enhanced code: %+v", e)
	}
	if e := byRcpt["u@mx1.example"]; e.RelayIP != "" || e.RelayPath != "private/dovecot-lmtp" || e.RelayHost != "mx1.example" {
		t.Errorf("socket next hop: %+v", e)
	}
	if m := out.final()["7B1C2991A01"]; m.State != "expired" || m.Sender != "old@court.example" {
		t.Errorf("a message seen only as it expires: %+v", m)
	}
}

// TestClassifyOnlyReceiversReplies: a hand-off to a filter, a warning, a
// discard or a hold is not a receiver's reply: it gets no provider,
// category or block signal (which would count against a pool's IP).
func TestClassifyOnlyReceiversReplies(t *testing.T) {
	tests := []struct {
		status   schema.DeliveryStatus
		provider bool
	}{
		{schema.StatusSent, true}, {schema.StatusBounced, true}, {schema.StatusHandoff, false}, {schema.StatusWarning, false},
		{schema.StatusRejected, false}, {schema.StatusDiscarded, false}, {schema.StatusHeld, false},
	}
	for _, tt := range tests {
		t.Run(string(tt.status), func(t *testing.T) {
			e := &schema.DeliveryEvent{Status: tt.status, Recipient: "a@outlook.com", RelayHost: "x.mail.protection.outlook.com",
				DSN: "5.7.1", Response: "550 5.7.1 Unfortunately, messages from [203.0.113.10] weren't sent. (S3150) block list"}
			classify(reply.Default(), e)
			if (e.Provider != "") != tt.provider || !tt.provider && (e.Category != "" || e.IsBlock) {
				t.Errorf("%s classified: provider %q category %q block %v", tt.status, e.Provider, e.Category, e.IsBlock)
			}
		})
	}
}
