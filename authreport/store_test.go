package authreport

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mailtrace/mailtrace/pool"
	"github.com/mailtrace/mailtrace/resolver"
	"github.com/mailtrace/mailtrace/resolver/dnstest"
	"github.com/mailtrace/mailtrace/schema"
	"github.com/mailtrace/mailtrace/store"
	"github.com/mailtrace/mailtrace/store/storetest"
)

func migratedStore(t *testing.T) store.Store {
	t.Helper()
	st := storetest.Chdb(t)
	if _, err := schema.Migrate(context.Background(), st, schema.Options{Database: st.Database()}, false); err != nil {
		t.Fatal(err)
	}
	return st
}

// twoSources is a Google report with one record from our pool's IP and one
// from an IP in no pool.
var twoSources = strings.Replace(aggXML, "</record>", `</record>
<record><row><source_ip>198.51.100.99</source_ip><count>7</count><policy_evaluated><disposition>none</disposition><dkim>fail</dkim><spf>fail</spf></policy_evaluated></row>
<identifiers><header_from>example.com</header_from></identifiers><auth_results><spf><domain>example.com</domain><result>softfail</result></spf></auth_results></record>`, 1)

func TestIntakeStores(t *testing.T) {
	st := migratedStore(t)
	ctx := context.Background()
	dns := dnstest.Start(t, `99.100.51.198.in-addr.arpa. 300 IN PTR host.unknown-sender.example.`)
	res, err := resolver.New(dns.Address, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	in := NewIntake(st, Options{Pools: []pool.Pool{{Name: "legal", SourceIP: "203.0.113.10"}}, Resolver: res})
	in.now = func() time.Time { return time.Date(2026, 1, 2, 12, 0, 0, 0, time.UTC) }

	// Our own deliveries to Google that day: 5 sent, 1 deferred.
	enc := store.NewEncoder(schema.DeliveryEvents)
	for i := range 6 {
		e := schema.DeliveryEvent{Time: time.Date(2026, 1, 1, 9, i, 0, 0, time.UTC), EventID: uint64(i + 1), Host: "mx1",
			QueueID: "Q" + string(rune('A'+i)), Status: "sent", Provider: "google", Pool: "legal", SourceIP: "203.0.113.10"}
		if i == 5 {
			e.Status = "deferred"
		}
		e.AppendRow(enc)
	}
	b, _ := enc.Seal()
	if err := st.Insert(ctx, b); err != nil {
		t.Fatal(err)
	}

	files := []struct {
		name string
		raw  []byte
		want Outcome
	}{
		{"google.eml", reportMessage("application/gzip", "r.xml.gz", gz([]byte(twoSources))), Stored},
		{"tls.json", []byte(tlsJSON), Stored},
		{"failure.eml", []byte("From: dmarc@receiver.example\r\nMessage-ID: <f1@receiver.example>\r\nDate: Fri, 02 Jan 2026 10:00:00 +0000\r\nContent-Type: message/feedback-report\r\n\r\nFeedback-Type: auth-failure\r\nAuth-Failure: dmarc\r\nSource-IP: 203.0.113.10\r\nReported-Domain: example.com\r\n"), Stored},
		{"bomb.gz", bomb(30 << 20), Refused},
	}
	for _, f := range files {
		for round, want := range []Outcome{f.want, Duplicate} {
			results, err := in.Ingest(ctx, f.name, f.raw)
			if err != nil {
				t.Fatalf("%s: %v", f.name, err)
			}
			if len(results) != 1 || results[0].Outcome != want {
				t.Fatalf("%s, round %d: %+v, want %s", f.name, round+1, results, want)
			}
		}
	}
	in.Wait() // for the reverse DNS lookups
	counts := map[string]uint64{
		"SELECT count() FROM auth_reports":                                       4,
		"SELECT count() FROM auth_reports WHERE error != '' AND length(raw) > 0": 1,
		"SELECT count() FROM dmarc_records":                                      2,
		"SELECT count() FROM dmarc_records WHERE pool = 'legal' AND provider = 'google' AND dkim_aligned AND dmarc_pass": 1,
		"SELECT count() FROM tlsrpt_results": 2,
		"SELECT count() FROM tlsrpt_results WHERE failure_index = 0 AND mx_host = ['mx.example.com']":                1,
		"SELECT count() FROM dmarc_failures WHERE pool = 'legal' AND auth_failure = 'dmarc'":                         1,
		"SELECT count() FROM source_names WHERE source_ip = '198.51.100.99' AND ptr = 'host.unknown-sender.example'": 1,
	}
	for q, want := range counts {
		if got := storetest.Count(t, st, q); got != want {
			t.Errorf("%s = %d, want %d", q, got, want)
		}
	}

	rg := Range{From: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 1, 3, 0, 0, 0, 0, time.UTC)}
	sum, err := Summary(ctx, st, rg)
	if err != nil {
		t.Fatal(err)
	}
	if len(sum) != 2 {
		t.Fatalf("summary %+v", sum)
	}
	for _, d := range sum {
		switch d.Pool {
		case "legal":
			if d.Messages != 4 || d.DKIMAligned != 4 || d.SPFPass != 4 || d.DMARCPass != 4 || d.Day != "2026-01-01" || d.Provider != "google" {
				t.Errorf("legal %+v", d)
			}
		case "":
			if d.Messages != 7 || d.DMARCPass != 0 || d.DKIMPass != 0 {
				t.Errorf("no pool %+v", d)
			}
		}
	}
	unk, err := UnknownSources(ctx, st, rg)
	if err != nil {
		t.Fatal(err)
	}
	if len(unk) != 1 || unk[0].SourceIP != "198.51.100.99" || unk[0].PTR != "host.unknown-sender.example" || unk[0].Messages != 7 {
		t.Errorf("unknown sources %+v", unk)
	}
	cov, err := CoverageOf(ctx, st, rg)
	if err != nil {
		t.Fatal(err)
	}
	if len(cov) != 1 || cov[0].Reported != 11 || cov[0].FromPools != 4 || cov[0].Delivered != 5 || cov[0].Ratio != 0.8 {
		t.Errorf("coverage %+v", cov)
	}
	list, err := List(ctx, st, Range{From: rg.From, To: rg.To.Add(24 * time.Hour)})
	if err != nil || len(list) != 4 {
		t.Fatalf("list %d %v", len(list), err)
	}
	// The unknown source was looked up once, however often it is reported.
	if n := dns.Queries(); n != 1 {
		t.Errorf("%d DNS queries, want 1", n)
	}
}

// A resolver that does not answer never holds up storing, and a failed
// lookup is not kept: a later report tries again.
func TestLookupsDoNotHoldUp(t *testing.T) {
	st := migratedStore(t)
	ctx := context.Background()
	dns := dnstest.Start(t)
	dns.Drop("99.100.51.198.in-addr.arpa")
	res, _ := resolver.New(dns.Address, 500*time.Millisecond)
	in := NewIntake(st, Options{Resolver: res})
	if _, err := in.Ingest(ctx, "r.xml", []byte(twoSources)); err != nil {
		t.Fatal(err)
	}
	in.Wait()
	if n := storetest.Count(t, st, "SELECT count() FROM source_names WHERE source_ip = '198.51.100.99'"); n != 0 {
		t.Errorf("a lookup that timed out was kept (%d rows)", n)
	}
	if n := storetest.Count(t, st, "SELECT count() FROM source_names WHERE source_ip = '203.0.113.10' AND error = 'no PTR record'"); n != 1 {
		t.Errorf("a source without PTR: %d rows", n)
	}
}
