package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mailtrace/mailtrace/internal/backoff"
)

// WriterOptions bound a Writer's batches and queue.
type WriterOptions struct {
	MaxRows  int           // flush a batch at this many rows (default 50,000)
	MaxBytes int           // or at this many encoded bytes (default 16 MiB)
	MaxDelay time.Duration // or this long after its first row (default 1 s)
	// Queue is how many sealed batches may wait for the store before Write
	// blocks: the back-pressure that keeps memory bounded when the store is
	// slow or down (default 4).
	Queue int
	// RetryMin and RetryMax bound the backoff between retries of a failed
	// insert (defaults 100 ms and 30 s). A batch is retried until it is
	// stored or the writer is closed: nothing accepted is dropped.
	RetryMin, RetryMax time.Duration
	// DeadLetterDir, when set, receives blocks whose content the store
	// rejects (see deadletter.go) after DeadLetterAfter attempts (default
	// 3), so that one bad block does not stall the rows behind it. Without
	// it such a block is retried like any other.
	DeadLetterDir   string
	DeadLetterAfter int
	Logger          *slog.Logger
}

func (o *WriterOptions) defaults() {
	if o.MaxRows <= 0 {
		o.MaxRows = 50_000
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = 16 << 20
	}
	if o.MaxDelay <= 0 {
		o.MaxDelay = time.Second
	}
	if o.Queue <= 0 {
		o.Queue = 4
	}
	if o.RetryMin <= 0 {
		o.RetryMin = 100 * time.Millisecond
	}
	if o.RetryMax <= 0 {
		o.RetryMax = 30 * time.Second
	}
	if o.DeadLetterAfter <= 0 {
		o.DeadLetterAfter = 3
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// Writer batches rows of one table into the store. Rows are grouped into
// blocks by count, size and age; blocks are inserted in order by one
// goroutine, each retried with the same deduplication token until stored.
// Write blocks when Queue blocks are already waiting.
type Writer struct {
	st    Store
	table *Table
	opts  WriterOptions

	mu      sync.Mutex   // guards enc, ready, timer, closed
	enc     *Encoder     // the open batch
	ready   *NativeBlock // a sealed batch not yet queued
	timer   *time.Timer
	closed  bool
	ackCond *sync.Cond

	pushing chan struct{} // held by the one goroutine moving ready to queue
	queue   chan *NativeBlock
	done    chan struct{}
	stopped context.Context // ends at Close: retries give up
	stop    context.CancelFunc

	written atomic.Uint64 // rows accepted by Write
	sealed  atomic.Uint64 // rows sealed into blocks
	acked   atomic.Uint64 // rows the store has acknowledged
	retries atomic.Uint64
	// deadLettered rows are counted in acked too: they are safe on disk.
	deadLettered atomic.Uint64
	lastErr      atomic.Pointer[error]
}

// NewWriter starts a writer for table.
func NewWriter(st Store, table *Table, opts WriterOptions) *Writer {
	opts.defaults()
	w := &Writer{st: st, table: table, opts: opts, enc: NewEncoder(table),
		pushing: make(chan struct{}, 1), queue: make(chan *NativeBlock, opts.Queue),
		done: make(chan struct{})}
	w.stopped, w.stop = context.WithCancel(context.Background())
	w.ackCond = sync.NewCond(&w.mu)
	go w.run()
	return w
}

func (w *Writer) fullLocked() bool {
	return w.enc.Rows() >= w.opts.MaxRows || w.enc.Size() >= w.opts.MaxBytes
}

// Write adds one row. It blocks while the batch is full and the queue too
// (back-pressure) and returns ctx's error if ctx ends first: the row is
// then not accepted.
func (w *Writer) Write(ctx context.Context, r Row) error {
	for {
		w.mu.Lock()
		if w.closed {
			w.mu.Unlock()
			return ErrClosed
		}
		if w.ready == nil && !w.fullLocked() {
			r.AppendRow(w.enc)
			if w.enc.Rows() == 1 && w.timer == nil {
				w.timer = time.AfterFunc(w.opts.MaxDelay, w.flushAged)
			}
			w.mu.Unlock()
			w.written.Add(1)
			return nil
		}
		w.mu.Unlock()
		if err := w.push(ctx, false, true); err != nil {
			return err
		}
	}
}

// sealLocked turns the open batch into the ready block.
func (w *Writer) sealLocked() error {
	if w.timer != nil {
		w.timer.Stop()
		w.timer = nil
	}
	b, err := w.enc.Seal()
	if err != nil {
		return err
	}
	w.sealed.Add(uint64(b.Rows))
	w.ready = b
	return nil
}

// push seals the open batch (when full, or when force and not empty) and
// moves the ready block to the queue, waiting for room until ctx ends.
// With wait false it gives up at once instead of waiting.
func (w *Writer) push(ctx context.Context, force, wait bool) error {
	w.mu.Lock()
	closed := w.closed
	w.mu.Unlock()
	if closed {
		return ErrClosed
	}
	full := func() error {
		return fmt.Errorf("writing to %s: store queue full: %w", w.table.Name, w.lastError(ctx.Err()))
	}
	if wait {
		select {
		case w.pushing <- struct{}{}:
		case <-ctx.Done():
			return full()
		}
	} else {
		select {
		case w.pushing <- struct{}{}:
		default:
			return errBusy
		}
	}
	defer func() { <-w.pushing }()
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return ErrClosed
	}
	if w.ready == nil && (w.fullLocked() || force && w.enc.Rows() > 0) {
		if err := w.sealLocked(); err != nil {
			w.mu.Unlock()
			return err
		}
	}
	b := w.ready
	w.mu.Unlock()
	if b == nil {
		return nil
	}
	if wait {
		select {
		case w.queue <- b:
		case <-ctx.Done():
			return full()
		}
	} else {
		select {
		case w.queue <- b:
		default:
			return errBusy
		}
	}
	w.mu.Lock()
	w.ready = nil
	w.mu.Unlock()
	return nil
}

// flushAged seals the open batch when its first row has waited MaxDelay.
// It runs on a timer and must not wait: when the queue is full it tries
// again later, and Write pushes meanwhile.
func (w *Writer) flushAged() {
	w.mu.Lock()
	w.timer = nil
	w.mu.Unlock()
	if err := w.push(context.Background(), true, false); err != nil {
		w.mu.Lock()
		if !w.closed && w.timer == nil {
			w.timer = time.AfterFunc(w.opts.MaxDelay, w.flushAged)
		}
		w.mu.Unlock()
	}
}

func (w *Writer) run() {
	defer close(w.done)
	for b := range w.queue {
		w.insert(b)
	}
}

// insert stores b, retrying with backoff until it is stored or the writer
// is stopped.
func (w *Writer) insert(b *NativeBlock) {
	retry := backoff.New(w.opts.RetryMin, w.opts.RetryMax)
	for attempt := 1; ; attempt++ {
		err := insertBlock(context.Background(), w.st, b)
		if err != nil && w.opts.DeadLetterDir != "" && attempt >= w.opts.DeadLetterAfter && rejected(err) {
			path, dlErr := deadLetter(w.opts.DeadLetterDir, b, err)
			if dlErr == nil {
				w.deadLettered.Add(uint64(b.Rows))
				w.opts.Logger.Error("store rejects a batch's content; set aside for inspection",
					"table", w.table.Name, "rows", b.Rows, "file", path, "err", err)
				err = nil
			} else {
				w.opts.Logger.Error("cannot set aside a rejected batch; retrying it", "dir", w.opts.DeadLetterDir, "err", dlErr)
			}
		}
		if err == nil {
			w.acked.Add(uint64(b.Rows))
			w.lastErr.Store(nil)
			w.mu.Lock()
			w.ackCond.Broadcast()
			w.mu.Unlock()
			return
		}
		w.lastErr.Store(&err)
		w.retries.Add(1)
		delay := retry.Next()
		w.opts.Logger.Warn("store insert failed; retrying the same batch",
			"table", w.table.Name, "rows", b.Rows, "attempt", attempt, "retry_in", delay, "err", err)
		if !backoff.Sleep(w.stopped, delay) {
			w.mu.Lock()
			w.ackCond.Broadcast()
			w.mu.Unlock()
			return
		}
	}
}

// Flush seals the open batch and waits until the store has acknowledged
// every row written before the call, or ctx ends.
func (w *Writer) Flush(ctx context.Context) error {
	target, err := w.Seal(ctx)
	if err != nil {
		return err
	}
	return w.Wait(ctx, target)
}

// Seal hands every row written so far to the store, without waiting for
// it, and returns the count that Wait takes to wait for them.
func (w *Writer) Seal(ctx context.Context) (uint64, error) {
	// The ready block and the open batch may both hold rows: push twice.
	for range 2 {
		if err := w.push(ctx, true, true); err != nil {
			return 0, err
		}
	}
	return w.sealed.Load(), nil
}

// Wait waits until the store has acknowledged target rows (see Seal).
func (w *Writer) Wait(ctx context.Context, target uint64) error {
	stopWaking := context.AfterFunc(ctx, func() {
		w.mu.Lock()
		w.ackCond.Broadcast()
		w.mu.Unlock()
	})
	defer stopWaking()
	w.mu.Lock()
	defer w.mu.Unlock()
	for w.acked.Load() < target {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("flushing %s: %d rows not yet stored: %w", w.table.Name, target-w.acked.Load(), w.lastError(err))
		}
		select {
		case <-w.done:
			return fmt.Errorf("flushing %s: writer stopped with %d rows not stored: %w", w.table.Name, target-w.acked.Load(), w.lastError(ErrClosed))
		default:
		}
		w.ackCond.Wait()
	}
	return nil
}

func (w *Writer) lastError(fallback error) error {
	if p := w.lastErr.Load(); p != nil {
		return fmt.Errorf("%w (last store error: %v)", fallback, *p)
	}
	return fallback
}

// Close flushes, then stops the writer. If ctx ends before the store has
// taken everything, Close gives up the retries and reports how many rows
// were not stored.
func (w *Writer) Close(ctx context.Context) error {
	err := w.Flush(ctx)
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return ErrClosed
	}
	w.closed = true
	if w.timer != nil {
		w.timer.Stop()
	}
	w.mu.Unlock()
	w.stop()
	w.pushing <- struct{}{} // no push is under way, and none will start
	close(w.queue)
	<-w.done
	return err
}

// errBusy is a push that would have had to wait.
var errBusy = errors.New("store writer busy")

// Stats are a writer's counters, in rows.
type Stats struct {
	Written, Acked, Retries uint64
	// DeadLettered rows were set aside in DeadLetterDir (and are part of
	// Acked: they are safe on disk, not in the store).
	DeadLettered uint64
}

// Stats reports rows accepted and acknowledged, and failed inserts retried.
// A caller that checkpoints its input (the collector) may record Written
// with its position and commit the position once Acked has reached it.
func (w *Writer) Stats() Stats {
	return Stats{Written: w.written.Load(), Acked: w.acked.Load(), Retries: w.retries.Load(), DeadLettered: w.deadLettered.Load()}
}
