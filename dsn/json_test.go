package dsn

import (
	"strings"
	"testing"

	"github.com/mailtrace/mailtrace/reply"
)

// Notifications of sending services, as their documentation shows them
// (the corpus has none of these JSON forms; addresses and IDs replaced).
const (
	sesBounce = `{"notificationType":"Bounce","bounce":{"bounceType":"Permanent","bounceSubType":"General",
"bouncedRecipients":[{"emailAddress":"jane@example.com","action":"failed","status":"5.1.1","diagnosticCode":"smtp; 550 5.1.1 user unknown"},
{"emailAddress":"richard@example.com","action":"failed","status":"5.1.1","diagnosticCode":"smtp; 550 5.1.1 user unknown"}],
"timestamp":"2016-01-27T14:59:38.237Z","feedbackId":"00000138111222aa-33322211-cccc-cccc-cccc-ddddaaaa0680-000000",
"remoteMtaIp":"127.0.2.0","reportingMTA":"dsn; a8-70.smtp-out.amazonses.com"},
"mail":{"timestamp":"2016-01-27T14:59:38.237Z","source":"john@example.com","messageId":"00000138111222aa-33322211-cccc-cccc-cccc-ddddaaaa0680-000000",
"destination":["jane@example.com","richard@example.com"],"headersTruncated":false,
"headers":[{"name":"From","value":"\"John Doe\" <john@example.com>"},{"name":"Message-ID","value":"<m1@court.example>"},
{"name":"X-Mailtrace-ID","value":"0193a6f2-7c1e-7d3a-9f00-000000000001"}],
"commonHeaders":{"from":["John Doe <john@example.com>"],"messageId":"<m1@court.example>","subject":"Notice"}}}`
	sesNoEmail = `{"eventType":"Bounce","bounce":{"bounceType":"Permanent","bounceSubType":"NoEmail",
"bouncedRecipients":[{"emailAddress":"nobody@example.com"}],"timestamp":"2017-08-05T00:41:02.669Z","reportingMTA":"dns; email.example.com"},
"mail":{"messageId":"EXAMPLE7c191be45","headers":[]}}`
	sesComplaint = `{"notificationType":"Complaint","complaint":{"userAgent":"AnyCompany Feedback Loop (V0.01)",
"complainedRecipients":[{"emailAddress":"richard@example.com"}],"complaintFeedbackType":"abuse",
"arrivalDate":"2016-01-27T14:59:38.237Z","timestamp":"2016-01-27T14:59:38.237Z"},
"mail":{"messageId":"x","commonHeaders":{"messageId":"<m2@court.example>"}}}`
	sesDelay = `{"eventType":"DeliveryDelay","deliveryDelay":{"timestamp":"2020-06-16T00:15:40.641Z","delayType":"TransientCommunicationFailure",
"expirationTime":"2020-06-16T00:25:40.914Z","delayedRecipients":[{"emailAddress":"recipient@example.com","status":"4.4.1",
"diagnosticCode":"smtp; 421 4.4.1 Unable to connect to remote host"}]},"mail":{"messageId":"x"}}`
	sendGridEvents = `[{"email":"a@example.net","timestamp":1513299569,"smtp-id":"<14c5d75ce93.dfd.64b469@ismtpd-555>","event":"bounce",
"category":"cat facts","sg_event_id":"6g4ZI7SA-xmRDv57GoPIPw==","sg_message_id":"14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0",
"reason":"550 5.1.1 The email account that you tried to reach does not exist.","status":"5.1.1","type":"bounce","bounce_classification":"Invalid Address"},
{"email":"b@example.net","timestamp":1513299569,"event":"deferred","response":"421 4.7.0 Try again later","attempt":"5"},
{"email":"c@example.net","timestamp":1513299569,"event":"open","useragent":"Mozilla"},
{"email":"d@example.net","timestamp":1513299569,"event":"bounce","type":"blocked","status":"5.0.0",
"reason":"554 5.7.1 Service unavailable; Client host [192.0.2.10] blocked using zen.spamhaus.org","bounce_classification":"Reputation"}]`
	mailgunFailed = `{"signature":{"timestamp":"1529006854","token":"a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0","signature":"d2271d12299f6592d9d44cd9d250f0704e4674c30d79d07c47a66f95ce71cf55"},
"event-data":{"event":"failed","id":"G9Bn5sl1TC6nu79C8C0bwg","timestamp":1521233123.501324,"log-level":"error","severity":"permanent","reason":"bounce",
"recipient":"alice@example.com","recipient-domain":"example.com",
"delivery-status":{"attempt-no":1,"message":"5.1.1 The email account that you tried to reach does not exist.","code":550,"enhanced-code":"5.1.1",
"description":"","session-seconds":0.1,"mx-host":"gmail-smtp-in.l.google.com"},
"message":{"headers":{"to":"Alice <alice@example.com>","message-id":"20130503192659.13651.20287@court.example","from":"Bob <bob@court.example>","subject":"Notice"}}}}`
	mailgunTemporary = `{"event-data":{"event":"failed","severity":"temporary","reason":"generic","recipient":"bob@example.com",
"delivery-status":{"code":452,"message":"4.2.2 The email account that you tried to reach is over quota.","enhanced-code":"4.2.2"},"message":{"headers":{}}}}`
	mandrillEvents  = `mandrill_events=%5B%7B%22event%22%3A%22hard_bounce%22%2C%22ts%22%3A1365109999%2C%22msg%22%3A%7B%22ts%22%3A1365109999%2C%22email%22%3A%22a%40example.net%22%2C%22state%22%3A%22bounced%22%2C%22bounce_description%22%3A%22bad_mailbox%22%2C%22diag%22%3A%22smtp%3B550%205.1.1%20The%20email%20account%20that%20you%20tried%20to%20reach%20does%20not%20exist.%22%7D%7D%5D`
	sparkPostEvents = `[{"msys":{"message_event":{"type":"bounce","bounce_class":"10","error_code":"550","rcpt_to":"a@example.net",
"raw_reason":"550 5.1.1 <a@example.net>: Recipient address rejected: User unknown","reason":"550 5.1.1 ...","message_id":"0e0d94b7-9085-4e3c-ab30-e3f2cd9c273e","timestamp":"1454442600"}}},
{"msys":{"message_event":{"type":"bounce","bounce_class":"22","error_code":"552","rcpt_to":"b@example.net","raw_reason":"552 Requested mail action aborted"}}},
{"msys":{"track_event":{"type":"open","rcpt_to":"c@example.net"}}}]`
)

func TestJSONNotifications(t *testing.T) {
	snsEnvelope := `{"Type":"Notification","MessageId":"22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324","TopicArn":"arn:aws:sns:us-east-1:123456789012:bounces",` +
		`"Message":` + jsonString(sesBounce) + `,"Timestamp":"2016-01-27T14:59:38.237Z","SignatureVersion":"1"}`
	snsMail := "From: AWS Notifications <no-reply@sns.amazonaws.com>\nSubject: AWS Notification Message\nContent-Type: text/plain; charset=UTF-8\n\n" + snsEnvelope
	type want struct{ addr, action, status, category string }
	for _, tc := range []struct {
		name, raw         string
		kind              Kind
		format, messageID string
		want              []want
	}{
		{"SES bounce", sesBounce, KindDSN, "ses", "<m1@court.example>", []want{{"jane@example.com", "failed", "5.1.1", "bad-mailbox"}, {"richard@example.com", "failed", "5.1.1", "bad-mailbox"}}},
		{"SES bounce in an SNS envelope", snsEnvelope, KindDSN, "ses", "<m1@court.example>", []want{{"jane@example.com", "failed", "5.1.1", "bad-mailbox"}, {"richard@example.com", "failed", "5.1.1", "bad-mailbox"}}},
		{"SES bounce mailed by an SNS subscription", snsMail, KindDSN, "ses", "<m1@court.example>", []want{{"jane@example.com", "failed", "5.1.1", "bad-mailbox"}, {"richard@example.com", "failed", "5.1.1", "bad-mailbox"}}},
		{"SES NoEmail without a status", sesNoEmail, KindDSN, "ses", "", []want{{"nobody@example.com", "failed", "5.1.1", "bad-mailbox"}}},
		{"SES complaint", sesComplaint, KindARF, "ses", "<m2@court.example>", []want{{"richard@example.com", "complaint", "", ""}}},
		{"SES delivery delay", sesDelay, KindDSN, "ses", "", []want{{"recipient@example.com", "delayed", "4.4.1", "bad-connection"}}},
		{"SendGrid events", sendGridEvents, KindDSN, "sendgrid", "<14c5d75ce93.dfd.64b469@ismtpd-555>", []want{
			{"a@example.net", "failed", "5.1.1", "bad-mailbox"}, {"b@example.net", "delayed", "4.7.0", "policy-related"}, {"d@example.net", "failed", "5.7.1", "blocklisted"}}},
		{"Mailgun permanent failure", mailgunFailed, KindDSN, "mailgun", "<20130503192659.13651.20287@court.example>", []want{{"alice@example.com", "failed", "5.1.1", "bad-mailbox"}}},
		{"Mailgun temporary failure", mailgunTemporary, KindDSN, "mailgun", "", []want{{"bob@example.com", "delayed", "4.2.2", "quota-issues"}}},
		{"Mandrill form-encoded events", mandrillEvents, KindDSN, "mandrill", "", []want{{"a@example.net", "failed", "5.1.1", "bad-mailbox"}}},
		{"SparkPost events", sparkPostEvents, KindDSN, "sparkpost", "", []want{{"a@example.net", "failed", "5.1.1", "bad-mailbox"}, {"b@example.net", "failed", "5.0.0", "quota-issues"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := ParseBytes([]byte(tc.raw))
			if err != nil {
				t.Fatal(err)
			}
			rep.Classify(reply.Default())
			if rep.Kind != tc.kind || rep.Format != tc.format || rep.OriginalMessageID != tc.messageID {
				t.Errorf("kind %s format %s message-id %q, want %s %s %q", rep.Kind, rep.Format, rep.OriginalMessageID, tc.kind, tc.format, tc.messageID)
			}
			if len(rep.Recipients) != len(tc.want) {
				t.Fatalf("%d recipients, want %d: %+v", len(rep.Recipients), len(tc.want), rep.Recipients)
			}
			for i, w := range tc.want {
				r := rep.Recipients[i]
				if r.Address != w.addr || string(r.Action) != w.action || r.Status != w.status || r.Category != w.category {
					t.Errorf("recipient %d: %s %s %s %s (%q), want %+v", i, r.Address, r.Action, r.Status, r.Category, r.Diagnostic, w)
				}
			}
		})
	}
}

func jsonString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}

func TestJSONRefused(t *testing.T) {
	for _, tc := range []struct{ name, raw string }{
		{"not a notification", `{"hello":"world"}`},
		{"broken JSON", `{"notificationType":"Bounce","bounce":{`},
		{"nested too deep", strings.Repeat("[", 20000) + strings.Repeat("]", 20000)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if rep, err := ParseBytes([]byte(tc.raw)); err == nil {
				t.Errorf("accepted: %+v", rep)
			} else if !strings.HasPrefix(err.Error(), "dsn: ") {
				t.Errorf("error without context: %v", err)
			}
		})
	}
}
