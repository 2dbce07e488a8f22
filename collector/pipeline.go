package collector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mailtrace/mailtrace/evidence"
	"github.com/mailtrace/mailtrace/internal/backoff"
	"github.com/mailtrace/mailtrace/pool"
	"github.com/mailtrace/mailtrace/postfixlog"
	"github.com/mailtrace/mailtrace/reply"
	"github.com/mailtrace/mailtrace/schema"
	"github.com/mailtrace/mailtrace/store"
)

// Stats count what a pipeline read and wrote.
type Stats struct {
	Lines    uint64 // lines read
	Events   uint64 // delivery events written
	Messages uint64 // message records written
	// Unknown counts the lines about a message that were not understood,
	// by kind (see UnknownKind); a few of each are in unknown_lines.
	Unknown map[string]uint64
	// Outside counts the rows not written because they are older than the
	// store's retention (the TTL would drop them at once); Oldest is the
	// oldest of them.
	Outside Outside
	// Skipped counts the rows not written because they are not before
	// PipelineOptions.Before (an import again: they were stored).
	Skipped uint64
}

// Outside counts rows older than the store's retention.
type Outside struct {
	Events, Messages uint64
	Oldest           time.Time
	RetentionDays    int
}

// sub is what s counted since before.
func (s Stats) sub(before Stats) Stats {
	out := Stats{Lines: s.Lines - before.Lines, Events: s.Events - before.Events, Messages: s.Messages - before.Messages,
		Skipped: s.Skipped - before.Skipped, Unknown: map[string]uint64{}}
	for k, v := range s.Unknown {
		if d := v - before.Unknown[k]; d > 0 {
			out.Unknown[k] = d
		}
	}
	out.Outside = Outside{Events: s.Outside.Events - before.Outside.Events, Messages: s.Outside.Messages - before.Outside.Messages,
		RetentionDays: s.Outside.RetentionDays}
	if out.Outside.Events+out.Outside.Messages > 0 {
		out.Outside.Oldest = s.Outside.Oldest
	}
	return out
}

func (s Stats) clone() Stats {
	c := s
	c.Unknown = make(map[string]uint64, len(s.Unknown))
	for k, v := range s.Unknown {
		c.Unknown[k] = v
	}
	return c
}

// Pipeline carries one log source into the store: each line is parsed and
// correlated, and every ChunkLines lines (and at the end) the chunk is
// committed:
//
//  1. a checkpoint row records the chunk's end as pending;
//  2. the chunk's events and messages are inserted, one block per table;
//  3. a checkpoint row records the new offset and the open messages.
//
// After a crash between 1 and 3, the lines up to the pending end are read
// again from the previous offset and state, which makes exactly the same
// blocks, and the store's insert deduplication keeps them once.
type Pipeline struct {
	st          store.Store
	corr        *Correlator
	parser      postfixlog.Parser
	events      *store.Writer
	messages    *store.Writer
	unknown     *store.Writer
	log         *slog.Logger
	ChunkLines  int
	cp          schema.Checkpoint // last committed
	offset      uint64            // bytes consumed
	lines       uint64
	inChunk     int
	replayEnd   uint64
	dirty       bool
	lastUpdated time.Time
	cursor      string     // the source's own position after the last line (journald)
	inflight    chan error // the previous chunk's commit, finishing
	metrics     *Metrics
	m           *sourceMetrics
	classifier  *reply.Classifier
	observer    func(*schema.DeliveryEvent)
	evidence    *evidence.Ledgers
	committed   atomic.Uint64
	retention   int       // days the store keeps rows; 0 = no limit known
	cutoff      time.Time // rows before it are outside the retention
	before      time.Time // only rows before it are written (zero: all)
	again       bool      // ignore checkpoints: read sources from their start
	fresh       bool      // Begin found no checkpoint for the source's file
	warnedAt    uint64    // rows outside retention when last warned
	Stats       Stats
}

// PipelineOptions configure a pipeline.
type PipelineOptions struct {
	Pools      []pool.Pool
	Grace      time.Duration
	Location   *time.Location
	ChunkLines int // default 250,000
	// Announce writes a provisional record of each message as soon as it
	// is queued (for live logs; see Correlator.Announce).
	Announce bool
	Metrics  *Metrics // optional
	Logger   *slog.Logger
	// Classifier gives each attempt's reply its category, provider and
	// block signal (default: the shipped rules).
	Classifier *reply.Classifier
	// Observer, if set, sees every attempt once it is classified (block
	// detection). It must not block.
	Observer func(*schema.DeliveryEvent)
	// RetentionDays is the store's retention (schema.Retention): rows older
	// than that are counted and not written, since the TTL would drop them
	// at once. 0 writes every row.
	RetentionDays int
	// Before, when set, writes only rows from before it: importing a file
	// again after raising the retention adds the rows it left out, and not
	// again the ones it stored (dashboards' counts add every row written).
	Before time.Time
	// Again reads each source from its start even if it was read before.
	Again bool
	// Evidence, when set, receives every attempt and every final message
	// record written, as evidence facts; each commit waits until they are
	// stored before it moves the checkpoint.
	Evidence *evidence.Ledgers
}

// NewPipeline makes a pipeline writing to st.
func NewPipeline(st store.Store, opts PipelineOptions) *Pipeline {
	if opts.ChunkLines <= 0 {
		opts.ChunkLines = 250_000
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	// Blocks are cut only at chunk boundaries (Flush), so that a replayed
	// chunk makes the same blocks.
	wo := store.WriterOptions{MaxRows: 1 << 40, MaxBytes: 1 << 40, MaxDelay: 365 * 24 * time.Hour, Logger: opts.Logger}
	p := &Pipeline{st: st, log: opts.Logger, ChunkLines: opts.ChunkLines,
		events: store.NewWriter(st, schema.DeliveryEvents, wo), messages: store.NewWriter(st, schema.Messages, wo),
		unknown: store.NewWriter(st, schema.UnknownLines, wo), retention: opts.RetentionDays, before: opts.Before, again: opts.Again}
	p.Stats.Unknown = map[string]uint64{}
	p.Stats.Outside.RetentionDays = opts.RetentionDays
	p.setCutoff()
	p.parser.Location = opts.Location
	p.corr = NewCorrelator(sinkFunc{p}, opts.Pools, opts.Grace)
	p.corr.Announce = opts.Announce
	p.corr.KeepLines = opts.Evidence != nil
	p.metrics = opts.Metrics
	p.classifier, p.observer, p.evidence = opts.Classifier, opts.Observer, opts.Evidence
	if p.classifier == nil {
		p.classifier = reply.Default()
	}
	return p
}

type sinkFunc struct{ p *Pipeline }

// setCutoff moves the retention cutoff to now, at most once a day: within
// an import it stays where it was, so that the rows left out are exactly
// those before Cutoff.
func (p *Pipeline) setCutoff() {
	if p.retention <= 0 {
		return
	}
	if c := time.Now().UTC().AddDate(0, 0, -p.retention).Truncate(time.Second); c.Sub(p.cutoff) >= 24*time.Hour {
		p.cutoff = c
	}
}

// Cutoff is the time before which rows are outside the store's retention
// and not written (zero when no retention is known).
func (p *Pipeline) Cutoff() time.Time { return p.cutoff }

// keep tells whether a row of time t is written: it is within the store's
// retention (and before Before, when set). Rows outside are counted.
func (p *Pipeline) keep(t time.Time, table string) bool {
	if !p.before.IsZero() && !t.Before(p.before) {
		p.Stats.Skipped++
		return false
	}
	if p.cutoff.IsZero() || !t.Before(p.cutoff) {
		return true
	}
	o := &p.Stats.Outside
	if table == "messages" {
		o.Messages++
	} else {
		o.Events++
	}
	if o.Oldest.IsZero() || t.Before(o.Oldest) {
		o.Oldest = t
	}
	if p.m != nil {
		p.m.outside(table)
	}
	return false
}

// OutsideHint says what to do about rows older than the retention: raise
// it to cover the oldest, then import again the rows left out.
func (o Outside) Hint() string {
	if o.Events+o.Messages == 0 {
		return ""
	}
	need := int(time.Since(o.Oldest).Hours()/24) + 2
	return fmt.Sprintf("%s and %s are older than the store's retention of %d days (the oldest from %s) and were not stored; "+
		"to keep them, run `mailtrace migrate --retention-days %d --apply-retention`",
		Count(o.Events, "delivery event"), Count(o.Messages, "message record"), o.RetentionDays, o.Oldest.Format(time.DateOnly), need)
}

// Count says "1 line", "2 lines".
func Count(n uint64, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}

func (s sinkFunc) Unknown(u *schema.UnknownLine, keep bool) error {
	p := s.p
	p.Stats.Unknown[u.Kind]++
	if p.m != nil {
		p.m.unknownLine(u.Kind)
	}
	if !keep {
		return nil
	}
	p.dirty = true
	return p.unknown.Write(context.Background(), u)
}

func (s sinkFunc) Delivery(e *schema.DeliveryEvent) error {
	if !s.p.keep(e.Time, "delivery_events") {
		return nil
	}
	s.p.Stats.Events++
	classify(s.p.classifier, e)
	if s.p.m != nil {
		s.p.m.delivery(e)
	}
	if s.p.observer != nil {
		s.p.observer(e)
	}
	if err := s.p.write(s.p.events, e, func(m *sourceMetrics) prometheus.Counter { return m.events }); err != nil {
		return err
	}
	if s.p.evidence != nil {
		s.p.evidence.Delivery(e)
	}
	return nil
}

func (s sinkFunc) Message(m *schema.MessageRecord) error {
	if !s.p.keep(m.FirstSeen, "messages") {
		return nil
	}
	s.p.Stats.Messages++
	if pm := s.p.m; pm != nil && (m.State == "removed" || m.State == "expired") && (m.Origin == "smtpd" || m.Origin == "pickup") {
		stamped := 0
		if m.TraceID != ([16]byte{}) {
			stamped = 1
		}
		pm.stamped[stamped].Inc()
	}
	if err := s.p.write(s.p.messages, m, func(m *sourceMetrics) prometheus.Counter { return m.messages }); err != nil {
		return err
	}
	if s.p.evidence != nil {
		s.p.evidence.Message(m)
	}
	return nil
}

// write adds a row to the current chunk, counting it in its metric.
func (p *Pipeline) write(w *store.Writer, row store.Row, counter func(*sourceMetrics) prometheus.Counter) error {
	if p.m != nil {
		counter(p.m).Inc()
	}
	p.dirty = true
	return w.Write(context.Background(), row)
}

// Begin starts a source: it loads the source's checkpoint, restores the
// open messages it saved, and returns the offset to continue from.
func (p *Pipeline) Begin(ctx context.Context, source, fingerprint, fileID string, reference time.Time) (uint64, error) {
	p.parser.Reference = reference
	p.m = p.metrics.source(source)
	cp, found, err := LoadCheckpoint(ctx, p.st, source, fingerprint)
	if err != nil {
		return 0, err
	}
	if p.again {
		found = false
	}
	if found {
		if err := p.corr.Reset(cp.State); err != nil {
			return 0, err
		}
	} else {
		// A new file: the messages followed so far go on in it.
		snap, err := p.corr.Snapshot()
		if err != nil {
			return 0, err
		}
		cp = schema.Checkpoint{Source: source, Fingerprint: fingerprint, State: string(snap)}
	}
	cp.FileID = fileID
	p.fresh = !found
	p.cp, p.offset, p.lines, p.inChunk, p.cursor = cp, cp.Offset, cp.Lines, 0, cp.Cursor
	p.replayEnd = 0
	if cp.PendingEnd > cp.Offset {
		p.replayEnd = cp.PendingEnd
		p.log.Info("replaying lines whose insert was not confirmed", "source", source, "from", cp.Offset, "to", cp.PendingEnd)
	}
	return cp.Offset, nil
}

// MarkBegun stores the checkpoint of a file Begin found none for, before
// any of its lines is read. A live log rotated before the first commit and
// a collector killed then would otherwise leave no trace of the file: on
// restart the rotated copy is not looked for, and its lines are never read.
func (p *Pipeline) MarkBegun(ctx context.Context) error {
	if !p.fresh {
		return nil
	}
	p.fresh = false
	cp := p.cp
	return p.saveCheckpoint(ctx, &cp)
}

// SetCursor records the source's own position after the next line, for
// sources that resume by it (journald).
func (p *Pipeline) SetCursor(c string) { p.cursor = c }

// Line takes one line (without its newline) that ends at byte offset end.
func (p *Pipeline) Line(ctx context.Context, line []byte, end uint64) error {
	var r postfixlog.Record
	p.parser.Parse(line, &r)
	p.Stats.Lines++
	if p.m != nil {
		p.m.line(&r)
		if !r.Time.IsZero() {
			p.m.lastLine.Set(float64(r.Time.UnixNano()) / 1e9)
		}
	}
	if r.Kind > postfixlog.NotPostfix {
		if err := p.corr.Add(&r, line); err != nil {
			return err
		}
	}
	p.offset, p.lines = end, p.lines+1
	p.inChunk++
	if p.replayEnd > 0 {
		if end >= p.replayEnd {
			p.replayEnd = 0
			return p.Commit(ctx)
		}
		return nil
	}
	if p.inChunk >= p.ChunkLines {
		return p.Commit(ctx)
	}
	return nil
}

// Tick lets messages that left the queue be written when the log is quiet
// (see Correlator.Tick).
func (p *Pipeline) Tick(now time.Time) error { return p.corr.Tick(now) }

// End finishes a source that will not grow: messages that left the queue
// are written without waiting for the grace window, then committed.
func (p *Pipeline) End(ctx context.Context) error {
	if err := p.corr.Drain(); err != nil {
		return err
	}
	if err := p.Commit(ctx); err != nil {
		return err
	}
	return p.Sync(ctx)
}

// Sync waits until the last commit is complete.
func (p *Pipeline) Sync(ctx context.Context) error {
	if p.inflight == nil {
		return nil
	}
	select {
	case err := <-p.inflight:
		p.inflight = nil
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Commit stores the current chunk and moves the checkpoint after it. The
// store works on one chunk while the next is read: Commit returns once the
// chunk is handed over, and the next Commit (or Sync) waits for it.
func (p *Pipeline) Commit(ctx context.Context) error {
	if err := p.Sync(ctx); err != nil {
		return err
	}
	if p.offset == p.cp.Offset && !p.dirty {
		return nil
	}
	pending := p.cp
	pending.PendingEnd = p.offset
	if err := p.saveCheckpoint(ctx, &pending); err != nil {
		return err
	}
	events, err := p.events.Seal(ctx)
	if err != nil {
		return err
	}
	messages, err := p.messages.Seal(ctx)
	if err != nil {
		return err
	}
	unknown, err := p.unknown.Seal(ctx)
	if err != nil {
		return err
	}
	// A live log warns as it goes; an import's summary says it once.
	if o := p.Stats.Outside; p.corr.Announce && o.Events+o.Messages > p.warnedAt {
		p.warnedAt = o.Events + o.Messages
		p.log.Warn("rows older than the store's retention were not stored", "hint", o.Hint())
	}
	p.setCutoff()
	state, err := p.corr.Snapshot()
	if err != nil {
		return err
	}
	next := schema.Checkpoint{Source: p.cp.Source, Fingerprint: p.cp.Fingerprint, FileID: p.cp.FileID,
		Offset: p.offset, Lines: p.lines, PendingEnd: p.offset, Cursor: p.cursor, State: string(state)}
	done := make(chan error, 1)
	p.inflight = done
	m, open, ledgers := p.m, p.corr.Open(), p.evidence
	saved := next // the goroutine's own copy: saveCheckpoint stamps it
	// Once its blocks are handed over, a commit is finished even if ctx
	// ends meanwhile (Sync and Close bound how long anyone waits for it):
	// a checkpoint left pending would make the next run replay the chunk.
	finish := context.WithoutCancel(ctx)
	go func() {
		err := p.events.Wait(finish, events)
		if err == nil {
			err = p.messages.Wait(finish, messages)
		}
		if err == nil {
			err = p.unknown.Wait(finish, unknown)
		}
		if err == nil && ledgers != nil {
			// The chunk's evidence is stored before the checkpoint passes
			// it: a crash replays the chunk, and the ledger appends what
			// it lacks (by fact ID), nothing twice.
			err = ledgers.Flush(finish)
		}
		if err == nil {
			err = p.saveCheckpoint(finish, &saved)
		}
		if err == nil {
			p.committed.Add(1)
			if m != nil {
				m.commits.Inc()
				m.open.Set(float64(open))
			}
		}
		done <- err
	}()
	p.cp, p.inChunk, p.dirty = next, 0, false
	return nil
}

func (p *Pipeline) saveCheckpoint(ctx context.Context, cp *schema.Checkpoint) error {
	now := time.Now().UTC().Truncate(time.Microsecond)
	if !now.After(p.lastUpdated) {
		now = p.lastUpdated.Add(time.Microsecond)
	}
	p.lastUpdated = now
	cp.Updated = now
	retry := backoff.New(100*time.Millisecond, 30*time.Second)
	for {
		err := store.InsertRows(ctx, p.st, schema.Checkpoints, cp)
		if err == nil {
			return nil
		}
		p.log.Warn("saving checkpoint failed; retrying", "source", cp.Source, "err", err)
		if !backoff.Sleep(ctx, retry.Next()) {
			return fmt.Errorf("saving checkpoint of %s: %w (last error: %v)", cp.Source, ctx.Err(), err)
		}
	}
}

// StoreStats are the pipeline's writers' counters: delivery events and
// message records.
func (p *Pipeline) StoreStats() (events, messages store.Stats) {
	return p.events.Stats(), p.messages.Stats()
}

// Commits is how many chunks have been committed.
func (p *Pipeline) Commits() uint64 { return p.committed.Load() }

// Close waits for the last commit and stops the pipeline's writers.
func (p *Pipeline) Close(ctx context.Context) error {
	err0 := p.Sync(ctx)
	err1 := p.events.Close(ctx)
	err2 := p.messages.Close(ctx)
	err3 := p.unknown.Close(ctx)
	return errors.Join(err0, err1, err2, err3)
}

// Checkpoint is the checkpoint of the last commit (complete after Sync).
func (p *Pipeline) Checkpoint() schema.Checkpoint { return p.cp }

// LoadCheckpoint reads the latest checkpoint of a source and file.
func LoadCheckpoint(ctx context.Context, st store.Store, source, fingerprint string) (schema.Checkpoint, bool, error) {
	return queryCheckpoint(ctx, st, source, "AND fingerprint = {f:String}", fingerprint)
}

// LatestCheckpoint reads the latest checkpoint of a source, whatever file.
func LatestCheckpoint(ctx context.Context, st store.Store, source string) (schema.Checkpoint, bool, error) {
	return queryCheckpoint(ctx, st, source, "", "")
}

func queryCheckpoint(ctx context.Context, st store.Store, source, cond, fingerprint string) (schema.Checkpoint, bool, error) {
	rows, err := st.Query(ctx, "SELECT source, updated, fingerprint, file_id, offset, lines, pending_end, cursor, state "+
		"FROM collector_checkpoints WHERE source = {s:String} "+cond+" ORDER BY updated DESC LIMIT 1",
		store.Params{"s": source, "f": fingerprint})
	if err != nil {
		return schema.Checkpoint{}, false, fmt.Errorf("reading checkpoint of %s: %w (has `mailtrace migrate` run?)", source, err)
	}
	all, err := rows.All()
	if err != nil || len(all) == 0 {
		return schema.Checkpoint{}, false, err
	}
	r := all[0]
	return schema.Checkpoint{Source: r[0].(string), Updated: r[1].(time.Time), Fingerprint: r[2].(string),
		FileID: r[3].(string), Offset: r[4].(uint64), Lines: r[5].(uint64), PendingEnd: r[6].(uint64), Cursor: r[7].(string),
		State: r[8].(string)}, true, nil
}

// classify sets an attempt's provider, category and block signal from the
// receiver's reply. Our own Postfix's decisions (rejected, warning...) and
// hand-offs on this host are not a receiver's reply; an expired message's
// category is its expiry, whatever the last reply was (that reply was
// classified when it was logged).
func classify(c *reply.Classifier, e *schema.DeliveryEvent) {
	if !schema.FromReceiver(e.Status) {
		return
	}
	r := c.Classify(e.Response, e.DSN, e.RelayHost, reply.Domain(e.Recipient))
	e.Provider, e.Category, e.IsBlock = r.Provider, r.Category, r.Block
	if e.Status == schema.StatusExpired {
		e.Category, e.IsBlock = "message-expired", false
	}
}
