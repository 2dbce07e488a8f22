package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
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
	Logger             *slog.Logger
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

	mu      sync.Mutex
	enc     Encoder
	rows    int
	timer   *time.Timer
	closed  bool
	queue   chan *Block
	done    chan struct{}
	stop    chan struct{}
	ackCond *sync.Cond

	written atomic.Uint64 // rows accepted by Write
	sealed  uint64        // rows handed to the queue (under mu)
	acked   atomic.Uint64 // rows the store has acknowledged
	retries atomic.Uint64
	lastErr atomic.Pointer[error]
}

// NewWriter starts a writer for table.
func NewWriter(st Store, table *Table, opts WriterOptions) *Writer {
	opts.defaults()
	w := &Writer{st: st, table: table, opts: opts,
		queue: make(chan *Block, opts.Queue), done: make(chan struct{}), stop: make(chan struct{})}
	w.ackCond = sync.NewCond(&w.mu)
	go w.run()
	return w
}

// NewBlock seals encoded rows into a block whose token is derived from the
// table and the content, so that the same rows sent again are stored once.
func NewBlock(table *Table, rows int, data []byte) *Block {
	h := sha256.New()
	h.Write([]byte(table.Name))
	h.Write([]byte{0})
	h.Write(data)
	return &Block{Table: table, Rows: rows, Data: data, Token: hex.EncodeToString(h.Sum(nil)[:16])}
}

// Write adds one row. It blocks while the queue is full (back-pressure) and
// returns ctx's error if ctx ends first; the row is then not accepted.
func (w *Writer) Write(ctx context.Context, r Row) error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return ErrClosed
	}
	mark := w.enc.Len()
	r.AppendRow(&w.enc)
	w.rows++
	if w.rows == 1 {
		w.timer = time.AfterFunc(w.opts.MaxDelay, w.flushAged)
	}
	if w.rows < w.opts.MaxRows && w.enc.Len() < w.opts.MaxBytes {
		w.written.Add(1)
		w.mu.Unlock()
		return nil
	}
	b := w.sealLocked()
	w.mu.Unlock()
	if err := w.enqueue(ctx, b); err != nil {
		// Not accepted: take the row back out so that it is not stored
		// behind the caller's back, and keep the others.
		w.mu.Lock()
		w.unsealLocked(b, mark)
		w.mu.Unlock()
		return err
	}
	w.written.Add(1)
	return nil
}

// sealLocked turns the pending rows into a block.
func (w *Writer) sealLocked() *Block {
	if w.timer != nil {
		w.timer.Stop()
		w.timer = nil
	}
	data := make([]byte, w.enc.Len())
	copy(data, w.enc.Bytes())
	b := NewBlock(w.table, w.rows, data)
	w.sealed += uint64(w.rows)
	w.enc.Reset()
	w.rows = 0
	return b
}

// unsealLocked puts a block that could not be queued back as pending rows,
// minus its last row (from byte offset mark on), which was not accepted.
func (w *Writer) unsealLocked(b *Block, mark int) {
	w.sealed -= uint64(b.Rows)
	rest := append(b.Data[:mark:mark], w.enc.Bytes()...)
	w.enc.Reset()
	w.enc.buf = append(w.enc.buf, rest...)
	w.rows += b.Rows - 1
	if w.rows > 0 && w.timer == nil {
		w.timer = time.AfterFunc(w.opts.MaxDelay, w.flushAged)
	}
}

func (w *Writer) enqueue(ctx context.Context, b *Block) error {
	select {
	case w.queue <- b:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("writing to %s: store queue full: %w", w.table.Name, ctx.Err())
	}
}

// flushAged seals the pending rows when the oldest has waited MaxDelay.
// It must not block (it runs on a timer), so a full queue leaves the rows
// pending for the next Write or Flush.
func (w *Writer) flushAged() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.rows == 0 || w.closed {
		return
	}
	b := w.sealLocked()
	select {
	case w.queue <- b:
	default:
		w.unsealLocked(b, len(b.Data))
		w.rows++ // unseal dropped the "last row"; here every row stays
		w.timer = time.AfterFunc(w.opts.MaxDelay, w.flushAged)
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
func (w *Writer) insert(b *Block) {
	delay := w.opts.RetryMin
	for attempt := 1; ; attempt++ {
		err := w.st.Insert(context.Background(), b)
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
		w.opts.Logger.Warn("store insert failed; retrying the same batch",
			"table", w.table.Name, "rows", b.Rows, "attempt", attempt, "retry_in", delay, "err", err)
		select {
		case <-time.After(delay):
		case <-w.stop:
			w.mu.Lock()
			w.ackCond.Broadcast()
			w.mu.Unlock()
			return
		}
		delay = min(delay*2, w.opts.RetryMax)
	}
}

// Flush seals the pending rows and waits until the store has acknowledged
// every row written before the call, or ctx ends.
func (w *Writer) Flush(ctx context.Context) error {
	w.mu.Lock()
	var b *Block
	if w.rows > 0 {
		b = w.sealLocked()
	}
	target := w.sealed
	w.mu.Unlock()
	if b != nil {
		if err := w.enqueue(ctx, b); err != nil {
			w.mu.Lock()
			w.unsealLocked(b, len(b.Data))
			w.rows++
			w.mu.Unlock()
			return err
		}
	}
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
	w.mu.Unlock()
	close(w.stop)
	close(w.queue)
	<-w.done
	return err
}

// Stats are a writer's counters, in rows.
type Stats struct {
	Written, Acked, Retries uint64
}

// Stats reports rows accepted and acknowledged, and failed inserts retried.
// A caller that checkpoints its input (the collector) may record Written
// with its position and commit the position once Acked has reached it.
func (w *Writer) Stats() Stats {
	return Stats{Written: w.written.Load(), Acked: w.acked.Load(), Retries: w.retries.Load()}
}
