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
	clock := time.Now()
	now := func() time.Time { return clock }
	st := NewMemoryStorage()
	ls := NewLedgers(LedgersOptions{Config: Config{OriginPrefix: "mailtrace.test"}, Storage: st, Key: testKey(t)})
	defer ls.Close(ctx)
	a := NewAnchorer(AnchorerOptions{URL: "http://127.0.0.1:1/", Storage: st})
	reg := prometheus.NewRegistry()
	m := RegisterMetrics(reg, ls, a, now)
	ls.Append("mx1", acceptFact("a"), sentFact("a", 1))
	ls.Append("mx2", acceptFact("b"))
	if err := ls.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(90 * time.Second)
	gauge := func(name string) float64 {
		mfs, _ := reg.Gather()
		for _, mf := range mfs {
			if mf.GetName() == name {
				if g := mf.Metric[0].GetGauge(); g != nil {
					return g.GetValue()
				}
				return mf.Metric[0].GetCounter().GetValue()
			}
		}
		t.Fatalf("no metric %s", name)
		return 0
	}
	// Two logs: mx1 (start, accept, sent, closing) and mx2 (start, accept).
	if got := gauge("mailtrace_evidence_records_total"); got != 6 {
		t.Errorf("records %v, want 6", got)
	}
	if got := gauge("mailtrace_evidence_unsigned_records"); got != 6 {
		t.Errorf("unsigned %v, want 6", got)
	}
	if got := gauge("mailtrace_evidence_checkpoint_age_seconds"); got < 89 {
		t.Errorf("checkpoint age %v, want at least 90", got)
	}
	if err := ls.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	m.TSAError(nil)
	a.Enqueue(&Checkpoint{})
	want := `
# HELP mailtrace_evidence_checkpoint_age_seconds Seconds since the last checkpoint of the log whose unsigned records wait longest (0 when every record is signed).
# TYPE mailtrace_evidence_checkpoint_age_seconds gauge
mailtrace_evidence_checkpoint_age_seconds 0
# HELP mailtrace_evidence_anchor_queue Checkpoints waiting for their time stamp.
# TYPE mailtrace_evidence_anchor_queue gauge
mailtrace_evidence_anchor_queue 1
# HELP mailtrace_evidence_tsa_errors_total Failed RFC 3161 time-stamp attempts of checkpoints (retried with backoff).
# TYPE mailtrace_evidence_tsa_errors_total counter
mailtrace_evidence_tsa_errors_total 1
# HELP mailtrace_evidence_unsigned_records Records appended after their log's last signed checkpoint.
# TYPE mailtrace_evidence_unsigned_records gauge
mailtrace_evidence_unsigned_records 0
# HELP mailtrace_evidence_anchor_age_seconds Seconds since a checkpoint was last time-stamped by the TSA (since start when none was).
# TYPE mailtrace_evidence_anchor_age_seconds gauge
mailtrace_evidence_anchor_age_seconds 90
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "mailtrace_evidence_checkpoint_age_seconds",
		"mailtrace_evidence_anchor_queue", "mailtrace_evidence_tsa_errors_total", "mailtrace_evidence_unsigned_records",
		"mailtrace_evidence_anchor_age_seconds"); err != nil {
		t.Error(err)
	}
	m.AnchorStored(nil)
	if got := gauge("mailtrace_evidence_anchor_age_seconds"); got != 0 {
		t.Errorf("anchor age %v after an anchor, want 0", got)
	}
}
