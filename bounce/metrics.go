package bounce

import "github.com/prometheus/client_golang/prometheus"

// Metrics count the reports taken in.
type Metrics struct {
	Reports *prometheus.CounterVec // by kind and how they matched
	Forged  prometheus.Counter
	Errors  *prometheus.CounterVec // by source, reports offered again later
}

// NewMetrics creates the intake's metrics and registers them with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Reports: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mailtrace_dsn_reports_total",
			Help: "Reports taken in (DSNs, complaints, auto-replies) by kind and by what matched them to a message (verp, envid, header, message_id, or none: unmatched)."},
			[]string{"kind", "matched_by"}),
		Forged: prometheus.NewCounter(prometheus.CounterOpts{Name: "mailtrace_dsn_forged_total",
			Help: "Reports sent to a VERP address whose signature fails: kept as unmatched."}),
		Errors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mailtrace_dsn_intake_errors_total",
			Help: "Reports that could not be stored and are offered again (LMTP tempfail, Maildir file left in new/), by source."},
			[]string{"source"}),
	}
	reg.MustRegister(m.Reports, m.Forged, m.Errors)
	return m
}
