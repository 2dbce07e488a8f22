package dsn

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailtrace/mailtrace/reply"
)

// rfc3464Sample is a delivery status notification as the systems that
// send standard reports write it: a header of the system's own, a
// human-readable part, the delivery-status part and the returned header.
func rfc3464Sample(header, text, reportingMTA, rcpt, status, diag string) string {
	return header + `To: mt-x@bounces.court.example
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="b1"

--b1
Content-Type: text/plain; charset=us-ascii

` + text + `

--b1
Content-Type: message/delivery-status

Reporting-MTA: dns; ` + reportingMTA + `

Final-Recipient: rfc822; ` + rcpt + `
Action: failed
Status: ` + status + `
Diagnostic-Code: smtp; ` + diag + `

--b1
Content-Type: text/rfc822-headers

From: court@court.example
To: ` + rcpt + `
Message-ID: <m1@court.example>
Subject: Notice

--b1--
`
}

// formatSamples are reports of the mail systems, written from what their
// templates look like in the systems' documentation and in bounces
// operators publish (addresses replaced). Each carries its system's
// signature and nothing of another's.
var formatSamples = map[string]string{
	"verizon": `From: post_master@vtext.com
To: mt-x@bounces.court.example
Subject: Undeliverable Message
Content-Type: text/plain

Error: No valid recipients for this MM
Message could not be delivered to mobile.
Addresses: 2125550123@vtext.com
`,
	"mailmarshal": `From: MailMarshal@mail.example.com
To: mt-x@bounces.court.example
Subject: Undeliverable Mail: "Notice"
X-Mailer: MailMarshal SMTP
Content-Type: text/plain

Your message:

   From:    court@court.example
   Subject: Notice

Could not be delivered because of

550 5.1.1 User unknown

The following recipients were affected:
    user@example.com

Additional Information
======================
Original Sender:    <court@court.example>
Sender-MTA:         <192.0.2.1>
Remote-MTA:         <192.0.2.2>
Reporting-MTA:      <mail.example.com>
Recipient:          <user@example.com>
`,
	"mcafee": `From: Mail Delivery Subsystem <postmaster@gw.example.com>
To: mt-x@bounces.court.example
Subject: Delivery Status Notification (Failure)
X-NAI-Header: Modified by McAfee Email Gateway
Content-Type: text/plain

--- The following addresses had delivery problems ---

<user@example.com>   (User unknown user@example.com)

--- Transcript of session follows ---
Remote host said: 550 5.1.1 <user@example.com>... User unknown
`,
	"sophos": rfc3464Sample("From: MAILER-DAEMON@relay.sophos.com\nSubject: Undelivered Mail Returned to Sender\nX-Sophos-Product-Type: Gateway\n",
		"Your message could not be delivered to one or more recipients.", "relay1.eu-west-1.prod.hydra.sophos.com",
		"user@example.com", "5.2.2", "552 5.2.2 <user@example.com>: Mailbox full"),
	"mimecast": rfc3464Sample("From: postmaster@eu-smtp-1.mimecast.com\nSubject: Undeliverable: Notice\nX-MC-Unique: Xy1AbCdEfGhIjKlMnOpQr-1\n",
		"Your message couldn't be delivered to the recipient(s) below.", "eu-smtp-delivery-1.mimecast.com",
		"user@example.com", "5.1.1", "550 5.1.1 <user@example.com>: Recipient address rejected: User unknown"),
	"proofpoint": rfc3464Sample("From: MAILER-DAEMON@mx0b-00123401.pphosted.com\nSubject: Undelivered Mail Returned to Sender\nX-Proofpoint-Spam-Details: rule=outbound_notspam\n",
		"This is the mail system at host mx0b-00123401.pphosted.com.", "mx0b-00123401.pphosted.com",
		"user@example.com", "5.7.1", "550 5.7.1 Message rejected as spam by Content Filtering"),
	"groupwise": `From: Postmaster@gw.example.com
To: mt-x@bounces.court.example
Subject: Message status - undeliverable
X-Mailer: Novell GroupWise Internet Agent 14.2.1
Content-Type: text/plain

The message that you sent was undeliverable to the following:
	user@example.com (user not found)

Possibly truncated original message follows:
`,
	"zoho": `From: mailer-daemon@mx.zoho.com
To: mt-x@bounces.court.example
Subject: Undelivered Mail Returned to Sender
X-ZohoMail: Si CHF_MF_NL SS_10 cbr
Content-Type: text/plain

This message was created automatically by mail delivery software.
A message that you sent could not be delivered to one or more of its recipients. This is a permanent error. The following address(es) failed:

user@example.com, ERROR CODE :550 - 5.1.1 <user@example.com>: Recipient address rejected: User unknown in virtual mailbox table
`,
	"messagelabs": rfc3464Sample("From: MAILER-DAEMON@messagelabs.com\nSubject: Mail Delivery Failure\nX-Msg-Ref: server-2.tower-123.messagelabs.com!1700000000!1!1\n",
		"This is an automatically generated Delivery Status Notification.\n\nDelivery to the following recipients failed.\n\n       user@example.com",
		"server-2.tower-123.messagelabs.com", "user@example.com", "5.0.0", "550 Requested action not taken: mailbox unavailable (user is unknown)"),
	"barracuda (its subject)": rfc3464Sample("From: MAILER-DAEMON <>\nSubject: **Message you sent blocked by our bulk email filter**\n",
		"Your message to: user@example.com\nwas blocked by our Spam Firewall. The email you sent with the following subject has NOT BEEN DELIVERED:",
		"spamfw.example.com", "user@example.com", "5.7.1", "554 5.7.1 Message blocked by our bulk email filter: spam score 9.2"),
	"barracuda": rfc3464Sample("From: MAILER-DAEMON@barracuda.example.com\nSubject: Undelivered Mail Returned to Sender\nX-Barracuda-Connect: mail.court.example[192.0.2.1]\nX-Barracuda-Start-Time: 1700000000\n",
		"This is the mail system at host barracuda.example.com.", "barracuda.example.com",
		"user@example.com", "5.4.1", "550 5.4.1 <user@example.com>: Recipient address rejected: Access denied"),
	"trend micro": rfc3464Sample("From: MAILER-DAEMON@imsva.example.com\nSubject: Undelivered Mail Returned to Sender\nX-TM-AS-Product-Ver: IMSVA-9.1.0.1960-8.5.0.1020-26022.000\n",
		"This is the mail system at host imsva.example.com.", "imsva.example.com",
		"user@example.com", "5.2.2", "552 5.2.2 <user@example.com>: Mailbox quota exceeded"),
	"courier": `From: "Courier mail server at mx.example.org" <@>
To: mt-x@bounces.court.example
Subject: NOTICE: mail delivery status.
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="=_courier_0"

--=_courier_0
Content-Type: text/plain; charset=us-ascii

This is a delivery status notification from mx.example.org,
running the Courier mail server, version 1.1.8.

The original message was received on Tue, 1 Dec 2026 10:00:00 +0000
from court.example [192.0.2.1]

---------------------------------------------------------------------------

                           UNDELIVERABLE MAIL

Your message to the following recipients cannot be delivered:

<user@example.org>:
    mx.example.org [192.0.2.2]:
>>> RCPT TO:<user@example.org>
<<< 550 5.1.1 <user@example.org>: User unknown

--=_courier_0
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.org

Final-Recipient: rfc822; user@example.org
Action: failed
Status: 5.1.1
Remote-MTA: dns; mx.example.org
Diagnostic-Code: smtp; 550 5.1.1 <user@example.org>: User unknown

--=_courier_0--
`,
	"opensmtpd": `From: MAILER-DAEMON@mx.example.org
To: mt-x@bounces.court.example
Subject: Delivery status notification: error
Content-Type: text/plain

Hi!

This is the MAILER-DAEMON, please DO NOT REPLY to this e-mail.

An error has occurred while attempting to deliver a message for
the following list of recipients:

user@example.com: 550 5.1.1 <user@example.com>: Recipient address rejected: User unknown in local recipient table

Below is a copy of the original message:

From: court@court.example
To: user@example.com
Subject: Notice
`,
	"domino": `From: Postmaster@domino.example.com
To: mt-x@bounces.court.example
Subject: DELIVERY FAILURE: User user (user@example.com) not listed in Domino Directory
X-Mailer: Lotus Domino Release 9.0.1FP10
Content-Type: text/plain

Your message

  Subject: Notice

was not delivered to:

  user@example.com

because:

  User user (user@example.com) not listed in Domino Directory
`,
	"x.400": `From: postmaster@x400gw.example.com
To: mt-x@bounces.court.example
Subject: Non-delivery notification
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="b1"

--b1
Content-Type: text/plain

Your message was not delivered to the following recipient:
user@example.com

--b1
Content-Type: message/delivery-status

Reporting-MTA: x400; /ADMD= /C=ww /PRMD=Example/
X400-Conversion-Date: Tue, 1 Dec 2026 10:00:00 +0000

Final-Recipient: rfc822; user@example.com
X400-Originally-Specified-Recipient-Number: 1
Action: failed
Status: 5.1.1
X400-Supplementary-Info: "Unknown recipient"

--b1--
`,
	"mail.ru": `From: Mail Delivery System <mailer-daemon@corp.mail.ru>
To: mt-x@bounces.court.example
Subject: Mail delivery failed: returning message to sender
X-Failed-Recipients: user@mail.ru
Content-Type: text/plain; charset=utf-8

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  user@mail.ru
    SMTP error from remote mail server after RCPT TO:<user@mail.ru>:
    host mxs.mail.ru [94.100.180.31]: 550 Message was not accepted -- invalid mailbox.  Local mailbox user@mail.ru is unavailable: user not found
`,
	"yandex": rfc3464Sample("From: mailer-daemon@yandex.ru\nSubject: Недоставленное сообщение\n",
		"This is the mail system at host forward100.mail.yandex.net.\n\nI'm sorry to have to inform you that your message could not\nbe delivered to one or more recipients.\n\n<user@yandex.ru>: host mx.yandex.ru[77.88.21.249] said: 550\n    5.7.1 No such user! (in reply to end of DATA command)",
		"forward100.mail.yandex.net", "user@yandex.ru", "5.7.1", "550 5.7.1 No such user!"),
	"gmx": `From: "Mail Delivery System" <mailer-daemon@gmx.net>
To: mt-x@bounces.court.example
Subject: Mail delivery failed: returning message to sender
Content-Type: text/plain; charset=utf-8

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of
its recipients. This is a permanent error. The following address(es)
failed:

user@example.com:
SMTP error from remote server for RCPT TO command, host: mx.example.com (192.0.2.2) reason: 550 5.1.1 <user@example.com>: Recipient address rejected: User unknown
`,
	"web.de": `From: "Mail Delivery System" <mailer-daemon@web.de>
To: mt-x@bounces.court.example
Subject: Mail delivery failed: returning message to sender
Content-Type: text/plain; charset=utf-8

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of
its recipients. This is a permanent error. The following address(es)
failed:

user@example.com:
SMTP error from remote server for RCPT TO command, host: mx.example.com (192.0.2.2) reason: 552 5.2.2 Mailbox full
`,
}

// TestFormats reads one report of each mail system by its signature: the
// system named, the recipient, the status it states, the category and
// the status inferred where it states only a class.
func TestFormats(t *testing.T) {
	c := reply.Default()
	for _, tc := range []struct {
		sample, system                   string
		addr, status, inferred, category string
		diag                             string // in the diagnostic read
	}{
		{"verizon", "verizon", "2125550123@vtext.com", "5.0.0", "5.1.1", "bad-mailbox", "No valid recipients for this MM"},
		{"mailmarshal", "mailmarshal", "user@example.com", "5.1.1", "", "bad-mailbox", "550 5.1.1 User unknown"},
		{"mcafee", "mcafee", "user@example.com", "5.1.1", "", "bad-mailbox", ""},
		{"sophos", "sophos", "user@example.com", "5.2.2", "", "quota-issues", ""},
		{"mimecast", "mimecast", "user@example.com", "5.1.1", "", "bad-mailbox", ""},
		{"proofpoint", "proofpoint", "user@example.com", "5.7.1", "", "spam-related", ""},
		{"groupwise", "groupwise", "user@example.com", "5.0.0", "5.1.1", "bad-mailbox", ""},
		{"zoho", "zoho", "user@example.com", "5.1.1", "", "bad-mailbox", ""},
		{"messagelabs", "messagelabs", "user@example.com", "5.0.0", "5.1.1", "bad-mailbox", ""},
		{"barracuda (its subject)", "barracuda", "user@example.com", "5.7.1", "", "spam-related", ""},
		{"barracuda", "barracuda", "user@example.com", "5.4.1", "", "bad-mailbox", ""},
		{"trend micro", "trend-micro", "user@example.com", "5.2.2", "", "quota-issues", ""},
		{"courier", "courier", "user@example.org", "5.1.1", "", "bad-mailbox", ""},
		{"opensmtpd", "opensmtpd", "user@example.com", "5.1.1", "", "bad-mailbox", ""},
		{"domino", "domino", "user@example.com", "5.0.0", "5.1.1", "bad-mailbox", ""},
		{"x.400", "x400", "user@example.com", "5.1.1", "", "bad-mailbox", ""},
		{"mail.ru", "mail.ru", "user@mail.ru", "5.0.0", "5.1.1", "bad-mailbox", ""},
		{"yandex", "yandex", "user@yandex.ru", "5.7.1", "", "bad-mailbox", ""},
		{"gmx", "gmx-webde", "user@example.com", "5.1.1", "", "bad-mailbox", ""},
		{"web.de", "gmx-webde", "user@example.com", "5.2.2", "", "quota-issues", ""},
	} {
		t.Run(tc.sample, func(t *testing.T) {
			raw, ok := formatSamples[tc.sample]
			if !ok {
				t.Fatalf("no sample %q", tc.sample)
			}
			rep, err := ParseBytes(crlf(raw))
			if err != nil {
				t.Fatal(err)
			}
			rep.Classify(c)
			if rep.Kind != KindDSN || rep.System != tc.system || len(rep.Recipients) != 1 {
				t.Fatalf("kind %s system %q format %s, %d recipients %+v; want dsn from %s, 1 recipient", rep.Kind, rep.System, rep.Format, len(rep.Recipients), rep.Recipients, tc.system)
			}
			r := rep.Recipients[0]
			got := fmt.Sprintf("%s %s %s inferred %q", strings.ToLower(r.Address), r.Status, r.Category, r.InferredStatus)
			if want := fmt.Sprintf("%s %s %s inferred %q", tc.addr, tc.status, tc.category, tc.inferred); got != want {
				t.Errorf("got %s (%q), want %s", got, r.Diagnostic, want)
			}
			if !strings.Contains(r.Diagnostic, tc.diag) {
				t.Errorf("diagnostic %q, want it to hold %q", r.Diagnostic, tc.diag)
			}
		})
	}
}

// TestSignaturesStayApart checks that the MTAs' own templates name the
// MTA, and that a report with no signature names no system.
func TestSignaturesStayApart(t *testing.T) {
	for _, tc := range []struct{ name, raw, system string }{
		{"postfix", postfixDSN, "postfix"},
		{"exim", eximBounce, "exim"},
		{"qmail", qmailBounce, "qmail"},
		{"no signature", "From: MAILER-DAEMON@mx.example.org\nSubject: failure notice\n\n<gone@example.org>: 550 5.1.1 user unknown\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := ParseBytes(crlf(tc.raw))
			if err != nil {
				t.Fatal(err)
			}
			if rep.System != tc.system {
				t.Errorf("system %q, want %q", rep.System, tc.system)
			}
		})
	}
}

// TestComplaintForms reads the complaints that come in older forms than
// RFC 5965 as complaints.
func TestComplaintForms(t *testing.T) {
	for _, tc := range []struct {
		name, raw, format, addr string
	}{
		{"Hotmail JMRP", `From: staff@hotmail.com
Subject: complaint about message from 192.0.2.10
To: fbl@court.example
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b"

--b
Content-Type: message/rfc822
Content-Disposition: inline

X-HmXmrOriginalRecipient: someone@hotmail.com
From: court@court.example
To: someone@hotmail.com
Message-ID: <m1@court.example>
Subject: Notice

Text.
--b--
`, "hotmail-jmrp", "someone@hotmail.com"},
		{"draft ARF: Removal-Recipient", `From: abuse@isp.example
Subject: FW: Notice
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="b"

--b
Content-Type: text/plain

This is an email abuse report.
--b
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: SomeGenerator/1.0
Version: 0.1
Removal-Recipient: someone@isp.example

--b
Content-Type: message/rfc822

From: court@court.example
To: <Undisclosed Recipients>
Subject: Notice

Text.
--b--
`, "arf", "someone@isp.example"},
		{"a byte-order mark before the header", "\ufeff" + arfReport, "arf", "complainer@yahoo.com"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := ParseBytes(crlf(tc.raw))
			if err != nil {
				t.Fatal(err)
			}
			if rep.Kind != KindARF || rep.Format != tc.format || len(rep.Recipients) != 1 || rep.Recipients[0].Address != tc.addr {
				t.Errorf("got %s %s %+v, want a complaint (%s) about %s", rep.Kind, rep.Format, rep.Recipients, tc.format, tc.addr)
			}
		})
	}
}

// TestExpiredAmongRefused: a report that gave up on one recipient and was
// refused for another tells them apart, the expiry whatever the last
// deferral said.
func TestExpiredAmongRefused(t *testing.T) {
	raw := `From: Mail Delivery System <Mailer-Daemon@mx.court.example>
To: mt-x@bounces.court.example
Subject: Mail delivery failed: returning message to sender
X-Failed-Recipients: slow@example.net, gone@example.org

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  slow@example.net
    retry timeout exceeded
    host mx.example.net [192.0.2.25]: Connection timed out
  gone@example.org
    host mx.example.org [192.0.2.26]
    SMTP error from remote mail server after RCPT TO:<gone@example.org>:
    550 5.1.1 <gone@example.org>: Recipient address rejected: User unknown
`
	rep, err := ParseBytes(crlf(raw))
	if err != nil {
		t.Fatal(err)
	}
	rep.Classify(reply.Default())
	var got []string
	for _, r := range rep.Recipients {
		got = append(got, r.Address+" "+r.Category+" "+r.EffectiveStatus())
	}
	want := []string{"slow@example.net message-expired 5.4.7", "gone@example.org bad-mailbox 5.1.1"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

// TestWhomToAsk: the address a notice gives to ask for help is no
// recipient.
func TestWhomToAsk(t *testing.T) {
	raw := `From: MAILER-DAEMON@mx.court.example (Mail Delivery System)
To: mt-x@bounces.court.example
Subject: Undelivered Mail Returned to Sender

This is the Postfix program at host mx.court.example.

I'm sorry to have to inform you that the message returned
below could not be delivered to one or more destinations.

For further assistance, please contact <postmaster@court.example>

<gone@example.net>: host mx.example.net[192.0.2.25] said: 550 5.1.1
    <gone@example.net>... User unknown
`
	rep, err := ParseBytes(crlf(raw))
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Recipients) != 1 || rep.Recipients[0].Address != "gone@example.net" {
		t.Errorf("recipients %+v, want gone@example.net alone", rep.Recipients)
	}
}

// TestBrokenFields reads RFC 3464 reports whose recipient fields are
// missing or broken, as gateways send them.
func TestBrokenFields(t *testing.T) {
	for _, tc := range []struct {
		name, fields string
		want         []string // address action status category, per recipient
	}{
		{"recipient blocks without blank lines",
			"Final-Recipient: rfc822; a@example.net\nAction: failed\nStatus: 5.1.1\nOriginal-Recipient: rfc822; b@example.net\nFinal-Recipient: rfc822; b@example.net\nAction: delayed\nStatus: 4.4.1\n",
			[]string{"a@example.net failed 5.1.1 bad-mailbox", "b@example.net delayed 4.4.1 no-answer-from-host"}},
		{"no address type", "Final-Recipient: a@example.net\nAction: failed\nStatus: 5.1.1\n", []string{"a@example.net failed 5.1.1 bad-mailbox"}},
		{"status with its words", "Final-Recipient: rfc822; a@example.net\nAction: failed\nStatus: 5.1.1 (user unknown)\n", []string{"a@example.net failed 5.1.1 bad-mailbox"}},
		{"no action", "Final-Recipient: rfc822; a@example.net\nStatus: 5.2.2\nDiagnostic-Code: smtp; 552 mailbox full\n", []string{"a@example.net failed 5.2.2 quota-issues"}},
		{"lowercase names", "final-recipient: rfc822; a@example.net\naction: FAILED\nstatus: 5.1.1\n", []string{"a@example.net failed 5.1.1 bad-mailbox"}},
		{"a basic code for status", "Final-Recipient: rfc822; a@example.net\nAction: failed\nStatus: 550\nDiagnostic-Code: smtp; 550 user unknown\n", []string{"a@example.net failed 5.0.0 bad-mailbox"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw := "From: MAILER-DAEMON@mx.example.com\nSubject: Delivery Status Notification\nMIME-Version: 1.0\n" +
				"Content-Type: multipart/report; report-type=delivery-status; boundary=b\n\n--b\nContent-Type: text/plain\n\nReport.\n\n" +
				"--b\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.com\n\n" + tc.fields + "\n--b--\n"
			rep, err := ParseBytes(crlf(raw))
			if err != nil {
				t.Fatal(err)
			}
			rep.Classify(reply.Default())
			var got []string
			for _, r := range rep.Recipients {
				got = append(got, strings.Join([]string{r.Address, string(r.Action), r.Status, r.Category}, " "))
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// TestRecipientList reads the failed recipients a notice lists on one
// line, each with the reason given after the list.
func TestRecipientList(t *testing.T) {
	raw := `From: postmaster@mx.example.net
To: mt-x@bounces.court.example
Subject: Undeliverable mail
Content-Type: text/plain

Delivery to the following recipients failed: a@example.net, <b@example.net>; c@example.net

550 5.1.1 User unknown
`
	rep, err := ParseBytes(crlf(raw))
	if err != nil {
		t.Fatal(err)
	}
	rep.Classify(reply.Default())
	var got []string
	for _, r := range rep.Recipients {
		got = append(got, r.Address+" "+r.Status+" "+r.Category)
	}
	want := []string{"a@example.net 5.1.1 bad-mailbox", "b@example.net 5.1.1 bad-mailbox", "c@example.net 5.1.1 bad-mailbox"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

// TestSystemOfCorpus names the system of real reports of the shared
// corpus's development split, one per signature the corpus has.
func TestSystemOfCorpus(t *testing.T) {
	if sharedCorpus == "" {
		t.Skip("no shared bounce corpus")
	}
	for _, tc := range []struct{ file, system string }{
		{"wRAR-flufl.bounce/simple_12.txt", "imail"},
		{"wRAR-flufl.bounce/simple_27.txt", "mdaemon"},
		{"cfortune-PHP-Bounce-Handler/12.eml", "messaging-server"},
		{"wRAR-flufl.bounce/netscape_01.txt", "netscape-messaging-server"},
		{"cfortune-PHP-Bounce-Handler/36.eml", "exchange"},
		{"justingit-dada-mail/bounces-amazon_ses_bounce_status-5.1.2.eml", "amazon-ses"},
		{"livebg-bounce_email/bounces/tt_bounce_03.txt", "communigate"},
		{"livebg-bounce_email/bounces/tt_1234210655.txt", "domino"},
		{"wRAR-flufl.bounce/dsn_02.txt", "x400"},
		{"wRAR-flufl.bounce/simple_38.txt", "mail.ru"},
		{"wRAR-flufl.bounce/simple_29.txt", "mcafee"},
		{"wRAR-flufl.bounce/dumbass_01.txt", "trend-micro"},
		{"cfortune-PHP-Bounce-Handler/32.eml", "barracuda"},
		{"mailgun-flanker/bounce/office365.eml", "office365"},
		{"chatwoot-chatwoot/bounced_gmail.eml", "gmail"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(sharedCorpus, tc.file))
			if err != nil {
				t.Skip(err)
			}
			rep, err := ParseBytes(raw)
			if err != nil {
				t.Fatal(err)
			}
			if rep.System != tc.system {
				t.Errorf("system %q, want %q", rep.System, tc.system)
			}
		})
	}
}
