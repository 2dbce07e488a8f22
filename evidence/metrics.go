package evidence

import (
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the ledger's Prometheus metrics.
type Metrics struct {
	// TSAErrors counts failed time-stamp attempts (TSA down, refusing,
	// or answering with a token that does not verify).
	TSAErrors prometheus.Counter
	// Anchors counts checkpoints time-stamped and stored.
	Anchors prometheus.Counter

	lastAnchor atomic.Int64 // unix nanoseconds; since start when none yet
}

// RegisterMetrics registers the ledger's metrics: records appended, the
// age of the last checkpoint and, when an anchorer is given, of the last
// anchor, the checkpoints waiting for one, and TSA errors.
func RegisterMetrics(reg prometheus.Registerer, l *Ledger, a *Anchorer, now func() time.Time) *Metrics {
	if now == nil {
		now = time.Now
	}
	m := &Metrics{
		TSAErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "mailtrace_evidence_tsa_errors_total",
			Help: "Failed RFC 3161 time-stamp attempts of checkpoints (retried with backoff)."}),
		Anchors: prometheus.NewCounter(prometheus.CounterOpts{Name: "mailtrace_evidence_anchors_total",
			Help: "Checkpoints time-stamped by the TSA and stored."}),
	}
	started := now()
	m.lastAnchor.Store(started.UnixNano())
	reg.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "mailtrace_evidence_records_total",
			Help: "Evidence records appended to the ledger by this process."}, func() float64 { return float64(l.Appended()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "mailtrace_evidence_log_size",
			Help: "Records in the evidence log (all processes, since the ledger began)."}, func() float64 { return float64(l.Size()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "mailtrace_evidence_checkpoint_age_seconds",
			Help: "Seconds since the last signed checkpoint (since start when there is none)."}, func() float64 {
			at := started
			if c := l.LastCheckpoint(); c != nil {
				at = c.Time
			}
			return now().Sub(at).Seconds()
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "mailtrace_evidence_unsigned_records",
			Help: "Records appended after the last signed checkpoint."}, func() float64 {
			var n int64
			if c := l.LastCheckpoint(); c != nil {
				n = c.Tree.N
			}
			return float64(l.Size() - n)
		}),
	)
	if a != nil {
		reg.MustRegister(m.TSAErrors, m.Anchors,
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "mailtrace_evidence_anchor_age_seconds",
				Help: "Seconds since the last checkpoint was time-stamped by the TSA (since start when none was)."}, func() float64 {
				return now().Sub(time.Unix(0, m.lastAnchor.Load())).Seconds()
			}),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "mailtrace_evidence_anchor_queue",
				Help: "Checkpoints waiting for their time stamp."}, func() float64 { return float64(a.Waiting()) }),
		)
	}
	return m
}

// AnchorStored records a stored anchor (AnchorerOptions.OnAnchor).
func (m *Metrics) AnchorStored(a *Anchor) {
	m.Anchors.Inc()
	m.lastAnchor.Store(time.Now().UnixNano())
}

// TSAError counts a failed attempt (AnchorerOptions.OnError).
func (m *Metrics) TSAError(error) { m.TSAErrors.Inc() }
