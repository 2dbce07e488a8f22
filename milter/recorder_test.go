package milter

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mailtrace/mailtrace/schema"
	"github.com/mailtrace/mailtrace/store"
	"github.com/mailtrace/mailtrace/store/storetest"
	"github.com/mailtrace/mailtrace/traceid"
)

// outage is a real store that can be made unreachable, as a ClickHouse
// server is when it restarts.
type outage struct {
	store.Store
	down atomic.Bool
}

func (o *outage) Insert(ctx context.Context, b *store.NativeBlock) error {
	if o.down.Load() {
		return errors.New("dial tcp 10.0.0.9:9000: connect: connection refused")
	}
	return o.Store.Insert(ctx, b)
}

func record(i int) *schema.AcceptRecord {
	return &schema.AcceptRecord{Time: time.Date(2026, 11, 26, 8, 0, 0, i*1000, time.UTC), TraceID: traceid.New(), Host: "mx1",
		QueueID: fmt.Sprintf("Q%05d", i), Sender: "app@corp.example", Recipients: []string{"a@gmail.test"}, Class: "legal", Pool: "legal"}
}

func TestRecorderSpoolsThroughOutage(t *testing.T) {
	st := &outage{Store: migratedChdb(t)}
	rec := newRecorder(t, st, RecorderOptions{MaxBatch: 10})
	const before, during, after = 25, 40, 15
	for i := range before {
		rec.Record(record(i))
	}
	waitFor(t, "stored before the outage", func() bool { return rec.Stats().Stored == before })

	st.down.Store(true)
	for i := range during {
		rec.Record(record(before + i))
	}
	waitFor(t, "spooled during the outage", func() bool { return rec.Stats().Spooled == during })
	if rec.SpoolFiles() == 0 {
		t.Fatal("nothing in the spool during the outage")
	}
	if n := storetest.Count(t, st, "SELECT count() FROM accept_records"); n != before {
		t.Fatalf("%d rows during the outage, want %d", n, before)
	}

	st.down.Store(false)
	for i := range after {
		rec.Record(record(before + during + i))
	}
	total := uint64(before + during + after)
	waitFor(t, "spool replayed", func() bool {
		s := rec.Stats()
		return s.Stored+s.Replayed == total && rec.SpoolFiles() == 0
	})
	if n := storetest.Count(t, st, "SELECT count() FROM accept_records"); n != total {
		t.Fatalf("%d rows after the outage, want %d", n, total)
	}
	if n := storetest.Count(t, st, "SELECT uniqExact(queue_id) FROM accept_records"); n != total {
		t.Fatalf("%d distinct messages, want %d", n, total)
	}
	if s := rec.Stats(); s.Lost != 0 {
		t.Fatalf("%d records lost", s.Lost)
	}
}

// A crash after a spool file was stored but before it was removed replays
// it again on the next start: deduplication keeps one copy.
func TestSpoolReplayTwiceStoresOnce(t *testing.T) {
	st := &outage{Store: migratedChdb(t)}
	st.down.Store(true)
	dir := filepath.Join(t.TempDir(), "spool")
	rec := newRecorder(t, st, RecorderOptions{SpoolDir: dir, MaxBatch: 7})
	for i := range 30 {
		rec.Record(record(i))
	}
	if err := rec.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "accept-*.jsonl"))
	if len(files) == 0 {
		t.Fatal("closing during an outage left nothing in the spool")
	}
	saved := map[string][]byte{}
	for _, f := range files {
		saved[f], _ = os.ReadFile(f)
	}
	st.down.Store(false)
	first := newRecorder(t, st, RecorderOptions{SpoolDir: dir})
	waitFor(t, "first replay", func() bool { return first.SpoolFiles() == 0 })
	first.Close(context.Background())
	for f, data := range saved { // as if the process died before removing them
		os.WriteFile(f, data, 0o640)
	}
	second := newRecorder(t, st, RecorderOptions{SpoolDir: dir})
	waitFor(t, "second replay", func() bool { return second.SpoolFiles() == 0 })
	second.Close(context.Background())
	if n := storetest.Count(t, st, "SELECT count() FROM accept_records"); n != 30 {
		t.Fatalf("%d rows after replaying the spool twice, want 30", n)
	}
}

func TestQueueFullSpoolsInsteadOfWaiting(t *testing.T) {
	st := &slowStore{Store: migratedChdb(t), release: make(chan struct{})}
	rec := newRecorder(t, st, RecorderOptions{QueueSize: 2, MaxBatch: 1})
	start := time.Now()
	for i := range 20 {
		rec.Record(record(i))
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Record waited %s on a stuck store", d)
	}
	if s := rec.Stats(); s.Spooled < 15 {
		t.Fatalf("%d records spooled while the store hung, want at least 15 of 20", s.Spooled)
	}
	close(st.release)
	waitFor(t, "everything stored", func() bool {
		s := rec.Stats()
		return s.Stored+s.Replayed == 20 && rec.SpoolFiles() == 0
	})
	if n := storetest.Count(t, st, "SELECT count() FROM accept_records"); n != 20 {
		t.Fatalf("%d rows, want 20", n)
	}
}

// slowStore hangs every insert until released, like a store that stopped
// answering.
type slowStore struct {
	store.Store
	release chan struct{}
}

func (s *slowStore) Insert(ctx context.Context, b *store.NativeBlock) error {
	<-s.release
	return s.Store.Insert(ctx, b)
}

func TestBrokenSpoolFileSetAside(t *testing.T) {
	st := migratedChdb(t)
	dir := filepath.Join(t.TempDir(), "spool")
	os.MkdirAll(dir, 0o750)
	bad := filepath.Join(dir, "accept-00000000000000000001-000001.jsonl")
	os.WriteFile(bad, []byte("{\"time\": not json\n"), 0o640)
	rec := newRecorder(t, st, RecorderOptions{SpoolDir: dir})
	waitFor(t, "bad file set aside", func() bool {
		_, err := os.Stat(filepath.Join(dir, "accept-00000000000000000001-000001.bad"))
		return err == nil
	})
	rec.Record(record(1))
	waitFor(t, "good record stored", func() bool { return rec.Stats().Stored == 1 })
}

// A spool file is read back after a crash, a full disk or an admin's
// editor: whatever it holds must give records or an error, never a panic.
func FuzzSpoolRead(f *testing.F) {
	dir := f.TempDir()
	sp, err := openSpool(dir)
	if err != nil {
		f.Fatal(err)
	}
	sp.write([]*schema.AcceptRecord{record(1), record(2)})
	files, _ := sp.files()
	good, _ := os.ReadFile(files[0])
	f.Add(good)
	f.Add([]byte("{}\n"))
	f.Add([]byte("{\"trace_id\": \"x\"}\n"))
	path := filepath.Join(dir, "fuzz.jsonl")
	f.Fuzz(func(t *testing.T, data []byte) {
		os.WriteFile(path, data, 0o640)
		recs, err := sp.read(path)
		if err != nil || len(recs) == 0 {
			return
		}
		// What was read is spooled again unchanged.
		if err := sp.write(recs); err != nil {
			t.Fatal(err)
		}
		files, _ := sp.files()
		again, err := sp.read(files[len(files)-1])
		os.Remove(files[len(files)-1])
		if err != nil || len(again) != len(recs) {
			t.Fatalf("re-spooled %d records read back as %d: %v", len(recs), len(again), err)
		}
		for i := range recs {
			a, b := recs[i], again[i]
			if a.TraceID != b.TraceID || a.QueueID != b.QueueID || a.Sender != b.Sender || !a.Time.Equal(b.Time) || len(a.Recipients) != len(b.Recipients) {
				t.Fatalf("record %d changed through the spool: %+v -> %+v", i, a, b)
			}
		}
	})
}
