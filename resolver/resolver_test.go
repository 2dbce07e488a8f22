package resolver_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"blitiri.com.ar/go/spf"
	"github.com/miekg/dns"
	"go.yaml.in/yaml/v3"

	"github.com/mailtrace/mailtrace/resolver"
	"github.com/mailtrace/mailtrace/resolver/dnstest"
)

func newResolver(t *testing.T, srv *dnstest.Server, timeout time.Duration) *resolver.Resolver {
	t.Helper()
	r, err := resolver.New(srv.Address, timeout)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestLookups(t *testing.T) {
	long := strings.Repeat("x", 300)
	srv := dnstest.Start(t,
		`example.com. 300 IN TXT "v=spf1 " "ip4:192.0.2.1 -all"`,
		`example.com. 300 IN MX 10 mx.example.com.`,
		`mx.example.com. 300 IN A 192.0.2.25`,
		`mx.example.com. 300 IN AAAA 2001:db8::25`,
		`alias.example.com. 300 IN CNAME mx.example.com.`,
		`25.2.0.192.in-addr.arpa. 300 IN PTR mx.example.com.`,
		`big.example.com. 300 IN TXT "`+long[:255]+`" "`+long[255:]+`"`,
		`deep.sub.example.com. 300 IN A 192.0.2.9`,
	)
	for i := range 40 { // more than fits in 512 bytes: truncated, asked again over TCP
		srv.Add(t, fmt.Sprintf(`many.example.com. 300 IN TXT "record number %d of many, long enough to fill a datagram"`, i))
	}
	srv.Fail("broken.example.com")
	srv.Drop("slow.example.com")
	r := newResolver(t, srv, 300*time.Millisecond)
	ctx := context.Background()

	txt, err := r.LookupTXT(ctx, "example.com")
	if err != nil || len(txt) != 1 || txt[0] != "v=spf1 ip4:192.0.2.1 -all" {
		t.Errorf("TXT: %q %v (strings of one record are joined)", txt, err)
	}
	if txt, err := r.LookupTXT(ctx, "big.example.com"); err != nil || len(txt) != 1 || txt[0] != long {
		t.Errorf("long TXT: %d %v", len(txt), err)
	}
	if txt, err := r.LookupTXT(ctx, "many.example.com"); err != nil || len(txt) != 40 {
		t.Errorf("40 TXT records over TCP: %d %v", len(txt), err)
	}
	if mx, err := r.LookupMX(ctx, "example.com"); err != nil || len(mx) != 1 || mx[0].Host != "mx.example.com." || mx[0].Pref != 10 {
		t.Errorf("MX: %v %v", mx, err)
	}
	ips, err := r.LookupIPAddr(ctx, "alias.example.com")
	if err != nil || len(ips) != 2 || !ips[0].IP.Equal(net.ParseIP("192.0.2.25")) || !ips[1].IP.Equal(net.ParseIP("2001:db8::25")) {
		t.Errorf("A and AAAA through a CNAME: %v %v", ips, err)
	}
	if names, err := r.LookupAddr(ctx, "192.0.2.25"); err != nil || len(names) != 1 || names[0] != "mx.example.com." {
		t.Errorf("PTR: %v %v", names, err)
	}
	notFound := func(what string, err error) {
		var de *net.DNSError
		if !errors.As(err, &de) || !de.IsNotFound || !resolver.IsNotFound(err) {
			t.Errorf("%s: %v, want not found", what, err)
		}
	}
	_, err = r.LookupTXT(ctx, "nowhere.example.com")
	notFound("NXDOMAIN", err)
	_, err = r.LookupTXT(ctx, "mx.example.com")
	notFound("NODATA", err)
	_, err = r.LookupIPAddr(ctx, "sub.example.com") // an empty non-terminal
	notFound("empty non-terminal", err)
	_, err = r.LookupTXT(ctx, "broken.example.com")
	var de *net.DNSError
	if !errors.As(err, &de) || !de.Temporary() || de.IsNotFound {
		t.Errorf("SERVFAIL: %v, want a temporary error", err)
	}
	_, err = r.LookupTXT(ctx, "slow.example.com")
	if !errors.As(err, &de) || !de.IsTimeout {
		t.Errorf("no answer: %v, want a timeout", err)
	}
}

func TestNew(t *testing.T) {
	if r, err := resolver.New("192.0.2.53", 0); err != nil || r.Server() != "192.0.2.53:53" {
		t.Errorf("an address alone: %v %v", r, err)
	}
	if _, err := resolver.New("not a server", 0); err == nil {
		t.Error("a bad server was taken")
	}
	dir := t.TempDir()
	os.WriteFile(dir+"/resolv.conf", []byte("# comment\nsearch example.com\nnameserver 10.0.0.53\nnameserver 10.0.0.54\n"), 0o644)
	if s, err := resolver.SystemServer(dir + "/resolv.conf"); err != nil || s != "10.0.0.53:53" {
		t.Errorf("resolv.conf: %q %v", s, err)
	}
	os.WriteFile(dir+"/empty.conf", []byte("search x\n"), 0o644)
	if _, err := resolver.SystemServer(dir + "/empty.conf"); err == nil {
		t.Error("a resolv.conf without nameserver was taken")
	}
}

// The RFC 7208 test suite (openspf.org's, as blitiri.com.ar/go/spf ships
// it), evaluated by blitiri's SPF through this resolver against a real DNS
// server holding each suite's zone data.
type suite struct {
	Description string
	Tests       map[string]struct {
		Description string
		Helo, Host  string
		MailFrom    string      `yaml:"mailfrom"`
		Result      stringSlice `yaml:"result"`
		Skip        string
	}
	ZoneData map[string][]struct {
		A         stringSlice `yaml:"A"`
		AAAA      stringSlice `yaml:"AAAA"`
		SPF       stringSlice `yaml:"SPF"`
		TXT       stringSlice `yaml:"TXT"`
		PTR       stringSlice `yaml:"PTR"`
		MX        []any       `yaml:"MX"`
		CNAME     string      `yaml:"CNAME"`
		TIMEOUT   bool        `yaml:"TIMEOUT"`
		SERVFAIL  bool        `yaml:"SERVFAIL"`
		CNAMELOOP bool        `yaml:"CNAMELOOP"`
	} `yaml:"zonedata"`
}

type stringSlice []string

func (s *stringSlice) UnmarshalYAML(n *yaml.Node) error {
	var list []string
	if err := n.Decode(&list); err == nil {
		*s = list
		return nil
	}
	var one string
	if err := n.Decode(&one); err != nil {
		return err
	}
	*s = []string{one}
	return nil
}

// txtRR makes a TXT record, cutting strings over 255 bytes as a zone
// would.
func txtRR(name, text string) dns.RR {
	var parts []string
	for len(text) > 255 {
		parts, text = append(parts, text[:255]), text[255:]
	}
	return &dns.TXT{Hdr: dns.RR_Header{Name: dns.Fqdn(name), Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 60}, Txt: append(parts, text)}
}

func hdr(name string, t uint16) dns.RR_Header {
	return dns.RR_Header{Name: dns.Fqdn(name), Rrtype: t, Class: dns.ClassINET, Ttl: 60}
}

func TestRFC7208Suite(t *testing.T) {
	f, err := os.Open("testdata/rfc7208-tests.yml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := yaml.NewDecoder(f)
	ran, passed := 0, 0
	for {
		var s suite
		if err := dec.Decode(&s); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		t.Run(s.Description, func(t *testing.T) {
			srv := dnstest.Start(t)
			for name, records := range s.ZoneData {
				hasTXT := false
				for _, rec := range records {
					hasTXT = hasTXT || len(rec.TXT) > 0
				}
				for _, rec := range records {
					switch {
					case rec.TIMEOUT:
						srv.Drop(name)
					case rec.SERVFAIL, rec.CNAMELOOP:
						srv.Fail(name)
					}
					for _, a := range rec.A {
						srv.AddRR(&dns.A{Hdr: hdr(name, dns.TypeA), A: net.ParseIP(a)})
					}
					for _, a := range rec.AAAA {
						srv.AddRR(&dns.AAAA{Hdr: hdr(name, dns.TypeAAAA), AAAA: net.ParseIP(a)})
					}
					for _, txt := range rec.TXT {
						srv.AddRR(txtRR(name, txt))
					}
					if len(rec.SPF) > 0 && !hasTXT { // the suite's type-99 records stand for TXT
						srv.AddRR(txtRR(name, strings.Join(rec.SPF, "")))
					}
					if len(rec.MX) == 2 {
						srv.AddRR(&dns.MX{Hdr: hdr(name, dns.TypeMX), Preference: uint16(rec.MX[0].(int)), Mx: dns.Fqdn(rec.MX[1].(string))})
					}
					for _, p := range rec.PTR {
						srv.AddRR(&dns.PTR{Hdr: hdr(name, dns.TypePTR), Ptr: dns.Fqdn(p)})
					}
					if rec.CNAME != "" {
						srv.AddRR(&dns.CNAME{Hdr: hdr(name, dns.TypeCNAME), Target: dns.Fqdn(rec.CNAME)})
					}
				}
			}
			r := newResolver(t, srv, 200*time.Millisecond)
			for name, tt := range s.Tests {
				if tt.Skip != "" {
					continue
				}
				ran++
				res, err := spf.CheckHostWithSender(net.ParseIP(tt.Host), tt.Helo, tt.MailFrom,
					spf.WithResolver(r), spf.WithContext(context.Background()))
				if !slices.Contains(tt.Result, string(res)) {
					t.Errorf("%s: %s (%v), want %v: %s", name, res, err, tt.Result, tt.Description)
					continue
				}
				passed++
			}
		})
	}
	t.Logf("RFC 7208 suite: %d of %d tests pass through the resolver", passed, ran)
	if ran < 100 {
		t.Errorf("only %d tests ran", ran)
	}
}
