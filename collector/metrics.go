package collector

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/mailtrace/mailtrace/postfixlog"
)

// Metrics are the collector's Prometheus metrics.
type Metrics struct {
	Lines    *prometheus.CounterVec // by source and kind of line
	Rows     *prometheus.CounterVec // by source and table
	Commits  *prometheus.CounterVec // by source
	LastLine *prometheus.GaugeVec   // log time of the latest line, by source (lag = time() - this)
	Open     *prometheus.GaugeVec   // messages being followed, by source
}

// NewMetrics creates the collector's metrics and registers them with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Lines: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mailtrace_collector_lines_total",
			Help: "Log lines read, by source and kind (unparsed and not-postfix lines are counted, never fatal)."}, []string{"source", "kind"}),
		Rows: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mailtrace_collector_rows_total",
			Help: "Rows written to the store, by source and table."}, []string{"source", "table"}),
		Commits: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mailtrace_collector_commits_total",
			Help: "Chunks committed to the store with their checkpoint."}, []string{"source"}),
		LastLine: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "mailtrace_collector_last_line_timestamp_seconds",
			Help: "Log time of the latest line read; time() minus this is how far the collector is behind the log."}, []string{"source"}),
		Open: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "mailtrace_collector_open_messages",
			Help: "Messages still in Postfix's queue as the collector follows them."}, []string{"source"}),
	}
	reg.MustRegister(m.Lines, m.Rows, m.Commits, m.LastLine, m.Open)
	return m
}

// sourceMetrics are one source's counters, resolved once.
type sourceMetrics struct {
	kinds            [32]prometheus.Counter
	events, messages prometheus.Counter
	commits          prometheus.Counter
	lastLine, open   prometheus.Gauge
}

func (m *Metrics) source(name string) *sourceMetrics {
	if m == nil {
		return nil
	}
	s := &sourceMetrics{events: m.Rows.WithLabelValues(name, "delivery_events"), messages: m.Rows.WithLabelValues(name, "messages"),
		commits: m.Commits.WithLabelValues(name), lastLine: m.LastLine.WithLabelValues(name), open: m.Open.WithLabelValues(name)}
	for _, k := range postfixlog.Kinds() {
		s.kinds[k] = m.Lines.WithLabelValues(name, k.String())
	}
	return s
}
