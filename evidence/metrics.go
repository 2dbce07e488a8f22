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
	now        func() time.Time
}

// RegisterMetrics registers the ledgers' metrics: records appended, facts
// not appended, records not yet signed and how long they wait and, when
// an anchorer is given, the age of the last anchor, the checkpoints
// waiting for one, and TSA errors.
func RegisterMetrics(reg prometheus.Registerer, ls *Ledgers, a *Anchorer, now func() time.Time) *Metrics {
	if now == nil {
		now = time.Now
	}
	m := &Metrics{
		TSAErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "mailtrace_evidence_tsa_errors_total",
			Help: "Failed RFC 3161 time-stamp attempts of checkpoints (retried with backoff)."}),
		Anchors: prometheus.NewCounter(prometheus.CounterOpts{Name: "mailtrace_evidence_anchors_total",
			Help: "Checkpoints time-stamped by the TSA and stored."}),
		now: now,
	}
	m.lastAnchor.Store(now().UnixNano())
	reg.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "mailtrace_evidence_records_total",
			Help: "Evidence records appended to the ledger by this process."}, func() float64 { return float64(ls.appended()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "mailtrace_evidence_failed_total",
			Help: "Facts stored that could not be appended to the ledger (each logged)."}, func() float64 { return float64(ls.Failed()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "mailtrace_evidence_unsigned_records",
			Help: "Records appended after their log's last signed checkpoint."}, func() float64 {
			n, _ := ls.unsigned(now())
			return float64(n)
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "mailtrace_evidence_checkpoint_age_seconds",
			Help: "Seconds since the last checkpoint of the log whose unsigned records wait longest (0 when every record is signed)."}, func() float64 {
			_, age := ls.unsigned(now())
			return age.Seconds()
		}),
	)
	if a != nil {
		reg.MustRegister(m.TSAErrors, m.Anchors,
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "mailtrace_evidence_anchor_age_seconds",
				Help: "Seconds since a checkpoint was last time-stamped by the TSA (since start when none was)."}, func() float64 {
				return now().Sub(time.Unix(0, m.lastAnchor.Load())).Seconds()
			}),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "mailtrace_evidence_anchor_queue",
				Help: "Checkpoints waiting for their time stamp."}, func() float64 { return float64(a.Waiting()) }),
		)
	}
	return m
}

// AnchorStored records a stored anchor (AnchorerOptions.OnAnchor).
func (m *Metrics) AnchorStored(*Anchor) {
	m.Anchors.Inc()
	m.lastAnchor.Store(m.now().UnixNano())
}

// TSAError counts a failed attempt (AnchorerOptions.OnError).
func (m *Metrics) TSAError(error) { m.TSAErrors.Inc() }
