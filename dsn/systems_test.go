package dsn

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailtrace/mailtrace/reply"
)

// Samples written from the systems' templates as their documentation and
// operators' reports show them; the corpus has none of these (addresses
// replaced).
var documentedSamples = map[string]string{
	"james": `From: postmaster@james.example.org
To: mt-x@bounces.court.example
Subject: [BOUNCE]
Content-Type: text/plain

Hi. This is the James mail server at james.example.org.
I'm afraid I wasn't able to deliver your message to the following addresses.
This is a permanent error; I've given up. Sorry it didn't work out.  Below
I include the list of recipients and the reason why I was unable to deliver
your message.

Failed recipient(s):
user@example.net

Error message:
550 5.1.1 <user@example.net>... User unknown
`,
	"kddi": `From: MAILER-DAEMON@ezweb.ne.jp
To: mt-x@bounces.court.example
Subject: Mail System Error - Returned Mail
Content-Type: text/plain

Your mail sent on: Thu, 29 Apr 2010 23:34:45 +0900
could not be delivered to the following address(es):

<user@ezweb.ne.jp>: The user(s) account is disabled.
`,
	"docomo": `From: Mail Delivery Subsystem <MAILER-DAEMON@docomo.ne.jp>
To: mt-x@bounces.court.example
Subject: Returned mail: see transcript for details
Content-Type: text/plain; charset=ISO-2022-JP

The following recipients did not receive this message:

<user@docomo.ne.jp>: 550 Unknown user user@docomo.ne.jp
`,
	"softbank": "From: Postmaster <postmaster@i.softbank.jp>\nTo: mt-x@bounces.court.example\nSubject: Undelivered Mail\nContent-Type: text/plain; charset=utf-8\n\n" +
		"このメールは配送できませんでした。\n\n<user@i.softbank.jp>: 宛先不明のため配送できませんでした。\n",
	"biglobe": `From: postmaster@biglobe.ne.jp
To: mt-x@bounces.court.example
Subject: Returned mail: User unknown
Content-Type: text/plain

   ----- The following addresses had delivery problems -----
<user@biglobe.ne.jp>
   ----- Non-delivered information -----
The number of messages in recipient's mailbox exceeded the local limit.
`,
	"fml": `From: elists-admin@lists.example.jp
To: mt-x@bounces.court.example
Subject: fml rejected your post (not member)
X-ML-Name: elists
X-MLServer: fml [fml 4.0.3 release (20011202/4.0.3)]
Content-Type: text/plain

You are not a member of this mailing list <elists@lists.example.jp>.
`,
	"messaging-server": `From: Internet Mail Delivery <postmaster@ms.example.com>
To: mt-x@bounces.court.example
Subject: Delivery Notification: Delivery has failed
Content-Type: text/plain

This report relates to a message you sent with the following header fields:

  Message-id: <m1@court.example>
  Subject: Notice

Your message cannot be delivered to the following recipients:

  Recipient address: user@example.com
  Original address: user@example.com
  Reason: Remote SMTP server has rejected address
  Diagnostic code: smtp;550 5.1.1 <user@example.com>... User unknown
  Remote system: dns;mx.example.com (TCP|192.0.2.1|25|192.0.2.2|25)
`,
	"sendmail transcript": `From: Mail Delivery Subsystem <MAILER-DAEMON@mx.example.com>
To: mt-x@bounces.court.example
Subject: Returned mail: User unknown
Content-Type: text/plain

   ----- Transcript of session follows -----
550 <user@example.com>... User unknown

   ----- Unsent message follows -----
`,
	"forwarded DSN": "From: postmaster@gw.example.com\nTo: mt-x@bounces.court.example\nSubject: Delivery Status Notification (Failure)\nMIME-Version: 1.0\n" +
		"Content-Type: multipart/mixed; boundary=outer\n\n--outer\nContent-Type: message/rfc822\n\n" +
		strings.Replace(postfixDSN, "mt-abc@bounces.example.com", "gw@example.com", 1) + "\n--outer--\n",
	"InterScan (the recipient only in the returned message)": `From: inetgw1@example.com
To: mt-x@bounces.court.example
Subject: Mail could not be delivered
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b"

--b
Content-type: text/plain

****** Message from InterScan E-Mail VirusWall NT ******
The following mail could not be delivered.
Reason:  Exceeded Maximum Delivery Attempts.  Verify that the recipient address is correct.
*****************     End of message     ***************
--b
Content-type: message/rfc822

From: court@court.example
To: user@example.com
Subject: Notice

Text.
--b--
`,
}

// inferredBySystem are the statuses TestSystems's reports infer; the
// others infer none (they state a code, or their words support none).
var inferredBySystem = map[string]string{
	"KDDI/au (EZweb)": "5.2.1", "NTT docomo": "5.1.1", "SoftBank": "5.1.1", "BIGLOBE": "5.2.2", "Sendmail transcript": "5.1.1",
	"Trend Micro InterScan": "5.4.7", "qmail, expired at Yahoo": "5.4.7", "X.400 gateway, expired": "5.4.7",
	"Mail.ru (Exim)": "5.1.1", "MDaemon": "5.2.2",
}

// TestSystems reads one report of each system with a reader of its own or
// a template of its own: from the corpus where it has one, else as
// written from the system's documentation (documentedSamples).
func TestSystems(t *testing.T) {
	for _, tc := range []struct {
		system, sample, corpus         string
		format, addr, status, category string
	}{
		{system: "Apache James", sample: "james", format: "james", addr: "user@example.net", status: "5.1.1", category: "bad-mailbox"},
		{system: "KDDI/au (EZweb)", sample: "kddi", format: "kddi", addr: "user@ezweb.ne.jp", status: "5.0.0", category: "inactive-mailbox"},
		{system: "NTT docomo", sample: "docomo", format: "docomo", addr: "user@docomo.ne.jp", status: "5.0.0", category: "bad-mailbox"},
		{system: "SoftBank", sample: "softbank", format: "softbank", addr: "user@i.softbank.jp", status: "5.0.0", category: "bad-mailbox"},
		{system: "BIGLOBE", sample: "biglobe", format: "biglobe", addr: "user@biglobe.ne.jp", status: "5.0.0", category: "quota-issues"},
		{system: "FML", sample: "fml", format: "fml", addr: "elists@lists.example.jp", status: "5.0.0", category: "invalid-sender"},
		{system: "Oracle Messaging Server (prose)", sample: "messaging-server", format: "messaging-server", addr: "user@example.com", status: "5.1.1", category: "bad-mailbox"},
		{system: "Sendmail transcript", sample: "sendmail transcript", format: "text", addr: "user@example.com", status: "5.0.0", category: "bad-mailbox"},
		{system: "DSN forwarded by a gateway", sample: "forwarded DSN", format: "rfc3464", addr: "bounce1@outlook.test", status: "5.1.1", category: "bad-mailbox"},
		{system: "Trend Micro InterScan", sample: "InterScan (the recipient only in the returned message)", format: "text", addr: "user@example.com", status: "5.0.0", category: "message-expired"},
		// From the corpus (development split).
		{system: "Postfix", corpus: "ardiesaeidi-node-baunsu/bounce_aol.txt", format: "rfc3464", addr: "mango3438kaskdmdfklas@aol.com", status: "5.1.1", category: "bad-mailbox"},
		{system: "Postfix, base64 recipient block", corpus: "jstedfast-MimeKit/bounce.txt", format: "rfc3464", addr: "netec.test@netecgc.com", status: "5.1.1", category: "bad-mailbox"},
		{system: "Sendmail", corpus: "livebg-bounce_email/bounces/tt_bounce_23.txt", format: "rfc3464", addr: "rihards_freimanis@exigengroup.com", status: "5.1.1", category: "bad-mailbox"},
		{system: "Exim", corpus: "Webklex-php-imap/example_bounce.eml", format: "rfc3464", addr: "ding@ding.de", status: "5.0.0", category: "invalid-sender"},
		{system: "qmail", corpus: "justingit-dada-mail/bounce-qmail-550-5.1.1.eml", format: "qmail", addr: "ljdfsajlkadfsmndfsalkjfdsapimoiasdfiodfsakl@gmail.com", status: "5.1.1", category: "bad-mailbox"},
		{system: "qmail, expired at Yahoo", corpus: "wRAR-flufl.bounce/yahoo_01.txt", format: "text", addr: "subscribe.motorcycles@listsociety.com", status: "4.4.1", category: "message-expired"},
		{system: "Exchange 2000/2003", corpus: "cfortune-PHP-Bounce-Handler/36.eml", format: "rfc3464", addr: "silvina.garcia.tobar@ef.com", status: "5.1.1", category: "bad-mailbox"},
		{system: "Exchange 2007+", corpus: "livebg-bounce_email/bounces/tt_bounce_24.txt", format: "rfc3464", addr: "customer.testemail@test-receive-domain.se", status: "5.1.1", category: "bad-mailbox"},
		{system: "Office 365", corpus: "mailgun-flanker/bounce/office365.eml", format: "rfc3464", addr: "noname@example.com", status: "5.1.10", category: "bad-mailbox"},
		{system: "Gmail (new template, empty status part)", corpus: "chatwoot-chatwoot/bounced_gmail.eml", format: "exim", addr: "alex.jones@fictionalcorp.com", status: "5.1.1", category: "bad-mailbox"},
		{system: "AOL", corpus: "mailgun-flanker/bounce/mailbox-full.eml", format: "rfc3464", addr: "user@aol.com", status: "5.2.2", category: "quota-issues"},
		{system: "AOL screen name", corpus: "wRAR-flufl.bounce/aol_01.txt", format: "aol", addr: "screenname@aol.com", status: "5.0.0", category: "other"},
		{system: "Lotus Domino", corpus: "livebg-bounce_email/bounces/tt_1234210655.txt", format: "rfc3464", addr: "this_doesnotexistinaac@accenture.com", status: "5.1.1", category: "bad-mailbox"},
		{system: "Sun/Oracle Messaging Server", corpus: "cfortune-PHP-Bounce-Handler/12.eml", format: "rfc3464", addr: "andressaravia@fibertel.com.ar", status: "5.2.0", category: "quota-issues"},
		{system: "X.400 gateway, expired", corpus: "wRAR-flufl.bounce/dsn_02.txt", format: "rfc3464", addr: "zzzzz@zeus.hud.ac.uk", status: "4.4.7", category: "message-expired"},
		{system: "Amazon SES (mailed DSN)", corpus: "justingit-dada-mail/bounce-gmail-550-5.1.1.eml", format: "rfc3464", addr: "this.is.going.to.bounce.67876543@gmail.com", status: "5.1.0", category: "bad-mailbox"},
		{system: "Mail.ru (Exim)", corpus: "wRAR-flufl.bounce/simple_38.txt", format: "text", addr: "foo@mail.ru", status: "5.0.0", category: "bad-mailbox"},
		{system: "MDaemon", corpus: "wRAR-flufl.bounce/simple_01.txt", format: "text", addr: "bbbsss@turbosport.com", status: "5.0.0", category: "quota-issues"},
		{system: "Yahoo failure notice", corpus: "justingit-dada-mail/permanent_error.eml", format: "yahoo", addr: "subscriber@example.com", status: "5.0.0", category: "other"},
		{system: "Barracuda", corpus: "cfortune-PHP-Bounce-Handler/32.eml", format: "rfc3464", addr: "stellamiranda@interlink.com.ar", status: "5.7.1", category: "spam-related"},
	} {
		t.Run(tc.system, func(t *testing.T) {
			var raw []byte
			if tc.corpus != "" {
				if sharedCorpus == "" {
					t.Skip("no shared bounce corpus")
				}
				var err error
				if raw, err = os.ReadFile(filepath.Join(sharedCorpus, tc.corpus)); err != nil {
					t.Skip(err)
				}
			} else {
				raw = []byte(documentedSamples[tc.sample])
			}
			rep, err := ParseBytes(raw)
			if err != nil {
				t.Fatal(err)
			}
			rep.Classify(reply.Default())
			if rep.Kind != KindDSN || rep.Format != tc.format || len(rep.Recipients) == 0 {
				t.Fatalf("kind %s format %s, %d recipients; want dsn %s", rep.Kind, rep.Format, len(rep.Recipients), tc.format)
			}
			r := rep.Recipients[0]
			if strings.ToLower(r.Address) != tc.addr || r.Status != tc.status || r.Category != tc.category {
				t.Errorf("got %s %s %s (%q), want %s %s %s", r.Address, r.Status, r.Category, r.Diagnostic, tc.addr, tc.status, tc.category)
			}
			if want := inferredBySystem[tc.system]; r.InferredStatus != want {
				t.Errorf("inferred status %q, want %q", r.InferredStatus, want)
			}
		})
	}
}
