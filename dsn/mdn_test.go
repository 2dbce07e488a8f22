package dsn

import (
	"strings"
	"testing"

	"github.com/mailtrace/mailtrace/reply"
)

// rfc8098MDN is the example of RFC 8098 section 9 with this project's
// message as the original.
const rfc8098MDN = `Date: Wed, 20 Sep 1995 00:19:00 (EDT) -0400
From: Joe Recipient <Joe_Recipient@example.com>
Message-Id: <199509200019.12345@example.com>
Subject: Disposition notification
To: mt-0193a6f2@bounces.court.example
MIME-Version: 1.0
Content-Type: multipart/report; report-type=disposition-notification;
	boundary="RAA14128.773615765/example.com"

--RAA14128.773615765/example.com
Content-Type: text/plain

The message sent on 1995 Sep 19 at 13:30:00 (EDT) -0400 to Joe
Recipient <Joe_Recipient@example.com> with subject "First draft of
report" has been displayed.  This is no guarantee that the message has
been read or understood.

--RAA14128.773615765/example.com
Content-Type: message/disposition-notification

Reporting-UA: joes-pc.cs.example.com; Foomail 97.1
Original-Recipient: rfc822;Joe_Recipient@example.com
Final-Recipient: rfc822;Joe_Recipient@example.com
Original-Message-ID: <m1@court.example>
Disposition: manual-action/MDN-sent-manually; displayed

--RAA14128.773615765/example.com
Content-Type: message/rfc822

From: court@court.example
Message-ID: <m1@court.example>
Subject: First draft of report

--RAA14128.773615765/example.com--
`

// sieveRejectMDN is how Dovecot's Pigeonhole refuses a delivered message
// with a Sieve reject when it answers with an MDN (RFC 5429 section 2.1).
const sieveRejectMDN = `From: Mail Delivery Subsystem <MAILER-DAEMON@mx.example.net>
To: <mt-0193a6f2@bounces.court.example>
Subject: Automatically rejected mail
Auto-Submitted: auto-replied (rejected)
Precedence: bulk
MIME-Version: 1.0
Content-Type: multipart/report; report-type=disposition-notification;
	boundary="16939/mx.example.net"

--16939/mx.example.net
Content-Type: text/plain; charset=utf-8

Your message to <user@example.net> was automatically rejected:
Mailbox full: this mailbox accepts no more mail

--16939/mx.example.net
Content-Type: message/disposition-notification

Reporting-UA: mx.example.net; Dovecot Mail Delivery Agent
Final-Recipient: rfc822; user@example.net
Original-Message-ID: <m1@court.example>
Disposition: automatic-action/MDN-sent-automatically; deleted

--16939/mx.example.net
Content-Type: message/rfc822

From: court@court.example
Message-ID: <m1@court.example>

--16939/mx.example.net--
`

func TestMDN(t *testing.T) {
	for _, tc := range []struct {
		name, raw                 string
		kind                      Kind
		format, addr              string
		action                    Action
		disposition, category, ua string
	}{
		{"RFC 8098 example: displayed", rfc8098MDN, KindMDN, "rfc8098", "joe_recipient@example.com", Displayed, "manual-action/MDN-sent-manually; displayed", "", "joes-pc.cs.example.com; Foomail 97.1"},
		{"deleted without a rejection stays a receipt", replaceAll(rfc8098MDN, "manual-action/MDN-sent-manually; displayed", "automatic-action/MDN-sent-automatically; deleted"),
			KindMDN, "rfc8098", "joe_recipient@example.com", Deleted, "automatic-action/MDN-sent-automatically; deleted", "", "joes-pc.cs.example.com; Foomail 97.1"},
		{"dispatched", replaceAll(rfc8098MDN, "displayed\n\n--", "dispatched\n\n--"), KindMDN, "rfc8098", "joe_recipient@example.com", Dispatched, "manual-action/MDN-sent-manually; dispatched", "", "joes-pc.cs.example.com; Foomail 97.1"},
		{"Sieve reject is a refusal", sieveRejectMDN, KindDSN, "sieve-reject", "user@example.net", "failed", "automatic-action/MDN-sent-automatically; deleted", "quota-issues", "mx.example.net; Dovecot Mail Delivery Agent"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := ParseBytes([]byte(tc.raw))
			if err != nil {
				t.Fatal(err)
			}
			rep.Classify(reply.Default())
			if rep.Kind != tc.kind || rep.Format != tc.format || rep.OriginalMessageID != "<m1@court.example>" || rep.ReportingUA != tc.ua {
				t.Errorf("kind %s format %s message-id %q ua %q", rep.Kind, rep.Format, rep.OriginalMessageID, rep.ReportingUA)
			}
			if len(rep.Recipients) != 1 {
				t.Fatalf("%d recipients", len(rep.Recipients))
			}
			r := rep.Recipients[0]
			if lower(r.Address) != tc.addr || r.Action != tc.action || r.Disposition != tc.disposition || r.Category != tc.category {
				t.Errorf("got %s %s %q %s, want %s %s %q %s", r.Address, r.Action, r.Disposition, r.Category, tc.addr, tc.action, tc.disposition, tc.category)
			}
		})
	}
}

func replaceAll(s, old, new string) string { return strings.ReplaceAll(s, old, new) }

func lower(s string) string { return strings.ToLower(s) }
