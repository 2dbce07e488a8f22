package postfixlog

import "testing"

// TestParseShapes holds line shapes that real Postfix logs have and that
// parsers get wrong, each written from the format string of the daemon
// that logs it (smtpd_check.c log_whatsup, cleanup's action log, qmgr,
// pickup, the delivery agents' status line) and from postconf(5).
func TestParseShapes(t *testing.T) {
	tests := []struct {
		name string
		line string
		want want
	}{
		// Queue IDs: short ones are uppercase hex, so all letters occur;
		// long ones (enable_long_queue_ids) are base 52 with a z before
		// the inode number.
		{"short id all letters", "Nov 25 10:00:02 mx1 postfix/smtp[51]: CACACACACACA: to=<a@b.example>, relay=mx[192.0.2.9]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 ok)",
			want{"kind": "delivery", "qid": "CACACACACACA", "to": "a@b.example"}},
		{"long id", "Nov 25 10:00:02 mx1 postfix/smtp[51]: bxJjlPdcwMzQVQVH: to=<a@b.example>, relay=mx[192.0.2.9]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 ok)",
			want{"kind": "delivery", "qid": "bxJjlPdcwMzQVQVH"}},
		{"long id qmgr", "2026-11-25T10:00:00.123456+00:00 mx1 postfix/qmgr[44]: 4dK9Fq1MpkzB3: from=<n@court.example>, size=4321, nrcpt=3 (queue active)",
			want{"kind": "queue-active", "qid": "4dK9Fq1MpkzB3", "nrcpt": "3"}},
		{"lowercase hex is no short id", "Nov 25 10:00:00 mx1 postfix/qmgr[1]: deadbeef12: removed", want{"kind": "other", "qid": ""}},
		{"long id without z", "Nov 25 10:00:00 mx1 postfix/qmgr[1]: bxJjlPdcwMQVQVH: removed", want{"qid": ""}},
		{"long id with vowel", "Nov 25 10:00:00 mx1 postfix/qmgr[1]: bxJjlPdcwMzQVQVa: removed", want{"qid": ""}},
		{"Deleted is no id", "Nov 25 10:00:00 mx1 postfix/postsuper[70]: Deleted: 3 messages", want{"kind": "other", "qid": ""}},
		{"Requeued is no id", "Nov 25 10:00:00 mx1 postfix/postsuper[70]: Requeued: 1 message", want{"kind": "other", "qid": ""}},

		// Timestamps.
		{"bsd unpadded day", "Mar 7 02:09:33 mx1 postfix/qmgr[1]: 0AE91984252: removed",
			want{"kind": "removed", "time": "2026-03-07T02:09:33Z", "host": "mx1", "qid": "0AE91984252"}},
		{"bsd unpadded day fraction", "Mar 7 02:09:33.5 mx1 postfix/qmgr[1]: 0AE91984252: removed",
			want{"kind": "removed", "time": "2026-03-07T02:09:33.5Z"}},

		// Addresses.
		{"no angle brackets", "Nov 25 10:00:02 mx1 postfix/local[60]: 0AE91984252: to=user@mx1.example, orig_to=root@localhost, relay=local, delay=0.01, delays=0/0/0/0, dsn=2.0.0, status=sent (delivered to mailbox)",
			want{"kind": "delivery", "to": "user@mx1.example", "orig_to": "root@localhost", "relay": "local", "status": "sent"}},
		{"qmgr sender no angle brackets", "Nov 25 10:00:02 mx1 postfix/qmgr[44]: 0AE91984252: from=root@mx1.example, size=512, nrcpt=1 (queue active)",
			want{"kind": "queue-active", "from": "root@mx1.example", "size": "512"}},
		{"quoted local part", `Nov 25 10:00:02 mx1 postfix/smtp[51]: 0AE91984252: to=<"user 1234 with space"@icloud.com>, relay=mx01.mail.icloud.com[17.57.154.33]:25, delay=1, delays=0/0/0.5/0.5, dsn=2.0.0, status=sent (250 2.0.0 Ok)`,
			want{"kind": "delivery", "to": `"user 1234 with space"@icloud.com`, "relay_ip": "17.57.154.33"}},
		{"quoted local part with bracket", `Nov 25 10:00:02 mx1 postfix/smtp[51]: 0AE91984252: to=<"a>, b"@x.example>, relay=none, delay=0, delays=0/0/0/0, dsn=5.1.3, status=bounced (bad address syntax)`,
			want{"kind": "delivery", "to": `"a>, b"@x.example`, "status": "bounced"}},
		{"reject quoted recipient", `Nov 25 10:00:01 mx1 postfix/smtpd[42]: NOQUEUE: reject: RCPT from app[192.0.2.7]: 550 5.1.1 <"user 1234 with space"@icloud.com>: Recipient address rejected: User unknown; from=<a@b.example> to=<"user 1234 with space"@icloud.com> proto=ESMTP helo=<app>`,
			want{"kind": "reject", "to": `"user 1234 with space"@icloud.com`, "from": "a@b.example", "helo": "app",
				"response": `550 5.1.1 <"user 1234 with space"@icloud.com>: Recipient address rejected: User unknown`}},

		// Rejects at every stage, with and without the fields after ";".
		{"vrfy no sender", "Nov 25 10:00:01 mx1 postfix/smtpd[42]: NOQUEUE: reject: VRFY from unknown[198.51.100.3]: 454 4.7.1 <a@b>: Relay access denied; to=<a@b> proto=SMTP helo=<me>",
			want{"kind": "reject", "stage": "VRFY", "client_ip": "198.51.100.3", "to": "a@b", "from": "", "proto": "SMTP", "helo": "me",
				"response": "454 4.7.1 <a@b>: Relay access denied", "dsn": "4.7.1"}},
		{"connect no fields but proto", "Nov 25 10:00:01 mx1 postfix/smtpd[42]: NOQUEUE: reject: CONNECT from unknown[198.51.100.3]: 554 5.7.1 <unknown[198.51.100.3]>: Client host rejected: Access denied; proto=SMTP",
			want{"kind": "reject", "stage": "CONNECT", "proto": "SMTP", "to": "", "response": "554 5.7.1 <unknown[198.51.100.3]>: Client host rejected: Access denied", "dsn": "5.7.1"}},
		{"ehlo", "Nov 25 10:00:01 mx1 postfix/smtpd[42]: NOQUEUE: reject: EHLO from unknown[198.51.100.3]: 504 5.5.2 <bad>: Helo command rejected: need fully-qualified hostname; proto=ESMTP helo=<bad>",
			want{"kind": "reject", "stage": "EHLO", "helo": "bad", "response": "504 5.5.2 <bad>: Helo command rejected: need fully-qualified hostname", "dsn": "5.5.2"}},
		{"mail", "Nov 25 10:00:01 mx1 postfix/smtpd[42]: NOQUEUE: reject: MAIL from unknown[198.51.100.3]: 553 5.7.1 <x@spam.example>: Sender address rejected: not logged in; from=<x@spam.example> proto=ESMTP helo=<h>",
			want{"kind": "reject", "stage": "MAIL", "from": "x@spam.example", "to": "", "response": "553 5.7.1 <x@spam.example>: Sender address rejected: not logged in"}},
		{"data", "Nov 25 10:00:01 mx1 postfix/smtpd[42]: 0AE91984252: reject: DATA from app[192.0.2.7]: 550 5.5.3 <DATA>: Data command rejected: Multi-recipient bounce; from=<> proto=ESMTP helo=<app>",
			want{"kind": "reject", "stage": "DATA", "qid": "0AE91984252", "from": "", "response": "550 5.5.3 <DATA>: Data command rejected: Multi-recipient bounce"}},
		{"end of message", "Nov 25 10:00:01 mx1 postfix/smtpd[42]: 0AE91984252: reject: END-OF-MESSAGE from app[192.0.2.7]: 552 5.3.4 Message size exceeds fixed limit; from=<a@b> to=<c@d> proto=ESMTP helo=<app>",
			want{"kind": "reject", "stage": "END-OF-MESSAGE", "to": "c@d", "response": "552 5.3.4 Message size exceeds fixed limit", "dsn": "5.3.4"}},
		{"reply with semicolons", "Nov 25 10:00:01 mx1 postfix/smtpd[42]: NOQUEUE: reject: RCPT from unknown[198.51.100.3]: 554 5.7.1 Service unavailable; Client host [198.51.100.3] blocked using zen.spamhaus.org; https://www.spamhaus.org/query/ip/198.51.100.3; from=<x@y> to=<z@w> proto=ESMTP helo=<h>",
			want{"kind": "reject", "to": "z@w", "helo": "h",
				"response": "554 5.7.1 Service unavailable; Client host [198.51.100.3] blocked using zen.spamhaus.org; https://www.spamhaus.org/query/ip/198.51.100.3"}},
		{"hostile helo", "Nov 25 10:00:01 mx1 postfix/smtpd[42]: NOQUEUE: reject: RCPT from unknown[198.51.100.3]: 554 5.7.1 <z@w>: Relay access denied; from=<x@y> to=<z@w> proto=ESMTP helo=<a; to=<evil@x> proto=X>",
			want{"kind": "reject", "to": "z@w", "from": "x@y", "proto": "ESMTP", "helo": "a; to=<evil@x> proto=X", "response": "554 5.7.1 <z@w>: Relay access denied"}},
		{"ipv6 client", "Nov 25 10:00:01 mx1 postfix/smtpd[42]: NOQUEUE: reject: RCPT from unknown[2001:db8::25]: 450 4.7.25 Client host rejected: cannot find your hostname, [2001:db8::25]; from=<a@b> to=<c@d> proto=ESMTP helo=<h>",
			want{"kind": "reject", "client_ip": "2001:db8::25", "dsn": "4.7.25", "response": "450 4.7.25 Client host rejected: cannot find your hostname, [2001:db8::25]"}},
		{"reject_warning", "Nov 25 10:00:01 mx1 postfix/smtpd[42]: NOQUEUE: reject_warning: RCPT from app[192.0.2.7]: 450 4.1.8 <a@nx.example>: Sender address rejected: Domain not found; from=<a@nx.example> to=<c@d> proto=ESMTP helo=<app>",
			want{"kind": "policy-action", "action": "reject_warning", "to": "c@d", "dsn": "4.1.8", "response": "450 4.1.8 <a@nx.example>: Sender address rejected: Domain not found"}},
		{"queued reject_warning", "Nov 25 10:00:01 mx1 postfix/smtpd[42]: 0AE91984252: reject_warning: RCPT from app[192.0.2.7]: 554 5.7.1 <c@d>: Recipient address rejected: no; from=<a@b> to=<c@d> proto=ESMTP helo=<app>",
			want{"kind": "policy-action", "qid": "0AE91984252", "action": "reject_warning", "to": "c@d"}},
		{"smtpd filter action", "Nov 25 10:00:01 mx1 postfix/smtpd[42]: 0AE91984252: filter: RCPT from app[192.0.2.7]: <c@d>: Recipient address triggers FILTER smtp:[127.0.0.1]:10024; from=<a@b> to=<c@d> proto=ESMTP helo=<app>",
			want{"kind": "policy-action", "action": "filter", "response": "<c@d>: Recipient address triggers FILTER smtp:[127.0.0.1]:10024", "to": "c@d"}},
		{"smtpd discard action", "Nov 25 10:00:01 mx1 postfix/smtpd[42]: 0AE91984252: discard: RCPT from app[192.0.2.7]: <c@d>: Recipient address triggers DISCARD action; from=<a@b> to=<c@d> proto=ESMTP helo=<app>",
			want{"kind": "policy-action", "action": "discard", "to": "c@d"}},
		{"milter-reject smtpd", "Nov 25 10:00:01 mx1 postfix/smtpd[42]: NOQUEUE: milter-reject: RCPT from app[192.0.2.7]: 451 4.7.1 Service unavailable - try again later; from=<a@b> to=<c@d> proto=ESMTP helo=<app>",
			want{"kind": "reject", "action": "milter-reject", "dsn": "4.7.1", "response": "451 4.7.1 Service unavailable - try again later", "to": "c@d"}},
		{"milter-reject cleanup code", "Nov 25 10:00:01 mx1 postfix/cleanup[43]: 0AE91984252: milter-reject: END-OF-MESSAGE from app[192.0.2.7]: 4.7.1 Service unavailable - try again later; from=<a@b> to=<c@d> proto=ESMTP helo=<app>",
			want{"kind": "reject", "action": "milter-reject", "stage": "END-OF-MESSAGE", "dsn": "4.7.1", "response": "4.7.1 Service unavailable - try again later"}},
		{"milter-discard", "Nov 25 10:00:01 mx1 postfix/cleanup[43]: 0AE91984252: milter-discard: END-OF-MESSAGE from app[192.0.2.7]: milter triggers DISCARD action; from=<a@b> to=<c@d> proto=ESMTP helo=<app>",
			want{"kind": "policy-action", "action": "milter-discard", "response": "milter triggers DISCARD action"}},
		{"milter-hold", "Nov 25 10:00:01 mx1 postfix/cleanup[43]: 0AE91984252: milter-hold: END-OF-MESSAGE from app[192.0.2.7]: milter triggers HOLD action; from=<a@b> to=<c@d> proto=ESMTP helo=<app>",
			want{"kind": "policy-action", "action": "milter-hold"}},
		{"header check local", "Nov 25 10:00:01 mx1 postfix/cleanup[43]: 0AE91984252: reject: header Subject: win; big from local; from=<root@mx1> to=<c@d>: 5.7.1 spam",
			want{"kind": "header-check", "action": "reject", "header_name": "Subject", "header_value": "win; big", "from": "root@mx1", "to": "c@d", "action_text": "5.7.1 spam"}},
		{"header check hostile subject", "Nov 25 10:00:01 mx1 postfix/cleanup[43]: 0AE91984252: warning: header Subject: x; from=<f@k> to=<e@v>: no from app[192.0.2.7]; from=<a@b> to=<c@d> proto=ESMTP helo=<app>",
			want{"kind": "header-check", "header_value": "x; from=<f@k> to=<e@v>: no", "from": "a@b", "to": "c@d", "client_ip": "192.0.2.7"}},

		// qmgr.
		{"force-expired", "Nov 25 10:00:01 mx1 postfix/qmgr[44]: 0AE91984252: from=<n@court.example>, status=force-expired, returned to sender",
			want{"kind": "expired", "status": "force-expired", "from": "n@court.example"}},
		{"skipped", "Nov 25 10:00:01 mx1 postfix/qmgr[44]: 0AE91984252: skipped, still being delivered", want{"kind": "other"}},

		// Next hops.
		{"lmtp private socket", "Nov 25 10:00:02 mx1 postfix/lmtp[61]: 0AE91984252: to=<u@mx1.example>, relay=mx1.example[private/dovecot-lmtp], delay=0.1, delays=0/0/0/0.1, dsn=2.0.0, status=sent (250 2.0.0 <u@mx1.example> kWv4Aa1 Saved)",
			want{"kind": "delivery", "relay_host": "mx1.example", "relay_ip": "", "relay_path": "private/dovecot-lmtp", "relay_port": "0"}},
		{"lmtp absolute socket", "Nov 25 10:00:02 mx1 postfix/lmtp[61]: 0AE91984252: to=<u@mx1.example>, relay=mx1.example[/var/run/dovecot/lmtp], delay=0.1, delays=0/0/0/0.1, dsn=2.0.0, status=sent (250 2.0.0 Ok)",
			want{"kind": "delivery", "relay_ip": "", "relay_path": "/var/run/dovecot/lmtp"}},
		{"ipv6 relay", "Nov 25 10:00:02 mx1 postfix/smtp[51]: 0AE91984252: to=<a@b.example>, relay=mx.b.example[2001:db8::25]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 ok)",
			want{"relay_ip": "2001:db8::25", "relay_port": "25", "relay_path": ""}},

		// Content filters and re-injection.
		{"handoff queued as", "Nov 25 10:00:02 mx1 postfix/smtp[51]: 0AE91984252: to=<a@b.example>, relay=127.0.0.1[127.0.0.1]:10024, delay=0.3, delays=0.1/0/0/0.2, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 3F2A81C0B2)",
			want{"kind": "delivery", "queued_as": "3F2A81C0B2", "relay_port": "10024"}},
		{"amavis queued as", "Nov 25 10:00:02 mx1 postfix/smtp[51]: 0AE91984252: to=<a@b.example>, relay=127.0.0.1[127.0.0.1]:10024, delay=2.1, delays=0.1/0/0/2, dsn=2.0.0, status=sent (250 2.0.0 from MTA(smtp:[127.0.0.1]:10025): 250 2.0.0 Ok: queued as bxJjlPdcwMzQVQVH)",
			want{"queued_as": "bxJjlPdcwMzQVQVH"}},
		{"forwarded as", "Nov 25 10:00:02 mx1 postfix/local[60]: 0AE91984252: to=<root@mx1.example>, orig_to=<postmaster>, relay=local, delay=0.01, delays=0/0/0/0, dsn=2.0.0, status=sent (forwarded as 3F2A81C0B2)",
			want{"queued_as": "3F2A81C0B2"}},
		{"queued as other mta", "Nov 25 10:00:02 mx1 postfix/smtp[51]: 0AE91984252: to=<a@b.example>, relay=mx.b.example[192.0.2.9]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 OK id=1tXyZ3-000Abc-Q1)",
			want{"queued_as": ""}},
		{"deferred queued as", "Nov 25 10:00:02 mx1 postfix/smtp[51]: 0AE91984252: to=<a@b.example>, relay=x[192.0.2.9]:25, delay=1, delays=0/0/0/1, dsn=4.0.0, status=deferred (said: queued as 3F2A81C0B2)",
			want{"queued_as": ""}},
		{"xforward client", "Nov 25 10:00:02 mx1 postfix/smtpd[70]: 3F2A81C0B2: client=app.example[192.0.2.7], orig_queue_id=0AE91984252, orig_client=app.example[192.0.2.7]",
			want{"kind": "smtpd-client", "client_ip": "192.0.2.7", "orig_queue_id": "0AE91984252", "orig_client": "app.example[192.0.2.7]"}},
		{"pickup requeued", "Nov 25 10:00:02 mx1 postfix/pickup[45]: 3F2A81C0B2: uid=0 from=<n@court.example> orig_id=0AE91984252",
			want{"kind": "pickup", "from": "n@court.example", "orig_queue_id": "0AE91984252"}},
		{"instance syslog name", "Nov 25 10:00:02 mx1 postfix-out/smtpd[70]: 3F2A81C0B2: client=localhost[127.0.0.1]",
			want{"kind": "smtpd-client", "instance": "postfix-out", "daemon": "smtpd"}},

		// Lines about a message that are not understood.
		{"unknown queued", "Nov 25 10:00:02 mx1 postfix/cleanup[43]: 0AE91984252: some future line shape", want{"kind": "unknown", "qid": "0AE91984252"}},
		{"unknown noqueue", "Nov 25 10:00:02 mx1 postfix/smtpd[42]: NOQUEUE: something new: x", want{"kind": "unknown"}},
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

func TestQueueIDLen(t *testing.T) {
	tests := []struct {
		in   string
		want int
	}{
		{"0AE91984252: x", 11},
		{"CACACACACACA: x", 12},
		{"ABCDEF", 6},
		{"ABCDE", 0}, // 5 digits of microseconds and no inode
		{"bxJjlPdcwMzQVQVH: x", 16},
		{"4dK9Fq1MpkzB3", 13},
		{"4dK9Fq1Mpkz", 0},     // nothing after the z
		{"4dK9Fq1MpzB3", 0},    // 9 characters before the z
		{"4dK9Fq1MpkzzB3", 14}, // a z in the microseconds: the last one separates
		{"statistics: x", 0},
		{"warning: x", 0},
		{"Deleted: x", 0},
		{"NOQUEUE: x", 0},
		{"0AE91984252x", 0},
		{"", 0},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := QueueIDLen([]byte(tt.in)); got != tt.want {
				t.Errorf("QueueIDLen(%q) = %d, want %d", tt.in, got, tt.want)
			}
		})
	}
}

// TestParseMoreShapes: timestamps of journald and of other syslog
// templates, and the client or next hop of lines around a session.
func TestParseMoreShapes(t *testing.T) {
	tests := []struct {
		name string
		line string
		want want
	}{
		{"journalctl short-iso", "2026-11-25T10:00:00+0100 mx1 postfix/qmgr[1]: 0AE91984252: removed",
			want{"kind": "removed", "time": "2026-11-25T09:00:00Z"}},
		{"journalctl short-iso-precise", "2026-11-25T10:00:00.123456-0230 mx1 postfix/qmgr[1]: 0AE91984252: removed",
			want{"kind": "removed", "time": "2026-11-25T12:30:00.123456Z"}},
		{"date and time, no offset", "2026-11-25 10:00:00 mx1 postfix/qmgr[1]: 0AE91984252: removed",
			want{"kind": "removed", "time": "2026-11-25T10:00:00Z", "host": "mx1"}},
		{"sasl failure", "Nov 25 10:00:00 mx1 postfix/smtpd[42]: warning: unknown[198.51.100.3]: SASL LOGIN authentication failed: UGFzc3dvcmQ6",
			want{"kind": "warning", "client_ip": "198.51.100.3", "client_host": "unknown"}},
		{"warning without client", "Nov 25 10:00:00 mx1 postfix/smtpd[42]: warning: database /etc/postfix/x.db is older than source file",
			want{"kind": "warning", "client_ip": ""}},
		{"too many errors", "Nov 25 10:00:00 mx1 postfix/smtpd[42]: too many errors after RCPT from unknown[198.51.100.3]",
			want{"stage": "RCPT", "client_ip": "198.51.100.3"}},
		{"improper pipelining", "Nov 25 10:00:00 mx1 postfix/smtpd[42]: improper command pipelining after CONNECT from unknown[198.51.100.3]: EHLO x\\r\\n",
			want{"stage": "CONNECT", "client_ip": "198.51.100.3"}},
		{"ssl accept error", "Nov 25 10:00:00 mx1 postfix/smtpd[42]: SSL_accept error from unknown[198.51.100.3]: lost connection",
			want{"client_ip": "198.51.100.3"}},
		{"ssl connect error", "Nov 25 10:00:00 mx1 postfix/smtp[51]: SSL_connect error to mx.b.example[192.0.2.9]:25: -1",
			want{"relay_ip": "192.0.2.9", "relay_port": "25"}},
		{"refused to talk", "Nov 25 10:00:00 mx1 postfix/smtp[51]: 0AE91984252: host mx.b.example[192.0.2.9] refused to talk to me: 554 5.7.1 go away",
			want{"kind": "delivery-note", "relay_ip": "192.0.2.9", "response": "554 5.7.1 go away", "dsn": "5.7.1"}},
		{"conversation timed out", "Nov 25 10:00:00 mx1 postfix/smtp[51]: 0AE91984252: conversation with mx.b.example[192.0.2.9] timed out while receiving the initial server greeting",
			want{"kind": "delivery-note", "relay_host": "mx.b.example", "relay_ip": "192.0.2.9"}},
		{"lost connection while", "Nov 25 10:00:00 mx1 postfix/smtp[51]: 0AE91984252: lost connection with mx.b.example[192.0.2.9] while sending RCPT TO",
			want{"kind": "delivery-note", "relay_ip": "192.0.2.9"}},
		{"multiline reply code", "Nov 25 10:00:02 mx1 postfix/smtp[51]: 0AE91984252: host gmail-smtp-in.l.google.com[142.250.1.27] said: 550-5.1.1 The email account that you tried to reach does not exist. 550 5.1.1 https://support.google.com/mail/?p=NoSuchUser (in reply to RCPT TO command)",
			want{"kind": "delivery-note", "dsn": "5.1.1"}},
		{"discard transport", "Nov 25 10:00:02 mx1 postfix/discard[63]: 0AE91984252: to=<x@sink.example>, relay=none, delay=0.01, delays=0/0/0/0, dsn=2.0.0, status=sent (sink.example)",
			want{"kind": "delivery", "daemon": "discard", "status": "sent"}},
		{"pipe", "Nov 25 10:00:02 mx1 postfix/pipe[64]: 0AE91984252: to=<u@mx1.example>, relay=dovecot, delay=0.1, delays=0/0/0/0.1, dsn=2.0.0, status=sent (delivered via dovecot service)",
			want{"kind": "delivery", "relay": "dovecot", "response": "delivered via dovecot service"}},
		{"virtual", "Nov 25 10:00:02 mx1 postfix/virtual[65]: 0AE91984252: to=<u@v.example>, relay=virtual, delay=0.1, delays=0/0/0/0.1, dsn=2.0.0, status=sent (delivered to maildir)",
			want{"kind": "delivery", "relay": "virtual", "status": "sent"}},
		{"verify probe", "Nov 25 10:00:02 mx1 postfix/smtp[51]: 0AE91984252: to=<u@b.example>, relay=mx.b.example[192.0.2.9]:25, delay=1, delays=0/0/0.5/0.5, dsn=2.1.5, status=deliverable (250 2.1.5 Ok)",
			want{"kind": "delivery", "status": "deliverable"}},
		{"qmgr suspended", "Nov 25 10:00:02 mx1 postfix/qmgr[44]: 0AE91984252: to=<u@b.example>, relay=none, delay=300, delays=300/0/0/0, dsn=4.3.0, status=deferred (delivery temporarily suspended: connect to mx.b.example[192.0.2.9]:25: Connection timed out)",
			want{"kind": "delivery", "status": "deferred", "dsn": "4.3.0"}},
		{"bdat reject", "Nov 25 10:00:01 mx1 postfix/smtpd[42]: 0AE91984252: reject: BDAT from app[192.0.2.7]: 552 5.3.4 Message size exceeds fixed limit; from=<a@b> to=<c@d> proto=ESMTP helo=<app>",
			want{"kind": "reject", "stage": "BDAT", "to": "c@d", "dsn": "5.3.4"}},
		{"postmaster notification", "Nov 25 10:00:02 mx1 postfix/bounce[54]: 0AE91984252: postmaster non-delivery notification: 3F2A81C0B2",
			want{"kind": "notification", "notification": "non-delivery", "child": "3F2A81C0B2"}},
		{"smtpd client port", "Nov 25 10:00:00 mx1 postfix/smtpd[42]: connect from app.example[192.0.2.7]:51234",
			want{"kind": "smtpd-connect", "client_ip": "192.0.2.7", "client_port": "51234"}},
	}
	p := Parser{Reference: ref}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r Record
			p.Parse([]byte(tt.line), &r)
			got := fields(&r)
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("%s = %q, want %q", k, got[k], v)
				}
			}
		})
	}
}
