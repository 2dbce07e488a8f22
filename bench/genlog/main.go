// Command genlog writes a large, realistic Postfix log for benchmarks: a
// stream of messages submitted over SMTP with mailtrace's milter, as a
// current deployment logs it. Each message has one to three recipients;
// classes with VERP carry a signed return path naming their pool
// (mt-POOL-TOKEN@bounce-domain) and leave through its transport (syslog
// name postfix-POOL), the class without VERP keeps the application's
// sender and leaves through Postfix's own routing (postfix/smtp). The
// milter's X-Mailtrace-ID header is logged by an INFO header check. The
// usual mix of deliveries, deferrals (retried later), bounces with their
// notifications (to the bounce intake over LMTP for VERP mail),
// rejections and noise from other programs.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"time"

	"github.com/mailtrace/mailtrace/traceid"
	"github.com/mailtrace/mailtrace/verp"
)

// bounceDomain is the VERP bounce domain, delivered to the intake over LMTP.
const bounceDomain = "bounces.court.example"

func main() {
	lines := flag.Int("lines", 1_000_000, "about how many lines to write")
	seed := flag.Uint64("seed", 1, "random seed (same seed, same log)")
	flag.Parse()
	w := bufio.NewWriterSize(os.Stdout, 1<<20)
	defer w.Flush()
	signer, err := verp.New("mt", bounceDomain, []verp.Key{{ID: 1, Secret: []byte("genlog's fixed secret, for benchmarks only")}})
	if err != nil {
		fmt.Fprintln(os.Stderr, "genlog:", err)
		os.Exit(1)
	}
	g := &gen{w: w, rnd: rand.New(rand.NewPCG(*seed, 7)), t: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), verp: signer}
	for g.n < *lines {
		g.message()
	}
}

type gen struct {
	w       *bufio.Writer
	rnd     *rand.Rand
	verp    *verp.Signer
	t       time.Time
	n       int
	seq     int
	pending []deferred
}

type deferred struct {
	at       time.Time
	qid, rcp string
	service  string // syslog name of the transport
	mx       string
	last     bool
}

var (
	// classes as deploy/mailtrace.yaml has them: pool "" leaves through
	// Postfix's own routing.
	classes = []struct {
		name, pool string
		verp       bool
	}{{"legal", "legal", true}, {"collections", "collections", true}, {"transactional", "", false}, {"marketing", "bulk", true}}
	providers = []struct{ domain, mx, ip, ok string }{
		{"gmail.com", "gmail-smtp-in.l.google.com", "142.250.102.27", "250 2.0.0 OK  1741000000 a640c23a62f3a-ab1234567si1234567 - gsmtp"},
		{"outlook.com", "outlook-com.olc.protection.outlook.com", "52.101.68.12", "250 2.6.0 <%s@mx1.court.example> [InternalId=1234567890, Hostname=AM0PR01MB1234.eurprd01.prod.exchangelabs.com] 45678 bytes in 0.123, 362.1 KB/sec Queued mail for delivery"},
		{"yahoo.com", "mta7.am0.yahoodns.net", "67.195.204.72", "250 ok dirdel"},
		{"web.de", "mx-ha03.web.de", "212.227.17.8", "250 Requested mail action okay, completed: id=1MqJyX-1abcde0fgh-00ijkl"},
		{"example-corp.de", "mail.example-corp.de", "198.51.100.25", "250 2.0.0 Ok: queued as 4Z8x9Y1abcz"},
	}
)

func (g *gen) line(format string, args ...any) {
	fmt.Fprintf(g.w, "%s mx1 ", g.t.Format(time.Stamp))
	fmt.Fprintf(g.w, format, args...)
	g.w.WriteByte('\n')
	g.n++
}

func (g *gen) qid() string {
	g.seq++
	return fmt.Sprintf("%X%05X", 0x4A0+g.seq%4096, g.seq)
}

func (g *gen) message() {
	g.t = g.t.Add(time.Duration(50+g.rnd.IntN(200)) * time.Millisecond)
	g.retries()
	pid := 1000 + g.rnd.IntN(30000)
	class := classes[g.rnd.IntN(len(classes))]
	client := fmt.Sprintf("app%d.court.example[10.1.%d.%d]", g.rnd.IntN(4), g.rnd.IntN(4), 10+g.rnd.IntN(20))
	if g.rnd.IntN(50) == 0 {
		g.line("postfix/smtpd[%d]: NOQUEUE: reject: RCPT from unknown[198.51.100.%d]: 554 5.7.1 <x%d@relay.example>: Relay access denied; from=<spam@bulk.example> to=<x%d@relay.example> proto=ESMTP helo=<bulk>", pid, g.rnd.IntN(250), g.seq, g.seq)
		return
	}
	q := g.qid()
	nrcpt := 1 + g.rnd.IntN(3)
	g.line("postfix/smtpd[%d]: connect from %s", pid, client)
	g.line("postfix/smtpd[%d]: %s: client=%s, sasl_method=PLAIN, sasl_username=%s@court.example", pid, q, client, class.name)
	g.line("postfix/cleanup[%d]: %s: message-id=<%d.%s@court.example>", pid+1, q, g.seq, q)
	id, ok := traceid.Parse(fmt.Sprintf("0195%04x-%04x-7%03x-8%03x-%012x", g.seq>>16&0xffff, g.seq&0xffff, g.rnd.IntN(4096), g.rnd.IntN(4096), g.rnd.Uint64()&0xffffffffffff))
	if !ok {
		panic("genlog: not a trace ID") // the format above makes version 7 IDs
	}
	sender, service := "notices@court.example", "postfix/smtp"
	if class.verp {
		sender, service = g.verp.PoolAddress(id, class.pool), "postfix-"+class.pool+"/smtp"
	}
	g.line("postfix/cleanup[%d]: %s: milter-header-info: header X-Mailtrace-ID: %s from %s; from=<%s> to=<r@x> proto=ESMTP helo=<app>", pid+1, q, id, client, sender)
	g.line("postfix/qmgr[999]: %s: from=<%s>, size=%d, nrcpt=%d (queue active)", q, sender, 2000+g.rnd.IntN(60000), nrcpt)
	g.line("postfix/smtpd[%d]: disconnect from %s ehlo=2 starttls=1 auth=1 mail=1 rcpt=%d data=1 quit=1 commands=%d", pid, client, nrcpt, 7+nrcpt)
	open := 0
	for i := 0; i < nrcpt; i++ {
		p := providers[g.rnd.IntN(len(providers))]
		rcpt := fmt.Sprintf("person%d.%d@%s", g.seq, i, p.domain)
		spid := 2000 + g.rnd.IntN(30000)
		g.line("%s[%d]: Untrusted TLS connection established to %s[%s]:25: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256", service, spid, p.mx, p.ip)
		switch r := g.rnd.IntN(100); {
		case r < 85:
			ok := p.ok
			if p.domain == "outlook.com" {
				ok = fmt.Sprintf(ok, q)
			}
			g.line("%s[%d]: %s: to=<%s>, relay=%s[%s]:25, delay=%.2f, delays=0.01/0/0.%d/0.%d, dsn=2.0.0, status=sent (%s)", service, spid, q, rcpt, p.mx, p.ip, 0.5+g.rnd.Float64(), g.rnd.IntN(9), g.rnd.IntN(9), ok)
		case r < 95:
			g.line("%s[%d]: %s: to=<%s>, relay=%s[%s]:25, delay=%.1f, delays=0.01/0/0.3/0.2, dsn=4.7.0, status=deferred (host %s[%s] said: 421 4.7.0 [TSS04] Messages from 203.0.113.1%d temporarily deferred due to unexpected volume or user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes (in reply to MAIL FROM command))", service, spid, q, rcpt, p.mx, p.ip, 1+g.rnd.Float64(), p.mx, p.ip, g.rnd.IntN(4))
			g.pending = append(g.pending, deferred{at: g.t.Add(10 * time.Minute), qid: q, rcp: rcpt, service: service, mx: p.mx + "[" + p.ip + "]"})
			open++
		default:
			g.line("%s[%d]: %s: to=<%s>, relay=%s[%s]:25, delay=0.8, delays=0.01/0/0.4/0.4, dsn=5.1.1, status=bounced (host %s[%s] said: 550 5.1.1 The email account that you tried to reach does not exist. Please try double-checking the recipient's email address for typos or unnecessary spaces. For more information, go to https://support.google.com/mail/?p=NoSuchUser (in reply to RCPT TO command))", service, spid, q, rcpt, p.mx, p.ip, p.mx, p.ip)
			n := g.qid()
			g.line("postfix/cleanup[%d]: %s: message-id=<%s.%s@mx1.court.example>", pid+1, n, g.t.Format("20060102150405"), n)
			g.line("postfix/bounce[%d]: %s: sender non-delivery notification: %s", 500+g.rnd.IntN(100), q, n)
			g.line("postfix/qmgr[999]: %s: from=<>, size=%d, nrcpt=1 (queue active)", n, 3000+g.rnd.IntN(5000))
			if class.verp {
				// the notification goes to the VERP address: the bounce intake
				g.line("postfix/lmtp[%d]: %s: to=<%s>, relay=127.0.0.1[127.0.0.1]:8026, delay=0.1, delays=0/0/0/0.1, dsn=2.0.0, status=sent (250 2.0.0 Ok: stored)", spid, n, sender)
			} else {
				g.line("postfix/smtp[%d]: %s: to=<notices@court.example>, relay=mail.court.example[10.0.0.5]:25, delay=0.1, delays=0/0/0/0.1, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued)", spid, n)
			}
			g.line("postfix/qmgr[999]: %s: removed", n)
		}
	}
	if open == 0 {
		g.line("postfix/qmgr[999]: %s: removed", q)
	} else {
		g.pending[len(g.pending)-1].last = true
	}
	if g.rnd.IntN(20) == 0 {
		g.line("dovecot[77]: imap-login: Login: user=<clerk%d>, method=PLAIN, rip=10.1.0.9", g.rnd.IntN(50))
	}
}

// retries delivers deferred recipients whose time has come.
func (g *gen) retries() {
	for len(g.pending) > 0 && !g.pending[0].at.After(g.t) {
		d := g.pending[0]
		g.pending = g.pending[1:]
		g.line("%s[%d]: %s: to=<%s>, relay=%s:25, delay=601, delays=600/0.01/0.3/0.2, dsn=2.0.0, status=sent (250 ok dirdel)", d.service, 3000+g.rnd.IntN(20000), d.qid, d.rcp, d.mx)
		if d.last {
			g.line("postfix/qmgr[999]: %s: removed", d.qid)
		}
	}
}
