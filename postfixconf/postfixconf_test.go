package postfixconf

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

var testSetup = Setup{
	Milter: "inet:127.0.0.1:8894",
	Pools: []Pool{
		{Name: "legal", SourceIP: "203.0.113.10", HeloName: "legal.mail.example"},
		{Name: "bulk", SourceIP: "203.0.113.12", SyslogName: "postfix-bulk"},
	},
	BounceDomain:    "bounces.example.com",
	BounceTransport: "lmtp:inet:127.0.0.1:8026",
}

// configDir writes a Postfix configuration directory: Debian's stock
// master.cf plus the given main.cf and master.cf additions.
func configDir(t *testing.T, main, master string) string {
	t.Helper()
	if _, err := exec.LookPath("postconf"); err != nil {
		t.Skip("postconf is not installed (make setup installs Debian's postfix package)")
	}
	dir := t.TempDir()
	stock, err := os.ReadFile("/usr/share/postfix/master.cf.dist")
	if err != nil {
		stock, err = os.ReadFile("/etc/postfix/master.cf")
		if err != nil {
			t.Skip("no stock master.cf to start from")
		}
	}
	os.WriteFile(filepath.Join(dir, "main.cf"), []byte("compatibility_level = 3.6\n"+main), 0o644)
	os.WriteFile(filepath.Join(dir, "master.cf"), append(stock, master...), 0o644)
	return dir
}

func findings(t *testing.T, dir string, logs []string) (map[Severity][]string, []Finding) {
	t.Helper()
	pc, err := Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[Severity][]string{}
	all := testSetup.Check(pc, logs)
	for _, f := range all {
		out[f.Severity] = append(out[f.Severity], f.Message)
	}
	return out, all
}

func TestDoctorOnStockPostfix(t *testing.T) {
	dir := configDir(t, "", "")
	got, all := findings(t, dir, []string{filepath.Join(dir, "no-such.log")})
	want := []string{
		"smtpd_milters does not list mailtrace's milter",
		"pools legal, bulk are not routed",
		"master.cf has no transport smtp-legal",
		"master.cf has no transport smtp-bulk",
		"the collector cannot read the log",
		"bounce domain bounces.example.com is not in transport_maps",
	}
	for _, w := range want {
		if !containsPrefix(got[Problem], w) {
			t.Errorf("no problem %q among %q", w, got[Problem])
		}
	}
	for _, w := range []string{"non_smtpd_milters does not list", "milter_header_checks is not set"} {
		if !containsPrefix(got[Warning], w) {
			t.Errorf("no warning %q among %q", w, got[Warning])
		}
	}
	for _, f := range all {
		if f.Severity == Problem && f.Fix == "" && !strings.Contains(f.Message, "cannot read") {
			t.Errorf("problem without a fix: %s", f.Message)
		}
	}
}

func TestDoctorOnGeneratedConfig(t *testing.T) {
	s := testSetup
	dir := configDir(t, "", s.MasterCF())
	s.Dir = dir
	os.WriteFile(filepath.Join(dir, "main.cf"), []byte("compatibility_level = 3.6\n"+s.MainCF()), 0o644)
	os.WriteFile(s.HeaderChecksPath(), []byte(s.HeaderChecksTable()), 0o644)
	os.WriteFile(s.SenderTransportPath(), []byte(s.SenderTransportTable()), 0o644)
	log := filepath.Join(dir, "mail.log")
	os.WriteFile(log, nil, 0o644)
	got, _ := findings(t, dir, []string{log})
	if len(got[Problem])+len(got[Warning]) > 0 {
		t.Fatalf("the generated configuration has problems %q and warnings %q", got[Problem], got[Warning])
	}
	for _, w := range []string{"pool legal: mail with the VERP sender mt-legal-", "pool bulk: mail with the VERP sender mt-bulk-"} {
		if !containsPrefix(got[OK], w) {
			t.Errorf("no %q among %q", w, got[OK])
		}
	}
	if len(got[OK]) < 9 {
		t.Errorf("only %d checks passed: %q", len(got[OK]), got[OK])
	}
}

func TestDoctorFindsWrongSettings(t *testing.T) {
	s := testSetup
	master := strings.Replace(s.MasterCF(), "smtp_bind_address=203.0.113.10", "smtp_bind_address=203.0.113.99", 1)
	dir := configDir(t, "", master)
	s.Dir = dir
	// The routing of earlier versions, still in place, and a sender table
	// that knows one pool only.
	os.WriteFile(s.HeaderChecksPath(), []byte(s.HeaderChecksTable()+"/^X-Mailtrace-Pool: bulk$/ FILTER smtp-bulk:\n"), 0o644)
	var kept []string
	for _, l := range strings.Split(s.SenderTransportTable(), "\n") {
		if !strings.Contains(l, "smtp-bulk") {
			kept = append(kept, l)
		}
	}
	os.WriteFile(s.SenderTransportPath(), []byte(strings.Join(kept, "\n")), 0o644)
	main := "smtpd_milters = inet:127.0.0.1:8894\nnon_smtpd_milters = { inet:localhost:8894, default_action=accept }\n" +
		"milter_default_action = tempfail\nmilter_header_checks = regexp:" + s.HeaderChecksPath() + "\n" +
		"sender_dependent_default_transport_maps = regexp:" + s.SenderTransportPath() + "\n" +
		"transport_maps = inline:{ bounces.example.com=smtp:[elsewhere.example] }\n"
	os.WriteFile(filepath.Join(dir, "main.cf"), []byte("compatibility_level = 3.6\n"+main), 0o644)
	got, all := findings(t, dir, nil)
	for _, w := range []string{
		`smtpd_milters: default action for mailtrace's milter is "tempfail"`,
		"milter_header_checks regexp:" + s.HeaderChecksPath() + ` answers "FILTER smtp-bulk:" for X-Mailtrace-Pool: bulk`,
		"pool bulk is not routed",
		"transport smtp-legal: smtp_bind_address is \"203.0.113.99\"",
		"bounce domain bounces.example.com goes to smtp:[elsewhere.example]",
	} {
		if !containsPrefix(got[Problem], w) {
			t.Errorf("no problem %q among %q", w, got[Problem])
		}
	}
	if !containsPrefix(got[OK], "non_smtpd_milters lists") || !containsPrefix(got[OK], "pool legal: mail with the VERP sender") {
		t.Errorf("the localhost spelling of the milter or the legal pool's route was not recognised: %q", got[OK])
	}
	for _, f := range all {
		if f.Severity == Problem && f.Fix != "" && strings.Contains(f.Fix, "/etc/postfix") {
			t.Errorf("fix names /etc/postfix, not the configuration checked (%s): %s", dir, f.Fix)
		}
		if strings.HasPrefix(f.Message, "pool bulk is not routed") && !strings.HasPrefix(f.Fix, "your table regexp:"+s.SenderTransportPath()) {
			t.Errorf("the fix for an existing sender table replaces it: %s", f.Fix)
		}
	}
}

// The domain lists are shown as Postfix expands them, without the empty
// entries an empty $mydestination leaves.
func TestDoctorListsDomains(t *testing.T) {
	for _, tt := range []struct {
		name, main string
		want       []string
		notWant    string
	}{
		{name: "empty mydestination", main: "mydestination =\nrelay_domains = $mydestination, partner.example\n",
			want: []string{"recipients in relay_domains (partner.example) go"}, notWant: "recipients in mydestination"},
		{name: "both set", main: "mydestination = localhost\nrelay_domains = $mydestination partner.example\n",
			want: []string{"recipients in mydestination (localhost) are", "recipients in relay_domains (localhost, partner.example) go"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, _ := findings(t, configDir(t, tt.main, ""), nil)
			for _, w := range tt.want {
				if !containsPrefix(got[Info], w) {
					t.Errorf("no info %q among %q", w, got[Info])
				}
			}
			if tt.notWant != "" && containsPrefix(got[Info], tt.notWant) {
				t.Errorf("info %q among %q", tt.notWant, got[Info])
			}
		})
	}
}

// What pool routing leaves to Postfix is reported as such; what would
// bypass it or change the VERP sender is a problem; postconf's own
// warnings are shown.
func TestDoctorReportsRouting(t *testing.T) {
	main := strings.Join([]string{
		"mydestination = $myhostname, localhost",
		"relay_domains = partner.example",
		"relay_domains = partner.example, other.example",
		"virtual_alias_domains = alias.example",
		"transport_maps = inline:{ *=smtp:[gateway.example] }",
		"relayhost = [smarthost.example]:587",
		"default_transport = smtp:[nexthop.example]",
		"sender_dependent_relayhost_maps = inline:{ @corp.example=[corp-relay.example] }",
		"smtp_sender_dependent_authentication = yes",
		"smtp_sasl_password_maps = inline:{ @corp.example=user:secret }",
		"sender_canonical_maps = inline:{ @bounces.example.com=@example.com }",
		"masquerade_domains = example.com",
	}, "\n") + "\n"
	dir := configDir(t, main, "")
	got, all := findings(t, dir, nil)
	for _, w := range []string{
		"transport_maps (inline:{ *=smtp:[gateway.example] }) has a * entry",
		"sender_canonical_maps (inline:{ @bounces.example.com=@example.com }) rewrites the VERP sender",
		"masquerade_domains (example.com) strips bounces.example.com",
	} {
		if !containsPrefix(got[Problem], w) {
			t.Errorf("no problem %q among %q", w, got[Problem])
		}
	}
	for _, w := range []string{"recipients in mydestination", "recipients in relay_domains (partner.example, other.example)",
		"recipients in virtual_alias_domains", "relayhost is [smarthost.example]:587", "default_transport smtp:[nexthop.example] names a next hop"} {
		if !containsPrefix(got[Info], w) {
			t.Errorf("no info %q among %q", w, got[Info])
		}
	}
	for _, w := range []string{"postconf -c " + dir + ": warning: " + filepath.Join(dir, "main.cf") + ", line 4: overriding earlier entry: relay_domains=partner.example",
		"sender_dependent_relayhost_maps (inline:{ @corp.example=[corp-relay.example] }) is keyed by the envelope sender",
		"smtp_sender_dependent_authentication is on"} {
		if !containsPrefix(got[Warning], w) {
			t.Errorf("no warning %q among %q", w, got[Warning])
		}
	}
	for _, f := range all {
		if f.Severity == Problem && !strings.Contains(f.Fix, dir) {
			t.Errorf("fix for %q does not name the configuration directory %s: %q", f.Message, dir, f.Fix)
		}
		// The sender table's answer replaces default_transport, next hop
		// and all: the fix keeps the next hop.
		if strings.HasPrefix(f.Message, "pools legal, bulk are not routed as default_transport (smtp:[nexthop.example]) would route it") &&
			!strings.Contains(f.Fix, " smtp-legal:[nexthop.example]\n") {
			t.Errorf("fix for the pools drops default_transport's next hop: %s", f.Fix)
		}
	}
	if !containsPrefix(got[Problem], "pools legal, bulk are not routed as default_transport (smtp:[nexthop.example]) would route it") {
		t.Errorf("no problem about default_transport's next hop among %q", got[Problem])
	}
}

// A sender table that can hold no pattern (hash:) is not given pattern
// lines: mailtrace's regexp table goes before it.
func TestDoctorSenderTableWithoutPatterns(t *testing.T) {
	s := testSetup
	dir := configDir(t, "sender_dependent_default_transport_maps = hash:/etc/postfix/sdt\n", "")
	s.Dir = dir
	_, all := findings(t, dir, nil)
	var fix string
	for _, f := range all {
		if strings.HasPrefix(f.Message, "pools legal, bulk are not routed") {
			fix = f.Fix
		}
	}
	want := "sender_dependent_default_transport_maps = regexp:" + s.SenderTransportPath() + ", hash:/etc/postfix/sdt\n"
	if !strings.Contains(fix, want) || !strings.Contains(fix, s.SenderTransportPath()+":\n"+s.SenderTransportTable()) {
		t.Errorf("fix for a hash sender table: %q; want %q and the table", fix, want)
	}
}

// A main.cf that sets a list or map already keeps it: lists get
// mailtrace's entry added, maps are left with the entry to add.
func TestMainCFKeepsExistingSettings(t *testing.T) {
	s := testSetup
	tests := []struct {
		name, param, value string
		want, notWant      string
	}{
		{"milter list", "smtpd_milters", "inet:127.0.0.1:8891",
			"smtpd_milters = inet:127.0.0.1:8891, { inet:127.0.0.1:8894,", "\nsmtpd_milters = { inet:127.0.0.1:8894"},
		{"milter already listed", "smtpd_milters", "inet:127.0.0.1:8891, { inet:127.0.0.1:8894, default_action=accept }",
			"# smtpd_milters already lists mailtrace's entry", "\nsmtpd_milters = { inet:127.0.0.1:8894"},
		{"transport map", "transport_maps", "hash:/etc/postfix/transport",
			"# transport_maps is set (hash:/etc/postfix/transport): do not replace it; add to your map:\n#   bounces.example.com lmtp:inet:127.0.0.1:8026", "\ntransport_maps ="},
		{"relay domains", "relay_domains", "partner.example",
			"relay_domains = partner.example, bounces.example.com", "relay_domains = $mydestination"},
		{"sender transport regexp table", "sender_dependent_default_transport_maps", "regexp:/etc/postfix/sdt",
			"add to your regexp table:\n#   /^mt-legal-.*@bounces\\.example\\.com$/ smtp-legal", "\nsender_dependent_default_transport_maps ="},
		{"sender transport hash table", "sender_dependent_default_transport_maps", "hash:/etc/postfix/sdt",
			"\nsender_dependent_default_transport_maps = regexp:" + s.SenderTransportPath() + ", hash:/etc/postfix/sdt\n", "#   /^mt-legal-"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := s.MainCFFor(map[string]string{tt.param: tt.value})
			if !strings.Contains(got, tt.want) || strings.Contains(got, tt.notWant) {
				t.Errorf("MainCFFor(%s = %s):\n%s\nwant %q, not %q", tt.param, tt.value, got, tt.want, tt.notWant)
			}
		})
	}
}

func containsPrefix(list []string, prefix string) bool {
	for _, s := range list {
		if strings.HasPrefix(s, prefix) {
			return true
		}
	}
	return false
}

func TestSplitList(t *testing.T) {
	got := SplitList("inet:a:1, { unix:/x, default_action=accept , command_timeout=1s }\n  inet:b:2")
	want := []string{"inet:a:1", "{ unix:/x, default_action=accept , command_timeout=1s }", "inet:b:2"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("SplitList = %q, want %q", got, want)
	}
}

func FuzzSplitList(f *testing.F) {
	f.Add("inet:a:1, { unix:/x, default_action=accept }")
	f.Add("{{ } } },,{")
	f.Fuzz(func(t *testing.T, list string) {
		for _, e := range SplitList(list) {
			if strings.TrimSpace(e) != e || e == "" {
				t.Fatalf("entry %q of %q is empty or padded", e, list)
			}
		}
		milterEntry(list, "inet:127.0.0.1:8894")
	})
}

// A pool is routed by the VERP sender: a class that names one without
// VERP is not routed, and doctor says so; its pool gets no table line.
func TestPoolsNeedVERP(t *testing.T) {
	s := testSetup
	s.Classes = []Class{{Name: "legal", Pool: "legal", VERP: true}, {Name: "newsletters", Pool: "bulk"}}
	if got := s.RoutedPools(); len(got) != 1 || got[0].Name != "legal" {
		t.Errorf("RoutedPools() = %v, want legal only", got)
	}
	if table := s.SenderTransportTable(); strings.Contains(table, "smtp-bulk") || !strings.Contains(table, "smtp-legal") {
		t.Errorf("sender table routes the wrong pools:\n%s", table)
	}
	pc, err := Read(configDir(t, "", ""))
	if err != nil {
		t.Fatal(err)
	}
	var warned bool
	for _, f := range s.Check(pc, nil) {
		warned = warned || f.Severity == Warning && strings.HasPrefix(f.Message, "class newsletters names pool bulk but has no verp: true")
	}
	if !warned {
		t.Error("no warning about the class that names a pool without VERP")
	}
}
