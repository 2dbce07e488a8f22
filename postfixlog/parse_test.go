package postfixlog

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// want lists the fields a test expects; unset fields are not checked.
type want map[string]string

func fields(r *Record) map[string]string {
	m := map[string]string{
		"kind": r.Kind.String(), "time": r.Time.Format(time.RFC3339Nano), "host": string(r.Host),
		"program": string(r.Program), "instance": string(r.Instance), "service": string(r.Service),
		"daemon": string(r.Daemon), "pid": fmt.Sprint(r.PID), "qid": string(r.QueueID), "from": string(r.From),
		"to": string(r.To), "orig_to": string(r.OrigTo), "relay": string(r.Relay), "relay_host": string(r.RelayHost),
		"relay_ip": string(r.RelayIP), "relay_port": fmt.Sprint(r.RelayPort), "conn_use": fmt.Sprint(r.ConnUse),
		"delay": fmt.Sprint(r.Delay), "delays": fmt.Sprint(r.Delays), "dsn": string(r.DSN), "status": string(r.Status),
		"response": string(r.Response), "size": fmt.Sprint(r.Size), "nrcpt": fmt.Sprint(r.Nrcpt),
		"message_id": string(r.MessageID), "client_host": string(r.ClientHost), "client_ip": string(r.ClientIP),
		"client_port": fmt.Sprint(r.ClientPort), "sasl_method": string(r.SASLMethod), "sasl_user": string(r.SASLUser),
		"helo": string(r.Helo), "proto": string(r.Proto), "stage": string(r.Stage), "uid": string(r.UID),
		"action": string(r.Action), "header_name": string(r.HeaderName), "header_value": string(r.HeaderValue),
		"action_text": string(r.ActionText), "child": string(r.Child), "notification": string(r.NotificationKind),
		"text": string(r.Text), "relay_path": string(r.RelayPath), "queued_as": string(r.QueuedAs),
		"orig_queue_id": string(r.OrigQueueID), "orig_client": string(r.OrigClient),
	}
	return m
}

var ref = time.Date(2026, 11, 25, 23, 0, 0, 0, time.UTC)

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		line string
		want want
	}{
		// Prefixes.
		{"bsd", "Nov 25 22:51:39 mx1 postfix/qmgr[21788]: 0AE91984252: removed",
			want{"kind": "removed", "time": "2026-11-25T22:51:39Z", "host": "mx1", "program": "postfix/qmgr",
				"instance": "postfix", "daemon": "qmgr", "pid": "21788", "qid": "0AE91984252"}},
		{"bsd padded day", "Nov  5 03:04:05 mx1 postfix/qmgr[1]: 0AE91984252: removed",
			want{"time": "2026-11-05T03:04:05Z"}},
		{"bsd fraction", "Nov  5 03:04:05.250000 mx1 postfix/qmgr[1]: 0AE91984252: removed",
			want{"time": "2026-11-05T03:04:05.25Z"}},
		{"bsd last year", "Dec 31 23:59:59 mx1 postfix/qmgr[1]: 0AE91984252: removed",
			want{"time": "2025-12-31T23:59:59Z"}},
		{"rfc3339", "2026-11-25T10:00:00.123456+01:00 mail postfix-legal/smtp[99]: 4dK9Fq1MpkzB3: removed",
			want{"time": "2026-11-25T09:00:00.123456Z", "host": "mail", "instance": "postfix-legal", "daemon": "smtp",
				"qid": "4dK9Fq1MpkzB3", "kind": "unknown"}},
		{"rfc3339 Z", "2026-11-25T10:00:00Z mail postfix/qmgr[9]: ABCDEF12345: removed",
			want{"time": "2026-11-25T10:00:00Z", "kind": "removed"}},
		{"rfc3339 negative offset", "2026-11-25T10:00:00-05:30 mail postfix/qmgr[9]: ABCDEF12345: removed",
			want{"time": "2026-11-25T15:30:00Z"}},
		{"service in syslog name", "Nov 25 10:00:00 mx1 postfix/submission/smtpd[42]: 0AE91984252: client=app.example[192.0.2.7], sasl_method=PLAIN, sasl_username=billing@court.example",
			want{"kind": "smtpd-client", "instance": "postfix", "service": "submission", "daemon": "smtpd",
				"client_host": "app.example", "client_ip": "192.0.2.7", "sasl_method": "PLAIN", "sasl_user": "billing@court.example"}},
		{"other program", "Nov 25 10:00:00 mx1 dovecot[77]: imap-login: Login: user=<x>", want{"kind": "not-postfix", "program": "dovecot"}},
		{"kernel", "Nov 25 10:00:00 mx1 kernel: [12345.678] oom", want{"kind": "not-postfix"}},
		{"program lookalike", "Nov 25 10:00:00 mx1 myapp/worker[1]: 0AE91984252: removed", want{"kind": "not-postfix"}},

		// smtpd.
		{"connect", "Nov 25 10:00:00 mx1 postfix/smtpd[42]: connect from app.example[192.0.2.7]",
			want{"kind": "smtpd-connect", "client_host": "app.example", "client_ip": "192.0.2.7", "qid": ""}},
		{"client ipv6", "Nov 25 10:00:00 mx1 postfix/smtpd[42]: 0AE91984252: client=unknown[2001:db8::7]",
			want{"kind": "smtpd-client", "client_host": "unknown", "client_ip": "2001:db8::7"}},
		{"disconnect", "Nov 25 10:00:01 mx1 postfix/smtpd[42]: disconnect from app.example[192.0.2.7] ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5",
			want{"kind": "smtpd-disconnect", "client_ip": "192.0.2.7"}},
		{"lost connection", "Nov 25 10:00:01 mx1 postfix/smtpd[42]: lost connection after DATA from app.example[192.0.2.7]",
			want{"kind": "smtpd-lost", "stage": "DATA", "client_ip": "192.0.2.7"}},
		{"timeout", "Nov 25 10:00:01 mx1 postfix/smtpd[42]: timeout after END-OF-MESSAGE from app.example[192.0.2.7]",
			want{"kind": "smtpd-lost", "stage": "END-OF-MESSAGE"}},
		{"noqueue reject", "Nov 25 10:00:01 mx1 postfix/smtpd[42]: NOQUEUE: reject: RCPT from app.example[192.0.2.7]: 554 5.7.1 <x@y.example>: Relay access denied; from=<a@court.example> to=<x@y.example> proto=ESMTP helo=<app.example>",
			want{"kind": "reject", "qid": "", "action": "reject", "stage": "RCPT", "client_ip": "192.0.2.7",
				"response": "554 5.7.1 <x@y.example>: Relay access denied", "dsn": "5.7.1", "from": "a@court.example",
				"to": "x@y.example", "proto": "ESMTP", "helo": "app.example"}},
		{"queued reject", "Nov 25 10:00:01 mx1 postfix/smtpd[42]: 0AE91984252: reject: RCPT from app.example[192.0.2.7]: 450 4.1.2 <x@nx.example>: Recipient address rejected: Domain not found; from=<a@b> to=<x@nx.example> proto=ESMTP helo=<h>",
			want{"kind": "reject", "qid": "0AE91984252", "dsn": "4.1.2", "to": "x@nx.example"}},
		{"milter reject", "Nov 25 10:00:01 mx1 postfix/cleanup[43]: 0AE91984252: milter-reject: END-OF-MESSAGE from app.example[192.0.2.7]: 5.7.1 Command rejected; from=<a@b> to=<c@d> proto=ESMTP helo=<h>",
			want{"kind": "reject", "action": "milter-reject", "stage": "END-OF-MESSAGE", "response": "5.7.1 Command rejected", "to": "c@d"}},
		{"smtpd tls", "Nov 25 10:00:00 mx1 postfix/smtpd[42]: Anonymous TLS connection established from app.example[192.0.2.7]: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)",
			want{"kind": "tls", "client_ip": "192.0.2.7", "response": "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)"}},

		// postscreen.
		{"postscreen reject", "Nov 25 10:00:00 mx1 postfix/postscreen[5]: NOQUEUE: reject: RCPT from [198.51.100.9]:51234: 550 5.7.1 Service unavailable; client [198.51.100.9] blocked using zen.spamhaus.org; from=<x@y>, to=<z@w>, proto=ESMTP, helo=<bad>",
			want{"kind": "reject", "client_ip": "198.51.100.9", "client_port": "51234", "dsn": "5.7.1", "from": "x@y", "to": "z@w", "proto": "ESMTP", "helo": "bad"}},
		{"postscreen connect", "Nov 25 10:00:00 mx1 postfix/postscreen[5]: CONNECT from [198.51.100.9]:51234 to [192.0.2.1]:25",
			want{"kind": "postscreen", "client_ip": "198.51.100.9", "client_port": "51234"}},

		// pickup, cleanup, qmgr.
		{"pickup", "Nov 25 22:51:39 mx1 postfix/pickup[21787]: 0AE91984252: uid=0 from=<sender@test.example>",
			want{"kind": "pickup", "uid": "0", "from": "sender@test.example"}},
		{"message-id", "Nov 25 22:51:39 mx1 postfix/cleanup[21794]: 0AE91984252: message-id=<t1@test.example>",
			want{"kind": "message-id", "message_id": "<t1@test.example>"}},
		{"empty message-id", "Nov 25 22:51:39 mx1 postfix/cleanup[21794]: 0AE91984252: message-id=",
			want{"kind": "message-id", "message_id": ""}},
		{"resent-message-id", "Nov 25 22:51:39 mx1 postfix/cleanup[21794]: 0AE91984252: resent-message-id=<r@x>",
			want{"kind": "resent-message-id", "message_id": "<r@x>"}},
		{"milter-header-info", "Nov 25 10:00:00 mx1 postfix/cleanup[43]: 0AE91984252: milter-header-info: header X-Mailtrace-ID: 01934f6a-0000-7000-8000-0000000000ff from app.example[192.0.2.7]; from=<a@court.example> to=<p@gmail.example> proto=ESMTP helo=<app.example>",
			want{"kind": "header-check", "action": "milter-header-info", "header_name": "X-Mailtrace-ID",
				"header_value": "01934f6a-0000-7000-8000-0000000000ff", "client_ip": "192.0.2.7", "from": "a@court.example", "to": "p@gmail.example"}},
		{"milter-header-filter", "Nov 25 10:00:00 mx1 postfix/cleanup[43]: 0AE91984252: milter-header-filter: header X-Mailtrace-Pool: legal from app.example[192.0.2.7]; from=<a@b> to=<c@d> proto=ESMTP helo=<h>: smtp-legal:[127.0.0.1]:2599",
			want{"kind": "header-check", "action": "milter-header-filter", "header_name": "X-Mailtrace-Pool", "header_value": "legal",
				"action_text": "smtp-legal:[127.0.0.1]:2599", "helo": "h"}},
		{"header reject", "Nov 25 10:00:00 mx1 postfix/cleanup[43]: 0AE91984252: reject: header Subject: you won from x[1.2.3.4]; from=<a@b> to=<c@d> proto=SMTP helo=<h>: 5.7.1 message content rejected",
			want{"kind": "header-check", "action": "reject", "header_name": "Subject", "header_value": "you won", "action_text": "5.7.1 message content rejected"}},
		{"header value with from", "Nov 25 10:00:00 mx1 postfix/cleanup[43]: 0AE91984252: warning: header Subject: mail from the court from x[1.2.3.4]; from=<a@b> to=<c@d> proto=SMTP helo=<h>",
			want{"kind": "header-check", "action": "warning", "header_value": "mail from the court"}},
		{"body hold", "Nov 25 10:00:00 mx1 postfix/cleanup[43]: 0AE91984252: hold: body click here from local; from=<a@b> to=<c@d>",
			want{"kind": "header-check", "action": "hold", "header_value": "click here"}},
		{"queue active", "Nov 25 22:51:39 mx1 postfix/qmgr[21788]: 0AE91984252: from=<sender@test.example>, size=243, nrcpt=1 (queue active)",
			want{"kind": "queue-active", "from": "sender@test.example", "size": "243", "nrcpt": "1"}},
		{"bounce sender", "Nov 25 22:51:39 mx1 postfix/qmgr[21788]: 12ABF9842E2: from=<>, size=2179, nrcpt=1 (queue active)",
			want{"kind": "queue-active", "from": "", "size": "2179"}},
		{"expired", "Nov 25 22:51:39 mx1 postfix/qmgr[21788]: 0AE91984252: from=<sender@test.example>, status=expired, returned to sender",
			want{"kind": "expired", "from": "sender@test.example", "status": "expired"}},

		// Delivery.
		{"deferred", "Nov 25 22:51:39 mx1 postfix/smtp[21797]: 0AE91984252: to=<rcpt@far.example>, relay=none, delay=0.03, delays=0.02/0.01/0/0, dsn=4.4.1, status=deferred (connect to 127.0.0.1[127.0.0.1]:2599: Connection refused)",
			want{"kind": "delivery", "to": "rcpt@far.example", "relay": "none", "relay_host": "none", "delay": "0.03",
				"delays": "[0.02 0.01 0 0]", "dsn": "4.4.1", "status": "deferred", "response": "connect to 127.0.0.1[127.0.0.1]:2599: Connection refused"}},
		{"sent", "Nov 25 10:00:02 mx1 postfix-legal/smtp[51]: 0AE91984252: to=<p@gmail.example>, orig_to=<P@Gmail.example>, relay=gmail-smtp-in.l.google.com[142.250.1.27]:25, conn_use=2, delay=1.2, delays=0.1/0.01/0.3/0.79, dsn=2.0.0, status=sent (250 2.0.0 OK  1732521600 a640c23a62f3a-aa5f9d3e2f1si1234 - gsmtp)",
			want{"kind": "delivery", "instance": "postfix-legal", "to": "p@gmail.example", "orig_to": "P@Gmail.example",
				"relay_host": "gmail-smtp-in.l.google.com", "relay_ip": "142.250.1.27", "relay_port": "25", "conn_use": "2",
				"delays": "[0.1 0.01 0.3 0.79]", "status": "sent", "response": "250 2.0.0 OK  1732521600 a640c23a62f3a-aa5f9d3e2f1si1234 - gsmtp"}},
		{"bounced with parentheses", "Nov 25 10:00:02 mx1 postfix/smtp[51]: 0AE91984252: to=<x@outlook.example>, relay=x.mail.protection.outlook.com[52.101.1.1]:25, delay=0.5, delays=0/0/0.2/0.3, dsn=5.7.1, status=bounced (host x.mail.protection.outlook.com[52.101.1.1] said: 550 5.7.1 Unfortunately, messages from [203.0.113.10] weren't sent. (S3140) [AM0PR01.eurprd01.prod.outlook.com 2026-11-25T10:00:02.000Z 08DD] (in reply to MAIL FROM command))",
			want{"status": "bounced", "response": "host x.mail.protection.outlook.com[52.101.1.1] said: 550 5.7.1 Unfortunately, messages from [203.0.113.10] weren't sent. (S3140) [AM0PR01.eurprd01.prod.outlook.com 2026-11-25T10:00:02.000Z 08DD] (in reply to MAIL FROM command)"}},
		{"response with equals and quotes", "Nov 25 10:00:02 mx1 postfix/smtp[51]: 0AE91984252: to=<a@b.example>, relay=mx.b.example[192.0.2.9]:25, delay=1, delays=0/0/0/1, dsn=4.7.0, status=deferred (host mx.b.example[192.0.2.9] said: 421 4.7.0 \"try later\"; see https://x.example/?a=b&c=(d) (in reply to end of DATA command))",
			want{"response": "host mx.b.example[192.0.2.9] said: 421 4.7.0 \"try later\"; see https://x.example/?a=b&c=(d) (in reply to end of DATA command)"}},
		{"local", "Nov 25 10:00:02 mx1 postfix/local[60]: 0AE91984252: to=<root@mx1.example>, orig_to=<postmaster>, relay=local, delay=0.01, delays=0/0/0/0, dsn=2.0.0, status=sent (delivered to mailbox)",
			want{"kind": "delivery", "relay": "local", "orig_to": "postmaster", "response": "delivered to mailbox"}},
		{"lmtp", "Nov 25 10:00:02 mx1 postfix/lmtp[61]: 0AE91984252: to=<b@bounce.example>, relay=127.0.0.1[127.0.0.1]:2424, delay=0.1, delays=0/0/0/0.1, dsn=2.0.0, status=sent (250 2.0.0 Ok)",
			want{"kind": "delivery", "relay_port": "2424"}},
		{"error transport", "Nov 25 10:00:02 mx1 postfix/error[62]: 0AE91984252: to=<x@nowhere.example>, relay=none, delay=0.1, delays=0/0/0/0.1, dsn=5.0.0, status=bounced (User unknown)",
			want{"kind": "delivery", "daemon": "error", "status": "bounced", "response": "User unknown"}},
		{"cut line", "Nov 25 10:00:02 mx1 postfix/smtp[51]: 0AE91984252: to=<a@b>, relay=mx[1.2.3.4]:25, delay=1, delays=0/0/0/1, dsn=5.0.0, status=bounced (host mx[1.2.3.4] said: 550 tr",
			want{"kind": "delivery", "status": "bounced", "response": "host mx[1.2.3.4] said: 550 tr"}},
		{"host said", "Nov 25 10:00:02 mx1 postfix/smtp[51]: 0AE91984252: host mx1.b.example[192.0.2.9] said: 450 4.2.1 try again (in reply to RCPT TO command)",
			want{"kind": "delivery-note", "relay_host": "mx1.b.example", "relay_ip": "192.0.2.9", "dsn": "4.2.1"}},
		{"lost connection with", "Nov 25 10:00:02 mx1 postfix/smtp[51]: 0AE91984252: lost connection with mx1.b.example[192.0.2.9] while sending RCPT TO",
			want{"kind": "delivery-note"}},
		{"connect to", "Nov 25 22:51:39 mx1 postfix/smtp[21797]: connect to 127.0.0.1[127.0.0.1]:2599: Connection refused",
			want{"kind": "connect-to", "qid": "", "relay_ip": "127.0.0.1", "relay_port": "2599", "response": "Connection refused"}},
		{"smtp tls", "Nov 25 10:00:02 mx1 postfix-legal/smtp[51]: Untrusted TLS connection established to gmail-smtp-in.l.google.com[142.250.1.27]:25: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519",
			want{"kind": "tls", "relay_host": "gmail-smtp-in.l.google.com", "relay_port": "25", "action": "Untrusted TLS",
				"response": "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519"}},

		// bounce, postsuper, warnings.
		{"ndr", "Nov 25 22:51:39 mx1 postfix/bounce[21798]: 0AE91984252: sender non-delivery notification: 12ABF9842E2",
			want{"kind": "notification", "notification": "non-delivery", "child": "12ABF9842E2"}},
		{"delay notification", "Nov 25 22:51:39 mx1 postfix/bounce[21798]: 0AE91984252: sender delay notification: 12ABF9842E2",
			want{"notification": "delay"}},
		{"dsn success", "Nov 25 22:51:39 mx1 postfix/bounce[21798]: 0AE91984252: sender delivery status notification: 12ABF9842E2",
			want{"notification": "delivery status"}},
		{"postsuper removed", "Nov 25 10:00:00 mx1 postfix/postsuper[70]: 0AE91984252: removed", want{"kind": "removed"}},
		{"postsuper hold", "Nov 25 10:00:00 mx1 postfix/postsuper[70]: 0AE91984252: placed on hold", want{"kind": "postsuper", "action": "placed on hold"}},
		{"postsuper count", "Nov 25 10:00:00 mx1 postfix/postsuper[70]: Deleted: 3 messages", want{"kind": "other", "qid": ""}},
		{"warning", "Nov 25 10:00:00 mx1 postfix/smtpd[42]: warning: hostname x.example does not resolve to address 192.0.2.7",
			want{"kind": "warning", "text": "hostname x.example does not resolve to address 192.0.2.7"}},
		{"fatal", "Nov 25 10:00:00 mx1 postfix/master[1]: fatal: bind 0.0.0.0 port 25: Address already in use", want{"kind": "fatal"}},
		{"panic", "Nov 25 10:00:00 mx1 postfix/qmgr[1]: panic: myfree: corrupt or unallocated memory block", want{"kind": "fatal"}},
		{"statistics", "Nov 25 10:00:00 mx1 postfix/anvil[9]: statistics: max connection rate 1/60s for (smtp:192.0.2.7) at Nov 25 09:59:00",
			want{"kind": "other", "qid": ""}},
		{"master", "Nov 25 22:51:38 mx1 postfix/master[21786]: daemon started -- version 3.7.11, configuration /tmp/pf/etc", want{"kind": "other"}},

		// Broken input.
		{"empty", "", want{"kind": "unparsed"}},
		{"garbage", "\x00\xff\xfe not a log line", want{"kind": "unparsed"}},
		{"bad month", "Foo 25 22:51:39 mx1 postfix/qmgr[1]: 0AE91984252: removed", want{"kind": "unparsed"}},
		{"no program", "Nov 25 22:51:39 mx1", want{"kind": "unparsed"}},
		{"truncated tag", "Nov 25 22:51:39 mx1 postfix/qmgr[12", want{"kind": "not-postfix"}},
		{"invalid utf-8 address", "Nov 25 10:00:02 mx1 postfix/smtp[51]: 0AE91984252: to=<\xffx@b>, relay=none, delay=0, delays=0/0/0/0, dsn=5.0.0, status=bounced (x)",
			want{"to": "\xffx@b", "status": "bounced"}},
	}
	p := Parser{Reference: ref}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r Record
			p.Parse([]byte(tt.line), &r)
			got := fields(&r)
			for k, v := range tt.want {
				if _, ok := got[k]; !ok {
					t.Fatalf("test names unknown field %q", k)
				}
				if got[k] != v {
					t.Errorf("%s = %q, want %q", k, got[k], v)
				}
			}
		})
	}
}

func TestParseLocation(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no time zone database")
	}
	p := Parser{Location: berlin, Reference: ref}
	var r Record
	p.Parse([]byte("Nov 25 10:00:00 mx1 postfix/qmgr[1]: 0AE91984252: removed"), &r)
	if got := r.Time.Format(time.RFC3339); got != "2026-11-25T09:00:00Z" {
		t.Errorf("10:00 in Berlin = %s, want 09:00 UTC", got)
	}
}

func TestParseDoesNotAllocate(t *testing.T) {
	lines := [][]byte{}
	for _, l := range strings.Split(sampleLog, "\n") {
		lines = append(lines, []byte(l))
	}
	p := Parser{Reference: ref}
	var r Record
	allocs := testing.AllocsPerRun(100, func() {
		for _, l := range lines {
			p.Parse(l, &r)
		}
	})
	if allocs > 0 {
		t.Errorf("%v allocations per %d lines, want none", allocs, len(lines))
	}
}

func TestTimeDigits(t *testing.T) {
	tests := []struct {
		name, line string
		want       uint8
	}{
		{"maillog_file and BSD syslog", "Nov 25 10:00:00 mx1 postfix/qmgr[1]: 0AE91984252: removed", 0},
		{"BSD with milliseconds", "Nov 25 10:00:00.123 mx1 postfix/qmgr[1]: 0AE91984252: removed", 3},
		{"RFC 3339 whole seconds", "2026-11-25T10:00:00+01:00 mx1 postfix/qmgr[1]: 0AE91984252: removed", 0},
		{"RFC 3339 high precision (rsyslog)", "2026-11-25T10:00:00.123456+01:00 mx1 postfix/qmgr[1]: 0AE91984252: removed", 6},
		{"RFC 3339 trailing zeros count", "2026-11-25T10:00:00.500000Z mx1 postfix/qmgr[1]: 0AE91984252: removed", 6},
		{"more digits than nanoseconds", "2026-11-25T10:00:00.1234567891234Z mx1 postfix/qmgr[1]: 0AE91984252: removed", 9},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Parser{Reference: ref}
			var r Record
			if !p.Parse([]byte(tt.line), &r) {
				t.Fatal("not parsed")
			}
			if r.TimeDigits != tt.want {
				t.Errorf("TimeDigits %d, want %d", r.TimeDigits, tt.want)
			}
		})
	}
}
