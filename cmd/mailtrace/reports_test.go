package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailtrace/mailtrace/resolver/dnstest"
	"github.com/mailtrace/mailtrace/store/storetest"
)

const cliReport = `<?xml version="1.0"?><feedback><report_metadata><org_name>google.com</org_name><email>noreply-dmarc-support@google.com</email>
<report_id>cli-1</report_id><date_range><begin>1767225600</begin><end>1767311999</end></date_range></report_metadata>
<policy_published><domain>example.com</domain><p>none</p></policy_published>
<record><row><source_ip>203.0.113.10</source_ip><count>3</count><policy_evaluated><disposition>none</disposition><dkim>PASS</dkim><spf>pass</spf></policy_evaluated></row>
<identifiers><header_from>example.com</header_from></identifiers><auth_results><dkim><domain>example.com</domain><selector>s1</selector><result>Pass</result></dkim><spf><domain>example.com</domain><result>pass</result></spf></auth_results></record>
<record><row><source_ip>198.51.100.99</source_ip><count>2</count><policy_evaluated><disposition>none</disposition><dkim>fail</dkim><spf>fail</spf></policy_evaluated></row>
<identifiers><header_from>example.com</header_from></identifiers><auth_results><spf><domain>example.com</domain><result>fail</result></spf></auth_results></record></feedback>`

func TestReportsCommands(t *testing.T) {
	dir := t.TempDir()
	dns := dnstest.Start(t, "99.100.51.198.in-addr.arpa. 300 IN PTR mta.elsewhere.example.")
	cfg := filepath.Join(dir, "mailtrace.yaml")
	os.WriteFile(cfg, []byte("store: chdb://"+filepath.Join(dir, "store")+"\ndns_resolver: "+dns.Address+
		"\npools:\n  - {name: legal, source_ip: 203.0.113.10}\nmilter:\n  classes:\n    - {name: legal, pool: legal}\n  default_class: legal\n"), 0o600)
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	w.Write([]byte(cliReport))
	w.Close()
	good := filepath.Join(dir, "google.xml.gz")
	os.WriteFile(good, gz.Bytes(), 0o644)
	tls := filepath.Join(dir, "tls.json")
	os.WriteFile(tls, []byte(`{"organization-name":"Google Inc.","date-range":{"start-datetime":"2026-01-01T00:00:00Z","end-datetime":"2026-01-01T23:59:59Z"},"report-id":"t1","policies":[{"policy":{"policy-type":"sts","policy-domain":"example.com","mx-host":"mx.example.com"},"summary":{"total-successful-session-count":1,"total-failure-session-count":0}}]}`), 0o644)
	bad := filepath.Join(dir, "junk.xml")
	os.WriteFile(bad, []byte("<feedback><report_metadata>"), 0o644)

	r := run(t, nil, "reports", "parse", "--json", "--config", cfg, good, tls, bad)
	if r.code != 1 || !strings.Contains(r.stderr, "1 report(s) refused") {
		t.Errorf("parse: exit %d, stderr %s", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 3 {
		t.Fatalf("parse printed %d lines:\n%s", len(lines), r.stdout)
	}
	var agg, tr, junk map[string]any
	json.Unmarshal([]byte(lines[0]), &agg)
	json.Unmarshal([]byte(lines[1]), &tr)
	json.Unmarshal([]byte(lines[2]), &junk)
	recs, _ := agg["records"].([]any)
	if agg["kind"] != "dmarc-aggregate" || agg["error"] != "" || agg["begin"] != "2026-01-01T00:00:00Z" || len(recs) != 2 {
		t.Errorf("aggregate: %s", lines[0])
	} else if rec := recs[0].(map[string]any); rec["dkim"] != "pass" || rec["count"] != float64(3) {
		t.Errorf("record: %v", rec)
	}
	if pol := tr["policies"].([]any)[0].(map[string]any); tr["kind"] != "tlsrpt" || pol["mx_host"].([]any)[0] != "mx.example.com" {
		t.Errorf("TLS report: %s", lines[1])
	}
	if junk["error"] == "" || junk["file"] != bad {
		t.Errorf("refused report: %s", lines[2])
	}

	env := []string{"MAILTRACE_CHDB_LIBRARY=" + storetest.ChdbLibrary(t)}
	for round, want := range []string{"stored", "duplicate"} {
		r = run(t, env, "reports", "ingest", "--config", cfg, good, tls)
		if r.code != 0 || strings.Count(r.stdout, " "+want+" ") != 2 {
			t.Errorf("ingest round %d: exit %d\n%s%s", round+1, r.code, r.stdout, r.stderr)
		}
	}
	r = run(t, env, "reports", "list", "--config", cfg, "--from", "2025-12-01", "--to", "2026-02-01")
	for _, want := range []string{"google.com", "legal", "(none)", "198.51.100.99", "mta.elsewhere.example", "2 report(s) about or received in the range"} {
		if r.code != 0 || !strings.Contains(r.stdout, want) {
			t.Errorf("list lacks %q (exit %d):\n%s%s", want, r.code, r.stdout, r.stderr)
		}
	}
}

func TestDoctorAuthCommand(t *testing.T) {
	dir := t.TempDir()
	dns := dnstest.Start(t,
		`bounces.example.com. 300 IN TXT "v=spf1 ip4:203.0.113.10 -all"`,
		`_dmarc.example.com. 300 IN TXT "v=DMARC1; p=none; rua=mailto:dmarc@example.com"`,
		"10.113.0.203.in-addr.arpa. 300 IN PTR legal.mail.example.com.",
		"legal.mail.example.com. 300 IN A 203.0.113.10",
	)
	cfg := filepath.Join(dir, "mailtrace.yaml")
	os.WriteFile(cfg, []byte("store: chdb://"+filepath.Join(dir, "store")+"\ndns_resolver: "+dns.Address+`
pools:
  - {name: legal, source_ip: 203.0.113.10, helo_name: legal.mail.example.com}
milter:
  default_class: legal
  classes:
    - {name: legal, pool: legal, verp: true}
  verp:
    domain: bounces.example.com
    keys: [{id: 1, secret: "a signing secret of enough bytes"}]
reports:
  addresses: [dmarc@example.com]
auth:
  classes:
    - {name: legal, from_domain: example.com}
`), 0o600)
	r := run(t, nil, "doctor", "auth", "--config", cfg, "--skip-store", "--postfix-config", filepath.Join(dir, "nopostfix"))
	for _, want := range []string{"Postfix configuration not read", "class legal: SPF for MAIL FROM @bounces.example.com from pool legal (203.0.113.10): pass",
		"forward-confirmed reverse DNS legal.mail.example.com", "DMARC of example.com: p=none", "no DKIM signer configured"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("doctor auth lacks %q:\n%s", want, r.stdout)
		}
	}
	if r.code != 0 || !strings.Contains(r.stdout, "no sender authentication problems found") {
		t.Errorf("doctor auth: exit %d, stderr %s", r.code, r.stderr)
	}
	// Without the pool in the bounce domain's SPF, it is a problem, with the fix.
	dns2 := dnstest.Start(t, `bounces.example.com. 300 IN TXT "v=spf1 -all"`)
	cfg2 := filepath.Join(dir, "broken.yaml")
	data, _ := os.ReadFile(cfg)
	os.WriteFile(cfg2, []byte(strings.Replace(string(data), dns.Address, dns2.Address, 1)), 0o600)
	r = run(t, nil, "doctor", "auth", "--config", cfg2, "--skip-store", "--postfix-config", filepath.Join(dir, "nopostfix"))
	if r.code != 1 || !strings.Contains(r.stderr, "sender authentication problem") ||
		!strings.Contains(r.stdout, `bounces.example.com. IN TXT "v=spf1 ip4:203.0.113.10 -all"`) {
		t.Errorf("doctor auth on a broken zone: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = run(t, nil, "doctor", "auth", "--print-records", "--config", cfg)
	if r.code != 0 || !strings.Contains(r.stdout, `_smtp._tls.example.com. IN TXT "v=TLSRPTv1; rua=mailto:dmarc@example.com"`) ||
		!strings.Contains(r.stdout, `bounces.example.com. IN TXT "v=spf1 ip4:203.0.113.10 -all"`) {
		t.Errorf("print-records: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := run(t, nil, "doctor", "elsewhere", "--config", cfg); r.code != 2 {
		t.Errorf("doctor with a wrong argument: exit %d", r.code)
	}
}

// The doctor warns of bulk classes whose messages lack one-click
// unsubscribe, from the running sidecar's metrics.
func TestDoctorUnsubscribe(t *testing.T) {
	metrics := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "# TYPE mailtrace_milter_unsubscribe_missing_total counter\n"+
			`mailtrace_milter_unsubscribe_missing_total{class="marketing",pool="bulk"} 12`+"\n"+
			`mailtrace_milter_unsubscribe_missing_total{class="newsletter",pool="bulk"} 0`+"\n")
	}))
	defer metrics.Close()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "mailtrace.yaml")
	os.WriteFile(cfg, []byte("metrics_listen: "+strings.TrimPrefix(metrics.URL, "http://")+`
dns_resolver: 127.0.53.1:9
milter:
  default_class: marketing
  classes:
    - {name: marketing, pool: bulk, bulk: true}
    - {name: newsletter, pool: bulk, bulk: true}
`), 0o600)
	r := run(t, nil, "doctor", "auth", "--config", cfg, "--skip-store", "--postfix-config", filepath.Join(dir, "nopostfix"))
	if !strings.Contains(r.stdout, "warn  class marketing (pool bulk): 12 messages since the sidecar started lacked one-click unsubscribe") ||
		!strings.Contains(r.stdout, "ok    class newsletter: every message carries one-click unsubscribe") {
		t.Errorf("doctor auth:\n%s%s", r.stdout, r.stderr)
	}
}
