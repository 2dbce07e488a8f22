package evidence

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/mailtrace/mailtrace/store"
)

// ProofStorage is a Storage that also reads the records of given messages
// and single tree hashes without reading a whole log: what proofs for a
// few records need.
type ProofStorage interface {
	Storage
	// MessageEntries calls fn for every record of the named message
	// chains, by origin and index.
	MessageEntries(ctx context.Context, messages []string, fn func(origin string, e *Entry) error) error
	// TreeHashes returns the origin's stored tree hashes at these
	// indexes (tlog's stored-hash numbering).
	TreeHashes(ctx context.Context, origin string, indexes []int64) ([]tlog.Hash, error)
}

var (
	_ ProofStorage = (*StoreStorage)(nil)
	_ ProofStorage = (*MemoryStorage)(nil)
)

// storedHashOwner is the record whose entry holds the stored hash idx,
// and its offset in that entry's TreeHashes: a hash of level L, number n
// is completed by leaf (n+1)·2^L − 1.
func storedHashOwner(idx int64) (record int64, offset int) {
	level, n := tlog.SplitStoredHashIndex(idx)
	record = (n+1)<<level - 1
	return record, int(idx - tlog.StoredHashIndex(0, record))
}

// InclusionProof proves that the record at index is in the origin's tree
// of size treeSize (RFC 6962 audit path, tlog.ProveRecord).
func InclusionProof(ctx context.Context, st ProofStorage, origin string, treeSize, index int64) (tlog.RecordProof, error) {
	p, err := tlog.ProveRecord(treeSize, index, proofReader(ctx, st, origin))
	if err != nil {
		return nil, fmt.Errorf("evidence: log %s: proving record %d in the tree of %d: %w", origin, index, treeSize, err)
	}
	return p, nil
}

// ConsistencyProof proves that the origin's tree of size older is a
// prefix of its tree of size newer.
func ConsistencyProof(ctx context.Context, st ProofStorage, origin string, newer, older int64) (tlog.TreeProof, error) {
	p, err := tlog.ProveTree(newer, older, proofReader(ctx, st, origin))
	if err != nil {
		return nil, fmt.Errorf("evidence: log %s: proving the tree of %d a prefix of the tree of %d: %w", origin, older, newer, err)
	}
	return p, nil
}

// ProofSet makes many proofs of one log with one read of the tree hashes
// they need: a round trip to the store per proof would cost more than
// all the hashing.
type ProofSet struct {
	origin  string
	records []int64 // (tree size, index) pairs
	trees   []int64 // (newer, older) pairs
}

// NewProofSet starts a set of proofs of the origin's log.
func NewProofSet(origin string) *ProofSet { return &ProofSet{origin: origin} }

// Inclusion adds the proof of the record at index in the tree of size treeSize.
func (p *ProofSet) Inclusion(treeSize, index int64) { p.records = append(p.records, treeSize, index) }

// Consistency adds the proof that the tree of size older is a prefix of
// the tree of size newer.
func (p *ProofSet) Consistency(newer, older int64) { p.trees = append(p.trees, newer, older) }

// Prove reads the hashes all the proofs need at once and returns the
// inclusion proofs and the consistency proofs in the order they were added.
func (p *ProofSet) Prove(ctx context.Context, st ProofStorage) ([]tlog.RecordProof, []tlog.TreeProof, error) {
	// The hashes a proof reads depend only on the sizes and indexes:
	// a first pass with placeholders collects them.
	need := map[int64]tlog.Hash{}
	collect := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		for _, i := range idx {
			need[i] = tlog.Hash{}
		}
		return make([]tlog.Hash, len(idx)), nil
	})
	for i := 0; i < len(p.records); i += 2 {
		if _, err := tlog.ProveRecord(p.records[i], p.records[i+1], collect); err != nil {
			return nil, nil, fmt.Errorf("evidence: log %s: proving record %d in the tree of %d: %w", p.origin, p.records[i+1], p.records[i], err)
		}
	}
	for i := 0; i < len(p.trees); i += 2 {
		if _, err := tlog.ProveTree(p.trees[i], p.trees[i+1], collect); err != nil {
			return nil, nil, fmt.Errorf("evidence: log %s: proving the tree of %d a prefix of the tree of %d: %w", p.origin, p.trees[i+1], p.trees[i], err)
		}
	}
	indexes := make([]int64, 0, len(need))
	for i := range need {
		indexes = append(indexes, i)
	}
	slices.Sort(indexes)
	hashes, err := st.TreeHashes(ctx, p.origin, indexes)
	if err != nil {
		return nil, nil, fmt.Errorf("evidence: log %s: reading tree hashes for proofs: %w", p.origin, err)
	}
	for i, idx := range indexes {
		need[idx] = hashes[i]
	}
	read := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			out[i] = need[x]
		}
		return out, nil
	})
	var rps []tlog.RecordProof
	for i := 0; i < len(p.records); i += 2 {
		rp, err := tlog.ProveRecord(p.records[i], p.records[i+1], read)
		if err != nil {
			return nil, nil, err
		}
		rps = append(rps, rp)
	}
	var tps []tlog.TreeProof
	for i := 0; i < len(p.trees); i += 2 {
		tp, err := tlog.ProveTree(p.trees[i], p.trees[i+1], read)
		if err != nil {
			return nil, nil, err
		}
		tps = append(tps, tp)
	}
	return rps, tps, nil
}

func proofReader(ctx context.Context, st ProofStorage, origin string) tlog.HashReaderFunc {
	return func(indexes []int64) ([]tlog.Hash, error) { return st.TreeHashes(ctx, origin, indexes) }
}

// MessageEntries implements ProofStorage.
func (m *MemoryStorage) MessageEntries(_ context.Context, messages []string, fn func(string, *Entry) error) error {
	m.mu.Lock()
	origins := make([]string, 0, len(m.logs))
	for o := range m.logs {
		origins = append(origins, o)
	}
	m.mu.Unlock()
	slices.Sort(origins)
	for _, o := range origins {
		for _, e := range m.Log(o) {
			if slices.Contains(messages, e.Message) {
				if err := fn(o, e); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// TreeHashes implements ProofStorage.
func (m *MemoryStorage) TreeHashes(_ context.Context, origin string, indexes []int64) ([]tlog.Hash, error) {
	log := m.Log(origin)
	out := make([]tlog.Hash, len(indexes))
	for i, idx := range indexes {
		rec, off := storedHashOwner(idx)
		if rec < 0 || rec >= int64(len(log)) || off < 0 || off >= len(log[rec].TreeHashes) {
			return nil, fmt.Errorf("%w: log %s has no tree hash %d", ErrStorage, origin, idx)
		}
		out[i] = log[rec].TreeHashes[off]
	}
	return out, nil
}

// MessageEntries implements ProofStorage.
func (s *StoreStorage) MessageEntries(ctx context.Context, messages []string, fn func(string, *Entry) error) error {
	rows, err := s.st.Query(ctx, "SELECT origin, log_index, fact_id, message, event, time, record_hash, record, tree_hashes FROM evidence_records "+
		"WHERE message IN {messages:Array(String)} ORDER BY origin, log_index", store.Params{"messages": messages})
	if err != nil {
		return fmt.Errorf("reading evidence_records: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			origin       string
			e            Entry
			hash, record string
			th           []string
		)
		if err := rows.Scan(&origin, &e.Index, &e.FactID, &e.Message, &e.Event, &e.Time, &hash, &record, &th); err != nil {
			return err
		}
		copy(e.Hash[:], hash)
		e.Record = []byte(record)
		if e.TreeHashes, err = treeHashesOf(th, origin, e.Index); err != nil {
			return err
		}
		if err := fn(origin, &e); err != nil {
			return err
		}
	}
	return rows.Err()
}

func treeHashesOf(th []string, origin string, index int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(th))
	for i, h := range th {
		if len(h) != tlog.HashSize {
			return nil, fmt.Errorf("%w: record %d of %s has a tree hash of %d bytes", ErrStorage, index, origin, len(h))
		}
		copy(out[i][:], h)
	}
	return out, nil
}

// TreeHashes implements ProofStorage: one query for the records that
// hold the hashes.
func (s *StoreStorage) TreeHashes(ctx context.Context, origin string, indexes []int64) ([]tlog.Hash, error) {
	if len(indexes) == 0 {
		return nil, nil
	}
	// The record numbers are written into the query (integers this code
	// formats): the store's parameters take no integer arrays.
	owners := make([]string, 0, len(indexes))
	for _, idx := range indexes {
		rec, _ := storedHashOwner(idx)
		if rec < 0 {
			return nil, fmt.Errorf("%w: no tree hash %d", ErrStorage, idx)
		}
		owners = append(owners, strconv.FormatInt(rec, 10))
	}
	rows, err := s.st.Query(ctx, "SELECT log_index, tree_hashes FROM evidence_records WHERE origin = {origin:String} AND log_index IN ("+
		strings.Join(owners, ",")+")", store.Params{"origin": origin})
	if err != nil {
		return nil, fmt.Errorf("reading evidence_records: %w", err)
	}
	defer rows.Close()
	byRecord := map[int64][]tlog.Hash{}
	for rows.Next() {
		var (
			index int64
			th    []string
		)
		if err := rows.Scan(&index, &th); err != nil {
			return nil, err
		}
		if _, dup := byRecord[index]; dup {
			return nil, fmt.Errorf("%w: log %s has record %d twice (run mailtrace evidence verify)", ErrStorage, origin, index)
		}
		if byRecord[index], err = treeHashesOf(th, origin, index); err != nil {
			return nil, err
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]tlog.Hash, len(indexes))
	for i, idx := range indexes {
		rec, off := storedHashOwner(idx)
		hs := byRecord[rec]
		if off < 0 || off >= len(hs) {
			return nil, fmt.Errorf("%w: log %s has no tree hash %d (record %d missing)", ErrStorage, origin, idx, rec)
		}
		out[i] = hs[off]
	}
	return out, nil
}
