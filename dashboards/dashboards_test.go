package dashboards

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"

	"go.yaml.in/yaml/v3"

	"github.com/mailtrace/mailtrace/schema"
	"github.com/mailtrace/mailtrace/trace/tracetest"
	"github.com/mailtrace/mailtrace/traceid"
)

var update = flag.Bool("update", false, "rewrite json/ from the Go definitions")

// The committed JSON is what the Go definitions make.
func TestGenerated(t *testing.T) {
	for _, b := range Boards {
		want, err := JSON(b)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join("json", b.File)
		if *update {
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != string(want) {
			t.Errorf("%s is not what the Go definitions make (err %v): run go test ./dashboards -run TestGenerated -update", path, err)
		}
	}
}

// panelQuery is one query of one panel, as read back from the JSON.
type panelQuery struct {
	board, panel, panelType string
	ch                      *Query
	prom                    *prometheus.Dataquery
}

// load reads the committed dashboards strictly with the SDK's types, our
// ClickHouse query type registered, and returns their queries.
func load(t *testing.T) (map[string]*dashboard.Dashboard, []panelQuery) {
	t.Helper()
	plugins.RegisterDefaultPlugins()
	cog.NewRuntime().RegisterDataqueryVariant(VariantConfig())
	boards := map[string]*dashboard.Dashboard{}
	var out []panelQuery
	for _, b := range Boards {
		raw, err := os.ReadFile(filepath.Join("json", b.File))
		if err != nil {
			t.Fatal(err)
		}
		var d dashboard.Dashboard
		if err := sdkErr(d.UnmarshalJSONStrict(raw)); err != nil {
			t.Fatalf("%s: not a valid dashboard: %v", b.File, err)
		}
		if err := sdkErr(d.Validate()); err != nil {
			t.Fatalf("%s: %v", b.File, err)
		}
		boards[b.File] = &d
		panels := strictPanels(t, b.File, raw)
		for _, p := range panels {
			title := ""
			if p.Title != nil {
				title = *p.Title
			}
			if len(p.Targets) == 0 {
				t.Errorf("%s: panel %q has no query", b.File, title)
			}
			for _, target := range p.Targets {
				q := panelQuery{board: b.File, panel: title, panelType: p.Type}
				switch v := target.(type) {
				case *Query:
					q.ch = v
				case *prometheus.Dataquery:
					q.prom = v
				default:
					t.Errorf("%s: panel %q: query of unknown type %T", b.File, title, target)
					continue
				}
				out = append(out, q)
			}
		}
	}
	return boards, out
}

// sdkErr is err, except the SDK's empty cog.BuildErrors (a nil slice in a
// non-nil error), which means none.
func sdkErr(err error) error {
	if be, ok := err.(cog.BuildErrors); ok && len(be) == 0 {
		return nil
	}
	return err
}

// strictPanels reads a dashboard's panels, those in rows too, strictly.
// (The SDK's own PanelOrRowPanel reading drops every panel: it takes its
// empty cog.BuildErrors for an error.)
func strictPanels(t *testing.T, file string, raw []byte) []dashboard.Panel {
	t.Helper()
	var d struct{ Panels []json.RawMessage }
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	var out []dashboard.Panel
	for len(d.Panels) > 0 {
		rawPanel := d.Panels[0]
		d.Panels = d.Panels[1:]
		var head struct {
			Type       string
			Panels     []json.RawMessage
			Targets    []json.RawMessage
			Datasource struct{ Type string }
		}
		json.Unmarshal(rawPanel, &head)
		if head.Type == "row" {
			d.Panels = append(head.Panels, d.Panels...)
			continue
		}
		var p dashboard.Panel
		if err := sdkErr(p.UnmarshalJSONStrict(rawPanel)); err != nil {
			t.Fatalf("%s: panel not valid: %v\n%s", file, err, rawPanel)
		}
		// The SDK drops targets for the same reason: read them with the
		// datasource's own strict reader.
		p.Targets = nil
		for _, raw := range head.Targets {
			var q variants.Dataquery
			var err error
			switch head.Datasource.Type {
			case ClickHouseType:
				q, err = VariantConfig().StrictDataqueryUnmarshaler(raw)
			case "prometheus":
				pq := &prometheus.Dataquery{}
				err, q = sdkErr(pq.UnmarshalJSONStrict(raw)), pq
			default:
				t.Fatalf("%s: panel datasource %q", file, head.Datasource.Type)
			}
			if err == nil {
				err = sdkErr(q.Validate())
			}
			if err != nil {
				t.Fatalf("%s: query not valid: %v\n%s", file, err, raw)
			}
			p.Targets = append(p.Targets, q)
		}
		out = append(out, p)
	}
	return out
}

func TestDashboardsValidate(t *testing.T) {
	boards, queries := load(t)
	if len(boards) != len(Boards) {
		t.Fatalf("%d dashboards", len(boards))
	}
	var ch, pr int
	for _, q := range queries {
		if q.ch != nil {
			ch++
		} else {
			pr++
		}
	}
	t.Logf("%d ClickHouse queries, %d PromQL queries", ch, pr)
	for file, d := range boards {
		names := map[string]bool{}
		for _, v := range d.Templating.List {
			names[v.Name] = true
		}
		want := []string{"datasource", "prometheus"}
		if file != "trace.json" && file != "operations.json" {
			want = append(want, "host", "pool", "provider", "class")
		}
		for _, n := range want {
			if !names[n] {
				t.Errorf("%s has no variable %s", file, n)
			}
		}
	}
}

// fill adds to the trace fixture what the dashboards show beyond it:
// reports (matched, unmatched, a complaint) and block incidents.
func fill(t *testing.T, f *tracetest.Fixture) {
	t0 := tracetest.T0
	legal := [16]byte(f.Legal)
	tracetest.Insert(t, f.Store, schema.Bounces,
		&schema.Bounce{Time: t0.Add(20 * time.Minute), EventID: 1, Kind: "dsn", MatchedBy: "verp", TraceID: legal, Host: "mx1", QueueID: "4XAA1",
			Recipient: "anna@gmail.test", Action: "failed", Status: "5.2.1", Diagnostic: "550 5.2.1 The email account that you tried to reach is disabled.",
			Category: "inactive-mailbox", Provider: "google", ReportSHA256: [32]byte{1}},
		&schema.Bounce{Time: t0.Add(25 * time.Minute), EventID: 2, Kind: "dsn", MatchedBy: "none", Recipient: "x@example.net", Action: "failed",
			Status: "5.1.1", Diagnostic: "550 5.1.1 user unknown", Category: "bad-mailbox", ReportSHA256: [32]byte{2}},
		&schema.Bounce{Time: t0.Add(30 * time.Minute), EventID: 3, Kind: "arf", MatchedBy: "header", TraceID: legal, Host: "mx1", QueueID: "4XAA1",
			Recipient: "carl@yahoo.test", Action: "complaint", FeedbackType: "abuse", ReportSHA256: [32]byte{3}})
	tracetest.Insert(t, f.Store, schema.DeliveryEvents,
		&schema.DeliveryEvent{Time: t0.Add(40 * time.Minute), EventID: 99, Host: "mx1", QueueID: "4XDD1", Recipient: "zoe@outlook.test",
			Status: "bounced", DSN: "5.7.1", Response: "550 5.7.1 Unfortunately, messages from [203.0.113.10] weren't sent. (S3150)",
			Pool: "legal", SourceIP: "203.0.113.10", Provider: "microsoft", Category: "blocklisted", IsBlock: true, Service: "postfix-legal/smtp"})
	tracetest.Insert(t, f.Store, schema.Incidents,
		&schema.Incident{ID: traceid.New(), Kind: "replies", Pool: "legal", SourceIP: "203.0.113.10", Provider: "yahoo", OpenedAt: t0.Add(time.Minute),
			LastSignal: t0.Add(10 * time.Minute), Signals: 5, Attempts: 8, Category: "reputation", Sample: "421 4.7.0 [TSS04] try later", UpdatedAt: t0.Add(10 * time.Minute)},
		&schema.Incident{ID: traceid.New(), Kind: "dnsbl", Pool: "legal", SourceIP: "203.0.113.10", Provider: "zen.spamhaus.org", OpenedAt: t0,
			ClosedAt: t0.Add(time.Hour), LastSignal: t0, Signals: 1, Category: "127.0.0.2", CloseReason: "delisted", UpdatedAt: t0.Add(time.Hour)})
	// Reports: Google's aggregate report for the day (our legal pool, and a
	// source in no pool), a TLS report with a failure, a refused report.
	day := t0.Truncate(24 * time.Hour)
	agg := schema.DMARCRecord{Day: day, Org: "google.com", ReportID: "r1", Provider: "google", Domain: "example.com", Begin: day,
		End: day.Add(24*time.Hour - time.Second), PolicyP: "none", HeaderFrom: "example.com", ReceivedAt: t0.Add(time.Hour)}
	ours, stranger := agg, agg
	ours.SourceIP, ours.Pool, ours.Count, ours.DKIMPass, ours.SPFPass, ours.DKIMAligned, ours.SPFAligned, ours.DMARCPass = "203.0.113.10", "legal", 3, true, true, true, true, true
	stranger.RecordIndex, stranger.SourceIP, stranger.Count = 1, "198.51.100.99", 2
	tracetest.Insert(t, f.Store, schema.DMARCRecords, &ours, &stranger)
	tracetest.Insert(t, f.Store, schema.SourceNames, &schema.SourceName{SourceIP: "198.51.100.99", PTR: "host.unknown.example", LookedUpAt: t0.Add(time.Hour)})
	tlsPolicy := schema.TLSResult{Day: day, Org: "Google Inc.", ReportID: "t1", Provider: "google", Begin: day, End: day.Add(24 * time.Hour),
		PolicyType: "sts", PolicyDomain: "example.com", MXHost: []string{"mx.example.com"}, Successful: 10, Failed: 1, ReceivedAt: t0.Add(time.Hour)}
	tlsFailure := tlsPolicy
	tlsFailure.FailureIndex, tlsFailure.ResultType, tlsFailure.SendingMTAIP, tlsFailure.FailedSessionCount = 1, "certificate-expired", "209.85.220.41", 1
	tracetest.Insert(t, f.Store, schema.TLSResults, &tlsPolicy, &tlsFailure)
	tracetest.Insert(t, f.Store, schema.AuthReports,
		&schema.AuthReport{ReceivedAt: t0.Add(time.Hour), Kind: "dmarc-aggregate", Org: "google.com", ReportKey: "r1", ReportID: "r1", Provider: "google",
			Domain: "example.com", Begin: day, End: day.Add(24*time.Hour - time.Second), Records: 2, Messages: 5},
		&schema.AuthReport{ReceivedAt: t0.Add(time.Hour), Kind: "unknown", ReportKey: "sha256:00", Error: "authreport: decompresses to more than 20 MiB"})
}

// TestQueriesRunOnTheStore expands every panel's and variable's SQL as
// Grafana and the plugin would, for a fixed range, and runs it on a real
// embedded store holding a trace: with every variable at All, each query
// must return rows with the columns its panel needs; with one value each,
// it must run.
func TestQueriesRunOnTheStore(t *testing.T) {
	f := tracetest.New(t)
	fill(t, f)
	all := Env{From: tracetest.T0.Add(-time.Hour), To: tracetest.T0.Add(2 * time.Hour), Interval: time.Minute,
		Vars: map[string][]string{"host": {"mx1"}, "pool": {"legal"}, "provider": {"google", "yahoo"}, "class": {"legal"}, "id": {f.Legal.String()}},
		All:  map[string]bool{"host": true, "pool": true, "provider": true, "class": true}}
	one := all
	one.All = map[string]bool{}
	for _, env := range []Env{all, one} {
		results, err := RunQueries(context.Background(), f.Store, env)
		if err != nil {
			t.Fatal(err)
		}
		if len(results) < 35 {
			t.Errorf("only %d queries", len(results))
		}
		for _, r := range results {
			switch {
			case r.Err != nil:
				t.Errorf("%s / %s: %v\n%s", r.Board, r.Panel, r.Err, r.SQL)
			case r.Misfit != "":
				t.Errorf("%s / %s: %s; got %v", r.Board, r.Panel, r.Misfit, r.Columns)
			case r.Rows == 0 && len(env.All) > 0:
				t.Errorf("%s / %s: no rows on a store holding a trace", r.Board, r.Panel)
			}
		}
	}
}

func TestExpand(t *testing.T) {
	env := Env{From: time.Unix(1700000000, 0), To: time.Unix(1700003600, 0), Interval: 5 * time.Minute,
		Vars: map[string][]string{"pool": {"legal", "o'neil"}, "id": {"<a@b>"}}, All: map[string]bool{"host": true}}
	for in, want := range map[string]string{
		"$__timeFilter(minute)":                                                                "minute >= toDateTime(1700000000) AND minute <= toDateTime(1700003600)",
		"$__timeInterval(minute)":                                                              "toStartOfInterval(toDateTime(minute), INTERVAL 300 second)",
		"$__conditionalAll(pool IN (${pool:singlequote}), $pool)":                              "pool IN ('legal','o''neil')",
		"$__conditionalAll(host IN (${host:singlequote}), $host)":                              "1=1",
		"$__conditionalAll(pool IN (SELECT p FROM t WHERE c IN (${pool:singlequote})), $pool)": "pool IN (SELECT p FROM t WHERE c IN ('legal','o''neil'))",
		"id = ${id:sqlstring}":                                                                 "id = '<a@b>'",
		"$__fromTime, $__toTime_ms, $__interval_s":                                             "toDateTime(1700000000), fromUnixTimestamp64Milli(1700003600000), 300",
		"$__dateFilter(d)":                                                                     "d >= toDate('2023-11-14') AND d <= toDate('2023-11-14')",
	} {
		got, err := Expand(in, env)
		if err != nil || got != want {
			t.Errorf("Expand(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := Expand("x = $unknown", env); err == nil {
		t.Error("an unknown variable was left unreported")
	}
}

// The provisioning files name the datasource types the dashboards use and
// the folder the JSON goes to.
func TestProvisioning(t *testing.T) {
	raw, err := os.ReadFile("provisioning/datasources/mailtrace.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var dsm struct {
		APIVersion  int              `yaml:"apiVersion"`
		Datasources []map[string]any `yaml:"datasources"`
	}
	if err := yaml.Unmarshal(raw, &dsm); err != nil || dsm.APIVersion != 1 {
		t.Fatalf("datasources: %v", err)
	}
	types := map[string]bool{}
	for _, d := range dsm.Datasources {
		types[fmt.Sprint(d["type"])] = true
	}
	if !types[ClickHouseType] || !types["prometheus"] {
		t.Errorf("provisioned datasource types %v, want %s and prometheus", types, ClickHouseType)
	}
	raw, err = os.ReadFile("provisioning/dashboards/mailtrace.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var prov struct {
		APIVersion int `yaml:"apiVersion"`
		Providers  []struct {
			Type    string         `yaml:"type"`
			Folder  string         `yaml:"folder"`
			Options map[string]any `yaml:"options"`
		} `yaml:"providers"`
	}
	if err := yaml.Unmarshal(raw, &prov); err != nil || len(prov.Providers) != 1 || prov.Providers[0].Type != "file" || prov.Providers[0].Options["path"] == nil {
		t.Errorf("dashboard provider: %+v %v", prov, err)
	}
}

// FuzzExpand: any SQL either expands without a "$" left or is refused;
// it never panics.
func FuzzExpand(f *testing.F) {
	for _, b := range Boards {
		d, err := b.Build().Build()
		if err != nil {
			f.Fatal(err)
		}
		for _, v := range d.Templating.List {
			if v.Query != nil && v.Query.String != nil {
				f.Add(*v.Query.String)
			}
		}
	}
	f.Add("$__conditionalAll(a IN (${pool:singlequote}), $pool) AND $__timeFilter(t)")
	f.Add("$__timeInterval(((")
	env := Env{From: time.Unix(1700000000, 0), To: time.Unix(1700003600, 0), Interval: time.Minute,
		Vars: map[string][]string{"host": {"mx1"}, "pool": {"a'b"}, "provider": {"p"}, "class": {"c"}, "id": {"x"}}, All: map[string]bool{"host": true}}
	f.Fuzz(func(t *testing.T, sql string) {
		out, err := Expand(sql, env)
		if err == nil && strings.Contains(out, "$") {
			t.Fatalf("%q expanded to %q with a $ left and no error", sql, out)
		}
	})
}
