package postfixlog

// sampleLog is a realistic mix: one message accepted over SMTP with SASL
// and a milter, delivered to two receivers (one deferred then sent), one
// bounce and its notification, and the noise around them.
const sampleLog = `Nov 25 10:00:00 mx1 postfix/smtpd[42]: connect from app.example[192.0.2.7]
Nov 25 10:00:00 mx1 postfix/smtpd[42]: Anonymous TLS connection established from app.example[192.0.2.7]: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)
Nov 25 10:00:00 mx1 postfix/smtpd[42]: 4dK9Fq1MpkzB3: client=app.example[192.0.2.7], sasl_method=PLAIN, sasl_username=billing@court.example
Nov 25 10:00:00 mx1 postfix/cleanup[43]: 4dK9Fq1MpkzB3: message-id=<20261125100000.1@court.example>
Nov 25 10:00:00 mx1 postfix/cleanup[43]: 4dK9Fq1MpkzB3: milter-header-info: header X-Mailtrace-ID: 01934f6a-0000-7000-8000-0000000000ff from app.example[192.0.2.7]; from=<notices@court.example> to=<p@gmail.example> proto=ESMTP helo=<app.example>
Nov 25 10:00:00 mx1 postfix/cleanup[43]: 4dK9Fq1MpkzB3: milter-header-filter: header X-Mailtrace-Pool: legal from app.example[192.0.2.7]; from=<notices@court.example> to=<p@gmail.example> proto=ESMTP helo=<app.example>: smtp-legal:
Nov 25 10:00:00 mx1 postfix/qmgr[44]: 4dK9Fq1MpkzB3: from=<notices@court.example>, size=4321, nrcpt=2 (queue active)
Nov 25 10:00:00 mx1 postfix/smtpd[42]: disconnect from app.example[192.0.2.7] ehlo=2 starttls=1 auth=1 mail=1 rcpt=2 data=1 quit=1 commands=9
Nov 25 10:00:01 mx1 postfix-legal/smtp[51]: Untrusted TLS connection established to gmail-smtp-in.l.google.com[142.250.1.27]:25: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519
Nov 25 10:00:02 mx1 postfix-legal/smtp[51]: 4dK9Fq1MpkzB3: to=<p@gmail.example>, relay=gmail-smtp-in.l.google.com[142.250.1.27]:25, delay=1.2, delays=0.1/0.01/0.3/0.79, dsn=2.0.0, status=sent (250 2.0.0 OK  1732521600 a640c23a62f3a-aa5f9d3e2f1si1234 - gsmtp)
Nov 25 10:00:02 mx1 postfix-legal/smtp[52]: 4dK9Fq1MpkzB3: host mx1.b.example[192.0.2.9] said: 450 4.2.1 try again (in reply to RCPT TO command)
Nov 25 10:00:02 mx1 postfix-legal/smtp[52]: 4dK9Fq1MpkzB3: to=<q@b.example>, relay=mx2.b.example[192.0.2.10]:25, delay=1.5, delays=0.1/0.01/1/0.4, dsn=4.7.0, status=deferred (host mx2.b.example[192.0.2.10] said: 421 4.7.0 [TSS04] Messages from 203.0.113.10 temporarily deferred due to unexpected volume or user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes (in reply to MAIL FROM command))
Nov 25 10:10:02 mx1 postfix-legal/smtp[52]: 4dK9Fq1MpkzB3: to=<q@b.example>, relay=mx2.b.example[192.0.2.10]:25, delay=601, delays=600/0.01/0.3/0.7, dsn=2.0.0, status=sent (250 ok dirdel)
Nov 25 10:10:02 mx1 postfix/qmgr[44]: 4dK9Fq1MpkzB3: removed
Nov 25 10:11:00 mx1 postfix/pickup[45]: 4dK9Fq2NrtzC5: uid=0 from=<root>
Nov 25 10:11:00 mx1 postfix/cleanup[43]: 4dK9Fq2NrtzC5: message-id=<20261125101100.4dK9Fq2NrtzC5@mx1.court.example>
Nov 25 10:11:00 mx1 postfix/qmgr[44]: 4dK9Fq2NrtzC5: from=<root@court.example>, size=512, nrcpt=1 (queue active)
Nov 25 10:11:01 mx1 postfix/smtp[53]: connect to mx.nowhere.example[198.51.100.1]:25: Connection refused
Nov 25 10:11:01 mx1 postfix/smtp[53]: 4dK9Fq2NrtzC5: to=<x@nowhere.example>, relay=mx.nowhere.example[198.51.100.1]:25, delay=0.5, delays=0/0/0.2/0.3, dsn=5.1.1, status=bounced (host mx.nowhere.example[198.51.100.1] said: 550 5.1.1 <x@nowhere.example>: Recipient address rejected: User unknown in virtual mailbox table (in reply to RCPT TO command))
Nov 25 10:11:01 mx1 postfix/cleanup[43]: 4dK9Fq3PwxzD7: message-id=<20261125101101.4dK9Fq3PwxzD7@mx1.court.example>
Nov 25 10:11:01 mx1 postfix/bounce[54]: 4dK9Fq2NrtzC5: sender non-delivery notification: 4dK9Fq3PwxzD7
Nov 25 10:11:01 mx1 postfix/qmgr[44]: 4dK9Fq3PwxzD7: from=<>, size=2400, nrcpt=1 (queue active)
Nov 25 10:11:01 mx1 postfix/qmgr[44]: 4dK9Fq2NrtzC5: removed
Nov 25 10:11:01 mx1 postfix/local[55]: 4dK9Fq3PwxzD7: to=<root@court.example>, relay=local, delay=0.01, delays=0/0/0/0, dsn=2.0.0, status=sent (delivered to mailbox)
Nov 25 10:11:01 mx1 postfix/qmgr[44]: 4dK9Fq3PwxzD7: removed
Nov 25 10:12:00 mx1 postfix/smtpd[42]: NOQUEUE: reject: RCPT from unknown[198.51.100.66]: 554 5.7.1 <x@y.example>: Relay access denied; from=<spam@y.example> to=<x@y.example> proto=ESMTP helo=<spammer>
Nov 25 10:12:00 mx1 postfix/anvil[9]: statistics: max connection rate 1/60s for (smtp:192.0.2.7) at Nov 25 09:59:00
Nov 25 10:12:00 mx1 dovecot[77]: imap-login: Login: user=<x>, method=PLAIN
Nov 25 10:12:00 mx1 postfix/smtpd[42]: warning: hostname x.example does not resolve to address 198.51.100.66`
