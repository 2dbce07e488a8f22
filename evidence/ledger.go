package evidence

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/mailtrace/mailtrace/schema"
)

// Fact is one thing mailtrace stored about a message, as the writer that
// stored it hands it to the ledger.
type Fact struct {
	// ID is derived from the fact itself (the log line's host, queue ID and
	// bytes; a report's SHA-256; the milter's trace ID): the same fact
	// replayed has the same ID and is appended once.
	ID    string
	Event string // an Event constant
	Time  time.Time
	// TimeDigits is how many digits of a fraction of a second Time's
	// source has (trace.Stamp): 0 for a whole-second log line or a
	// report's Date header, 6 for the milter's clock. EventTime is written
	// with these digits only.
	TimeDigits uint8
	// Message names the message's chain: its trace ID, or host and queue
	// ID for mail that never passed the milter.
	Message           string
	MessageIdentifier string // the Message-ID header
	Sender            string
	Recipients        []string
	SubmissionTime    time.Time
	SubmissionDigits  uint8 // SubmissionTime's, as TimeDigits
	Reasons           []Reason
	// Final says that the message reached its final state with this fact:
	// a closing record follows. A fact for a message already closed is
	// always followed by a new closing record.
	Final bool
	// Facts are the raw facts (see Record.Facts). Values are strings,
	// booleans, integers up to 2^53, floats, and slices and maps of those.
	Facts map[string]any
	// FactsJSON, when set, is the facts object already in canonical form
	// (DeliveryFact writes it so); it is used instead of Facts.
	FactsJSON []byte
	factsErr  error
}

// Entry is a record as it is stored: its canonical bytes and what the
// store indexes it by.
type Entry struct {
	Index   int64
	FactID  string
	Message string
	Event   string
	Time    time.Time
	// Hash is the SHA-256 of Record.
	Hash [32]byte
	// Record is the canonical JSON of the record.
	Record []byte
	// TreeHashes are the Merkle tree's stored hashes this record adds
	// (tlog.StoredHashes), starting at tlog.StoredHashIndex(0, Index).
	TreeHashes []tlog.Hash
}

// Storage keeps one or more logs' entries. Append is called in index
// order, one origin's entries from one goroutine at a time; what
// Storage keeps after a crash must be a prefix of what it was given.
type Storage interface {
	// Entries calls fn for the origin's entries from index from on, in
	// index order.
	Entries(ctx context.Context, origin string, from int64, fn func(*Entry) error) error
	// Append stores an entry (it may buffer; Flush waits).
	Append(ctx context.Context, origin string, e *Entry) error
	// Flush returns when every appended entry is stored.
	Flush(ctx context.Context) error
	// AddCheckpoint stores a signed checkpoint (synchronously: it returns
	// once it is stored).
	AddCheckpoint(ctx context.Context, c *Checkpoint) error
	// Checkpoints calls fn for the origin's checkpoints by size.
	Checkpoints(ctx context.Context, origin string, fn func(*Checkpoint) error) error
	// AddAnchor stores a checkpoint's RFC 3161 time stamp.
	AddAnchor(ctx context.Context, a *Anchor) error
	// Anchors calls fn for the origin's anchors by checkpoint size.
	Anchors(ctx context.Context, origin string, fn func(*Anchor) error) error
}

// Options configure a ledger.
type Options struct {
	// Origin names the log in its checkpoints, for example
	// "mailtrace.example.com/mx1": unique per Postfix host.
	Origin  string
	Host    string // the Postfix host whose facts the log holds
	Version string // mailtrace's version, for EvidenceIssuerDetails
	Storage Storage
	// Key signs checkpoints; without one the ledger makes none.
	Key *Key
	// CheckpointInterval is how often Run signs a checkpoint while records
	// arrive (default 60 s).
	CheckpointInterval time.Duration
	// OnCheckpoint, when set, is called with each new checkpoint once it
	// is stored (the anchorer's queue); it must not block.
	OnCheckpoint func(*Checkpoint)
	// Now is the clock (tests set it); nil means time.Now.
	Now func() time.Time
}

// Ledger appends evidence records to one origin's log. One process owns a
// log; its methods are safe for concurrent use.
type Ledger struct {
	opts Options

	mu       sync.Mutex
	size     int64
	frontier []storedHash // the stored hashes of the tree's maximal complete subtrees
	chains   map[string]*chainState
	seen     map[factKey]struct{}
	appended uint64 // records appended by this process

	cpMu sync.Mutex  // serializes checkpoints
	last *Checkpoint // the newest stored checkpoint
}

type storedHash struct {
	index int64
	hash  tlog.Hash
}

type chainState struct {
	count  int64    // records in the chain, closing records included
	last   [32]byte // hash of the last of them
	closed bool     // the last record is a closing record
}

type factKey [16]byte

func keyOf(factID string) factKey {
	h := sha256.Sum256([]byte(factID))
	return factKey(h[:16])
}

// Sentinel errors.
var (
	// ErrFact means a fact cannot become a record (no ID, no event, a
	// value a record cannot hold).
	ErrFact = errors.New("evidence: fact refused")
	// ErrStorage means the stored log is not one this ledger can continue.
	ErrStorage = errors.New("evidence: stored log unusable")
)

// Open loads the origin's log from storage and returns a ledger that
// continues it. An empty log starts with a LedgerStart record.
func Open(ctx context.Context, opts Options) (*Ledger, error) {
	if opts.Origin == "" || opts.Storage == nil {
		return nil, fmt.Errorf("evidence: a ledger needs an origin and a storage")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	l := &Ledger{opts: opts, chains: map[string]*chainState{}, seen: map[factKey]struct{}{}}
	err := opts.Storage.Entries(ctx, opts.Origin, 0, func(e *Entry) error {
		if e.Index != l.size {
			return fmt.Errorf("%w: log %s has entry %d where %d was expected (run mailtrace evidence verify)", ErrStorage, opts.Origin, e.Index, l.size)
		}
		if want := tlog.StoredHashCount(e.Index+1) - tlog.StoredHashCount(e.Index); int64(len(e.TreeHashes)) != want {
			return fmt.Errorf("%w: log %s entry %d has %d tree hashes, not %d", ErrStorage, opts.Origin, e.Index, len(e.TreeHashes), want)
		}
		l.advance(e)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("evidence: loading log %s: %w", opts.Origin, err)
	}
	err = opts.Storage.Checkpoints(ctx, opts.Origin, func(c *Checkpoint) error {
		if l.last == nil || c.Tree.N >= l.last.Tree.N {
			l.last = c
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("evidence: loading checkpoints of %s: %w", opts.Origin, err)
	}
	if l.last != nil && l.last.Tree.N > l.size {
		return nil, fmt.Errorf("%w: log %s has %d records but a checkpoint of %d: records were lost (run mailtrace evidence verify)",
			ErrStorage, opts.Origin, l.size, l.last.Tree.N)
	}
	if l.size == 0 {
		start := Fact{ID: "ledger-start", Event: EventLedgerStart, Time: opts.Now(), TimeDigits: schema.DigitsMicrosecond,
			Facts: map[string]any{"note": "The ledger starts here: facts stored before this record are not in it."}}
		if _, err := l.Append(ctx, start); err != nil {
			return nil, err
		}
	}
	return l, nil
}

// advance takes a stored or new entry into the ledger's state.
func (l *Ledger) advance(e *Entry) {
	base := tlog.StoredHashIndex(0, e.Index)
	for i, h := range e.TreeHashes {
		l.frontier = append(l.frontier, storedHash{base + int64(i), h})
	}
	l.size = e.Index + 1
	keep := frontierIndexes(l.size)
	kept := l.frontier[:0]
	for _, sh := range l.frontier {
		for _, k := range keep {
			if sh.index == k {
				kept = append(kept, sh)
				break
			}
		}
	}
	l.frontier = kept
	l.seen[keyOf(e.FactID)] = struct{}{}
	if e.Message != "" {
		c := l.chains[e.Message]
		if c == nil {
			c = &chainState{}
			l.chains[e.Message] = c
		}
		c.count++
		c.last = e.Hash
		c.closed = e.Event == EventChainClosing
	}
}

// frontierIndexes are the stored-hash indexes of the maximal complete
// subtrees of a tree of n leaves: all that appending and the tree hash read.
func frontierIndexes(n int64) []int64 {
	keep := make([]int64, 0, 8)
	var start int64
	for level := 62; level >= 0; level-- {
		if n&(1<<level) != 0 {
			keep = append(keep, tlog.StoredHashIndex(level, start>>level))
			start += 1 << level
		}
	}
	return keep
}

// readHashes implements tlog.HashReader over the frontier.
func (l *Ledger) readHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
next:
	for i, idx := range indexes {
		for _, sh := range l.frontier {
			if sh.index == idx {
				out[i] = sh.hash
				continue next
			}
		}
		return nil, fmt.Errorf("evidence: tree hash %d not kept", idx)
	}
	return out, nil
}

// Append adds the fact's record (and a closing record when the message is
// final) unless a fact with its ID is already in the log. It reports
// whether it appended.
func (l *Ledger) Append(ctx context.Context, f Fact) (bool, error) {
	if f.ID == "" || f.Event == "" {
		return false, fmt.Errorf("%w: a fact needs an ID and an event", ErrFact)
	}
	validFacts(&f)
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, dup := l.seen[keyOf(f.ID)]; dup {
		// A crash can store a final fact and lose the closing record
		// written after it: the replayed fact closes its chain then.
		if _, closed := l.seen[keyOf(f.ID+closingSuffix)]; f.Message != "" && f.Final && !closed {
			return true, l.close(ctx, f)
		}
		return false, nil
	}
	var wasClosed bool
	if c := l.chains[f.Message]; c != nil {
		wasClosed = c.closed
	}
	r := l.record(f.ID, f.Event, Timestamp(f.Time, f.TimeDigits), f.Message)
	if f.Sender != "" || f.Event == EventSubmissionAcceptance {
		r.SenderDetails = &Party{Address: f.Sender}
	}
	for _, rc := range f.Recipients {
		r.RecipientDetails = append(r.RecipientDetails, Party{Address: rc})
	}
	r.MessageIdentifier = f.MessageIdentifier
	r.SubmissionTime = Timestamp(f.SubmissionTime, f.SubmissionDigits)
	r.EventReasons = f.Reasons
	r.Facts, r.factsJSON = f.Facts, f.FactsJSON
	if f.factsErr != nil {
		return false, fmt.Errorf("%w: fact %s: %w", ErrFact, f.ID, f.factsErr)
	}
	if err := l.appendRecord(ctx, r, f.ID, f.Event, f.Time, f.Message); err != nil {
		return false, err
	}
	if f.Message != "" && (f.Final || wasClosed) {
		return true, l.close(ctx, f)
	}
	return true, nil
}

// closingSuffix makes a closing record's fact ID from its fact's.
const closingSuffix = "/closing"

// close appends the closing record of f's message.
func (l *Ledger) close(ctx context.Context, f Fact) error {
	c := l.chains[f.Message]
	cr := l.record(f.ID+closingSuffix, EventChainClosing, Timestamp(f.Time, f.TimeDigits), f.Message)
	cr.Closing = &Closing{Records: c.count, LastRecordHash: hex.EncodeToString(c.last[:])}
	return l.appendRecord(ctx, cr, cr.FactID, EventChainClosing, f.Time, f.Message)
}

var evidenceNamespace = uuid.MustParse("6f1d7c0e-2b8f-4c53-9a51-0b6e5c2d9e41")

// record starts a record at the log's next index, linked into its chain.
func (l *Ledger) record(factID, event, eventTime, message string) *Record {
	r := &Record{
		Version:               FormatVersion,
		HashAlgorithm:         HashAlgorithm,
		EvidenceIdentifier:    "urn:uuid:" + uuid.NewSHA1(evidenceNamespace, []byte(l.opts.Origin+"\n"+factID)).String(),
		ERDSEventId:           event,
		EventTime:             eventTime,
		EvidenceIssuerDetails: Issuer{Name: "mailtrace", Version: l.opts.Version, Host: l.opts.Host},
		Log:                   LogPosition{Origin: l.opts.Origin, Index: l.size},
		FactID:                factID,
	}
	if message != "" {
		link := &ChainLink{Message: message, Position: 1}
		if c := l.chains[message]; c != nil {
			link.Position = c.count + 1
			link.PreviousRecordHash = hex.EncodeToString(c.last[:])
		}
		r.Chain = link
	}
	return r
}

func (l *Ledger) appendRecord(ctx context.Context, r *Record, factID, event string, t time.Time, message string) error {
	data, err := r.Canonical()
	if err != nil {
		return fmt.Errorf("%w: fact %s: %w", ErrFact, factID, err)
	}
	hashes, err := tlog.StoredHashes(l.size, data, tlog.HashReaderFunc(l.readHashes))
	if err != nil {
		return fmt.Errorf("evidence: log %s: tree hashes for record %d: %w", l.opts.Origin, l.size, err)
	}
	e := &Entry{Index: l.size, FactID: factID, Message: message, Event: event, Time: t,
		Hash: sha256.Sum256(data), Record: data, TreeHashes: hashes}
	if err := l.opts.Storage.Append(ctx, l.opts.Origin, e); err != nil {
		return fmt.Errorf("evidence: log %s: storing record %d: %w", l.opts.Origin, e.Index, err)
	}
	l.advance(e)
	l.appended++
	return nil
}

// Size is the number of records in the log.
func (l *Ledger) Size() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.size
}

// Appended is the number of records this process appended.
func (l *Ledger) Appended() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.appended
}

// Tree returns the log's current size and root hash.
func (l *Ledger) Tree() (tlog.Tree, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	h, err := tlog.TreeHash(l.size, tlog.HashReaderFunc(l.readHashes))
	if err != nil {
		return tlog.Tree{}, fmt.Errorf("evidence: log %s: tree hash: %w", l.opts.Origin, err)
	}
	return tlog.Tree{N: l.size, Hash: h}, nil
}

// Origin names the log.
func (l *Ledger) Origin() string { return l.opts.Origin }

// Flush waits until every appended record is stored.
func (l *Ledger) Flush(ctx context.Context) error { return l.opts.Storage.Flush(ctx) }

// Checkpoint signs and stores a checkpoint of the log if it grew since the
// last one, once every record it covers is stored: a checkpoint never
// names records a crash could lose. It returns the newest checkpoint and
// whether it is new.
func (l *Ledger) Checkpoint(ctx context.Context) (*Checkpoint, bool, error) {
	if l.opts.Key == nil {
		return nil, false, fmt.Errorf("%w: log %s has no signing key", ErrKey, l.opts.Origin)
	}
	l.cpMu.Lock()
	defer l.cpMu.Unlock()
	tree, err := l.Tree()
	if err != nil {
		return nil, false, err
	}
	if l.last != nil && tree.N <= l.last.Tree.N {
		return l.last, false, nil
	}
	if err := l.Flush(ctx); err != nil {
		return nil, false, fmt.Errorf("evidence: log %s: storing records before checkpoint %d: %w", l.opts.Origin, tree.N, err)
	}
	c, err := SignCheckpoint(l.opts.Key, l.opts.Origin, tree, l.opts.Now())
	if err != nil {
		return nil, false, err
	}
	if err := l.opts.Storage.AddCheckpoint(ctx, c); err != nil {
		return nil, false, fmt.Errorf("evidence: log %s: storing checkpoint %d: %w", l.opts.Origin, tree.N, err)
	}
	l.last = c
	if l.opts.OnCheckpoint != nil {
		l.opts.OnCheckpoint(c)
	}
	return c, true, nil
}

// LastCheckpoint is the newest stored checkpoint, nil before the first.
func (l *Ledger) LastCheckpoint() *Checkpoint {
	l.cpMu.Lock()
	defer l.cpMu.Unlock()
	return l.last
}

// Run signs a checkpoint every CheckpointInterval while records arrive,
// and a last one when ctx ends. Errors are logged by report and retried
// at the next tick.
func (l *Ledger) Run(ctx context.Context, report func(error)) {
	every := l.opts.CheckpointInterval
	if every <= 0 {
		every = time.Minute
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			final, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			if _, _, err := l.Checkpoint(final); err != nil && report != nil {
				report(err)
			}
			cancel()
			return
		case <-tick.C:
			if _, _, err := l.Checkpoint(ctx); err != nil && report != nil {
				report(err)
			}
		}
	}
}
