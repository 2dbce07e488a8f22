package block

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/mailtrace/mailtrace/schema"
)

// Metrics expose incidents to Prometheus.
type Metrics struct {
	Active       *prometheus.GaugeVec   // reply incidents open, by pool, source IP, provider
	Listed       *prometheus.GaugeVec   // DNSBL listings, by pool, source IP, zone
	Incidents    *prometheus.CounterVec // incidents opened, by kind
	BlockReplies *prometheus.CounterVec // block-classified replies, by pool, source IP, provider
	DNSBLErrors  *prometheus.CounterVec // lookups that failed, by zone
	Webhook      *prometheus.CounterVec // webhook deliveries by outcome
}

// NewMetrics creates the metrics and registers them with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Active: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "mailtrace_block_active",
			Help: "1 while a block incident is open: the provider refuses mail from this pool's source IP (0 once closed)."},
			[]string{"pool", "source_ip", "provider"}),
		Listed: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "mailtrace_dnsbl_listed",
			Help: "1 while the DNS blocklist zone lists this pool's source IP (0 once delisted)."},
			[]string{"pool", "source_ip", "zone"}),
		Incidents: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mailtrace_block_incidents_total",
			Help: "Block incidents opened, by kind (replies, dnsbl)."}, []string{"kind"}),
		BlockReplies: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mailtrace_block_replies_total",
			Help: "Replies classified as block signals (block lists, reputation), by pool, source IP and provider."},
			[]string{"pool", "source_ip", "provider"}),
		DNSBLErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mailtrace_dnsbl_errors_total",
			Help: "DNS blocklist lookups that failed or were refused (e.g. Spamhaus answering 127.255.255.x to a public resolver), by zone."},
			[]string{"zone"}),
		Webhook: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mailtrace_webhook_deliveries_total",
			Help: "Incident webhook posts by outcome: delivered, retried (a failed try that will be retried), failed (gave up), dropped (queue full)."},
			[]string{"outcome"}),
	}
	reg.MustRegister(m.Active, m.Listed, m.Incidents, m.BlockReplies, m.DNSBLErrors, m.Webhook)
	return m
}

func (m *Metrics) set(k key, on bool) {
	if m == nil {
		return
	}
	v := 0.0
	if on {
		v = 1
	}
	if k.kind == schema.IncidentDNSBL {
		m.Listed.WithLabelValues(k.pool, k.sourceIP, k.provider).Set(v)
	} else {
		m.Active.WithLabelValues(k.pool, k.sourceIP, k.provider).Set(v)
	}
}

func (m *Metrics) opened(k key) {
	if m == nil {
		return
	}
	m.set(k, true)
	m.Incidents.WithLabelValues(string(k.kind)).Inc()
}

func (m *Metrics) blockReply(k key) {
	if m != nil {
		m.BlockReplies.WithLabelValues(k.pool, k.sourceIP, k.provider).Inc()
	}
}

func (m *Metrics) webhook(outcome string) {
	if m != nil {
		m.Webhook.WithLabelValues(outcome).Inc()
	}
}

func (m *Metrics) dnsblError(zone string) {
	if m != nil {
		m.DNSBLErrors.WithLabelValues(zone).Inc()
	}
}
