package evidence

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestMetrics(t *testing.T) {
	ctx := context.Background()
	clock := t0
	now := func() time.Time { return clock }
	st := NewMemoryStorage()
	l, err := Open(ctx, Options{Origin: testOrigin, Storage: st, Key: testKey(t), Now: now})
	if err != nil {
		t.Fatal(err)
	}
	a := NewAnchorer(AnchorerOptions{URL: "http://127.0.0.1:1/", Storage: st})
	reg := prometheus.NewRegistry()
	m := RegisterMetrics(reg, l, a, now)
	l.Append(ctx, acceptFact("a"))
	l.Append(ctx, sentFact("a", 1))
	clock = clock.Add(90 * time.Second)
	want := `
# HELP mailtrace_evidence_checkpoint_age_seconds Seconds since the last signed checkpoint (since start when there is none).
# TYPE mailtrace_evidence_checkpoint_age_seconds gauge
mailtrace_evidence_checkpoint_age_seconds 90
# HELP mailtrace_evidence_records_total Evidence records appended to the ledger by this process.
# TYPE mailtrace_evidence_records_total counter
mailtrace_evidence_records_total 4
# HELP mailtrace_evidence_unsigned_records Records appended after the last signed checkpoint.
# TYPE mailtrace_evidence_unsigned_records gauge
mailtrace_evidence_unsigned_records 4
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "mailtrace_evidence_records_total",
		"mailtrace_evidence_checkpoint_age_seconds", "mailtrace_evidence_unsigned_records"); err != nil {
		t.Error(err)
	}
	c, _, _ := l.Checkpoint(ctx)
	a.Enqueue(c)
	m.TSAError(nil)
	clock = clock.Add(30 * time.Second)
	want = `
# HELP mailtrace_evidence_checkpoint_age_seconds Seconds since the last signed checkpoint (since start when there is none).
# TYPE mailtrace_evidence_checkpoint_age_seconds gauge
mailtrace_evidence_checkpoint_age_seconds 30
# HELP mailtrace_evidence_anchor_queue Checkpoints waiting for their time stamp.
# TYPE mailtrace_evidence_anchor_queue gauge
mailtrace_evidence_anchor_queue 1
# HELP mailtrace_evidence_tsa_errors_total Failed RFC 3161 time-stamp attempts of checkpoints (retried with backoff).
# TYPE mailtrace_evidence_tsa_errors_total counter
mailtrace_evidence_tsa_errors_total 1
# HELP mailtrace_evidence_unsigned_records Records appended after the last signed checkpoint.
# TYPE mailtrace_evidence_unsigned_records gauge
mailtrace_evidence_unsigned_records 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "mailtrace_evidence_checkpoint_age_seconds",
		"mailtrace_evidence_anchor_queue", "mailtrace_evidence_tsa_errors_total", "mailtrace_evidence_unsigned_records"); err != nil {
		t.Error(err)
	}
	if age := testutil.ToFloat64(prometheus.Collector(mustGauge(t, reg, "mailtrace_evidence_anchor_age_seconds"))); age != 120 {
		t.Errorf("anchor age %v, want 120 s since start", age)
	}
}

func mustGauge(t *testing.T, reg *prometheus.Registry, name string) prometheus.Collector {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name}, func() float64 { return mf.Metric[0].GetGauge().GetValue() })
		}
	}
	t.Fatalf("no metric %s", name)
	return nil
}
