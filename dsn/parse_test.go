package dsn

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/mailtrace/mailtrace/reply"
)

// crlf turns a sample written with \n into wire form.
func crlf(s string) []byte { return []byte(strings.ReplaceAll(s, "\n", "\r\n")) }

const postfixDSN = `From: MAILER-DAEMON@mail.example.com (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: mt-abc@bounces.example.com
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
	boundary="1F2C31C0A01.1700000000/mail.example.com"
Message-Id: <20261125101010.1F2C31C0A01@mail.example.com>

--1F2C31C0A01.1700000000/mail.example.com
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mail.example.com.

<bounce1@outlook.test>: host 127.0.0.1[127.0.0.1] said: 550 5.1.1 bounce1@outlook.test: Recipient address rejected: User unknown (in reply to RCPT TO command)

--1F2C31C0A01.1700000000/mail.example.com
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mail.example.com
X-Postfix-Queue-ID: 1F2C31C0A01
X-Postfix-Sender: rfc822; mt-abc@bounces.example.com
Original-Envelope-Id: 0193a6f2-7c1e-7d3a-9f00-000000000001
Arrival-Date: Wed, 25 Nov 2026 10:10:09 +0000 (UTC)

Final-Recipient: rfc822; bounce1@outlook.test
Original-Recipient: rfc822;bounce1@outlook.test
Action: failed
Status: 5.1.1
Remote-MTA: dns; outlook-com.olc.protection.outlook.com
Diagnostic-Code: smtp; 550 5.1.1 bounce1@outlook.test: Recipient address
    rejected: User unknown

--1F2C31C0A01.1700000000/mail.example.com
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

From: court@court.example
To: bounce1@outlook.test
Message-ID: <m1@court.example>
X-Mailtrace-ID: 0193a6f2-7c1e-7d3a-9f00-000000000001
Subject: Notice

--1F2C31C0A01.1700000000/mail.example.com--
`

const gmailDSN = `From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>
To: mt-abc@bounces.example.com
Auto-Submitted: auto-replied
Subject: Delivery Status Notification (Failure)
MIME-Version: 1.0
Content-Type: multipart/report; boundary="000000000000a1"; report-type=delivery-status

--000000000000a1
Content-Type: multipart/related; boundary="000000000000a2"

--000000000000a2
Content-Type: multipart/alternative; boundary="000000000000a3"

--000000000000a3
Content-Type: text/plain; charset="UTF-8"

** Address not found **

Your message wasn't delivered to nobody@gmail.com because the address couldn't be found, or is unable to receive mail.

--000000000000a3
Content-Type: text/html; charset="UTF-8"

<html><body><h2>Address not found</h2></body></html>
--000000000000a3--
--000000000000a2--
--000000000000a1
Content-Type: message/delivery-status

Reporting-MTA: dns; googlemail.com
Received-From-MTA: dns; mail.example.com
Arrival-Date: Wed, 25 Nov 2026 02:03:04 -0800 (PST)
X-Original-Message-ID: <m2@court.example>

Final-Recipient: rfc822; nobody@gmail.com
Action: failed
Status: 5.1.1
Remote-MTA: dns; gmail-smtp-in.l.google.com. (2a00:1450:400c:c0b::1b, the server
 for the domain gmail.com.)
Diagnostic-Code: smtp; 550-5.1.1 The email account that you tried to reach does
 not exist. Please try double-checking the recipient's email address for typos or
 unnecessary spaces. https://support.google.com/mail/?p=NoSuchUser
Last-Attempt-Date: Wed, 25 Nov 2026 02:03:05 -0800 (PST)

--000000000000a1
Content-Type: message/rfc822

Message-ID: <m2@court.example>
X-Mailtrace-ID: 0193a6f2-7c1e-7d3a-9f00-000000000002
Subject: x

body
--000000000000a1--
`

const o365NDR = `From: postmaster@contoso.onmicrosoft.com
To: <mt-abc@bounces.example.com>
Subject: Undeliverable: Your tax notice
Content-Type: multipart/report; report-type=delivery-status; boundary="_000_NDR_"
MIME-Version: 1.0

--_000_NDR_
Content-Type: multipart/alternative; boundary="_001_"

--_001_
Content-Type: text/plain; charset="us-ascii"

Your message to someone@contoso.com couldn't be delivered.
someone wasn't found at contoso.com.

--_001_
Content-Type: text/html; charset="us-ascii"

<html><body><b>someone</b> wasn't found at contoso.com.</body></html>
--_001_--

--_000_NDR_
Content-Type: message/delivery-status

Reporting-MTA: dns;AM0PR01MB1234.eurprd01.prod.exchangelabs.com
Received-From-MTA: dns;mail.example.com
Arrival-Date: Wed, 25 Nov 2026 10:00:00 +0000

Final-Recipient: rfc822;someone@contoso.com
Action: failed
Status: 5.1.10
Diagnostic-Code: smtp;550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient someone@contoso.com not found by SMTP address lookup

--_000_NDR_
Content-Type: text/rfc822-headers

Message-ID: <m3@tax.example>
Subject: Your tax notice

--_000_NDR_--
`

const eximBounce = `From: Mail Delivery System <Mailer-Daemon@mx.example.net>
To: mt-abc@bounces.example.com
Subject: Mail delivery failed: returning message to sender
X-Failed-Recipients: gone@example.net, full@example.net
Auto-Submitted: auto-replied

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  gone@example.net
    host mx.example.net [192.0.2.25]
    SMTP error from remote mail server after RCPT TO:<gone@example.net>:
    550 5.1.1 <gone@example.net>: Recipient address rejected: User unknown
  full@example.net
    host mx.example.net [192.0.2.25]
    SMTP error from remote mail server after RCPT TO:<full@example.net>:
    552 5.2.2 Mailbox full

------ This is a copy of the message, including all the headers. ------

Message-ID: <m4@dunning.example>
X-Mailtrace-ID: 0193a6f2-7c1e-7d3a-9f00-000000000004
From: someone@other.example
`

const qmailBounce = `From: MAILER-DAEMON@mx.example.org
To: mt-abc@bounces.example.com
Subject: failure notice

Hi. This is the qmail-send program at mx.example.org.
I'm afraid I wasn't able to deliver your message to the following addresses.
This is a permanent error; I've given up. Sorry it didn't work out.

<nouser@example.org>:
Sorry, no mailbox here by that name. (#5.1.1)

--- Below this line is a copy of the message.

Message-ID: <m5@bank.example>
`

const yahooBounce = `From: MAILER-DAEMON@yahoo.com
To: mt-abc@bounces.example.com
Subject: Failure Notice

Sorry, we were unable to deliver your message to the following address.

<closed@yahoo.com>:
554: delivery error: dd Sorry your message to closed@yahoo.com cannot be delivered. This mailbox is disabled (554.30). - mta1234.mail.ne1.yahoo.com

--- Below this line is a copy of the message.

Message-ID: <m6@insurer.example>
`

const exchangeNDR = `From: System Administrator <postmaster@corp.example>
To: mt-abc@bounces.example.com
Subject: Undeliverable: Reminder

Your message

  To:      alice@corp.example
  Subject: Reminder

did not reach the following recipient(s):

alice@corp.example on Wed, 25 Nov 2026 10:00:00 +0100
    The e-mail account does not exist at the organization this message was sent to.
    <mx.corp.example #5.1.1>
`

const globalDSN = `From: MAILER-DAEMON@mx.example.jp
To: mt-abc@bounces.example.com
Subject: Undelivered Mail
MIME-Version: 1.0
Content-Type: multipart/report; report-type=global-delivery-status; boundary="b"

--b
Content-Type: text/plain; charset=utf-8

Delivery failed.

--b
Content-Type: message/global-delivery-status

Reporting-MTA: dns; mx.example.jp

Final-Recipient: utf-8; 用户@例子.example.jp
Action: failed
Status: 5.2.2
Diagnostic-Code: smtp; 552 5.2.2 Mailbox full

--b--
`

const delayedDSN = `From: MAILER-DAEMON@mail.example.com
To: mt-abc@bounces.example.com
Subject: Delayed Mail (still being retried)
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="d"

--d
Content-Type: message/delivery-status

Reporting-MTA: dns; mail.example.com

Final-Recipient: rfc822; slow@example.net
Action: delayed
Status: 4.4.1
Diagnostic-Code: X-Postfix; connect to mx.example.net[192.0.2.9]:25: Connection timed out

--d--
`

const arfReport = `From: feedbackloop@feedback.yahoo.example
To: fbl@example.com
Subject: FW: notice
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="part1"

--part1
Content-Type: text/plain

This is an email abuse report for an email message received from IP 192.0.2.10.

--part1
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: SomeGenerator/1.0
Version: 1
Original-Mail-From: <mt-abc@bounces.example.com>
Original-Rcpt-To: <complainer@yahoo.com>
Arrival-Date: Wed, 25 Nov 2026 10:00:00 +0000
Source-IP: 192.0.2.10
Reported-Domain: example.com

--part1
Content-Type: message/rfc822

Message-ID: <m7@shop.example>
X-Mailtrace-ID: 0193a6f2-7c1e-7d3a-9f00-000000000007
To: complainer@yahoo.com
Subject: Offer

Hi
--part1--
`

const autoReply = `From: Bob <bob@example.org>
To: mt-abc@bounces.example.com
Subject: Automatic reply: Your notice
Auto-Submitted: auto-replied
In-Reply-To: <m8@court.example>

I am out of the office until Monday.
`

const ordinaryMail = `From: Carol <carol@example.org>
To: info@example.com
Subject: Question

Please write to dave@example.org instead, he failed to answer.
`

func TestParse(t *testing.T) {
	type rcpt struct{ addr, action, status, category string }
	for _, tc := range []struct {
		name, raw                     string
		kind                          Kind
		format, envid, msgid, traceID string
		want                          []rcpt
	}{
		{"postfix", postfixDSN, KindDSN, "rfc3464", "0193a6f2-7c1e-7d3a-9f00-000000000001", "<m1@court.example>", "0193a6f2-7c1e-7d3a-9f00-000000000001",
			[]rcpt{{"bounce1@outlook.test", "failed", "5.1.1", "bad-mailbox"}}},
		{"gmail", gmailDSN, KindDSN, "rfc3464", "", "<m2@court.example>", "0193a6f2-7c1e-7d3a-9f00-000000000002",
			[]rcpt{{"nobody@gmail.com", "failed", "5.1.1", "bad-mailbox"}}},
		{"office 365", o365NDR, KindDSN, "rfc3464", "", "<m3@tax.example>", "",
			[]rcpt{{"someone@contoso.com", "failed", "5.1.10", "bad-mailbox"}}},
		{"exim", eximBounce, KindDSN, "exim", "", "<m4@dunning.example>", "0193a6f2-7c1e-7d3a-9f00-000000000004",
			[]rcpt{{"gone@example.net", "failed", "5.1.1", "bad-mailbox"}, {"full@example.net", "failed", "5.2.2", "quota-issues"}}},
		{"qmail", qmailBounce, KindDSN, "qmail", "", "<m5@bank.example>", "",
			[]rcpt{{"nouser@example.org", "failed", "5.1.1", "bad-mailbox"}}},
		{"yahoo", yahooBounce, KindDSN, "text", "", "<m6@insurer.example>", "",
			[]rcpt{{"closed@yahoo.com", "failed", "5.0.0", "inactive-mailbox"}}},
		{"exchange", exchangeNDR, KindDSN, "exchange", "", "", "",
			[]rcpt{{"alice@corp.example", "failed", "5.1.1", "bad-mailbox"}}},
		{"global", globalDSN, KindDSN, "rfc3464", "", "", "",
			[]rcpt{{"用户@例子.example.jp", "failed", "5.2.2", "quota-issues"}}},
		{"delayed", delayedDSN, KindDSN, "rfc3464", "", "", "",
			[]rcpt{{"slow@example.net", "delayed", "4.4.1", "no-answer-from-host"}}},
		{"arf", arfReport, KindARF, "arf", "", "<m7@shop.example>", "0193a6f2-7c1e-7d3a-9f00-000000000007",
			[]rcpt{{"complainer@yahoo.com", "complaint", "", ""}}},
		{"auto-reply", autoReply, KindAutoReply, "rfc3834", "", "", "",
			[]rcpt{{"bob@example.org", "autoreply", "", ""}}},
		{"ordinary mail", ordinaryMail, KindUnknown, "", "", "", "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := ParseBytes(crlf(tc.raw))
			if err != nil {
				t.Fatal(err)
			}
			rep.Classify(reply.Default())
			if rep.Kind != tc.kind || rep.Format != tc.format || rep.OriginalEnvelopeID != tc.envid ||
				rep.OriginalMessageID != tc.msgid || rep.OriginalTraceID != tc.traceID {
				t.Errorf("got kind %q format %q envid %q msgid %q trace %q", rep.Kind, rep.Format, rep.OriginalEnvelopeID, rep.OriginalMessageID, rep.OriginalTraceID)
			}
			var got []rcpt
			for _, r := range rep.Recipients {
				got = append(got, rcpt{r.Address, string(r.Action), r.Status, r.Category})
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("recipients\n got %v\nwant %v", got, tc.want)
			}
		})
	}
	rep, _ := ParseBytes(crlf(postfixDSN))
	if r := rep.Recipients[0]; r.RemoteMTA != "outlook-com.olc.protection.outlook.com" || rep.ReportingMTA != "mail.example.com" ||
		!strings.Contains(r.Diagnostic, "Recipient address rejected: User unknown") || strings.Contains(r.Diagnostic, "\n") {
		t.Errorf("postfix fields: %+v %q", r, rep.ReportingMTA)
	}
	if rep.SHA256 == ([32]byte{}) {
		t.Error("no hash")
	}
	if len(rep.DeliveredTo) != 1 || rep.DeliveredTo[0] != "mt-abc@bounces.example.com" {
		t.Errorf("delivered to %q, want the report's To", rep.DeliveredTo)
	}
	arf, _ := ParseBytes(crlf(arfReport))
	if arf.FeedbackType != "abuse" || arf.SourceIP != "192.0.2.10" {
		t.Errorf("arf fields: %q %q", arf.FeedbackType, arf.SourceIP)
	}
}

// Hostile reports get an error or a bounded result, never a crash.
func TestHostileReports(t *testing.T) {
	deep := "From: x@y\nContent-Type: multipart/mixed; boundary=b0\n\n"
	for i := range 50 {
		deep += fmt.Sprintf("--b%d\nContent-Type: multipart/mixed; boundary=b%d\n\n", i, i+1)
	}
	if _, err := ParseBytes(crlf(deep)); !errors.Is(err, errTooManyParts) {
		t.Errorf("deep nesting: %v", err)
	}
	wide := "From: x@y\nContent-Type: multipart/mixed; boundary=b\n\n" + strings.Repeat("--b\nContent-Type: text/plain\n\nx\n", 300) + "--b--\n"
	if _, err := ParseBytes(crlf(wide)); !errors.Is(err, errTooManyParts) {
		t.Errorf("300 parts: %v", err)
	}
	if _, err := Parse(bytes.NewReader(make([]byte, MaxSize+10))); !errors.Is(err, ErrTooLarge) {
		t.Errorf("oversized: %v", err)
	}
	brokenBase64 := "From: MAILER-DAEMON@x\nSubject: Undelivered Mail\nMIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status; boundary=b\n\n" +
		"--b\nContent-Type: message/delivery-status\nContent-Transfer-Encoding: base64\n\n!!!! not base64 ####\n--b--\n"
	if rep, err := ParseBytes(crlf(brokenBase64)); err != nil || len(rep.Recipients) != 0 {
		t.Errorf("broken base64: %+v %v", rep, err)
	}
	unknownCharset := "From: MAILER-DAEMON@x\nSubject: failure notice\nContent-Type: text/plain; charset=x-klingon\n\n<a@example.org>:\n550 5.1.1 no such user\n"
	if rep, err := ParseBytes(crlf(unknownCharset)); err != nil || len(rep.Recipients) != 1 {
		t.Errorf("unknown charset: %+v %v", rep, err)
	}
	manyRecipients := "From: MAILER-DAEMON@x\nSubject: failure notice\n\n" + strings.Repeat("<a@example.org>:\n550 5.1.1 no\n\n", 10) +
		func() string {
			var b strings.Builder
			for i := range 3000 {
				fmt.Fprintf(&b, "<u%d@example.org>:\n550 no\n\n", i)
			}
			return b.String()
		}()
	if rep, err := ParseBytes(crlf(manyRecipients)); err != nil || len(rep.Recipients) != 3001 {
		t.Errorf("3000 recipients and one named ten times: %d read, %v; want all 3001", len(rep.Recipients), err)
	}
	longField := "From: MAILER-DAEMON@x\nSubject: failure notice\n\n<a@example.org>:\n" + strings.Repeat(strings.Repeat("x", 1000)+"\n", 100)
	if rep, err := ParseBytes(crlf(longField)); err != nil || len(rep.Recipients) != 1 || len(rep.Recipients[0].Diagnostic) > maxField {
		t.Errorf("long field: %+v %v", rep, err)
	}
	if rep, err := ParseBytes([]byte("\x00\x01\x02 not mail")); err == nil && (rep.Kind != KindUnknown || len(rep.Recipients) != 0) {
		t.Errorf("binary input read as a report: %+v", rep)
	}
}

// TestHostileInput: reports built to exhaust the reader are read within
// bounds, or refused whole with a reason that says what is wrong.
func TestHostileInput(t *testing.T) {
	sesWith := func(rcpts int, headerBytes int) string {
		var b strings.Builder
		b.WriteString(`{"notificationType":"Bounce","bounce":{"bounceType":"Permanent","bounceSubType":"General","bouncedRecipients":[`)
		for i := range rcpts {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"emailAddress":"u%d@example.com","status":"5.1.1","diagnosticCode":"smtp; 550 5.1.1 user unknown"}`, i)
		}
		b.WriteString(`]},"mail":{"headers":[{"name":"Subject","value":"`)
		b.WriteString(strings.Repeat("x", headerBytes))
		b.WriteString(`"}]}}`)
		return b.String()
	}
	tenMB := sesWith(2, MaxSize-400)
	manyMDN := strings.Replace(rfc8098MDN, "Final-Recipient: rfc822;Joe_Recipient@example.com\n", strings.Repeat("Final-Recipient: rfc822;Joe_Recipient@example.com\n", 5000), 1)
	for _, tc := range []struct {
		name       string
		raw        string
		err        error // refused with this reason
		recipients int
	}{
		{"a 10 MB SES notification", tenMB, nil, 2},
		{"a JSON notification over 10 MB", tenMB + strings.Repeat(" ", 500), ErrTooLarge, 0},
		{"3000 recipients in a JSON notification", sesWith(3000, 0), nil, 3000},
		{"more than 10,000 recipients in a JSON notification", sesWith(MaxRecipient+1, 0), ErrTooManyRecipients, 0},
		{"more than 10,000 recipients in a DSN", "From: MAILER-DAEMON@x\nContent-Type: multipart/report; report-type=delivery-status; boundary=b\n\n--b\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; x\n" +
			strings.Repeat("\nFinal-Recipient: rfc822; u@example.com\nAction: failed\nStatus: 5.1.1\n", MaxRecipient+1) + "--b--\n", ErrTooManyRecipients, 0},
		{"an MDN naming one recipient 5000 times", manyMDN, nil, 1},
		{"invalid UTF-8 and broken quoted-printable", "From: MAILER-DAEMON@x\nSubject: failure notice\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n<a@example.org>:\n550 5.1.1 =ZZ no such user \xff\xfe =\n", nil, 1},
		{"a mislabelled charset", "From: MAILER-DAEMON@x\nSubject: failure notice\nContent-Type: text/plain; charset=iso-2022-jp\n\n<a@example.org>:\n550 5.1.1 \x1b$B%f!<%6\x1b(B unknown\n", nil, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := ParseBytes([]byte(tc.raw))
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("got %v, want %v", err, tc.err)
				}
				if !strings.Contains(err.Error(), "refused whole") {
					t.Errorf("the reason does not say the report was refused whole: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			rep.Classify(reply.Default())
			if len(rep.Recipients) != tc.recipients {
				t.Errorf("%d recipients, want %d", len(rep.Recipients), tc.recipients)
			}
			for _, r := range rep.Recipients {
				if len(r.Diagnostic) > maxField || !utf8.ValidString(r.Diagnostic) {
					t.Fatalf("diagnostic unbounded or not UTF-8: %d bytes", len(r.Diagnostic))
				}
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{postfixDSN, gmailDSN, o365NDR, eximBounce, qmailBounce, exchangeNDR, globalDSN, arfReport, autoReply, ordinaryMail, rfc8098MDN, sieveRejectMDN} {
		f.Add(crlf(s))
	}
	for _, s := range []string{sesBounce, sesComplaint, sendGridEvents, mailgunFailed, mandrillEvents, sparkPostEvents} {
		f.Add([]byte(s))
	}
	// Every mail system's format, by its signature (formats_test.go).
	for _, name := range slices.Sorted(maps.Keys(formatSamples)) {
		f.Add(crlf(formatSamples[name]))
	}
	for _, name := range slices.Sorted(maps.Keys(documentedSamples)) {
		f.Add(crlf(documentedSamples[name]))
	}
	c := reply.Default()
	f.Fuzz(func(t *testing.T, raw []byte) {
		rep, err := ParseBytes(raw)
		if err != nil {
			return
		}
		stated := make([]string, len(rep.Recipients))
		for i, r := range rep.Recipients {
			stated[i] = r.Status
		}
		rep.Classify(c)
		if len(rep.Recipients) > MaxRecipient {
			t.Fatalf("%d recipients", len(rep.Recipients))
		}
		for i, r := range rep.Recipients {
			if r.Status != stated[i] {
				t.Fatalf("classifying changed the stated status %s to %s", stated[i], r.Status)
			}
			if r.InferredStatus != "" && (reply.EnhancedCode(r.InferredStatus+" ") != r.InferredStatus || r.InferredStatus == r.Status) {
				t.Fatalf("inferred status %q beside %q", r.InferredStatus, r.Status)
			}
		}
		for _, r := range rep.Recipients {
			if len(r.Diagnostic) > maxField || len(r.Address) > maxField {
				t.Fatalf("unbounded field")
			}
			if rep.Kind == KindDSN && (r.Status == "" || r.Action == "") {
				t.Fatalf("DSN recipient without status or action: %+v", r)
			}
		}
		switch rep.Kind {
		case KindDSN, KindARF, KindAutoReply, KindMDN, KindUnknown:
		default:
			t.Fatalf("kind %q", rep.Kind)
		}
	})
}
