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
		"milter_header_checks is not set",
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
	if !containsPrefix(got[Warning], "non_smtpd_milters does not list") {
		t.Errorf("no warning about non_smtpd_milters: %q", got[Warning])
	}
	for _, f := range all {
		if f.Severity == Problem && f.Fix == "" && !strings.Contains(f.Message, "cannot read") {
			t.Errorf("problem without a fix: %s", f.Message)
		}
	}
}

func TestDoctorOnGeneratedConfig(t *testing.T) {
	dir := t.TempDir()
	s := testSetup
	s.HeaderChecks = filepath.Join(dir, "checks")
	main := s.MainCF()
	dir = configDir(t, main, s.MasterCF())
	os.WriteFile(s.HeaderChecks, []byte(s.HeaderChecksTable()), 0o644)
	log := filepath.Join(dir, "mail.log")
	os.WriteFile(log, nil, 0o644)
	got, _ := findings(t, dir, []string{log})
	if len(got[Problem])+len(got[Warning]) > 0 {
		t.Fatalf("the generated configuration has problems %q and warnings %q", got[Problem], got[Warning])
	}
	if len(got[OK]) < 8 {
		t.Errorf("only %d checks passed: %q", len(got[OK]), got[OK])
	}
}

func TestDoctorFindsWrongSettings(t *testing.T) {
	dir := t.TempDir()
	s := testSetup
	s.HeaderChecks = filepath.Join(dir, "checks")
	table := strings.Replace(s.HeaderChecksTable(), "FILTER smtp-bulk:", "FILTER smtp:", 1)
	master := strings.Replace(s.MasterCF(), "smtp_bind_address=203.0.113.10", "smtp_bind_address=203.0.113.99", 1)
	main := "smtpd_milters = inet:127.0.0.1:8894\nnon_smtpd_milters = { inet:localhost:8894, default_action=accept }\n" +
		"milter_default_action = tempfail\nmilter_header_checks = regexp:" + s.HeaderChecks + "\n" +
		"transport_maps = inline:{ bounces.example.com=smtp:[elsewhere.example] }\n"
	dir = configDir(t, main, master)
	os.WriteFile(s.HeaderChecks, []byte(table), 0o644)
	got, _ := findings(t, dir, nil)
	for _, w := range []string{
		`smtpd_milters: default action for mailtrace's milter is "tempfail"`,
		"milter_header_checks does not route pool bulk",
		"transport smtp-legal: smtp_bind_address is \"203.0.113.99\"",
		"bounce domain bounces.example.com goes to smtp:[elsewhere.example]",
	} {
		if !containsPrefix(got[Problem], w) {
			t.Errorf("no problem %q among %q", w, got[Problem])
		}
	}
	if !containsPrefix(got[OK], "non_smtpd_milters lists") {
		t.Errorf("the localhost spelling of the milter was not recognised: %q", got[OK])
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
