package postfixlog

import (
	"bytes"
	"testing"
)

// BenchmarkParse parses the realistic sample mix, line by line.
func BenchmarkParse(b *testing.B) {
	lines := bytes.Split([]byte(sampleLog), []byte("\n"))
	size := 0
	for _, l := range lines {
		size += len(l) + 1
	}
	p := Parser{Reference: ref}
	var r Record
	b.SetBytes(int64(size))
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		for _, l := range lines {
			p.Parse(l, &r)
		}
		n += len(lines)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "lines/s")
}

func FuzzParse(f *testing.F) {
	for _, l := range bytes.Split([]byte(sampleLog), []byte("\n")) {
		f.Add(l)
	}
	f.Add([]byte("2026-11-25T10:00:00.123456+01:00 h postfix/smtp[1]: ABC123DEF: to=<"))
	f.Add([]byte("Nov 25 10:00:00 h postfix/cleanup[1]: ABC123DEF: reject: header ; from=<"))
	for _, l := range shapeSeeds {
		f.Add([]byte(l))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		p := Parser{Reference: ref}
		var r Record
		p.Parse(line, &r)
		// Every field points into the line.
		for _, f := range [][]byte{r.Host, r.Program, r.QueueID, r.To, r.From, r.Response, r.HeaderValue, r.Child, r.ActionText} {
			if len(f) > len(line) {
				t.Fatalf("field longer than the line")
			}
		}
	})
}

// shapeSeeds are line shapes that real logs have and parsers get wrong.
var shapeSeeds = []string{
	"Mar 7 02:09:33 mx1 postfix/qmgr[1]: CACACACACACA: removed",
	"Nov 25 10:00:02 mx1 postfix/smtp[51]: bxJjlPdcwMzQVQVH: to=<\"a b\"@x>, relay=127.0.0.1[127.0.0.1]:10024, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 2.0.0 from MTA(smtp:[127.0.0.1]:10025): 250 2.0.0 Ok: queued as 3F2A81C0B2)",
	"Nov 25 10:00:01 mx1 postfix/smtpd[42]: NOQUEUE: reject: VRFY from unknown[198.51.100.3]: 454 4.7.1 <a@b>: Relay access denied; to=<a@b> proto=SMTP helo=<me>",
	"Nov 25 10:00:01 mx1 postfix/smtpd[42]: NOQUEUE: reject_warning: RCPT from a[192.0.2.7]: 450 4.1.8 <a@nx>: Sender address rejected; from=<a@nx> to=<c@d> proto=ESMTP helo=<a; to=<x>>",
	"Nov 25 10:00:02 mx1 postfix/lmtp[61]: 0AE91984252: to=user@mx1, orig_to=root@localhost, relay=mx1[private/dovecot-lmtp], delay=0.1, delays=0/0/0/0.1, dsn=2.0.0, status=sent (250 ok)",
	"Nov 25 10:00:01 mx1 postfix/qmgr[44]: 0AE91984252: from=<n@c>, status=force-expired, returned to sender",
	"Nov 25 10:00:02 mx1 postfix/pickup[45]: 3F2A81C0B2: uid=0 from=<n@c> orig_id=0AE91984252",
	"2026-11-25T10:00:00+0100 mx1 postfix/smtpd[70]: 3F2A81C0B2: client=a[192.0.2.7], orig_queue_id=0AE91984252, orig_client=a[192.0.2.7]",
}

// FuzzQueueIDLen: what QueueIDLen accepts is a word of Postfix's queue ID
// characters, within its bounds, in one of its two formats.
func FuzzQueueIDLen(f *testing.F) {
	for _, s := range []string{"0AE91984252: x", "bxJjlPdcwMzQVQVH: x", "statistics:", "4dK9Fq1MpkzzB3", "NOQUEUE:"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		n := QueueIDLen(b)
		if n == 0 {
			return
		}
		if n < 6 || n > maxQueueID || n > len(b) {
			t.Fatalf("length %d of %q", n, b)
		}
		if n < len(b) && qidClass[b[n]]&classAlnum != 0 {
			t.Fatalf("%q: the ID stops inside a word", b)
		}
		id := b[:n]
		hex, long := true, true
		for _, c := range id {
			hex = hex && qidClass[c]&classHex != 0
			long = long && qidClass[c]&classLong != 0
		}
		if !hex && !(long && bytes.LastIndexByte(id, 'z') >= 10 && id[n-1] != 'z') {
			t.Fatalf("%q is in neither format", id)
		}
	})
}
