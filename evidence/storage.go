package evidence

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/mailtrace/mailtrace/schema"
	"github.com/mailtrace/mailtrace/store"
)

// StoreStorage keeps logs in mailtrace's store (tables evidence_records,
// evidence_checkpoints, evidence_anchors of migrations 0009 to 0011). Records, a
// stream, go through the store's Writer: in order, each batch retried
// until stored, so what is stored after a crash is a prefix. A checkpoint
// or an anchor is one row stored at once (store.InsertRows); its caller
// tries again when it fails.
type StoreStorage struct {
	st        store.Store
	records   *store.Writer
	closeOnce sync.Once
}

// NewStoreStorage starts the records' writer; opts tune it (batch size and
// delay, dead letters).
func NewStoreStorage(st store.Store, opts store.WriterOptions) *StoreStorage {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &StoreStorage{st: st, records: store.NewWriter(st, schema.EvidenceRecords, opts)}
}

// Append implements Storage.
func (s *StoreStorage) Append(ctx context.Context, origin string, e *Entry) error {
	th := make([]string, len(e.TreeHashes))
	for i, h := range e.TreeHashes {
		th[i] = string(h[:])
	}
	return s.records.Write(ctx, &schema.EvidenceRecord{Origin: origin, LogIndex: uint64(e.Index), FactID: e.FactID,
		Message: e.Message, Event: e.Event, Time: e.Time, RecordHash: e.Hash, Record: e.Record, TreeHashes: th})
}

// Flush implements Storage.
func (s *StoreStorage) Flush(ctx context.Context) error { return s.records.Flush(ctx) }

// Close flushes and stops the records' writer.
func (s *StoreStorage) Close(ctx context.Context) error {
	var err error
	s.closeOnce.Do(func() { err = s.records.Close(ctx) })
	return err
}

// Entries implements Storage.
func (s *StoreStorage) Entries(ctx context.Context, origin string, from int64, fn func(*Entry) error) error {
	rows, err := s.st.Query(ctx, "SELECT log_index, fact_id, message, event, time, record_hash, record, tree_hashes FROM evidence_records "+
		"WHERE origin = {origin:String} AND log_index >= {from:UInt64} ORDER BY log_index", store.Params{"origin": origin, "from": uint64(from)})
	if err != nil {
		return fmt.Errorf("reading evidence_records: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			e            Entry
			hash, record string
			th           []string
		)
		if err := rows.Scan(&e.Index, &e.FactID, &e.Message, &e.Event, &e.Time, &hash, &record, &th); err != nil {
			return err
		}
		copy(e.Hash[:], hash)
		e.Record = []byte(record)
		e.TreeHashes = make([]tlog.Hash, len(th))
		for i, h := range th {
			if len(h) != tlog.HashSize {
				return fmt.Errorf("%w: record %d of %s has a tree hash of %d bytes", ErrStorage, e.Index, origin, len(h))
			}
			copy(e.TreeHashes[i][:], h)
		}
		if err := fn(&e); err != nil {
			return err
		}
	}
	return rows.Err()
}

// AddCheckpoint implements Storage.
func (s *StoreStorage) AddCheckpoint(ctx context.Context, c *Checkpoint) error {
	return store.InsertRows(ctx, s.st, schema.EvidenceCheckpoints, &schema.EvidenceCheckpoint{Origin: c.Origin, Size: uint64(c.Tree.N),
		Root: c.Tree.Hash, SignedAt: c.Time, KeyID: c.KeyID, Note: c.Note})
}

// Checkpoints implements Storage.
func (s *StoreStorage) Checkpoints(ctx context.Context, origin string, fn func(*Checkpoint) error) error {
	rows, err := s.st.Query(ctx, "SELECT size, root, signed_at, key_id, note FROM evidence_checkpoints "+
		"WHERE origin = {origin:String} ORDER BY size, signed_at", store.Params{"origin": origin})
	if err != nil {
		return fmt.Errorf("reading evidence_checkpoints: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		c := Checkpoint{Origin: origin}
		var root, msg string
		if err := rows.Scan(&c.Tree.N, &root, &c.Time, &c.KeyID, &msg); err != nil {
			return err
		}
		copy(c.Tree.Hash[:], root)
		c.Note = []byte(msg)
		if err := fn(&c); err != nil {
			return err
		}
	}
	return rows.Err()
}

// AddAnchor implements Storage.
func (s *StoreStorage) AddAnchor(ctx context.Context, a *Anchor) error {
	return store.InsertRows(ctx, s.st, schema.EvidenceAnchors, &schema.EvidenceAnchor{Origin: a.Origin, Size: uint64(a.Size),
		StampedAt: a.Time, TSAURL: a.TSAURL, Token: a.Token})
}

// Anchors implements Storage.
func (s *StoreStorage) Anchors(ctx context.Context, origin string, fn func(*Anchor) error) error {
	rows, err := s.st.Query(ctx, "SELECT size, stamped_at, tsa_url, token FROM evidence_anchors "+
		"WHERE origin = {origin:String} ORDER BY size, stamped_at", store.Params{"origin": origin})
	if err != nil {
		return fmt.Errorf("reading evidence_anchors: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		a := Anchor{Origin: origin}
		var token string
		if err := rows.Scan(&a.Size, &a.Time, &a.TSAURL, &token); err != nil {
			return err
		}
		a.Token = []byte(token)
		if err := fn(&a); err != nil {
			return err
		}
	}
	return rows.Err()
}

// Origins lists the logs the store holds.
func (s *StoreStorage) Origins(ctx context.Context) ([]string, error) {
	rows, err := s.st.Query(ctx, "SELECT DISTINCT origin FROM evidence_records ORDER BY origin", nil)
	if err != nil {
		return nil, fmt.Errorf("reading evidence_records: %w", err)
	}
	all, err := rows.All()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, r := range all {
		if s, ok := r[0].(string); ok {
			out = append(out, s)
		}
	}
	return out, nil
}

var _ Storage = (*StoreStorage)(nil)
var _ Storage = (*MemoryStorage)(nil)

// Size counts the origin's stored records.
func (s *StoreStorage) Size(ctx context.Context, origin string) (int64, error) {
	rows, err := s.st.Query(ctx, "SELECT count() FROM evidence_records WHERE origin = {origin:String}", store.Params{"origin": origin})
	if err != nil {
		return 0, fmt.Errorf("reading evidence_records: %w", err)
	}
	all, err := rows.All()
	if err != nil || len(all) == 0 {
		return 0, err
	}
	n, _ := all[0][0].(uint64)
	return int64(n), nil
}
