package evidence

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// ErrVerify means the stored log failed a check; the check's line says
// which record or checkpoint and why.
var ErrVerify = errors.New("evidence: verification failed")

// Check is one line of a verification: what was checked and its outcome.
type Check struct {
	Name   string // records, index, tree hashes, chains, checkpoints, consistency, anchors
	OK     bool
	Detail string
}

func (c Check) String() string {
	if c.OK {
		return "ok    " + c.Name + ": " + c.Detail
	}
	return "FAIL  " + c.Name + ": " + c.Detail
}

// VerifyOptions say which log to verify and what to trust.
type VerifyOptions struct {
	Origin string
	// Verifiers are the checkpoint keys trusted, current and past.
	Verifiers note.Verifiers
	// CheckAnchor checks one RFC 3161 token against the checkpoint note it
	// stamps and returns the time it states (see TSAVerifier); nil leaves
	// anchors unchecked, which is a failure when the log has anchors.
	CheckAnchor func(a *Anchor, checkpointNote []byte) (time.Time, error)
	// Report receives each check as it completes (nil: none).
	Report func(Check)
}

// VerifyResult sums up a verification.
type VerifyResult struct {
	Records, Messages, OpenChains, Checkpoints, Anchors int64
	LastCheckpoint                                      *Checkpoint
	LastAnchor                                          time.Time
	Checks                                              []Check
	// First is the first check that failed, nil if none did.
	First *Check
}

type verifier struct {
	opts VerifyOptions
	res  *VerifyResult
}

func (v *verifier) add(c Check) {
	v.res.Checks = append(v.res.Checks, c)
	if !c.OK && v.res.First == nil {
		first := c
		v.res.First = &first
	}
	if v.opts.Report != nil {
		v.opts.Report(c)
	}
}

// parsed is what the per-record checks, which run in parallel, hand the
// sequential ones.
type parsed struct {
	e   *Entry
	r   recordHead
	err string // the first thing wrong with the record on its own
}

// recordHead is what verify reads of a record: the rest is covered by its
// hash.
type recordHead struct {
	Version, HashAlgorithm, ERDSEventId, FactID string
	Log                                         LogPosition
	Chain                                       *ChainLink
	Closing                                     *Closing
}

// recordMembers are the members of the format; any other is refused.
var recordMembers = map[string]bool{"version": true, "hashAlgorithm": true, "EvidenceIdentifier": true, "ERDSEventId": true,
	"EventTime": true, "EvidenceIssuerDetails": true, "SenderDetails": true, "RecipientDetails": true, "MessageIdentifier": true,
	"SubmissionTime": true, "EventReasons": true, "log": true, "factId": true, "chain": true, "closing": true, "facts": true}

// read checks a record's canonical form as it stands (the scanner agrees
// with Canonicalize) and reads the members the checks need from their
// bytes alone.
func (h *recordHead) read(data []byte) error {
	var err error
	decode := func(name string, v []byte, dst any) {
		if e := json.Unmarshal(v, dst); e != nil && err == nil {
			err = fmt.Errorf("member %s: %w", name, e)
		}
	}
	s := canonScanner{b: data, top: func(name string, v []byte) {
		switch name {
		case "version":
			decode(name, v, &h.Version)
		case "hashAlgorithm":
			decode(name, v, &h.HashAlgorithm)
		case "ERDSEventId":
			decode(name, v, &h.ERDSEventId)
		case "factId":
			decode(name, v, &h.FactID)
		case "log":
			decode(name, v, &h.Log)
		case "chain":
			decode(name, v, &h.Chain)
		case "closing":
			decode(name, v, &h.Closing)
		default:
			if !recordMembers[name] && err == nil {
				err = fmt.Errorf("unknown member %q", name)
			}
		}
	}}
	if !utf8.Valid(data) {
		return fmt.Errorf("%w: invalid UTF-8", ErrNotCanonical)
	}
	if len(data) == 0 || data[0] != '{' {
		return fmt.Errorf("%w: not an object", ErrNotCanonical)
	}
	if serr := s.run(); serr != nil {
		return serr
	}
	return err
}

// Verify re-checks a whole stored log: every record's canonical form and
// hash, the index (no gap, no duplicate, no reordering), the stored tree
// hashes, every message chain and its closing records, every checkpoint's
// signature and root against the tree, consistency from each checkpoint
// to the next, and every anchor. It returns ErrVerify when a check fails.
func Verify(ctx context.Context, st Storage, opts VerifyOptions) (*VerifyResult, error) {
	v := &verifier{opts: opts, res: &VerifyResult{}}
	var (
		hashes      []tlog.Hash // every stored hash, recomputed from the records
		size        int64
		recFail     string
		indexFail   string
		treeFail    string
		chainFail   string
		facts       = map[factKey]int64{}
		chains      = map[string]*chainState{}
		hashReader  = tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) { return readSlice(hashes, idx) })
		batch       []*Entry
		workers     = max(1, runtime.GOMAXPROCS(0))
		parseRecord = func(e *Entry) parsed {
			p := parsed{e: e}
			// The canonical form is checked as it stands (CheckCanonical
			// agrees with Canonicalize), and the members the checks need
			// are read: a member the format does not have is caught by
			// the hash chain and tree, as any change is.
			if err := p.r.read(e.Record); err != nil {
				p.err = fmt.Sprintf("record %d is not in canonical form (RFC 8785) or not a record of format %s: %v", e.Index, FormatVersion, err)
			}
			switch {
			case p.err != "":
			case sha256.Sum256(e.Record) != e.Hash:
				p.err = fmt.Sprintf("record %d: its SHA-256 is %x, the stored hash %x", e.Index, sha256.Sum256(e.Record), e.Hash)
			case p.r.Version != FormatVersion || p.r.HashAlgorithm != HashAlgorithm:
				p.err = fmt.Sprintf("record %d: format %q hash %q, not %q %q", e.Index, p.r.Version, p.r.HashAlgorithm, FormatVersion, HashAlgorithm)
			case p.r.FactID != e.FactID || p.r.ERDSEventId != e.Event:
				p.err = fmt.Sprintf("record %d: its fact %q event %q differ from the stored columns %q %q", e.Index, p.r.FactID, p.r.ERDSEventId, e.FactID, e.Event)
			}
			return p
		}
	)
	process := func(p parsed) {
		e := p.e
		if p.err != "" && recFail == "" {
			recFail = p.err
		}
		if e.Index != size && indexFail == "" {
			switch {
			case e.Index < size:
				indexFail = fmt.Sprintf("record %d is stored again after record %d (a duplicate or a forged record)", e.Index, size-1)
			default:
				indexFail = fmt.Sprintf("records %d to %d are missing (deleted)", size, e.Index-1)
			}
		}
		if p.err == "" && (p.r.Log.Index != size || p.r.Log.Origin != opts.Origin) && indexFail == "" {
			indexFail = fmt.Sprintf("the record at position %d says it is record %d of log %q: records were moved or forged", size, p.r.Log.Index, p.r.Log.Origin)
		}
		if prev, dup := facts[keyOf(e.FactID)]; dup && recFail == "" {
			recFail = fmt.Sprintf("record %d repeats the fact of record %d (%s)", size, prev, e.FactID)
		}
		facts[keyOf(e.FactID)] = size
		// The tree over the records as they are, whatever was stored.
		hs, err := tlog.StoredHashes(size, e.Record, hashReader)
		if err != nil && treeFail == "" {
			treeFail = fmt.Sprintf("record %d: %v", size, err)
		}
		if treeFail == "" && !equalHashes(hs, e.TreeHashes) {
			treeFail = fmt.Sprintf("record %d: the stored tree hashes are not those of the records", e.Index)
		}
		hashes = append(hashes, hs...)
		size++
		if p.r.Chain != nil { // a record that failed above still links its chain
			chainFail = cmpOr(chainFail, checkChain(chains, &p.r, e))
		}
	}
	flush := func() {
		out := make([]parsed, len(batch))
		var wg sync.WaitGroup
		per := (len(batch) + workers - 1) / workers
		for w := 0; w < len(batch); w += per {
			end := min(w+per, len(batch))
			wg.Go(func() {
				for i := w; i < end; i++ {
					out[i] = parseRecord(batch[i])
				}
			})
		}
		wg.Wait()
		for _, p := range out {
			process(p)
		}
		batch = batch[:0]
	}
	err := st.Entries(ctx, opts.Origin, 0, func(e *Entry) error {
		batch = append(batch, e)
		if len(batch) == 4096 {
			flush()
		}
		return nil
	})
	if err != nil {
		return v.res, fmt.Errorf("evidence: reading log %s: %w", opts.Origin, err)
	}
	flush()
	v.res.Records = size
	v.add(Check{"records", recFail == "", cmpOr(recFail, fmt.Sprintf("%d records, each in canonical JSON (RFC 8785) with its SHA-256, no fact twice", size))})
	v.add(Check{"index", indexFail == "", cmpOr(indexFail, fmt.Sprintf("records 0 to %d in order, no gap, no duplicate", size-1))})
	v.add(Check{"tree hashes", treeFail == "", cmpOr(treeFail, "the stored Merkle tree hashes (RFC 6962) are those of the records")})
	open := int64(0)
	for _, c := range chains {
		if !c.closed {
			open++
		}
	}
	v.res.Messages, v.res.OpenChains = int64(len(chains)), open
	v.add(Check{"chains", chainFail == "", cmpOr(chainFail, fmt.Sprintf("%d messages, each record linked to the one before; %d closed, %d still open", len(chains), int64(len(chains))-open, open))})

	// Checkpoints against the tree, and each against the one before.
	var cps []*Checkpoint
	cpFail := ""
	err = st.Checkpoints(ctx, opts.Origin, func(c *Checkpoint) error {
		cps = append(cps, c)
		if cpFail != "" {
			return nil
		}
		tree, _, err := OpenCheckpoint(c.Note, opts.Origin, opts.Verifiers)
		switch {
		case err != nil:
			cpFail = fmt.Sprintf("checkpoint of size %d signed %s: %v", c.Tree.N, c.Time.Format(time.RFC3339), err)
		case tree != c.Tree:
			cpFail = fmt.Sprintf("checkpoint of size %d: the stored size or root differs from the signed note's (%d)", c.Tree.N, tree.N)
		case tree.N > size:
			cpFail = fmt.Sprintf("checkpoint of size %d: the log has only %d records: records were deleted", tree.N, size)
		default:
			root, err := tlog.TreeHash(tree.N, hashReader)
			if err != nil || root != tree.Hash {
				cpFail = fmt.Sprintf("checkpoint of size %d signed %s: its root is not the tree of the first %d records: the log was rewritten", tree.N, c.Time.Format(time.RFC3339), tree.N)
			}
		}
		return nil
	})
	if err != nil {
		return v.res, fmt.Errorf("evidence: reading checkpoints of %s: %w", opts.Origin, err)
	}
	v.res.Checkpoints = int64(len(cps))
	if len(cps) > 0 {
		v.res.LastCheckpoint = cps[len(cps)-1]
	}
	v.add(Check{"checkpoints", cpFail == "", cmpOr(cpFail, fmt.Sprintf("%d checkpoints, each signed by a known key, each root the tree of its size", len(cps)))})
	consFail := ""
	for i := 1; i < len(cps) && consFail == ""; i++ {
		a, b := cps[i-1].Tree, cps[i].Tree
		if a.N == b.N {
			if a.Hash != b.Hash {
				consFail = fmt.Sprintf("two checkpoints of size %d with different roots: the log was forked", a.N)
			}
			continue
		}
		if b.N > size {
			break
		}
		p, err := tlog.ProveTree(b.N, a.N, hashReader)
		if err == nil {
			err = tlog.CheckTree(p, b.N, b.Hash, a.N, a.Hash)
		}
		if err != nil {
			consFail = fmt.Sprintf("checkpoint of size %d is not a prefix of the checkpoint of size %d: %v", a.N, b.N, err)
		}
	}
	v.add(Check{"consistency", consFail == "", cmpOr(consFail, "each checkpoint's tree is a prefix of the next (consistency proofs)")})

	// Anchors: each stamps a stored checkpoint.
	byNote := map[int64][]byte{}
	for _, c := range cps {
		byNote[c.Tree.N] = c.Note
	}
	anchorFail := ""
	err = st.Anchors(ctx, opts.Origin, func(a *Anchor) error {
		v.res.Anchors++
		if anchorFail != "" {
			return nil
		}
		msg, ok := byNote[a.Size]
		switch {
		case !ok:
			anchorFail = fmt.Sprintf("anchor of size %d: no checkpoint of that size is stored", a.Size)
		case opts.CheckAnchor == nil:
			anchorFail = fmt.Sprintf("anchor of size %d: no trusted TSA roots given to check it", a.Size)
		default:
			at, err := opts.CheckAnchor(a, msg)
			if err != nil {
				anchorFail = fmt.Sprintf("anchor of checkpoint %d: %v", a.Size, err)
			} else if at.After(v.res.LastAnchor) {
				v.res.LastAnchor = at
			}
		}
		return nil
	})
	if err != nil {
		return v.res, fmt.Errorf("evidence: reading anchors of %s: %w", opts.Origin, err)
	}
	detail := fmt.Sprintf("%d RFC 3161 time stamps, each over its checkpoint, from a trusted TSA", v.res.Anchors)
	if v.res.Anchors == 0 {
		detail = "no RFC 3161 time stamps: checkpoints are signed but not anchored in time"
	}
	v.add(Check{"anchors", anchorFail == "", cmpOr(anchorFail, detail)})
	if v.res.First != nil {
		return v.res, fmt.Errorf("%w: %s", ErrVerify, v.res.First)
	}
	return v.res, nil
}

func checkChain(chains map[string]*chainState, r *recordHead, e *Entry) string {
	c := chains[r.Chain.Message]
	if c == nil {
		c = &chainState{}
		chains[r.Chain.Message] = c
	}
	var fail string
	want := ""
	if c.count > 0 {
		want = hex.EncodeToString(c.last[:])
	}
	switch {
	case r.Chain.Position != c.count+1:
		fail = fmt.Sprintf("record %d is number %d of message %s, which had %d records before it: a record of the message is missing", e.Index, r.Chain.Position, r.Chain.Message, c.count)
	case r.Chain.PreviousRecordHash != want:
		fail = fmt.Sprintf("record %d of message %s links to %s, not to the message's previous record %s", e.Index, r.Chain.Message, r.Chain.PreviousRecordHash, want)
	case r.Closing != nil && (r.Closing.Records != c.count || r.Closing.LastRecordHash != want):
		fail = fmt.Sprintf("closing record %d of message %s counts %d records ending in %s; the chain has %d ending in %s", e.Index, r.Chain.Message, r.Closing.Records, r.Closing.LastRecordHash, c.count, want)
	case (r.Closing != nil) != (r.ERDSEventId == EventChainClosing):
		fail = fmt.Sprintf("record %d: event %s with closing %v", e.Index, r.ERDSEventId, r.Closing != nil)
	}
	c.count++
	c.last = e.Hash
	c.closed = r.Closing != nil
	return fail
}

func readSlice(hashes []tlog.Hash, indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, idx := range indexes {
		if idx < 0 || idx >= int64(len(hashes)) {
			return nil, fmt.Errorf("no tree hash %d", idx)
		}
		out[i] = hashes[idx]
	}
	return out, nil
}

func equalHashes(a, b []tlog.Hash) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
