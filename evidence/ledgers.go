package evidence

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mailtrace/mailtrace/schema"
)

// Ledgers are the logs one process appends to: one per Postfix host whose
// facts it stores (origin Config.Origin(host)), opened at the host's first
// fact. Facts are queued and appended by one goroutine, so that the
// writers that hand them over (collector, milter recorder, bounce intake)
// do not wait for hashing; Flush waits for what was queued.
type Ledgers struct {
	opts    LedgersOptions
	queue   chan queued
	done    chan struct{}
	pending sync.WaitGroup

	mu       sync.Mutex
	byOrigin map[string]*Ledger
	failed   atomic.Uint64 // facts that could not be appended
	started  time.Time
	closed   atomic.Bool
}

type queued struct {
	host  string
	facts []Fact
	flush chan struct{} // non-nil: a flush marker
}

// LedgersOptions configure a process's ledgers.
type LedgersOptions struct {
	Config  Config
	Storage Storage
	Key     *Key
	Version string
	// OnCheckpoint receives each new checkpoint (the anchorer's queue).
	OnCheckpoint func(*Checkpoint)
	Logger       *slog.Logger
}

// NewLedgers starts the ledgers' appending goroutine.
func NewLedgers(opts LedgersOptions) *Ledgers {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	ls := &Ledgers{opts: opts, queue: make(chan queued, 4096), done: make(chan struct{}), byOrigin: map[string]*Ledger{}, started: time.Now()}
	go ls.loop()
	return ls
}

func (ls *Ledgers) loop() {
	defer close(ls.done)
	for q := range ls.queue {
		if q.flush != nil {
			close(q.flush)
			continue
		}
		l, err := ls.Ledger(context.Background(), q.host)
		if err != nil {
			ls.failed.Add(uint64(len(q.facts)))
			ls.opts.Logger.Error("evidence: facts were not appended: the host's log cannot be opened", "host", q.host, "facts", len(q.facts), "err", err)
		}
		for _, f := range q.facts {
			if l == nil {
				break
			}
			if _, err := l.Append(context.Background(), f); err != nil {
				ls.failed.Add(1)
				ls.opts.Logger.Error("evidence: a fact was not appended to the ledger", "host", q.host, "fact", f.ID, "err", err)
			}
		}
		ls.pending.Done()
	}
}

// Ledger returns the host's ledger, opening it (and its log in storage)
// at first use.
func (ls *Ledgers) Ledger(ctx context.Context, host string) (*Ledger, error) {
	origin := ls.opts.Config.Origin(host)
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if l := ls.byOrigin[origin]; l != nil {
		return l, nil
	}
	l, err := Open(ctx, Options{Origin: origin, Host: host, Version: ls.opts.Version, Storage: ls.opts.Storage, Key: ls.opts.Key,
		CheckpointInterval: ls.opts.Config.CheckpointInterval, OnCheckpoint: ls.opts.OnCheckpoint})
	if err != nil {
		return nil, err
	}
	if l.Appended() > 0 {
		ls.opts.Logger.Info("evidence: a new log starts; facts stored before it are not in the ledger", "origin", origin)
	}
	// The checkpoint signed at the last stop waits for its time stamp.
	if last := l.LastCheckpoint(); last != nil && ls.opts.OnCheckpoint != nil {
		anchored := false
		err := ls.opts.Storage.Anchors(ctx, origin, func(a *Anchor) error {
			anchored = anchored || a.Size == last.Tree.N
			return nil
		})
		if err == nil && !anchored {
			ls.opts.OnCheckpoint(last)
		}
	}
	ls.byOrigin[origin] = l
	return l, nil
}

// Append queues facts of one host's messages. It blocks only while the
// queue is full.
func (ls *Ledgers) Append(host string, facts ...Fact) {
	if len(facts) == 0 || ls.closed.Load() {
		return
	}
	ls.pending.Add(1)
	ls.queue <- queued{host: host, facts: facts}
}

// Accept queues the milter's accept records.
func (ls *Ledgers) Accept(recs []*schema.AcceptRecord) {
	for _, r := range recs {
		ls.Append(r.Host, AcceptFact(r))
	}
}

// Delivery queues a delivery attempt.
func (ls *Ledgers) Delivery(e *schema.DeliveryEvent) { ls.Append(e.Host, DeliveryFact(e)) }

// Message queues a message record's facts (none until it is final).
func (ls *Ledgers) Message(m *schema.MessageRecord) { ls.Append(m.Host, MessageFacts(m)...) }

// Bounces queues the rows of a report.
func (ls *Ledgers) Bounces(rows []*schema.Bounce) {
	for _, b := range rows {
		ls.Append(b.Host, BounceFact(b))
	}
}

// Flush waits until every fact queued before it is appended and stored.
func (ls *Ledgers) Flush(ctx context.Context) error {
	marker := make(chan struct{})
	if !ls.closed.Load() {
		ls.queue <- queued{flush: marker}
		select {
		case <-marker:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return ls.opts.Storage.Flush(ctx)
}

// Failed counts facts that could not be appended (logged each).
func (ls *Ledgers) Failed() uint64 { return ls.failed.Load() }

func (ls *Ledgers) all() []*Ledger {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	out := make([]*Ledger, 0, len(ls.byOrigin))
	for _, l := range ls.byOrigin {
		out = append(out, l)
	}
	return out
}

// Checkpoint signs a checkpoint of every log that grew.
func (ls *Ledgers) Checkpoint(ctx context.Context) error {
	if err := ls.Flush(ctx); err != nil {
		return err
	}
	var errs []error
	for _, l := range ls.all() {
		if _, _, err := l.Checkpoint(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Run signs checkpoints every CheckpointInterval while records arrive
// until ctx ends; Close signs the last ones.
func (ls *Ledgers) Run(ctx context.Context) {
	every := ls.opts.Config.CheckpointInterval
	if every <= 0 {
		every = time.Minute
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if err := ls.Checkpoint(ctx); err != nil && ctx.Err() == nil {
				ls.opts.Logger.Warn("evidence: signing checkpoints failed; trying again at the next interval", "err", err)
			}
		}
	}
}

// Close appends what is queued, signs a last checkpoint of every log
// that grew, and stops.
func (ls *Ledgers) Close(ctx context.Context) error {
	if ls.closed.Swap(true) {
		return nil
	}
	ls.pending.Wait()
	close(ls.queue)
	<-ls.done
	var errs []error
	if err := ls.opts.Storage.Flush(ctx); err != nil {
		errs = append(errs, err)
	}
	for _, l := range ls.all() {
		if _, _, err := l.Checkpoint(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// appended sums the records this process appended.
func (ls *Ledgers) appended() (n uint64) {
	for _, l := range ls.all() {
		n += l.Appended()
	}
	return n
}

// unsigned sums the records after each log's last checkpoint, and the
// age of the oldest such checkpoint (since start for a log without one).
func (ls *Ledgers) unsigned(now time.Time) (records int64, age time.Duration) {
	for _, l := range ls.all() {
		var n int64
		at := ls.started
		if c := l.LastCheckpoint(); c != nil {
			n, at = c.Tree.N, c.Time
		}
		if size := l.Size(); size > n {
			records += size - n
			age = max(age, now.Sub(at))
		}
	}
	return records, age
}

// EnsureKey loads the signing key, making it (mode 0600) if it is not
// there yet: the ledger is on by default.
func EnsureKey(path, name string, logger *slog.Logger) (*Key, error) {
	k, err := LoadKey(path)
	if err == nil {
		return k, nil
	}
	if _, statErr := os.Stat(path); !errors.Is(statErr, os.ErrNotExist) {
		return nil, err
	}
	k, err = WriteKey(path, name)
	if err != nil {
		return nil, fmt.Errorf("making the evidence signing key %s: %w", path, err)
	}
	if logger != nil {
		logger.Info("evidence: made a checkpoint signing key; give its public key to whoever verifies", "file", path, "key_id", k.ID(), "public_key", k.Public)
	}
	return k, nil
}
