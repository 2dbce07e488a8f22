package evidence_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/mailtrace/mailtrace/evidence"
	"github.com/mailtrace/mailtrace/schema"
	"github.com/mailtrace/mailtrace/store"
	"github.com/mailtrace/mailtrace/store/storetest"
)

// TestStoreStorageProofs writes the same log to the store and to memory:
// a message's records, and every inclusion and consistency proof made
// from the store's tree hashes, are those made in memory, and they check.
func TestStoreStorageProofs(t *testing.T) {
	ctx := context.Background()
	storetest.Each(t, func(t *testing.T, st store.Store) {
		if _, err := schema.Migrate(ctx, st, schema.Options{Database: st.Database()}, false); err != nil {
			t.Fatal(err)
		}
		private, _, _ := evidence.GenerateKey("mailtrace.test")
		key, _ := evidence.ParseKey(private)
		const origin = "mailtrace.test/mx1"
		at := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
		stored := evidence.NewStoreStorage(st, store.WriterOptions{MaxRows: 13})
		mem := evidence.NewMemoryStorage()
		for _, s := range []evidence.Storage{stored, mem} {
			l, err := evidence.Open(ctx, evidence.Options{Origin: origin, Host: "mx1", Storage: s, Key: key, Now: func() time.Time { return at }})
			if err != nil {
				t.Fatal(err)
			}
			for i := range 77 {
				f := evidence.Fact{ID: fmt.Sprint("line:", i), Event: evidence.EventRelayToNonERDS, Time: at.Add(time.Duration(i) * time.Second),
					Message: fmt.Sprint("m", i%5), Final: i%7 == 0, Facts: map[string]any{"reply": fmt.Sprint("250 ok ", i)}}
				if _, err := l.Append(ctx, f); err != nil {
					t.Fatal(err)
				}
			}
			if err := l.Flush(ctx); err != nil {
				t.Fatal(err)
			}
		}
		stored.Flush(ctx)
		defer stored.Close(ctx)
		var fromStore, fromMemory []int64
		for _, c := range []struct {
			s   evidence.ProofStorage
			out *[]int64
		}{{stored, &fromStore}, {mem, &fromMemory}} {
			if err := c.s.MessageEntries(ctx, []string{"m2", "m4"}, func(o string, e *evidence.Entry) error {
				*c.out = append(*c.out, e.Index)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
		}
		if !slices.Equal(fromStore, fromMemory) || len(fromStore) < 30 {
			t.Fatalf("records of m2 and m4: store %v, memory %v", fromStore, fromMemory)
		}
		var leaves []tlog.Hash
		for _, e := range mem.Log(origin) {
			leaves = append(leaves, tlog.RecordHash(e.Record))
		}
		for _, size := range []int64{1, 2, 31, 64, 65, int64(len(leaves))} {
			root, err := tlog.TreeHash(size, tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) { return mem.TreeHashes(ctx, origin, idx) }))
			if err != nil {
				t.Fatal(err)
			}
			for _, index := range []int64{0, size / 2, size - 1} {
				ps, err := evidence.InclusionProof(ctx, stored, origin, size, index)
				if err != nil {
					t.Fatal(err)
				}
				pm, _ := evidence.InclusionProof(ctx, mem, origin, size, index)
				if !slices.Equal(ps, pm) {
					t.Errorf("inclusion of %d in %d: store and memory differ", index, size)
				}
				if err := tlog.CheckRecord(ps, size, root, index, leaves[index]); err != nil {
					t.Errorf("inclusion of %d in %d: %v", index, size, err)
				}
			}
			if size > 1 {
				older := size / 2
				oldRoot, _ := tlog.TreeHash(older, tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) { return mem.TreeHashes(ctx, origin, idx) }))
				p, err := evidence.ConsistencyProof(ctx, stored, origin, size, older)
				if err != nil {
					t.Fatal(err)
				}
				if err := tlog.CheckTree(p, size, root, older, oldRoot); err != nil {
					t.Errorf("consistency of %d with %d: %v", older, size, err)
				}
			}
		}
		if _, err := evidence.InclusionProof(ctx, stored, origin, 1000, 3); err == nil {
			t.Error("a proof in a tree larger than the log was made")
		}
	})
}
