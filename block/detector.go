package block

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/mailtrace/mailtrace/internal/backoff"
	"github.com/mailtrace/mailtrace/schema"
	"github.com/mailtrace/mailtrace/store"
	"github.com/mailtrace/mailtrace/traceid"
)

// key names what an incident is about; for dnsbl, provider is the zone.
type key struct {
	kind                     schema.IncidentKind
	pool, sourceIP, provider string
}

// series is the recent attempts of one (pool, source IP, provider).
type series struct {
	obs                  []observation // oldest first, within the window
	blocks               int
	deliveriesSinceBlock int
	lastSeen             time.Time
}

type observation struct {
	t     time.Time
	block bool
}

// Detector follows the attempts and keeps the incidents.
type Detector struct {
	cfg     Config
	st      store.Store
	hook    *Webhook // nil without a webhook
	metrics *Metrics
	log     *slog.Logger
	now     func() time.Time

	mu      sync.Mutex
	series  map[key]*series
	open    map[key]*schema.Incident
	pending map[[16]byte]schema.Incident // written to the store by run
	wake    chan struct{}
	done    chan struct{}
}

// Options are a detector's parts.
type Options struct {
	Webhook *Webhook
	Metrics *Metrics
	Logger  *slog.Logger
}

// NewDetector makes a detector storing incidents in st. Start runs it.
func NewDetector(cfg Config, st store.Store, opts Options) *Detector {
	d := &Detector{cfg: cfg, st: st, hook: opts.Webhook, metrics: opts.Metrics, log: opts.Logger, now: time.Now,
		series: map[key]*series{}, open: map[key]*schema.Incident{}, pending: map[[16]byte]schema.Incident{},
		wake: make(chan struct{}, 1), done: make(chan struct{})}
	if d.log == nil {
		d.log = slog.Default()
	}
	return d
}

// Restore loads the incidents still open in the store, so that a restart
// neither forgets nor reopens them.
func (d *Detector) Restore(ctx context.Context) error {
	incs, err := List(ctx, d.st, Filter{Open: true, Limit: 10000})
	if err != nil {
		return fmt.Errorf("loading open block incidents: %w", err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, inc := range incs {
		row := inc.row()
		k := key{row.Kind, row.Pool, row.SourceIP, row.Provider}
		d.open[k] = &row
		d.metrics.set(k, true)
	}
	if len(incs) > 0 {
		d.log.Info("block incidents still open", "count", len(incs))
	}
	return nil
}

// Run writes incidents to the store and closes quiet ones until ctx ends,
// then writes what is left.
func (d *Detector) Run(ctx context.Context) {
	defer close(d.done)
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	retry, failing := backoff.New(time.Second, time.Minute), time.Duration(0)
	for {
		select {
		case <-ctx.Done():
			flush, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			d.flush(flush)
			cancel()
			return
		case <-d.wake:
		case <-tick.C:
			d.closeQuiet(d.now())
		}
		if failing > 0 && !backoff.Sleep(ctx, failing) {
			continue
		}
		if err := d.flush(ctx); err != nil {
			failing = retry.Next()
			d.log.Warn("block incidents not stored yet; retrying", "err", err, "in", failing)
		} else {
			retry.Reset()
			failing = 0
		}
	}
}

// flush stores the pending incident versions; on failure they stay
// pending (unless a newer version came meanwhile).
func (d *Detector) flush(ctx context.Context) error {
	d.mu.Lock()
	if len(d.pending) == 0 {
		d.mu.Unlock()
		return nil
	}
	batch := d.pending
	d.pending = map[[16]byte]schema.Incident{}
	d.mu.Unlock()
	enc := store.NewEncoder(schema.Incidents)
	for _, inc := range batch {
		inc.AppendRow(enc)
	}
	err := store.InsertEncoded(ctx, d.st, enc)
	if err != nil {
		d.mu.Lock()
		for id, inc := range batch {
			if _, newer := d.pending[id]; !newer {
				d.pending[id] = inc
			}
		}
		d.mu.Unlock()
	}
	return err
}

// saveLocked queues an incident's current version for the store. Opening
// and closing are written at once; the counts of an open incident, which
// change with every attempt, at the next tick (every 5 s), in one insert.
func (d *Detector) saveLocked(inc *schema.Incident, now bool) {
	inc.UpdatedAt = d.now().UTC()
	d.pending[inc.ID] = *inc
	if !now {
		return
	}
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Observe counts one delivery attempt. It never waits for the store or
// the webhook.
func (d *Detector) Observe(e *schema.DeliveryEvent) {
	if !schema.FromReceiver(e.Status) || e.Status == schema.StatusExpired || (e.Pool == "" && e.SourceIP == "") {
		return // not an attempt of ours to a receiver
	}
	k := key{schema.IncidentReplies, e.Pool, e.SourceIP, providerLabel(e.Provider)}
	d.mu.Lock()
	defer d.mu.Unlock()
	s := d.series[k]
	if s == nil {
		s = &series{}
		d.series[k] = s
	}
	s.obs = append(s.obs, observation{e.Time, e.IsBlock})
	if e.IsBlock {
		s.blocks++
		s.deliveriesSinceBlock = 0
	} else if e.Status == schema.StatusSent {
		s.deliveriesSinceBlock++
	}
	s.lastSeen = e.Time
	cut := e.Time.Add(-d.cfg.Window)
	i := 0
	for i < len(s.obs) && s.obs[i].t.Before(cut) {
		if s.obs[i].block {
			s.blocks--
		}
		i++
	}
	s.obs = s.obs[i:]
	if e.IsBlock {
		d.metrics.blockReply(k)
	}

	if inc := d.open[k]; inc != nil {
		inc.Attempts++
		if e.IsBlock {
			inc.Signals++
			inc.LastSignal, inc.Category, inc.Sample = e.Time, e.Category, clip(e.Response)
		}
		if s.deliveriesSinceBlock >= d.cfg.CloseAfterDeliveries {
			d.closeLocked(k, inc, schema.ClosedDeliveries, e.Time)
			return
		}
		d.saveLocked(inc, false)
		return
	}
	if e.IsBlock && s.blocks >= d.cfg.MinBlocks && float64(s.blocks) >= d.cfg.MinRatio*float64(len(s.obs)) {
		inc := &schema.Incident{ID: traceid.New(), Kind: schema.IncidentReplies, Pool: e.Pool, SourceIP: e.SourceIP, Provider: k.provider,
			OpenedAt: e.Time.UTC(), LastSignal: e.Time.UTC(), Signals: uint64(s.blocks), Attempts: uint64(len(s.obs)),
			Category: e.Category, Sample: clip(e.Response)}
		d.openLocked(k, inc)
	}
}

// Listed records that a DNS blocklist lists a source IP.
func (d *Detector) Listed(pool, ip, zone, answer, txt string, at time.Time) {
	k := key{schema.IncidentDNSBL, pool, ip, zone}
	d.mu.Lock()
	defer d.mu.Unlock()
	if inc := d.open[k]; inc != nil {
		inc.Signals++
		inc.LastSignal, inc.Category, inc.Sample = at.UTC(), answer, clip(txt)
		d.saveLocked(inc, false)
		return
	}
	d.openLocked(k, &schema.Incident{ID: traceid.New(), Kind: schema.IncidentDNSBL, Pool: pool, SourceIP: ip, Provider: zone,
		OpenedAt: at.UTC(), LastSignal: at.UTC(), Signals: 1, Category: answer, Sample: clip(txt)})
}

// NotListed records that a DNS blocklist does not list a source IP (any
// more).
func (d *Detector) NotListed(pool, ip, zone string, at time.Time) {
	k := key{schema.IncidentDNSBL, pool, ip, zone}
	d.mu.Lock()
	defer d.mu.Unlock()
	if inc := d.open[k]; inc != nil {
		d.closeLocked(k, inc, schema.ClosedDelisted, at)
	}
}

// closeQuiet closes reply incidents without a block reply for the quiet
// period, and forgets idle series.
func (d *Detector) closeQuiet(now time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for k, inc := range d.open {
		if k.kind == schema.IncidentReplies && now.Sub(inc.LastSignal) >= d.cfg.Quiet {
			d.closeLocked(k, inc, schema.ClosedQuiet, now)
		}
	}
	for k, s := range d.series {
		if _, open := d.open[k]; !open && now.Sub(s.lastSeen) > d.cfg.Window {
			delete(d.series, k)
		}
	}
}

func (d *Detector) openLocked(k key, inc *schema.Incident) {
	d.open[k] = inc
	d.saveLocked(inc, true)
	d.metrics.opened(k)
	d.log.Warn("block incident opened", "kind", inc.Kind, "pool", inc.Pool, "source_ip", inc.SourceIP, "provider", inc.Provider,
		"signals", inc.Signals, "attempts", inc.Attempts, "category", inc.Category, "reply", inc.Sample)
	d.hook.Notify(EventOpened, inc)
}

func (d *Detector) closeLocked(k key, inc *schema.Incident, reason schema.CloseReason, at time.Time) {
	delete(d.open, k)
	inc.ClosedAt, inc.CloseReason = at.UTC(), reason
	d.saveLocked(inc, true)
	d.metrics.set(k, false)
	d.log.Info("block incident closed", "kind", inc.Kind, "pool", inc.Pool, "source_ip", inc.SourceIP, "provider", inc.Provider, "reason", reason)
	d.hook.Notify(EventClosed, inc)
}

// Open lists the incidents open now.
func (d *Detector) Open() []schema.Incident {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]schema.Incident, 0, len(d.open))
	for _, inc := range d.open {
		out = append(out, *inc)
	}
	return out
}

func providerLabel(p string) string {
	if p == "" {
		return "other"
	}
	return p
}

// clip bounds a kept reply.
func clip(s string) string {
	if len(s) > 2048 {
		return s[:2048]
	}
	return s
}
