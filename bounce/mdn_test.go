package bounce

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mailtrace/mailtrace/dsn"
	"github.com/mailtrace/mailtrace/schema"
	"github.com/mailtrace/mailtrace/trace"
	"github.com/mailtrace/mailtrace/trace/tracetest"
)

// mdnFor is a read receipt (RFC 8098) from rcpt's mail client about the
// message msgid, with the given disposition and human-readable text.
func mdnFor(rcpt, msgid, disposition, text string) []byte {
	return []byte(fmt.Sprintf(`From: <%s>
To: <receipts@court.example>
Subject: Read: Notice
Date: %s
MIME-Version: 1.0
Content-Type: multipart/report; report-type=disposition-notification; boundary="b1"

--b1
Content-Type: text/plain

%s

--b1
Content-Type: message/disposition-notification

Reporting-UA: pc.example; Mail 1.0
Final-Recipient: rfc822;%s
Original-Message-ID: %s
Disposition: %s

--b1--
`, rcpt, reportDate.Format(time.RFC1123Z), text, rcpt, msgid, disposition))
}

// Read receipts are matched like bounces (VERP first, then the Message-ID,
// which must come with one of the message's recipients), stored with
// their disposition, and shown as what the recipient's mail client did,
// never as a bounce. A Sieve rejection sent as an MDN is a refusal.
func TestReadReceipts(t *testing.T) {
	f := tracetest.New(t)
	ctx := context.Background()
	s := signer(t, testKey)
	in := NewIntake(f.Store, Options{Signer: s})
	for _, tc := range []struct {
		name     string
		raw      []byte
		envelope []string
		kind     dsn.Kind
		by       schema.MatchedBy
	}{
		{"displayed, by VERP", mdnFor("anna@gmail.test", "<n1@court.example>", "manual-action/MDN-sent-manually; displayed", "The message was displayed."),
			[]string{s.Address(f.Legal)}, dsn.KindMDN, schema.MatchedVERP},
		{"deleted, by Message-ID", mdnFor("bob@outlook.test", "<n1@court.example>", "manual-action/MDN-sent-manually; deleted", "The message was deleted unread."),
			nil, dsn.KindMDN, schema.MatchedMessageID},
		{"a stranger's receipt names no recipient of the message", mdnFor("mallory@evil.test", "<n1@court.example>", "manual-action/MDN-sent-manually; displayed", "Seen."),
			nil, dsn.KindMDN, schema.MatchedNone},
		{"Sieve reject", mdnFor("carl@yahoo.test", "<n1@court.example>", "automatic-action/MDN-sent-automatically; deleted",
			"Your message to <carl@yahoo.test> was automatically rejected:\nThis mailbox does not accept mail from you."),
			[]string{s.Address(f.Legal)}, dsn.KindDSN, schema.MatchedVERP},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := in.Ingest(ctx, tc.raw, tc.envelope)
			if err != nil {
				t.Fatal(err)
			}
			if res.Report.Kind != tc.kind || res.MatchedBy != tc.by {
				t.Errorf("kind %s matched by %s, want %s by %s", res.Report.Kind, res.MatchedBy, tc.kind, tc.by)
			}
		})
	}
	refs, err := trace.Resolve(ctx, f.Store, trace.Query{ID: f.Legal.String()})
	if err != nil || len(refs) == 0 {
		t.Fatal(refs, err)
	}
	m, err := trace.NewReader(f.Store).Assemble(ctx, refs[0])
	if err != nil {
		t.Fatal(err)
	}
	acks := map[string]string{}
	for _, b := range m.Bounces {
		if b.Kind == dsn.KindMDN {
			acks[b.Recipient] = b.Acknowledgement
			if strings.Contains(strings.ToLower(b.Acknowledgement), "read") && !strings.Contains(b.Acknowledgement, "recipient's") {
				t.Errorf("a receipt is shown as read: %q", b.Acknowledgement)
			}
		}
	}
	if acks["anna@gmail.test"] != "acknowledged by the recipient's mail client: displayed" ||
		acks["bob@outlook.test"] != "acknowledged by the recipient's mail client: deleted" || len(acks) != 2 {
		t.Errorf("acknowledgements %q", acks)
	}
	for _, r := range m.Recipients {
		if r.Address == "anna@gmail.test" && r.Status != "sent" {
			t.Errorf("anna is %s after her client's receipt, want still sent", r.Status)
		}
	}
	refused := false
	for _, b := range m.Bounces {
		refused = refused || b.Kind == dsn.KindDSN && b.Action == "failed" && b.Recipient == "carl@yahoo.test" &&
			strings.Contains(b.Diagnostic, "does not accept mail from you")
	}
	if !refused {
		t.Errorf("the Sieve rejection is not a refusal for carl: %+v", m.Bounces)
	}
	if n := countRows(t, f.Store, "kind = 'mdn' AND disposition = 'manual-action/MDN-sent-manually; displayed' AND reporting_mta = 'pc.example; Mail 1.0'"); n != 2 {
		t.Errorf("%d displayed receipts stored with their disposition and Reporting-UA, want 2 (anna's and the stranger's)", n)
	}
}

// A hostile report is refused whole with its reason, as one row: never a
// part of its recipients.
func TestHostileReportStoredAsItsReason(t *testing.T) {
	f := tracetest.New(t)
	in := NewIntake(f.Store, Options{})
	var b strings.Builder
	b.WriteString("From: MAILER-DAEMON@mx.example\nSubject: Undelivered Mail Returned to Sender\nContent-Type: multipart/report; report-type=delivery-status; boundary=x\n\n--x\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example\n")
	for i := range dsn.MaxRecipient + 1 {
		fmt.Fprintf(&b, "\nFinal-Recipient: rfc822; u%d@example.net\nAction: failed\nStatus: 5.1.1\n", i)
	}
	b.WriteString("\n--x--\n")
	res, err := in.Ingest(context.Background(), []byte(b.String()), []string{"bounces@court.example"})
	if err != nil {
		t.Fatal(err)
	}
	if res.ParseErr == nil || res.Report.Kind != dsn.KindUnknown {
		t.Fatalf("a report of %d recipients was read: %v", dsn.MaxRecipient+1, res.ParseErr)
	}
	if n := countRows(t, f.Store, "1"); n != 1 {
		t.Errorf("%d rows stored, want the one that says why", n)
	}
	if n := countRows(t, f.Store, "kind = 'unknown' AND diagnostic LIKE '%more than 10000 recipients%'"); n != 1 {
		t.Error("the stored row does not give the reason")
	}
}
