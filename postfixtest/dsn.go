package postfixtest

import (
	"fmt"
	"strings"
	"time"
)

// DSN is a delivery status notification (RFC 3464) as a receiving MTA
// sends it about one recipient, for tests of the bounce intake.
type DSN struct {
	Recipient  string
	EnvID      string // Original-Envelope-Id; empty for none
	Status     string // e.g. 5.1.1
	Diagnostic string // the remote server's reply
	RemoteMTA  string // empty for none
	Date       time.Time
	// Returned are the original message's header lines returned with the
	// report ("Message-ID: <...>"); none gives no returned part.
	Returned []string
}

// Bytes is the report as it travels, with CRLF line ends.
func (d DSN) Bytes() []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "From: Mail Delivery Subsystem <mailer-daemon@mx.receiver.test>\nTo: postmaster\n"+
		"Subject: Delivery Status Notification (Failure)\nDate: %s\nMessage-ID: <dsn-%d@mx.receiver.test>\n"+
		"Auto-Submitted: auto-replied\nMIME-Version: 1.0\n"+
		"Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\n\n"+
		"--b\nContent-Type: text/plain\n\nYour message to <%s> could not be delivered: %s\n\n"+
		"--b\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.receiver.test\n",
		d.Date.Format(time.RFC1123Z), d.Date.UnixNano(), d.Recipient, d.Diagnostic)
	if d.EnvID != "" {
		fmt.Fprintf(&b, "Original-Envelope-Id: %s\n", d.EnvID)
	}
	fmt.Fprintf(&b, "\nFinal-Recipient: rfc822; %s\nAction: failed\nStatus: %s\n", d.Recipient, d.Status)
	if d.RemoteMTA != "" {
		fmt.Fprintf(&b, "Remote-MTA: dns; %s\n", d.RemoteMTA)
	}
	fmt.Fprintf(&b, "Diagnostic-Code: smtp; %s\n\n", d.Diagnostic)
	if len(d.Returned) > 0 {
		fmt.Fprintf(&b, "--b\nContent-Type: text/rfc822-headers\n\n%s\n\n", strings.Join(d.Returned, "\n"))
	}
	b.WriteString("--b--\n")
	return []byte(strings.ReplaceAll(b.String(), "\n", "\r\n"))
}
