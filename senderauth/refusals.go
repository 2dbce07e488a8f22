package senderauth

import (
	"slices"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mailtrace/mailtrace/reply"
	"github.com/mailtrace/mailtrace/schema"
)

// Refusals counts receivers' authentication refusals as the collector
// sees them, a day ahead of any DMARC report: per pool, provider, class
// and the requirement that failed. An attempt does not carry its class;
// it is the class (or the classes, joined by "|") that leave through the
// attempt's pool.
type Refusals struct {
	classifier *reply.Classifier
	classOf    map[string]string
	counter    *prometheus.CounterVec
}

// NewRefusals registers mailtrace_auth_refusals_total with reg. classes
// maps each class to its pool.
func NewRefusals(reg prometheus.Registerer, classifier *reply.Classifier, classes map[string]string) *Refusals {
	byPool := map[string][]string{}
	for class, pool := range classes {
		byPool[pool] = append(byPool[pool], class)
	}
	r := &Refusals{classifier: classifier, classOf: map[string]string{},
		counter: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mailtrace_auth_refusals_total",
			Help: "Receivers' refusals (and deferrals) of our mail for failed sender authentication, by pool, provider, class (the classes of the pool) and requirement: ptr, spf, tls, dkim, dmarc, alignment, unauthenticated, auth-level."},
			[]string{"pool", "provider", "class", "requirement"})}
	for pool, cs := range byPool {
		slices.Sort(cs)
		r.classOf[pool] = strings.Join(cs, "|")
	}
	if r.classifier == nil {
		r.classifier = reply.Default()
	}
	reg.MustRegister(r.counter)
	return r
}

// Observe counts one classified attempt if the receiver refused it for
// its authentication. It does not block.
func (r *Refusals) Observe(e *schema.DeliveryEvent) {
	if e.Status == schema.StatusSent || e.Status == schema.StatusRejected || e.Category != "policy-related" && e.Category != "bad-configuration" {
		return
	}
	res := r.classifier.Classify(e.Response, e.DSN, e.RelayHost, reply.Domain(e.Recipient))
	if res.Auth == "" {
		return
	}
	r.counter.WithLabelValues(e.Pool, e.Provider, r.classOf[e.Pool], string(res.Auth)).Inc()
}
