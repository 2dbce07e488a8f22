package milter

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the milter's Prometheus metrics.
type Metrics struct {
	Messages *prometheus.CounterVec // stamped, by class and pool
	// UnsubscribeMissing counts messages of bulk classes without one-click
	// unsubscribe (RFC 8058), by class and pool.
	UnsubscribeMissing *prometheus.CounterVec
	Errors             *prometheus.CounterVec // internal failures, by stage
	Decision           prometheus.Histogram   // time spent deciding and stamping one message
	Sessions           prometheus.Gauge       // open Postfix connections
}

// NewMetrics creates the milter's metrics and registers them with reg
// (when not nil). The recorder's counters are registered by
// RegisterRecorder.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Messages: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mailtrace_milter_messages_total",
			Help: "Messages the milter stamped, by class and pool."}, []string{"class", "pool"}),
		UnsubscribeMissing: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mailtrace_milter_unsubscribe_missing_total",
			Help: "Messages of bulk classes (bulk: true) without one-click unsubscribe: a List-Unsubscribe header with an https URI and List-Unsubscribe-Post: List-Unsubscribe=One-Click (RFC 8058), which Gmail and Yahoo require of marketing mail; by class and pool."}, []string{"class", "pool"}),
		Errors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mailtrace_milter_errors_total",
			Help: "Internal failures of the milter, by stage (classify, end_of_message); mail still got the on_error answer."}, []string{"stage"}),
		Decision: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "mailtrace_milter_decision_seconds",
			Help:    "Time the milter spent deciding and stamping one message (not counting the client's transfer).",
			Buckets: []float64{.0001, .00025, .0005, .001, .002, .003, .005, .01, .025, .1, 1}}),
		Sessions: prometheus.NewGauge(prometheus.GaugeOpts{Name: "mailtrace_milter_sessions",
			Help: "Postfix connections open to the milter."}),
	}
	if reg != nil {
		reg.MustRegister(m.Messages, m.UnsubscribeMissing, m.Errors, m.Decision, m.Sessions)
	}
	return m
}

// RegisterRecorder exports what happened to accept records.
func RegisterRecorder(reg prometheus.Registerer, r *Recorder) {
	outcome := func(name string, f func(RecorderStats) uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "mailtrace_milter_records_total",
			Help:        "Accept records by outcome: stored from memory, spooled to disk, replayed from the spool, lost (store and spool both failed).",
			ConstLabels: prometheus.Labels{"outcome": name}}, func() float64 { return float64(f(r.Stats())) })
	}
	reg.MustRegister(
		outcome("stored", func(s RecorderStats) uint64 { return s.Stored }),
		outcome("spooled", func(s RecorderStats) uint64 { return s.Spooled }),
		outcome("replayed", func(s RecorderStats) uint64 { return s.Replayed }),
		outcome("lost", func(s RecorderStats) uint64 { return s.Lost }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "mailtrace_milter_spool_files",
			Help: "Batches of accept records waiting in the spool for the store."}, func() float64 { return float64(r.SpoolFiles()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "mailtrace_milter_queue_records",
			Help: "Accept records waiting in memory for the store."}, func() float64 { return float64(r.QueueLength()) }),
	)
}
