package milter

import (
	"net/netip"
	"strings"
	"testing"
)

func TestClassify(t *testing.T) {
	c, err := newClassifier(
		[]Class{{Name: "legal", Pool: "legal"}, {Name: "collections", Pool: "collections"}, {Name: "transactional", Pool: "tx"}, {Name: "marketing", Pool: "bulk"}},
		[]Rule{
			{Name: "court", Class: "legal", Sender: []string{"@court.example", "clerk*@justice.example"}},
			{Name: "tax-office-subject", Class: "legal", Subject: `(?i)^tax assessment`, ClientNetwork: []string{"10.20.0.0/16"}},
			{Name: "dunning", Class: "collections", SASLUser: []string{"dunning-app"}},
			{Name: "debtors", Class: "collections", RecipientDomain: []string{"debtor.example"}, ClientNetwork: []string{"10.30.0.7"}},
			{Name: "bulk", Class: "marketing", Header: map[string]string{"Precedence": "^bulk$", "List-Id": "."}},
		}, "transactional")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		e    envelope
		want string
		rule string
	}{
		{"sender domain", envelope{sender: "Notices@COURT.example"}, "legal", "court"},
		{"sender pattern", envelope{sender: "clerk7@justice.example"}, "legal", "court"},
		{"sender pattern miss", envelope{sender: "judge@justice.example"}, "transactional", "default"},
		{"subdomain is not the domain", envelope{sender: "a@evilcourt.example"}, "transactional", "default"},
		{"subject and network", envelope{sender: "a@tax.example", clientIP: netip.MustParseAddr("10.20.1.1"),
			headers: map[string][]string{"subject": {"Tax Assessment 2026"}}}, "legal", "tax-office-subject"},
		{"subject without network", envelope{sender: "a@tax.example", clientIP: netip.MustParseAddr("10.21.1.1"),
			headers: map[string][]string{"subject": {"Tax Assessment 2026"}}}, "transactional", "default"},
		{"IPv4-mapped client", envelope{clientIP: netip.MustParseAddr("::ffff:10.20.1.1"),
			headers: map[string][]string{"subject": {"tax assessment"}}}, "legal", "tax-office-subject"},
		{"sasl user", envelope{saslUser: "dunning-app"}, "collections", "dunning"},
		{"recipient subdomain and host", envelope{clientIP: netip.MustParseAddr("10.30.0.7"), recipients: []string{"x@gmail.test", "y@mail.debtor.example"}},
			"collections", "debtors"},
		{"recipient domain, wrong host", envelope{clientIP: netip.MustParseAddr("10.30.0.8"), recipients: []string{"y@debtor.example"}},
			"transactional", "default"},
		{"all headers must match", envelope{headers: map[string][]string{"precedence": {"bulk"}}}, "transactional", "default"},
		{"headers match", envelope{headers: map[string][]string{"precedence": {"junk", "bulk"}, "list-id": {"<news.corp.example>"}}}, "marketing", "bulk"},
		{"first rule wins", envelope{sender: "a@court.example", saslUser: "dunning-app"}, "legal", "court"},
		{"nothing", envelope{}, "transactional", "default"},
	}
	for _, tt := range tests {
		cl, rule := c.classify(&tt.e)
		if cl.Name != tt.want || rule != tt.rule {
			t.Errorf("%s: %s by %s, want %s by %s", tt.name, cl.Name, rule, tt.want, tt.rule)
		}
	}
}

func TestClassifierRefusesBadRules(t *testing.T) {
	classes := []Class{{Name: "legal", Pool: "legal"}}
	tests := []struct {
		name    string
		classes []Class
		rules   []Rule
		def     string
	}{
		{"no classes", nil, nil, "legal"},
		{"unknown default", classes, nil, "other"},
		{"class without name", []Class{{Pool: "legal"}}, nil, "legal"},
		{"pool with a space", []Class{{Name: "legal", Pool: "a b"}}, nil, "legal"},
		{"class twice", []Class{{Name: "legal", Pool: "a"}, {Name: "legal", Pool: "b"}}, nil, "legal"},
		{"rule for unknown class", classes, []Rule{{Class: "x", Sender: []string{"a@b"}}}, "legal"},
		{"rule without condition", classes, []Rule{{Class: "legal"}}, "legal"},
		{"bad regexp", classes, []Rule{{Class: "legal", Subject: "("}}, "legal"},
		{"bad network", classes, []Rule{{Class: "legal", ClientNetwork: []string{"10.0.0.0/33"}}}, "legal"},
		{"bad pattern", classes, []Rule{{Class: "legal", Sender: []string{"[a"}}}, "legal"},
	}
	for _, tt := range tests {
		if _, err := newClassifier(tt.classes, tt.rules, tt.def); err == nil {
			t.Errorf("%s: accepted", tt.name)
		}
	}
}

// A pool is named in the VERP address: a VERP class's pool must fit it,
// and a class naming a pool without VERP is reported as not routed.
func TestPoolsNeedVERP(t *testing.T) {
	cfg := testConfig()
	if got := cfg.Unrouted(); len(got) != 3 || got[0].Name != "collections" {
		t.Errorf("Unrouted() = %v, want collections, transactional and marketing", got)
	}
	tests := []struct {
		name, pool string
		ok         bool
	}{
		{"letters and digits", "legal2", true},
		{"dash", "legal-eu", false},
		{"uppercase", "Legal", false},
		{"too long for the address", strings.Repeat("p", 16), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.Classes[0].Pool = tt.pool
			if err := cfg.Validate(); (err == nil) != tt.ok {
				t.Fatalf("Validate with VERP pool %q: %v", tt.pool, err)
			}
			cfg.Classes[0].VERP = false // any token goes where it routes nothing
			if err := cfg.Validate(); err != nil && tt.name != "too long for the address" {
				t.Fatalf("Validate with pool %q, no VERP: %v", tt.pool, err)
			}
		})
	}
}

func FuzzParseListen(f *testing.F) {
	for _, s := range []string{"inet:127.0.0.1:8894", "inet6:[::1]:1", "unix:/a", "inet:::", "local:/x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		network, address, err := ParseListen(spec)
		if err == nil && (network != "tcp" && network != "unix" || address == "") {
			t.Fatalf("%q parsed to %q %q", spec, network, address)
		}
	})
}
