package reply

import (
	"strings"
	"testing"
)

// Real replies, as providers document them on their postmaster pages and
// as they appear in Postfix logs (IP addresses and IDs replaced).
var replies = []struct {
	text, host, want string
	block            bool
	provider         string
}{
	// Google (Gmail SMTP error reference).
	{"550-5.1.1 The email account that you tried to reach does not exist. Please try double-checking the recipient's email address for typos or unnecessary spaces. https://support.google.com/mail/?p=NoSuchUser", "gmail-smtp-in.l.google.com", "bad-mailbox", false, "google"},
	{"552-5.2.2 The email account that you tried to reach is over quota. Please direct the recipient to https://support.google.com/mail/?p=OverQuotaPerm", "gmail-smtp-in.l.google.com", "quota-issues", false, "google"},
	{"452-4.2.2 The email account that you tried to reach is over quota. Please direct the recipient to https://support.google.com/mail/?p=OverQuotaTemp", "alt1.gmail-smtp-in.l.google.com", "quota-issues", false, "google"},
	{"550-5.2.1 The email account that you tried to reach is disabled. https://support.google.com/mail/?p=DisabledUser", "gmail-smtp-in.l.google.com", "inactive-mailbox", false, "google"},
	{"550-5.7.1 Our system has detected that this message is likely unsolicited mail. To reduce the amount of spam sent to Gmail, this message has been blocked.", "gmail-smtp-in.l.google.com", "spam-related", false, "google"},
	{"421-4.7.28 Our system has detected an unusual rate of unsolicited mail originating from your IP address. To protect our users from spam, mail sent from your IP address has been temporarily rate limited.", "gmail-smtp-in.l.google.com", "reputation", true, "google"},
	{"550-5.7.26 This mail is unauthenticated, which poses a security risk to the sender and Gmail users, and has been blocked. The sender must authenticate with at least one of SPF or DKIM.", "aspmx.l.google.com", "policy-related", false, "google"},
	{"550-5.7.1 The IP you're using to send mail is not authorized to send email directly to our servers. Please use the SMTP relay at your service provider instead.", "aspmx.l.google.com", "reputation", true, "google"},
	{"552-5.7.0 This message was blocked because its content presents a potential security issue. Please visit https://support.google.com/mail/?p=BlockedMessage", "gmail-smtp-in.l.google.com", "virus-related", false, "google"},
	{"421-4.7.0 [192.0.2.10] Our system has detected that this message is suspicious due to the very low reputation of the sending IP address.", "gmail-smtp-in.l.google.com", "reputation", true, "google"},
	{"550-5.7.1 [192.0.2.10] Our system has detected that this message is likely suspicious due to the very low reputation of the sending domain.", "gmail-smtp-in.l.google.com", "reputation", true, "google"},
	{"452-4.5.3 Your message has too many recipients. For more information regarding Google's sending limits, visit https://support.google.com/mail/?p=TooManyRecipientsError", "gmail-smtp-in.l.google.com", "policy-related", false, "google"},
	{"421-4.7.0 TLS required for RCPT domain, closing connection.", "aspmx.l.google.com", "bad-configuration", false, "google"},
	{"552-5.3.4 Your message exceeded Google's message size limits.", "gmail-smtp-in.l.google.com", "content-related", false, "google"},
	{"550-5.7.25 The IP address sending this message does not have a PTR record setup, or the corresponding forward DNS entry does not point to the sending IP.", "gmail-smtp-in.l.google.com", "bad-configuration", false, "google"},
	{"421-4.7.0 IP not in whitelist for RCPT domain, closing connection.", "aspmx.l.google.com", "policy-related", false, "google"},
	{"553-5.1.3 The recipient address <a b@gmail.com> is not a valid RFC-5321 address.", "gmail-smtp-in.l.google.com", "bad-mailbox", false, "google"},
	{"450-4.2.1 The user you are trying to contact is receiving mail at a rate that prevents additional messages from being delivered.", "gmail-smtp-in.l.google.com", "rate-limited", false, "google"},
	{"550-5.7.1 Unauthenticated email from example.com is not accepted due to domain's DMARC policy.", "gmail-smtp-in.l.google.com", "policy-related", false, "google"},
	{"421-4.3.0 Temporary System Problem. Try again later (10).", "gmail-smtp-in.l.google.com", "other", false, "google"},
	{"550 5.4.5 Daily user sending limit exceeded.", "smtp-relay.gmail.com", "rate-limited", false, "google"},
	// Microsoft (Outlook.com postmaster, Exchange Online NDR reference).
	{"550 5.7.1 Unfortunately, messages from [192.0.2.10] weren't sent. Please contact your Internet service provider since part of their network is on our block list (S3150). You can also refer your provider to http://mail.live.com/mail/troubleshooting.aspx#errors.", "outlook-com.olc.protection.outlook.com", "blocklisted", true, "microsoft"},
	{"550 5.7.1 Unfortunately, messages from [192.0.2.10] weren't sent. Please contact your Internet service provider since part of their network is on our block list (S3140).", "hotmail-com.olc.protection.outlook.com", "blocklisted", true, "microsoft"},
	{"451 4.7.650 The mail server [192.0.2.10] has been temporarily rate limited due to IP reputation. For e-mail delivery information, see https://postmaster.live.com (S775)", "outlook-com.olc.protection.outlook.com", "reputation", true, "microsoft"},
	{"550 5.5.0 Requested action not taken: mailbox unavailable (S2017). [AM0PR01MB1234.eurprd01.prod.exchangelabs.com]", "example-com.mail.protection.outlook.com", "bad-mailbox", false, "microsoft"},
	{"550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup", "example-com.mail.protection.outlook.com", "bad-mailbox", false, "microsoft"},
	{"550 5.4.1 Recipient address rejected: Access denied. AS(201806281) [DB5EUR01FT012.eop-EUR01.prod.protection.outlook.com]", "example-com.mail.protection.outlook.com", "bad-mailbox", false, "microsoft"},
	{"554 5.2.2 mailbox full; STOREDRV.Deliver.Exception:QuotaExceededException.MapiExceptionShutoffQuotaExceeded", "example-com.mail.protection.outlook.com", "quota-issues", false, "microsoft"},
	{"550 5.7.606 Access denied, banned sending IP [192.0.2.10]. To request removal from this list please visit https://sender.office.com/ and follow the directions.", "example-com.mail.protection.outlook.com", "blocklisted", true, "microsoft"},
	{"550 5.7.708 Service unavailable. Access denied, traffic not accepted from this IP.", "example-com.mail.protection.outlook.com", "reputation", true, "microsoft"},
	{"550 5.7.750 Service unavailable. Client blocked from sending from unregistered domains.", "example-com.mail.protection.outlook.com", "policy-related", false, "microsoft"},
	{"451 4.7.500 Server busy. Please try again later from [192.0.2.10]. (AS761)", "example-com.mail.protection.outlook.com", "rate-limited", false, "microsoft"},
	{"550 5.7.520 Access denied, Your organization does not allow external forwarding.", "example-com.mail.protection.outlook.com", "policy-related", false, "microsoft"},
	{"421 4.3.2 The maximum number of concurrent server connections has exceeded a limit, closing transmission channel", "example-com.mail.protection.outlook.com", "rate-limited", false, "microsoft"},
	{"550 5.7.511 Access denied, banned sender[192.0.2.10]. To request removal from this list please forward this message to delist@messaging.microsoft.com.", "example-com.mail.protection.outlook.com", "blocklisted", true, "microsoft"},
	{"550 5.7.57 SMTP; Client was not authenticated to send anonymous mail during MAIL FROM", "smtp.office365.com", "policy-related", false, "microsoft"},
	{"550 5.4.4 SMTPSEND.DNS.NonExistentDomain; nonexistent domain", "", "bad-domain", false, ""},
	{"554 5.4.14 Hop count exceeded - possible mail loop ATTR34", "example-com.mail.protection.outlook.com", "routing-errors", false, "microsoft"},
	{"550 5.7.1 Service unavailable; Client host [192.0.2.10] blocked using Spamhaus. To request removal from this list see https://www.spamhaus.org/query/ip/192.0.2.10 (AS3130)", "example-com.mail.protection.outlook.com", "blocklisted", true, "microsoft"},
	{"421 RP-001 (COL004-MC1F43) Unfortunately, some messages from 192.0.2.10 weren't sent. Please try again. We have limits for how many messages can be sent per hour and per day.", "mx1.hotmail.com", "reputation", true, "microsoft"},
	{"550 SC-001 (BAY004-MC1F22) Unfortunately, messages from 192.0.2.10 weren't sent. Please contact your Internet service provider. You can tell your provider that this IP address has been blocked by Outlook.com for violating policies.", "mx4.hotmail.com", "blocklisted", true, "microsoft"},
	{"550 DY-001 (SNT004-MC1F6) Unfortunately, messages from 192.0.2.10 weren't sent. Please contact your Internet service provider. You can tell them that Hotmail does not relay dynamically-assigned IP ranges.", "mx1.hotmail.com", "reputation", true, "microsoft"},
	{"550 OU-001 (SNT004-MC1F6) Unfortunately, messages from 192.0.2.10 weren't sent. Please contact your Internet service provider.", "mx1.hotmail.com", "blocklisted", true, "microsoft"},
	// Yahoo and AOL (Yahoo Sender Hub SMTP error codes).
	{"421 4.7.0 [TSS04] Messages from 192.0.2.10 temporarily deferred due to unexpected volume or user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes", "mta5.am0.yahoodns.net", "reputation", true, "yahoo"},
	{"553 5.7.1 [BL21] Connections will not be accepted from 192.0.2.10, because the ip is in Spamhaus's list; see https://postmaster.yahooinc.com/error-codes", "mta6.am0.yahoodns.net", "blocklisted", true, "yahoo"},
	{"554 5.7.9 Message not accepted for policy reasons.  See https://postmaster.yahooinc.com/error-codes", "mta7.am0.yahoodns.net", "policy-related", false, "yahoo"},
	{"552 1 Requested mail action aborted, mailbox not found", "mx-aol.mail.gm0.yahoodns.net", "bad-mailbox", false, "yahoo"},
	{"554 delivery error: dd This user doesn't have a yahoo.com account (someone@yahoo.com) [0] - mta1234.mail.gq1.yahoo.com", "mta5.am0.yahoodns.net", "bad-mailbox", false, "yahoo"},
	{"554 delivery error: dd Sorry your message to someone@yahoo.com cannot be delivered. This mailbox is disabled (554.30). - mta1234.mail.ne1.yahoo.com", "mta5.am0.yahoodns.net", "inactive-mailbox", false, "yahoo"},
	{"421 4.7.1 [TS03] All messages from 192.0.2.10 will be permanently deferred; Retrying will NOT succeed. See https://postmaster.yahooinc.com/error-codes", "mta5.am0.yahoodns.net", "reputation", true, "yahoo"},
	{"553 5.7.2 [TSS09] All messages from 192.0.2.10 will be permanently deferred; Retrying will NOT succeed. See https://postmaster.yahooinc.com/error-codes", "mta5.am0.yahoodns.net", "reputation", true, "yahoo"},
	{"550 5.7.9 This mail has been blocked because the sender is unauthenticated. Yahoo requires all senders to authenticate with either SPF or DKIM.", "mta7.am0.yahoodns.net", "policy-related", false, "yahoo"},
	{"421 Message from (192.0.2.10) temporarily deferred - 4.16.50. Please refer to http://postmaster.yahoo.com/errors/postmaster-21.html", "mx-aol.mail.gm0.yahoodns.net", "reputation", true, "yahoo"},
	{"451 Message temporarily deferred - [160]", "mta5.am0.yahoodns.net", "other", false, "yahoo"},
	// Apple iCloud (Apple's postmaster information).
	{"554 5.7.1 [CS01] Message rejected due to local policy. Please visit https://support.apple.com/en-us/HT204137", "mx01.mail.icloud.com", "policy-related", false, "apple"},
	{"550 5.7.0 Blocked - see https://ipcheck.proofpoint.com/?ip=192.0.2.10", "mx02.mail.icloud.com", "blocklisted", true, "apple"},
	{"550 5.1.1 <someone@icloud.com>: user does not exist", "mx01.mail.icloud.com", "bad-mailbox", false, "apple"},
	{"552 5.2.2 <someone@icloud.com>: user is over quota (in reply to RCPT TO command)", "mx01.mail.icloud.com", "quota-issues", false, "apple"},
	{"550 5.7.1 [HM08] Message rejected due to local policy. Please visit https://support.apple.com/en-us/HT204137", "mx01.mail.icloud.com", "policy-related", false, "apple"},
	// Block lists as any receiver words them (Postfix, Exim, Sendmail).
	{"554 5.7.1 Service unavailable; Client host [192.0.2.10] blocked using zen.spamhaus.org; https://www.spamhaus.org/query/ip/192.0.2.10", "mx.example.net", "blocklisted", true, ""},
	{"554 Service unavailable; Client host [192.0.2.10] blocked using b.barracudacentral.org; http://www.barracudanetworks.com/reputation/?pr=1&ip=192.0.2.10", "mx.example.net", "blocklisted", true, ""},
	{"550 5.7.1 Rejected: 192.0.2.10 listed at bl.spamcop.net", "mx.example.net", "blocklisted", true, ""},
	{"554 5.7.1 Your access to this mail system has been rejected due to the sending MTA's poor reputation. If you believe that this failure is in error, please contact the intended recipient via alternate means.", "mx.example.net", "reputation", true, ""},
	// Common MTA wordings.
	{"554 5.7.1 Spam message rejected", "mx.example.net", "spam-related", false, ""},
	{"550 5.7.1 Message rejected as spam by Content Filtering.", "mx.example.net", "spam-related", false, ""},
	{"554 5.7.0 Reject, id=12345-06 - INFECTED: Eicar-Test-Signature", "mx.example.net", "virus-related", false, ""},
	{"554 5.7.1 <someone@example.net>: Relay access denied", "mx.example.net", "relaying-issues", false, ""},
	{"550 5.7.1 Relaying denied", "mx.example.net", "relaying-issues", false, ""},
	{"550 5.1.2 Host unknown (Name server: example.invalid: host not found)", "mx.example.net", "bad-domain", false, ""},
	{"Host or domain name not found. Name service error for name=example.invalid type=MX: Host not found, try again", "", "bad-domain", false, ""},
	{"connect to mx.example.net[192.0.2.20]:25: Connection timed out", "mx.example.net", "no-answer-from-host", false, ""},
	{"connect to mx.example.net[192.0.2.20]:25: Connection refused", "mx.example.net", "bad-connection", false, ""},
	{"lost connection with mx.example.net[192.0.2.20] while receiving the initial server greeting", "mx.example.net", "bad-connection", false, ""},
	{"delivery temporarily suspended: connect to mx.example.net[192.0.2.20]:25: Connection refused", "mx.example.net", "bad-connection", false, ""},
	{"550 5.1.8 <bounce@example.com>: Sender address rejected: Domain not found", "mx.example.net", "invalid-sender", false, ""},
	{"553 5.1.8 <bounce@example.com>... Domain of sender address bounce@example.com does not exist", "mx.example.net", "invalid-sender", false, ""},
	{"452 4.2.2 Mailbox full", "mx.example.net", "quota-issues", false, ""},
	{"550 5.2.1 Mailbox disabled for this recipient", "mx.example.net", "inactive-mailbox", false, ""},
	{"552 5.3.4 Message size exceeds fixed maximum message size", "mx.example.net", "content-related", false, ""},
	{"500 5.5.1 Command unrecognized: \"XYZZY\"", "mx.example.net", "protocol-errors", false, ""},
	{"450 4.7.1 Client host rejected: cannot find your hostname, [192.0.2.10]", "mx.example.net", "bad-configuration", false, ""},
	{"450 4.2.0 <someone@example.net>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/help/example.net.html", "mx.example.net", "policy-related", false, ""},
	{"550 5.1.1 <someone@example.net>: Recipient address rejected: User unknown in virtual mailbox table", "mx.example.net", "bad-mailbox", false, ""},
	{"550 5.7.23 The message was rejected because of Sender Policy Framework violation", "mx.example.net", "policy-related", false, ""},
	{"421 4.7.0 Too many connections from your IP, try again later", "mx.example.net", "rate-limited", false, ""},
	{"450 4.7.1 Rate limit exceeded, try again later", "mx.example.net", "rate-limited", false, ""},
	{"550 Unrouteable address", "mx.example.net", "bad-domain", false, ""},
	{"mail for example.net loops back to myself", "", "bad-configuration", false, ""},
	// Nothing in the words: the codes decide.
	{"550 5.1.1 <someone@example.net>", "mx.example.net", "bad-mailbox", false, ""},
	{"451 4.4.7 Delivery time expired", "mx.example.net", "message-expired", false, ""},
	{"554 5.7.606", "mx.example.net", "blocklisted", true, ""},
	{"552 Requested mail action aborted", "mx.example.net", "quota-issues", false, ""},
	{"421 mx.example.net closing", "mx.example.net", "bad-connection", false, ""},
	{"599 strange", "mx.example.net", "other", false, ""},
	// Wordings of the same reasons seen across mail systems.
	{"552 Quota violation for someone@example.net", "mx.example.net", "quota-issues", false, ""},
	{"550 Requested action not taken: mailbox unavailable (user is unknown)", "mx.example.net", "bad-mailbox", false, ""},
	{"554 5.7.1 <someone@example.net>: this system is not configured to relay mail", "mx.example.net", "relaying-issues", false, ""},
	{"The recipient server did not respond", "", "no-answer-from-host", false, ""},
	{"451 4.7.1 Received too many messages from a new or untrusted IP: 192.0.2.10", "mx.example.net", "reputation", true, ""},
	{"550 5.1.0 Sender verification failed for <bounce@example.com>", "mx.example.net", "invalid-sender", false, ""},
	{"Name or service not known", "", "bad-domain", false, ""},
	{"The users mailfolder is over the allowed quota (size). (#5.2.2)", "", "quota-issues", false, ""},
	{"550 5.7.1 Message content rejected, UBE, id=01530-01-625", "mx.example.net", "spam-related", false, ""},
	{"450 User is receiving mail too quickly", "mx.example.net", "rate-limited", false, ""},
	{"451 Message temporarily deferred due to unresolvable RFC.5321 from domain", "mx.example.net", "invalid-sender", false, ""},
	{"550 Recipient user name info (info@example.net) not unique. Several matches found in Domino Directory.", "mx.example.net", "bad-mailbox", false, ""},
	{"550 Esta casilla ha expirado por falta de uso", "mx.example.net", "inactive-mailbox", false, ""},
	{"552 5.2.2 Boîte aux lettres pleine", "mx.example.net", "quota-issues", false, ""},
	{"Пользователь не найден", "", "bad-mailbox", false, ""},
	{"收件人用户不存在", "", "bad-mailbox", false, ""},
	{"域名不存在", "", "bad-domain", false, ""},
	{"550 5.4.5 Daily user sending quota exceeded.", "gmail-smtp-in.l.google.com", "rate-limited", false, "google"},
	{"550 Rejected by header based Anti-Spoofing policy", "eu-smtp-inbound-1.mimecast.com", "policy-related", false, "mimecast"},
	{"535 5.7.8 Error: authentication failed: Invalid credentials", "mx.example.net", "policy-related", false, ""},
	{"550 5.1.1 Adresse d au moins un destinataire invalide", "smtp-in.orange.fr", "bad-mailbox", false, "orange"},
	{"550 Message was not accepted -- invalid mailbox. Local mailbox someone@mail.ru is unavailable: user is terminated", "mxs.mail.ru", "inactive-mailbox", false, ""},
}

// TestExpired reads the expired phrases, '#' standing for any number.
func TestExpired(t *testing.T) {
	c := Default()
	for _, tc := range []struct {
		name, text string
		expired    bool
	}{
		{"qmail", "I'm not going to try again; this message has been in the queue too long.", true},
		{"IMail's attempts", "Delivery failed 20 attempts: someone@example.net", true},
		{"Gmail's given up deferral", "TEMP_FAILURE: Could not initiate SMTP conversation with any hosts", true},
		{"a refusal", "550 5.1.1 User unknown", false},
		{"a number alone", "Delivery failed: 20 recipients", false},
		{"empty", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := c.Expired(tc.text); got != tc.expired {
				t.Errorf("Expired(%q) = %v, want %v", tc.text, got, tc.expired)
			}
		})
	}
}

func TestClassify(t *testing.T) {
	c := Default()
	for _, r := range replies {
		got := c.Classify(r.text, "", r.host, "")
		if got.Category != r.want || got.Block != r.block || got.Provider != r.provider {
			t.Errorf("%q from %q:\n got %s block=%v provider=%q (by %s %q)\nwant %s block=%v provider=%q",
				r.text, r.host, got.Category, got.Block, got.Provider, got.By, got.Pattern, r.want, r.block, r.provider)
		}
	}
	if len(replies) < 60 {
		t.Errorf("only %d replies in the table", len(replies))
	}
}

// TestTemporaryIsNeverHard: a temporary reply says nothing lasting about
// the address, whatever its words, codes or context.
func TestTemporaryIsNeverHard(t *testing.T) {
	c := Default()
	for _, tc := range []struct {
		name, text, enhanced string
		class                byte
		context, want        string
	}{
		{"issue #12: mailbox temporarily unavailable", "450 4.2.0 mailbox temporarily unavailable, try again later", "", 0, "", "other"},
		{"Laposte inactive mailbox, 450", "450 4.2.1 <a@laposte.net>: Recipient address rejected: this mailbox is inactive and has been disabled", "", 0, "", "other"},
		{"Postfix unverified recipient", "450 4.1.1 <a@example.net>: Recipient address rejected: unverified address: host mx.example.net said: 550 5.1.1 User unknown", "", 0, "", "other"},
		{"Postfix temporary lookup failure", "451 4.3.0 <a@example.net>: Temporary lookup failure", "", 0, "", "other"},
		{"Exim temporary domain lookup", "451 Temporary local problem - please try later (unrouteable address)", "", 0, "", "other"},
		{"Gmail over quota, temporary", "452-4.2.2 The email account that you tried to reach is over quota.", "", 0, "", "quota-issues"},
		{"Greylisting stays policy", "450 4.2.0 <a@example.net>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/help/example.net.html", "", 0, "", "policy-related"},
		{"code alone, 4.1.1", "450 4.1.1 <a@example.net>", "", 0, "", "other"},
		{"basic code alone, 450", "450 Requested mail action not taken", "", 0, "", "other"},
		{"DSN status 4.0.0 with hard words", "mailbox not found", "", '4', "", "other"},
		{"hard words in the context of a delay: the code decides", "", "4.4.1", 0, "user unknown", "no-answer-from-host"},
		{"permanent keeps its hard category", "550 5.1.1 <a@example.net>: Recipient address rejected: User unknown", "", 0, "", "bad-mailbox"},
		{"permanent class from a DSN", "mailbox not found", "", '5', "", "bad-mailbox"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := c.ClassifyReply(Reply{Text: tc.text, Enhanced: tc.enhanced, Class: tc.class, Context: tc.context})
			if got.Category != tc.want {
				t.Errorf("got %s (by %s %q), want %s", got.Category, got.By, got.Pattern, tc.want)
			}
		})
	}
}

// TestReplyEvidence: an expiry beats the last deferral, the reply's words
// beat the context, the context beats the codes; each decision infers the
// status its category supports.
func TestReplyEvidence(t *testing.T) {
	c := Default()
	for _, tc := range []struct {
		name               string
		in                 Reply
		category, inferred string
		by                 Decider
	}{
		{"expired whatever the last deferral", Reply{Text: "connect to mx.example.net[192.0.2.20]:25: Connection timed out", Enhanced: "4.4.1", Expired: true}, "message-expired", "5.4.7", ByExpired},
		{"words of the reply", Reply{Text: "550 User unknown", Context: "mailbox full"}, "bad-mailbox", "5.1.1", ByText},
		{"context when the reply says nothing", Reply{Text: "550 5.0.0 rejected", Context: "The mailbox is full"}, "quota-issues", "5.2.2", ByContext},
		{"code when nothing is said", Reply{Text: "", Enhanced: "5.2.2"}, "quota-issues", "", ByEnhanced},
		{"temporary class infers a 4", Reply{Text: "452 mailbox full"}, "quota-issues", "4.2.2", ByText},
		{"T-Online block list (issue #12)", Reply{Text: "554 IP=192.0.2.10 - A problem occurred. (Ask your postmaster for help or to contact tosa@rx.t-online.de to clarify.) (BL)", Host: "mx00.t-online.de"}, "blocklisted", "5.7.1", ByText},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := c.ClassifyReply(tc.in)
			if got.Category != tc.category || got.Inferred != tc.inferred || got.By != tc.by {
				t.Errorf("got %s inferred %q by %s (%q), want %s inferred %q by %s", got.Category, got.Inferred, got.By, got.Pattern, tc.category, tc.inferred, tc.by)
			}
		})
	}
}

func TestClassifySuccessAndDomains(t *testing.T) {
	c := Default()
	for _, tc := range []struct {
		text, enhanced, host, domain, category, provider string
	}{
		{"250 2.0.0 OK 1700000000 a1si123456.42 - gsmtp", "2.0.0", "gmail-smtp-in.l.google.com", "gmail.com", "", "google"},
		{"250 ok", "", "", "yahoo.com", "", "yahoo"},
		{"connect to mx.example.net[192.0.2.20]:25: Connection timed out", "4.4.1", "", "HOTMAIL.COM", "no-answer-from-host", "microsoft"},
		{"", "5.1.1", "GMAIL-SMTP-IN.L.GOOGLE.COM.", "", "bad-mailbox", "google"},
		{"", "", "", "", "other", ""},
	} {
		got := c.Classify(tc.text, tc.enhanced, tc.host, tc.domain)
		if got.Category != tc.category || got.Provider != tc.provider {
			t.Errorf("%q %q %q %q: got %+v, want %s %s", tc.text, tc.enhanced, tc.host, tc.domain, got, tc.category, tc.provider)
		}
	}
}

func TestExtraProvidersComeFirst(t *testing.T) {
	r, err := LoadRules("")
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(r, []Provider{{Name: "inhouse", Hosts: []string{"mx.example.net"}, Domains: []string{"gmail.com"}}})
	if err != nil {
		t.Fatal(err)
	}
	if p := c.Provider("a.mx.example.net", ""); p != "inhouse" {
		t.Errorf("host: %q", p)
	}
	if p := c.Provider("", "gmail.com"); p != "inhouse" {
		t.Errorf("domain listed by both: %q, want the configured one", p)
	}
	if _, err := New(r, []Provider{{Name: "x", Hosts: []string{"bad host!"}}}); err == nil {
		t.Error("a bad host name was accepted")
	}
}

func TestCodes(t *testing.T) {
	for _, tc := range []struct{ text, enhanced, basic string }{
		{"550-5.1.1 The email account", "5.1.1", "550"},
		{"host x[1.2.3.4] said: 451 4.7.650 The mail server", "4.7.650", "451"},
		{"1.2.3.4 said 5.1.10x", "", ""},
		{"version 15.5.1.2 failed", "", ""},
		{"550 5.1.10 RESOLVER", "5.1.10", "550"},
		{"4.4.1", "4.4.1", ""},
		{"x 5.7.1", "5.7.1", ""},
		{"5500 no", "", ""},
	} {
		if got := EnhancedCode(tc.text); got != tc.enhanced {
			t.Errorf("EnhancedCode(%q) = %q, want %q", tc.text, got, tc.enhanced)
		}
		if got := BasicCode(tc.text); got != tc.basic {
			t.Errorf("BasicCode(%q) = %q, want %q", tc.text, got, tc.basic)
		}
	}
}

func TestBadRules(t *testing.T) {
	const cats = "categories: [{name: a}, {name: other}, {name: message-expired}]\n"
	path := t.TempDir() + "/good.yaml"
	if err := writeFile(path, cats+"text: [{category: a, patterns: [x]}]\n"); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadRules(path); err != nil {
		t.Fatalf("the good rules the bad ones are made from are refused: %v", err)
	}
	for name, text := range map[string]string{
		"unknown category": cats + "text: [{category: b, patterns: [x]}]\n",
		"empty pattern":    cats + "text: [{category: a, patterns: [' ']}]\n",
		"bad code":         cats + "codes: {'5.1.1': a}\n",
		"bad basic":        cats + "basic: {'55': a}\n",
		"bad status":       "categories: [{name: a, status: '5.1.1'}, {name: other}, {name: message-expired}]\n",
		"empty expired":    cats + "expired: ['']\n",
		"no fallback":      "categories: [{name: a}]\n",
		"no categories":    "text: []\n",
		"bad yaml":         "categories: [\n",
	} {
		path := t.TempDir() + "/rules.yaml"
		if err := writeFile(path, text); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadRules(path); err == nil {
			t.Errorf("%s: accepted", name)
		} else if !strings.Contains(err.Error(), path) {
			t.Errorf("%s: error does not name the file: %v", name, err)
		}
	}
}

func TestAutomatonFindsLowestPattern(t *testing.T) {
	a := newAutomaton([]string{"he", "she", "his", "hers", "usher"})
	for text, want := range map[string]int{"ushers": 0, "USHER": 0, "xyz": -1, "sh": -1, "this": 2, "she": 0, "s h e": -1, "": -1} {
		if got := a.first(text); got != want {
			t.Errorf("first(%q) = %d, want %d", text, got, want)
		}
	}
}

// FuzzClassify checks the automaton against a plain search for the first
// rule whose pattern occurs, on any text.
func FuzzClassify(f *testing.F) {
	for _, r := range replies {
		f.Add(r.text)
	}
	c := Default()
	f.Fuzz(func(t *testing.T, text string) {
		got := c.Classify(text, "", "", "")
		want := -1
		low := asciiLower(text)
		code := EnhancedCode(text)
		temporary := strings.HasPrefix(code, "4.") || code == "" && strings.HasPrefix(BasicCode(text), "4")
		for i, p := range c.patterns {
			if asciiContains(low, p) && !(temporary && c.hard[c.rules[c.ruleOf[i]].Category]) {
				want = i
				break
			}
		}
		if temporary && c.hard[got.Category] {
			t.Fatalf("%q: a temporary reply got the hard category %s", text, got.Category)
		}
		success := strings.HasPrefix(code, "2.") || code == "" && strings.HasPrefix(BasicCode(text), "2")
		if want >= 0 && (got.By != "text" || got.Pattern != c.patterns[want]) && !success {
			t.Fatalf("%q: got %+v, want pattern %q", text, got, c.patterns[want])
		}
		if got.By == "text" && want < 0 {
			t.Fatalf("%q: matched %q which is not in the text", text, got.Pattern)
		}
	})
}

// BenchmarkClassify classifies real replies of every kind (goal: 500,000
// replies per second on one core).
func BenchmarkClassify(b *testing.B) {
	c := Default()
	var bytes int64
	for _, r := range replies {
		bytes += int64(len(r.text))
	}
	b.SetBytes(bytes / int64(len(replies)))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		r := replies[i%len(replies)]
		c.Classify(r.text, "", r.host, "")
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "replies/s")
}
