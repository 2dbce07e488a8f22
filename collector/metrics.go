package collector

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/mailtrace/mailtrace/postfixlog"
	"github.com/mailtrace/mailtrace/schema"
)

// Metrics are the collector's Prometheus metrics.
type Metrics struct {
	Lines    *prometheus.CounterVec // by source and kind of line
	Rows     *prometheus.CounterVec // by source and table
	Commits  *prometheus.CounterVec // by source
	LastLine *prometheus.GaugeVec   // log time of the latest line, by source (lag = time() - this)
	Open     *prometheus.GaugeVec   // messages being followed, by source
	// Accepted counts messages Postfix took from clients (smtpd, pickup)
	// once they leave the queue, by whether the log ties them to a trace
	// ID: unstamped ones passed no milter (it was down or not configured).
	Accepted *prometheus.CounterVec
	// Deliveries counts delivery attempts by status, pool, receiving
	// provider and the category of the receiver's reply: bounce and
	// deferral rates per pool and provider come from it.
	Deliveries *prometheus.CounterVec
	// Unknown counts lines about a message that were not understood, by
	// kind (daemon/first word): a new Postfix line shape shows up here.
	Unknown *prometheus.CounterVec
	// Outside counts rows not stored because they are older than the
	// store's retention.
	Outside *prometheus.CounterVec
}

// NewMetrics creates the collector's metrics and registers them with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Lines: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mailtrace_collector_lines_total",
			Help: "Log lines read, by source, Postfix syslog name (\"other\" for other programs) and kind of line (unparsed and not-postfix lines are counted, never fatal)."},
			[]string{"source", "program", "kind"}),
		Rows: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mailtrace_collector_rows_total",
			Help: "Rows written to the store, by source and table."}, []string{"source", "table"}),
		Commits: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mailtrace_collector_commits_total",
			Help: "Chunks committed to the store with their checkpoint."}, []string{"source"}),
		LastLine: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "mailtrace_collector_last_line_timestamp_seconds",
			Help: "Log time of the latest line read; time() minus this is how far the collector is behind the log."}, []string{"source"}),
		Open: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "mailtrace_collector_open_messages",
			Help: "Messages still in Postfix's queue as the collector follows them."}, []string{"source"}),
		Accepted: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mailtrace_collector_accepted_messages_total",
			Help: "Messages Postfix accepted from clients (smtpd, pickup), counted when they leave the queue, by whether the log ties them to a trace ID (stamped=\"false\": the milter did not see them)."},
			[]string{"source", "stamped"}),
	}
	m.Deliveries = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mailtrace_deliveries_total",
		Help: "Delivery attempts from the log by status (sent, deferred, bounced, expired, rejected), pool, receiving provider and reply category (empty when delivered)."},
		[]string{"status", "pool", "provider", "category"})
	m.Unknown = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mailtrace_collector_unknown_lines_total",
		Help: "Postfix lines about a message (with a queue ID or NOQUEUE) that the collector did not understand, by source and kind (daemon/first word); a few of each kind per day are kept in the unknown_lines table."},
		[]string{"source", "kind"})
	m.Outside = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mailtrace_collector_outside_retention_total",
		Help: "Rows not stored because they are older than the store's retention (its TTL would drop them at once), by source and table; raise it with mailtrace migrate --retention-days N --apply-retention."},
		[]string{"source", "table"})
	reg.MustRegister(m.Lines, m.Rows, m.Commits, m.LastLine, m.Open, m.Accepted, m.Deliveries, m.Unknown, m.Outside)
	return m
}

// sourceMetrics are one source's counters, resolved once.
type sourceMetrics struct {
	name             string
	lines            *prometheus.CounterVec
	programs         map[string]*[postfixlog.NumKinds]prometheus.Counter
	events, messages prometheus.Counter
	commits          prometheus.Counter
	lastLine, open   prometheus.Gauge
	stamped          [2]prometheus.Counter // unstamped, stamped
	deliveriesVec    *prometheus.CounterVec
	deliveries       map[deliveryKey]prometheus.Counter
	unknownVec       *prometheus.CounterVec
	outsideVec       *prometheus.CounterVec
}

// unknownLine counts a line not understood (its kinds are bounded by the
// correlator).
func (s *sourceMetrics) unknownLine(kind string) { s.unknownVec.WithLabelValues(s.name, kind).Inc() }

// outside counts a row older than the retention.
func (s *sourceMetrics) outside(table string) { s.outsideVec.WithLabelValues(s.name, table).Inc() }

type deliveryKey struct{ status, pool, provider, category string }

// delivery counts one attempt.
func (s *sourceMetrics) delivery(e *schema.DeliveryEvent) {
	k := deliveryKey{string(e.Status), e.Pool, e.Provider, e.Category}
	c := s.deliveries[k]
	if c == nil {
		c = s.deliveriesVec.WithLabelValues(k.status, k.pool, k.provider, k.category)
		s.deliveries[k] = c
	}
	c.Inc()
}

func (m *Metrics) source(name string) *sourceMetrics {
	if m == nil {
		return nil
	}
	return &sourceMetrics{name: name, lines: m.Lines, programs: map[string]*[postfixlog.NumKinds]prometheus.Counter{},
		events: m.Rows.WithLabelValues(name, "delivery_events"), messages: m.Rows.WithLabelValues(name, "messages"),
		commits: m.Commits.WithLabelValues(name), lastLine: m.LastLine.WithLabelValues(name), open: m.Open.WithLabelValues(name),
		stamped:       [2]prometheus.Counter{m.Accepted.WithLabelValues(name, "false"), m.Accepted.WithLabelValues(name, "true")},
		deliveriesVec: m.Deliveries, deliveries: map[deliveryKey]prometheus.Counter{}, unknownVec: m.Unknown, outsideVec: m.Outside}
}

// maxPrograms bounds the program label: past it, syslog names count as "other".
const maxPrograms = 64

// line counts one line.
func (s *sourceMetrics) line(r *postfixlog.Record) {
	prog := r.Program
	if r.Kind <= postfixlog.NotPostfix {
		prog = nil
	}
	c := s.programs[string(prog)]
	if c == nil {
		label := string(prog)
		if label == "" || len(s.programs) >= maxPrograms {
			label = "other"
		}
		c = new([postfixlog.NumKinds]prometheus.Counter)
		for _, k := range postfixlog.Kinds() {
			c[k] = s.lines.WithLabelValues(s.name, label, k.String())
		}
		s.programs[string(prog)] = c
	}
	c[r.Kind].Inc()
}
