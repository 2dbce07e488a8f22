package milter

import (
	"context"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mailtrace/mailtrace/evidence"
	"github.com/mailtrace/mailtrace/internal/backoff"
	"github.com/mailtrace/mailtrace/schema"
	"github.com/mailtrace/mailtrace/store"
)

// Recorder brings accept records to the store without ever making the
// milter wait: Record hands a record to a bounded in-memory queue, a
// background loop inserts batches, and whatever the store does not take
// (it is down, slow, or the queue is full) goes to the on-disk spool, which
// is replayed when the store answers again.
type Recorder struct {
	st      store.Store
	spool   *spool
	opts    RecorderOptions
	queue   chan *schema.AcceptRecord
	closing chan struct{}
	done    sync.WaitGroup
	mu      sync.Mutex // guards closed against Record after Close
	closed  bool

	// storeDown is set when an insert fails and cleared when a replay
	// succeeds: while it is set, batches go to the spool without trying.
	storeDown atomic.Bool
	stats     struct{ stored, spooled, replayed, lost atomic.Uint64 }
}

// RecorderOptions tune the Recorder.
type RecorderOptions struct {
	SpoolDir  string
	QueueSize int           // records waiting in memory (default 10000)
	MaxBatch  int           // records per insert (default 1000)
	MaxDelay  time.Duration // longest a record waits for its batch (default 500ms)
	// InsertTimeout bounds one insert before its batch goes to the spool
	// (default 10s).
	InsertTimeout time.Duration
	// ReplayEvery is how often the spool is tried while the store is down
	// (default 2s, doubling to 1m while it stays down).
	ReplayEvery time.Duration
	Logger      *slog.Logger
	// Evidence, when set, receives every accept record once the store
	// has it (from memory or the spool), as an evidence fact.
	Evidence *evidence.Ledgers
}

// RecorderStats count accept records by what happened to them.
type RecorderStats struct {
	Stored   uint64 // inserted straight from memory
	Spooled  uint64 // written to the spool
	Replayed uint64 // inserted from the spool
	Lost     uint64 // neither stored nor spooled (the disk failed too)
}

// replayChunk is the number of records per block when a spool file is
// replayed: fixed, so that a file always makes the same blocks.
const replayChunk = 1000

// NewRecorder starts a Recorder; Close stops it.
func NewRecorder(st store.Store, opts RecorderOptions) (*Recorder, error) {
	if opts.QueueSize <= 0 {
		opts.QueueSize = 10000
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 1000
	}
	if opts.MaxDelay <= 0 {
		opts.MaxDelay = 500 * time.Millisecond
	}
	if opts.InsertTimeout <= 0 {
		opts.InsertTimeout = 10 * time.Second
	}
	if opts.ReplayEvery <= 0 {
		opts.ReplayEvery = 2 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	sp, err := openSpool(opts.SpoolDir)
	if err != nil {
		return nil, err
	}
	r := &Recorder{st: st, spool: sp, opts: opts, queue: make(chan *schema.AcceptRecord, opts.QueueSize), closing: make(chan struct{})}
	r.done.Add(2)
	go r.batchLoop()
	go r.replayLoop()
	return r, nil
}

// Record queues one accept record. It never waits on the store: when the
// queue is full the record is spooled right here.
func (r *Recorder) Record(rec *schema.AcceptRecord) {
	r.mu.Lock()
	closed := r.closed
	if !closed {
		select {
		case r.queue <- rec:
			r.mu.Unlock()
			return
		default:
		}
	}
	r.mu.Unlock()
	r.toSpool([]*schema.AcceptRecord{rec}, "queue full")
}

// Stats reports what happened to the records so far.
func (r *Recorder) Stats() RecorderStats {
	return RecorderStats{Stored: r.stats.stored.Load(), Spooled: r.stats.spooled.Load(), Replayed: r.stats.replayed.Load(),
		Lost: r.stats.lost.Load()}
}

// SpoolFiles is the number of batches waiting in the spool.
func (r *Recorder) SpoolFiles() int {
	files, _ := r.spool.files()
	return len(files)
}

// QueueLength is the number of records waiting in memory.
func (r *Recorder) QueueLength() int { return len(r.queue) }

// Close stores or spools every queued record and stops. Records still
// spooled stay on disk for the next start.
func (r *Recorder) Close(ctx context.Context) error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	close(r.queue)
	r.mu.Unlock()
	close(r.closing)
	ch := make(chan struct{})
	go func() { r.done.Wait(); close(ch) }()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (r *Recorder) batchLoop() {
	defer r.done.Done()
	var batch []*schema.AcceptRecord
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		select {
		case rec, ok := <-r.queue:
			if !ok {
				r.flush(batch)
				return
			}
			if len(batch) == 0 {
				timer.Reset(r.opts.MaxDelay)
			}
			batch = append(batch, rec)
			if len(batch) >= r.opts.MaxBatch {
				timer.Stop()
				r.flush(batch)
				batch = nil
			}
		case <-timer.C:
			r.flush(batch)
			batch = nil
		}
	}
}

// flush inserts a batch, or spools it when the store is down or fails.
func (r *Recorder) flush(batch []*schema.AcceptRecord) {
	if len(batch) == 0 {
		return
	}
	if r.storeDown.Load() {
		r.toSpool(batch, "store down")
		return
	}
	if err := r.insert(batch); err != nil {
		r.storeDown.Store(true)
		r.opts.Logger.Warn("store does not take accept records; spooling them until it does", "records", len(batch), "err", err)
		r.toSpool(batch, "insert failed")
		return
	}
	r.stats.stored.Add(uint64(len(batch)))
}

func (r *Recorder) insert(batch []*schema.AcceptRecord) error {
	ctx, cancel := context.WithTimeout(context.Background(), r.opts.InsertTimeout)
	defer cancel()
	if err := store.InsertRows(ctx, r.st, schema.AcceptRecords, batch...); err != nil {
		return err
	}
	if r.opts.Evidence != nil {
		r.opts.Evidence.Accept(batch)
	}
	return nil
}

func (r *Recorder) toSpool(batch []*schema.AcceptRecord, why string) {
	if err := r.spool.write(batch); err != nil {
		r.stats.lost.Add(uint64(len(batch)))
		r.opts.Logger.Error("accept records lost: neither the store nor the spool takes them; the Postfix log still links queue and trace IDs",
			"records", len(batch), "why", why, "spool", r.spool.dir, "err", err)
		return
	}
	r.stats.spooled.Add(uint64(len(batch)))
}

// replayLoop empties the spool into the store, oldest file first, backing
// off while the store stays down.
func (r *Recorder) replayLoop() {
	defer r.done.Done()
	wait := time.Duration(0) // replay what a previous run left at once
	retry := backoff.New(r.opts.ReplayEvery, time.Minute)
	for {
		select {
		case <-r.closing:
			return
		case <-time.After(wait):
		}
		if err := r.replay(); err != nil {
			r.storeDown.Store(true)
			wait = retry.Next()
			r.opts.Logger.Warn("spooled accept records wait for the store", "retry_in", wait, "err", err)
			continue
		}
		retry.Reset()
		wait = r.opts.ReplayEvery
	}
}

// replay inserts every spooled file and removes it; it stops at the first
// failing insert. With an empty spool it checks nothing and clears the
// down flag only when a replay really went through.
func (r *Recorder) replay() error {
	files, err := r.spool.files()
	if err != nil {
		return err
	}
	for _, path := range files {
		select {
		case <-r.closing:
			return nil
		default:
		}
		recs, err := r.spool.read(path)
		if err != nil {
			r.opts.Logger.Error("spool file cannot be read; set aside as .bad", "file", path, "err", err)
			r.spool.setAside(path)
			continue
		}
		for start := 0; start < len(recs); start += replayChunk {
			if err := r.insert(recs[start:min(start+replayChunk, len(recs))]); err != nil {
				return err
			}
		}
		if err := os.Remove(path); err != nil {
			return err
		}
		r.stats.replayed.Add(uint64(len(recs)))
		if r.storeDown.Swap(false) {
			r.opts.Logger.Info("store takes accept records again; replaying the spool")
		}
	}
	return nil
}
