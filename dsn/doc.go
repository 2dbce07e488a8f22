// Package dsn reads the reports that come back for mail we sent: delivery
// status notifications (RFC 3464, and RFC 6533's message/global-delivery-
// status), the non-standard bounces many MTAs still send, the JSON
// notifications of sending services, abuse complaints in the Abuse
// Reporting Format (RFC 5965), read receipts (RFC 8098 message disposition
// notifications) and automatic replies (RFC 3834); complaints, receipts
// and automatic replies are not bounces and are kept apart.
//
// Parse reads one report (a whole message, MIME parsed with
// github.com/emersion/go-message, or a JSON document) into a Report: its
// kind, the per-message fields (Reporting-MTA, Original-Envelope-Id), one
// Recipient per address it reports on (action, enhanced status code,
// diagnostic, remote MTA), and what it tells about the original message:
// the headers it returned (Message-ID, X-Mailtrace-ID). Matching a report
// to the message it is about is the bounce package's job.
//
// The systems read, each found by its own signature:
//
//   - RFC 3464 reports, with missing or broken fields (no blank lines, a
//     Status of only a class, X.400 recipients, a report part with no
//     recipient block), as Postfix, Sendmail, Exim, Courier, OpenSMTPD,
//     Exchange 2007-2019, Office 365, Gmail, Yahoo, iCloud, Zoho,
//     GMX/web.de, Yandex, Amazon SES, Domino, GroupWise, Mimecast,
//     Proofpoint, Barracuda, Trend Micro, Sophos and the X.400 gateways
//     send them (report.go, fields.go);
//   - prose bounces (plain.go): Exim's X-Failed-Recipients, qmail and its
//     variants (vpopmail, netqmail, MessageLabs), Exchange 2003 and 5.5,
//     Gmail's and Yahoo's notices, IMail, Domino, MailMarshal, Courier, the
//     filters' notices: a recipient line, then its reason;
//   - readers of their own for what prose does not say alone (systems.go):
//     AOL (aol.go), Yahoo's failure notice (yahoo.go), Apache James
//     (james.go), Oracle/Sun Messaging Server (messagingserver.go), FML
//     (fml.go), MailMarshal (mailmarshal.go), Verizon Wireless
//     (verizon.go), the Japanese carriers KDDI/au and EZweb, docomo,
//     SoftBank and BIGLOBE (carriers.go);
//   - JSON notifications (json.go): Amazon SES alone, in an SNS envelope
//     or mailed by an SNS subscription (ses.go), SendGrid (sendgrid.go),
//     Mailgun (mailgun.go), Mandrill (mandrill.go), SparkPost
//     (sparkpost.go);
//   - complaints (ARF, and Hotmail's JMRP before it: jmrp.go), read
//     receipts (mdn.go; a Sieve reject sent as an MDN is a refusal) and
//     automatic replies.
//
// Report.System names the mail system that wrote a report, told by its
// signature whatever convention it followed (signatures.go): its domain,
// a sentence of its template, its subject, a header it adds.
//
// Classify gives each recipient its category from its diagnostic and the
// words of the human-readable part about it (package reply), and, where
// the report states only a class, the status those words support
// (InferredStatus). The status the report states is never replaced.
//
// Reports come from strangers and can be hostile: Parse bounds the size of
// the message, the depth and number of MIME parts, the number of
// recipients and the length of every field it keeps, and returns an error
// saying what it refused rather than reading a part of it or guessing.
package dsn
