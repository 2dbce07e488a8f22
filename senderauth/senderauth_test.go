package senderauth

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mailtrace/mailtrace/pool"
	"github.com/mailtrace/mailtrace/postfixconf"
	"github.com/mailtrace/mailtrace/resolver"
	"github.com/mailtrace/mailtrace/resolver/dnstest"
)

// zoneRecord writes a TXT record for dnstest from zoneTXT's form.
func zoneRecord(name, text string) string {
	return strings.Replace(zoneTXT(name, text), " IN TXT ", " 300 IN TXT ", 1)
}

func writeKey(t *testing.T, dir, name string, k crypto.Signer) string {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name+".key")
	os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
	return path
}

func rsaKey(t *testing.T, bits int) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// postfixDir writes a Postfix configuration directory for `postconf -c`.
func postfixDir(t *testing.T, main, master string) *postfixconf.Postconf {
	t.Helper()
	if _, err := exec.LookPath("postconf"); err != nil {
		t.Skip("postconf is not installed (make setup installs Debian's postfix package)")
	}
	dir := t.TempDir()
	stock, err := os.ReadFile("/usr/share/postfix/master.cf.dist")
	if err != nil {
		t.Skip("no stock master.cf")
	}
	os.WriteFile(filepath.Join(dir, "main.cf"), []byte("compatibility_level = 3.6\n"+main), 0o644)
	os.WriteFile(filepath.Join(dir, "master.cf"), append(stock, master...), 0o644)
	pc, err := postfixconf.Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	return pc
}

type fixture struct {
	setup Setup
	res   *resolver.Resolver
	dns   *dnstest.Server
}

func newFixture(t *testing.T) fixture {
	dir := t.TempDir()
	k2048, k1024, kOld, kWrong := rsaKey(t, 2048), rsaKey(t, 1024), rsaKey(t, 2048), rsaKey(t, 2048)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	srv := dnstest.Start(t,
		// example.com: SPF for the legal pool through an include; DMARC with reports to another domain.
		zoneRecord("example.com", "v=spf1 ip4:203.0.113.10 include:_spf.example.com -all"),
		zoneRecord("_spf.example.com", "v=spf1 ip4:203.0.113.12 -all"),
		zoneRecord("_dmarc.example.com", "v=DMARC1; p=none; rua=mailto:dmarc@reports.example.net"),
		// the VERP bounce domain allows legal only
		zoneRecord("bounces.example.com", "v=spf1 ip4:203.0.113.10 -all"),
		// too many lookups
		zoneRecord("many.example.net", "v=spf1 "+strings.Repeat("include:_spf.example.com ", 11)+"-all"),
		// pools' reverse DNS
		"10.113.0.203.in-addr.arpa. 300 IN PTR legal.mail.example.com.",
		"legal.mail.example.com. 300 IN A 203.0.113.10",
		zoneRecord("legal.mail.example.com", "v=spf1 a -all"),
		"11.113.0.203.in-addr.arpa. 300 IN PTR host11.provider.example.",
		// DKIM keys
		zoneRecord("s2048._domainkey.example.com", dkimRecord(k2048.Public())),
		zoneRecord("s1024._domainkey.example.com", dkimRecord(k1024.Public())),
		zoneRecord("old._domainkey.example.com", dkimRecord(kWrong.Public())),
		zoneRecord("ed._domainkey.example.com", dkimRecord(ed.Public())),
		zoneRecord("gone._domainkey.example.com", "v=DKIM1; k=rsa; p="),
		// TLS reporting
		zoneRecord("_smtp._tls.example.com", "v=TLSRPTv1; rua=mailto:tls@example.com"),
	)
	os.WriteFile(filepath.Join(dir, "KeyTable"), []byte("# OpenDKIM\ns2048-key example.com:s2048:"+writeKey(t, dir, "s2048", k2048)+"\nunused other.example:x:/nowhere\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "SigningTable"), []byte("*@example.com s2048-key\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "dkim_signing.conf"), []byte(`# rspamd
allow_username_mismatch = true;
domain {
  example.com {
    selectors [
      { path = "`+writeKey(t, dir, "s1024", k1024)+`"; selector = "s1024"; },
      { path: "`+writeKey(t, dir, "gone", kOld)+`", selector: "gone" }
    ]
  }
}
`), 0o644)
	os.WriteFile(filepath.Join(dir, "dkimpy-milter.conf"), []byte("Domain example.com\nSelector old\nKeyFile "+writeKey(t, dir, "old", kOld)+"\n"), 0o644)
	res, err := resolver.New(srv.Address, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	pc := postfixDir(t, "inet_protocols = all\n", `
smtp-legal unix - - n - - smtp
  -o smtp_bind_address=203.0.113.10
  -o smtp_helo_name=legal.mail.example.com
  -o smtp_tls_security_level=may
  -o inet_protocols=ipv4
smtp-collections unix - - n - - smtp
  -o smtp_bind_address=203.0.113.11
  -o smtp_helo_name=collections.mail.example.com
`)
	return fixture{res: res, dns: srv, setup: Setup{
		Classes: []Class{
			{Name: "legal", Pool: "legal", VERP: true, FromDomain: "example.com"},
			{Name: "collections", Pool: "collections", VERP: true, FromDomain: "example.com"},
			// Without VERP neither leaves through pool legal: Postfix's own
			// routing, from an address this Postfix config does not state.
			{Name: "transactional", Pool: "legal", FromDomain: "example.com", EnvelopeDomain: "many.example.net"},
			{Name: "marketing", Pool: "legal", FromDomain: "news.example.org", Bulk: true},
		},
		Pools: []pool.Pool{{Name: "legal", SourceIP: "203.0.113.10", HeloName: "legal.mail.example.com"},
			{Name: "collections", SourceIP: "203.0.113.11", HeloName: "collections.mail.example.com"}},
		BounceDomain:    "bounces.example.com",
		ReportAddresses: []string{"dmarc@reports.example.net"},
		DKIM: DKIMConfig{OpenDKIMKeyTable: filepath.Join(dir, "KeyTable"), OpenDKIMSigningTable: "refile:" + filepath.Join(dir, "SigningTable"),
			RspamdSigning: filepath.Join(dir, "dkim_signing.conf"), DkimpyConfig: filepath.Join(dir, "dkimpy-milter.conf"),
			Keys: []KeyConfig{{Domain: "example.com", Selector: "ed", PrivateKey: writeKey(t, dir, "ed", ed)}}},
		Postfix: pc,
	}}
}

func TestCheck(t *testing.T) {
	f := newFixture(t)
	findings := f.setup.Check(context.Background(), f.res)
	want := []struct {
		sev  postfixconf.Severity
		text string // in the message
		fix  string // in the fix, when given
	}{
		{OK, "pool legal: 203.0.113.10 has forward-confirmed reverse DNS legal.mail.example.com", ""},
		{OK, "pool legal: HELO name legal.mail.example.com matches the reverse DNS", ""},
		{OK, "pool legal: SPF for HELO legal.mail.example.com from 203.0.113.10: pass", ""},
		{OK, "pool legal: its transport uses TLS (smtp_tls_security_level = may)", ""},
		{Problem, "pool collections: 203.0.113.11's reverse name host11.provider.example does not resolve back", "host11.provider.example. IN A 203.0.113.11"},
		{Problem, "pool collections: its transport does not use TLS", "-o smtp_tls_security_level=may"},
		{Warning, "pool collections: IPv6 is enabled (inet_protocols = all) but the pool has no IPv6 source address", "-o inet_protocols=ipv4"},
		{OK, "class legal: SPF for MAIL FROM @bounces.example.com from pool legal (203.0.113.10): pass", ""},
		{Problem, "class collections: SPF for MAIL FROM @bounces.example.com from pool collections (203.0.113.11): fail", `bounces.example.com. IN TXT "v=spf1 ip4:203.0.113.10 ip4:203.0.113.11 -all"`},
		{OK, "SPF of bounces.example.com: 0 of 10 DNS lookups, 0 void", ""},
		{Problem, "SPF of many.example.net needs 11 DNS lookups, over the limit of 10", ""},
		{Warning, "class transactional leaves through Postfix's own routing (no verp: true with a pool) from an address mailtrace does not know (neither smtp_bind_address nor inet_interfaces names it)", ""},
		{Warning, "class marketing leaves through Postfix's own routing", `news.example.org. IN TXT "v=spf1 ip4:OUTGOING-ADDRESS -all"`},
		{OK, "DKIM key s2048._domainkey.example.com (OpenDKIM", ""},
		{OK, "s2048._domainkey.example.com (OpenDKIM " + f.setup.DKIM.OpenDKIMKeyTable + ") matches", ""},
		{Warning, "DKIM key s1024._domainkey.example.com (rspamd " + f.setup.DKIM.RspamdSigning + "): RSA of 1024 bits", ""},
		{Problem, "DKIM key gone._domainkey.example.com (rspamd " + f.setup.DKIM.RspamdSigning + ") is revoked", ""},
		{Problem, "DKIM key old._domainkey.example.com (dkimpy-milter " + f.setup.DKIM.DkimpyConfig + "): the key in DNS is not the public half", "old._domainkey.example.com. IN TXT \"v=DKIM1; k=rsa; p="},
		{OK, "DKIM key ed._domainkey.example.com (mailtrace.yaml auth.dkim.keys): Ed25519", ""},
		{OK, "DMARC of example.com: p=none sp=- np=-", ""},
		{Problem, "DMARC of example.com: reports to dmarc@reports.example.net, another domain, are not authorised", `example.com._report._dmarc.reports.example.net. IN TXT "v=DMARC1"`},
		{OK, "class legal: DMARC aligned through DKIM (d=s2048._domainkey.example.com) and SPF (MAIL FROM @bounces.example.com)", ""},
		{Warning, "class transactional: DMARC aligned through DKIM (d=s2048._domainkey.example.com) only: MAIL FROM @many.example.net is not aligned", ""},
		{Problem, "DMARC: news.example.org has no DMARC record", `_dmarc.news.example.org. IN TXT "v=DMARC1; p=none; rua=mailto:dmarc@reports.example.net"`},
		{OK, "TLS-RPT: example.com asks for SMTP TLS reports", ""},
		{Warning, "TLS-RPT: news.example.org publishes no _smtp._tls record", "_smtp._tls.news.example.org. IN TXT \"v=TLSRPTv1; rua=mailto:dmarc@reports.example.net\""},
		{Warning, "MTA-STS: example.com publishes no _mta-sts record", ""},
		{OK, "class marketing is bulk mail", ""},
	}
	for _, w := range want {
		found := false
		for _, g := range findings {
			if g.Severity == w.sev && strings.Contains(g.Message, w.text) && strings.Contains(g.Fix, w.fix) {
				found = true
			}
		}
		if !found {
			t.Errorf("no %s finding %q with fix %q", w.sev, w.text, w.fix)
		}
	}
	if t.Failed() {
		for _, g := range findings {
			t.Logf("%s %s | %s", g.Severity, g.Message, strings.ReplaceAll(g.Fix, "\n", " / "))
		}
	}
	// Once the authorisation is published, the problem goes.
	f.dns.Add(t, zoneRecord("example.com._report._dmarc.reports.example.net", "v=DMARC1"))
	for _, g := range f.setup.Check(context.Background(), f.res) {
		if strings.Contains(g.Message, "are not authorised") {
			t.Errorf("still: %s", g.Message)
		}
	}
}

func TestRecords(t *testing.T) {
	f := newFixture(t)
	out := f.setup.Records(context.Background(), f.res)
	for _, want := range []string{
		`bounces.example.com. IN TXT "v=spf1 ip4:203.0.113.10 ip4:203.0.113.11 -all"`,
		`news.example.org._report._dmarc.reports.example.net. IN TXT "v=DMARC1"`,
		`; news.example.org. IN TXT "v=spf1 ip4:OUTGOING-ADDRESS -all"`,
		`_dmarc.example.com. IN TXT "v=DMARC1; p=none; rua=mailto:dmarc@reports.example.net"`,
		`_dmarc.news.example.org. IN TXT "v=DMARC1; p=none; rua=mailto:dmarc@reports.example.net"`,
		`example.com._report._dmarc.reports.example.net. IN TXT "v=DMARC1"`,
		`_smtp._tls.example.com. IN TXT "v=TLSRPTv1; rua=mailto:dmarc@reports.example.net"`,
	} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("records lack %s:\n%s", want, out)
		}
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "news.example.org. ") || strings.HasPrefix(line, "many.example.net. ") {
			t.Errorf("a record for a domain whose mail leaves from an unknown address: %s", line)
		}
	}
}

// TestSourceSPF: a class's pool counts for SPF only when the class is
// routed through it (VERP and a pool); any other class is checked from the
// address Postfix's own routing binds to, and without one gets a hint, never
// a record that would fail its mail.
func TestSourceSPF(t *testing.T) {
	srv := dnstest.Start(t,
		zoneRecord("example.com", "v=spf1 ip4:203.0.113.11 -all"),
		zoneRecord("bounces.example.com", "v=spf1 ip4:203.0.113.10 -all"),
	)
	res, err := resolver.New(srv.Address, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	pools := []pool.Pool{{Name: "legal", SourceIP: "203.0.113.10", HeloName: "legal.mail.example.com"}}
	local := ""
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() {
			local = n.IP.String()
			break
		}
	}
	tests := []struct {
		name    string
		class   Class
		mainCF  string
		finding string // in a finding of that severity
		sev     postfixconf.Severity
		record  string // a line of Records
		absent  string // no line of Records starts with it
	}{
		{name: "routed", class: Class{Name: "legal", Pool: "legal", VERP: true, FromDomain: "example.com"},
			sev: OK, finding: "class legal: SPF for MAIL FROM @bounces.example.com from pool legal (203.0.113.10): pass",
			record: `bounces.example.com. IN TXT "v=spf1 ip4:203.0.113.10 -all"`},
		{name: "pool without VERP, bind address", class: Class{Name: "transactional", Pool: "legal", FromDomain: "example.com"},
			mainCF: "smtp_bind_address = 198.51.100.7\n",
			sev:    Problem, finding: "class transactional: SPF for MAIL FROM @example.com from Postfix's own routing (198.51.100.7): fail",
			record: `example.com. IN TXT "v=spf1 ip4:203.0.113.11 ip4:198.51.100.7 -all"`, absent: `example.com. IN TXT "v=spf1 ip4:203.0.113.11 ip4:203.0.113.10`},
		{name: "no pool, bind address allowed", class: Class{Name: "transactional", FromDomain: "example.com"},
			mainCF: "smtp_bind_address = 203.0.113.11\n",
			sev:    OK, finding: "class transactional: SPF for MAIL FROM @example.com from Postfix's own routing (203.0.113.11): pass",
			record: `example.com. IN TXT "v=spf1 ip4:203.0.113.11 -all"`},
		{name: "no pool, one inet_interfaces address", class: Class{Name: "transactional", FromDomain: "example.com"},
			// postconf wants an address of this host
			mainCF: "inet_interfaces = " + local + "\n",
			sev:    Problem, finding: "from Postfix's own routing (" + local + "): fail",
			record: `example.com. IN TXT "v=spf1 ip4:203.0.113.11 ip4:` + local + ` -all"`},
		{name: "no pool, inet_interfaces with loopback too", class: Class{Name: "transactional", FromDomain: "example.com"},
			// Postfix binds only when inet_interfaces names one address
			mainCF: "inet_interfaces = " + local + ", 127.0.0.1\n",
			sev:    Warning, finding: "from an address mailtrace does not know (neither smtp_bind_address nor inet_interfaces names it)",
			absent: "example.com. "},
		{name: "no pool, unknown address", class: Class{Name: "transactional", FromDomain: "example.com"},
			sev: Warning, finding: `class transactional leaves through Postfix's own routing (no verp: true with a pool) from an address mailtrace does not know (neither smtp_bind_address nor inet_interfaces names it): SPF for MAIL FROM @example.com is not evaluated for it; the published record "v=spf1 ip4:203.0.113.11 -all" must allow it`,
			record: `; example.com. IN TXT "v=spf1 ip4:203.0.113.11 ip4:OUTGOING-ADDRESS -all"`, absent: "example.com. "},
		{name: "pool without VERP, unknown address", class: Class{Name: "marketing", Pool: "legal", FromDomain: "example.com"},
			sev: Warning, finding: "class marketing leaves through Postfix's own routing",
			record: `; example.com. IN TXT "v=spf1 ip4:203.0.113.11 ip4:OUTGOING-ADDRESS -all"`, absent: "example.com. "},
		{name: "relayhost", class: Class{Name: "transactional", FromDomain: "example.com"},
			mainCF: "relayhost = [smarthost.example.net]\nsmtp_bind_address = 198.51.100.7\n",
			sev:    Warning, finding: "relayed through relayhost [smarthost.example.net], whose outgoing address mailtrace does not know",
			record: `; example.com. IN TXT "v=spf1 ip4:203.0.113.11 ip4:OUTGOING-ADDRESS -all"`, absent: "example.com. "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if strings.Contains(tt.mainCF, "inet_interfaces") && local == "" {
				t.Skip("this host has no non-loopback IPv4 address for inet_interfaces")
			}
			s := Setup{Classes: []Class{tt.class}, Pools: pools, BounceDomain: "bounces.example.com",
				Postfix: postfixDir(t, tt.mainCF, "")}
			found := false
			findings := s.Check(context.Background(), res)
			for _, g := range findings {
				found = found || g.Severity == tt.sev && strings.Contains(g.Message, tt.finding)
			}
			if !found {
				t.Errorf("no %s finding %q", tt.sev, tt.finding)
				for _, g := range findings {
					t.Logf("%s %s", g.Severity, g.Message)
				}
			}
			out := s.Records(context.Background(), res)
			if tt.record != "" && !strings.Contains(out, "\n"+tt.record+"\n") {
				t.Errorf("records lack %s:\n%s", tt.record, out)
			}
			for _, line := range strings.Split(out, "\n") {
				if tt.absent != "" && strings.HasPrefix(line, tt.absent) {
					t.Errorf("records have %s", line)
				}
			}
		})
	}
}

func TestDiscover(t *testing.T) {
	srv := dnstest.Start(t,
		zoneRecord("_dmarc.example.com", "v=DMARC1; p=reject; sp=quarantine; np=reject"),
		zoneRecord("_dmarc.sub.example.com", "v=DMARC1; p=none"),
		zoneRecord("_dmarc.psd.example", "v=DMARC1; p=reject; psd=y"),
		zoneRecord("_dmarc.org.psd.example", "v=DMARC1; p=none"),
		zoneRecord("_dmarc.self.example", "v=DMARC1; p=none; psd=n"),
		zoneRecord("_dmarc.two.example", "v=DMARC1; p=none"),
		zoneRecord("_dmarc.two.example", "v=DMARC1; p=reject"),
	)
	r, _ := resolver.New(srv.Address, time.Second)
	tests := []struct {
		domain, at, org, p string
		wantErr            bool
	}{
		{domain: "example.com", at: "example.com", org: "example.com", p: "reject"},
		{domain: "a.b.example.com", at: "example.com", org: "example.com", p: "reject"},
		{domain: "x.sub.example.com", at: "sub.example.com", org: "example.com", p: "none"},
		{domain: "mail.org.psd.example", at: "org.psd.example", org: "org.psd.example", p: "none"},
		{domain: "a.org2.psd.example", at: "psd.example", org: "org2.psd.example", p: "reject"},
		{domain: "a.b.self.example", at: "self.example", org: "self.example", p: "none"},
		{domain: "1.2.3.4.5.6.7.8.9.10.example.com", at: "example.com", org: "example.com", p: "reject"},
		{domain: "none.example.net", org: "none.example.net"},
		{domain: "two.example", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.domain, func(t *testing.T) {
			pol, err := Discover(context.Background(), r, tt.domain)
			if tt.wantErr {
				if err == nil {
					t.Fatal("two records were taken")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			p := ""
			if pol.Record != nil {
				p = pol.Record.P
			}
			if pol.At != tt.at || pol.OrgDomain != tt.org || p != tt.p {
				t.Errorf("at %q org %q p %q, want %q %q %q", pol.At, pol.OrgDomain, p, tt.at, tt.org, tt.p)
			}
		})
	}
	if names := treeWalkNames("a.b.c.d.e.f.g.h.i.j"); len(names) != 8 || names[0] != "a.b.c.d.e.f.g.h.i.j" || names[1] != "d.e.f.g.h.i.j" {
		t.Errorf("tree walk names %v", names)
	}
}

func TestParseDMARC(t *testing.T) {
	tests := []struct {
		name, txt string
		want      DMARCRecord
		wantErr   bool
	}{
		{name: "RFC 9989", txt: "v=DMARC1; p=Quarantine; sp=reject; np=reject; t=y; psd=n; adkim=s; rua=mailto:a@x.example,mailto:b@y.example!10m",
			want: DMARCRecord{P: "quarantine", SP: "reject", NP: "reject", Testing: "y", PSD: "n", ADKIM: "s", RUA: []string{"mailto:a@x.example", "mailto:b@y.example!10m"}}},
		{name: "RFC 7489 with pct", txt: "v=DMARC1;p=none;pct=50;", want: DMARCRecord{P: "none", Pct: "50"}},
		{name: "no p", txt: "v=DMARC1; rua=mailto:a@x.example", want: DMARCRecord{RUA: []string{"mailto:a@x.example"}}},
		{name: "not DMARC", txt: "v=spf1 -all", wantErr: true},
		{name: "bad policy", txt: "v=DMARC1; p=block", wantErr: true},
		{name: "tag without value", txt: "v=DMARC1; p", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseDMARC(tt.txt)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("accepted %+v", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got.Raw = ""
			if fmt.Sprint(*got) != fmt.Sprint(tt.want) {
				t.Errorf("got %+v\nwant %+v", *got, tt.want)
			}
		})
	}
}

func TestSigningKeys(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "rspamd.conf"), []byte(`selector = "dkim"; path = "/var/lib/rspamd/dkim/$domain.$selector.key";
domain { listed.example { selector = "s1"; path = "/keys/listed.key"; } }
/* a comment */ use_esld = true;`), 0o644)
	keys, errs := DKIMConfig{RspamdSigning: filepath.Join(dir, "rspamd.conf")}.SigningKeys([]string{"listed.example", "other.example"})
	if len(errs) > 0 || len(keys) != 2 {
		t.Fatalf("%+v %v", keys, errs)
	}
	if keys[0].Domain != "listed.example" || keys[0].Selector != "s1" || keys[0].KeyFile != "/keys/listed.key" ||
		keys[1].Domain != "other.example" || keys[1].Selector != "dkim" || keys[1].KeyFile != "/var/lib/rspamd/dkim/other.example.dkim.key" {
		t.Errorf("rspamd keys %+v", keys)
	}
	os.WriteFile(filepath.Join(dir, "KeyTable"), []byte("k1 example.com:sel:/k1\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "SigningTable"), []byte("*@example.com k1\n*@sub.example.com k1\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "dkimpy.conf"), []byte("KeyTable "+filepath.Join(dir, "KeyTable")+"\nSigningTable refile:"+filepath.Join(dir, "SigningTable")+"\n"), 0o644)
	keys, errs = DKIMConfig{DkimpyConfig: filepath.Join(dir, "dkimpy.conf")}.SigningKeys(nil)
	if len(errs) > 0 || len(keys) != 1 || !keys[0].SignsFor("sub.example.com") || keys[0].SignsFor("other.example") {
		t.Errorf("dkimpy with tables %+v %v", keys, errs)
	}
	os.WriteFile(filepath.Join(dir, "bad.conf"), []byte(`domain { x { selector = "s1"; `), 0o644)
	if _, errs := (DKIMConfig{RspamdSigning: filepath.Join(dir, "bad.conf")}).SigningKeys(nil); len(errs) != 1 {
		t.Errorf("a broken rspamd config gave no error")
	}
	if _, errs := (DKIMConfig{OpenDKIMKeyTable: filepath.Join(dir, "missing")}).SigningKeys(nil); len(errs) != 1 {
		t.Errorf("a missing KeyTable gave no error")
	}
}

func FuzzParseDMARC(f *testing.F) {
	f.Add("v=DMARC1; p=none; rua=mailto:a@b.example")
	f.Add("v=DMARC1;p=reject;sp=none;np=quarantine;t=y;psd=y")
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseDMARC(s)
		if err != nil {
			return
		}
		for _, p := range []string{r.P, r.SP, r.NP} {
			if p != "" && p != "none" && p != "quarantine" && p != "reject" {
				t.Fatalf("policy %q accepted", p)
			}
		}
	})
}

func FuzzParseUCL(f *testing.F) {
	f.Add(`domain { a.example { selector = "s"; path = "/k"; } }`)
	f.Add(`selectors [ { path: "x", selector: "y" } ]`)
	f.Fuzz(func(t *testing.T, s string) {
		parseUCL([]byte(s)) // must not panic or hang
	})
}
