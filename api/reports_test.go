package api

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/mailtrace/mailtrace/schema"
	"github.com/mailtrace/mailtrace/trace/tracetest"
)

func TestReportsEndpoints(t *testing.T) {
	ts := start(t, DefaultConfig())
	day := tracetest.T0.Truncate(24 * time.Hour)
	rec := schema.DMARCRecord{Day: day, Org: "google.com", ReportID: "r1", Provider: "google", Domain: "example.com", Begin: day,
		End: day.Add(24 * time.Hour), SourceIP: "198.51.100.99", Count: 7, HeaderFrom: "example.com", ReceivedAt: tracetest.T0}
	tracetest.Insert(t, ts.fx.Store, schema.DMARCRecords, &rec)
	code, body := ts.get(t, "/api/v1/reports?from=2026-11-01&to=2026-12-01", "")
	if code != 200 {
		t.Fatalf("%d %s", code, body)
	}
	var v struct {
		Summary []struct {
			Org      string
			Pool     string
			Messages uint64
		}
		UnknownSources []struct {
			SourceIP string `json:"source_ip"`
			Messages uint64
		} `json:"unknown_sources"`
		Coverage []struct{ Delivered uint64 }
		Reports  []any
	}
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Summary) != 1 || v.Summary[0].Messages != 7 || v.Summary[0].Pool != "" || len(v.UnknownSources) != 1 ||
		v.UnknownSources[0].SourceIP != "198.51.100.99" || v.Reports == nil || len(v.Coverage) != 1 {
		t.Errorf("reports: %s", body)
	}
	code, body = ts.get(t, "/api/v1/reports/unknown-sources?from=2026-11-01&to=2026-12-01", "")
	if code != 200 || !strings.Contains(string(body), `"198.51.100.99"`) {
		t.Errorf("unknown sources: %d %s", code, body)
	}
	for _, q := range []string{"?from=2026-12-01&to=2026-11-01", "?from=yesterday", "?from=2020-01-01&to=2026-01-01"} {
		if code, body := ts.get(t, "/api/v1/reports"+q, ""); code != 400 {
			t.Errorf("%s: %d %s, want 400", q, code, body)
		}
	}
}
