package dsn_test

import (
	"fmt"
	"strings"

	"github.com/mailtrace/mailtrace/dsn"
	"github.com/mailtrace/mailtrace/reply"
)

const bounce = `From: MAILER-DAEMON@mx.receiver.example
To: mt-aiaqdeaaaaaaa4aaqaaaaaaaaaaadqtmplvehbiuvlpos@bounces.example.com
Subject: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="b1"

--b1
Content-Type: text/plain

Your message could not be delivered.
--b1
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.receiver.example
Original-Envelope-Id: 01900000-0000-7000-8000-000000000001

Final-Recipient: rfc822; jane@receiver.example
Action: failed
Status: 5.1.1
Remote-MTA: dns; mx.receiver.example
Diagnostic-Code: smtp; 550 5.1.1 <jane@receiver.example>: Recipient address rejected: User unknown
--b1--
`

// A bounce (RFC 3464) as it reaches the bounce intake: its envelope ID is
// the trace ID the milter gave the message, and each recipient has its
// action and status and, once classified, a category and block signal.
func ExampleParse() {
	rep, err := dsn.Parse(strings.NewReader(bounce))
	if err != nil {
		panic(err)
	}
	rep.Classify(reply.Default())
	fmt.Println(rep.Kind, rep.Format, rep.OriginalEnvelopeID)
	for _, rc := range rep.Recipients {
		fmt.Println(rc.Address, rc.Action, rc.Status, rc.Category, rc.Block)
	}
	// Output:
	// dsn rfc3464 01900000-0000-7000-8000-000000000001
	// jane@receiver.example failed 5.1.1 bad-mailbox false
}
