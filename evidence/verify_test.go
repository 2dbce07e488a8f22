package evidence

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

const testOrigin = "mailtrace.test/mx1"

func testKey(t testing.TB) *Key {
	t.Helper()
	private, _, err := GenerateKey(testOrigin)
	if err != nil {
		t.Fatal(err)
	}
	k, err := ParseKey(private)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// buildLog writes messages accepted and relayed, with a checkpoint after
// every few, and returns the storage and the key that signed.
func buildLog(t testing.TB, key *Key, messages int, reply string) *MemoryStorage {
	t.Helper()
	ctx := context.Background()
	st := NewMemoryStorage()
	l, err := Open(ctx, Options{Origin: testOrigin, Host: "mx1", Storage: st, Key: key})
	if err != nil {
		t.Fatal(err)
	}
	for i := range messages {
		trace := fmt.Sprintf("trace-%d", i)
		if _, err := l.Append(ctx, acceptFact(trace)); err != nil {
			t.Fatal(err)
		}
		f := sentFact(trace, i)
		f.Facts["reply"] = reply
		if _, err := l.Append(ctx, f); err != nil {
			t.Fatal(err)
		}
		if i%3 == 2 {
			if _, _, err := l.Checkpoint(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, _, err := l.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	return st
}

func verifiersOf(t testing.TB, keys ...*Key) note.Verifiers {
	var pubs []string
	for _, k := range keys {
		pubs = append(pubs, k.Public)
	}
	vs, _, err := Verifiers(pubs...)
	if err != nil {
		t.Fatal(err)
	}
	return vs
}

func cloneEntries(es []*Entry) []*Entry {
	out := make([]*Entry, len(es))
	for i, e := range es {
		c := *e
		c.Record = bytes.Clone(e.Record)
		out[i] = &c
	}
	return out
}

func TestVerifyCleanLog(t *testing.T) {
	key := testKey(t)
	st := buildLog(t, key, 10, "250 2.0.0 OK")
	var lines []string
	res, err := Verify(context.Background(), st, VerifyOptions{Origin: testOrigin, Verifiers: verifiersOf(t, key),
		Report: func(c Check) { lines = append(lines, c.String()) }})
	if err != nil {
		t.Fatalf("%v\n%s", err, strings.Join(lines, "\n"))
	}
	if res.Records != 31 || res.Messages != 10 || res.OpenChains != 0 || res.Checkpoints != 4 {
		t.Errorf("result %+v", res)
	}
	for _, name := range []string{"records", "index", "tree hashes", "chains", "checkpoints", "consistency", "anchors"} {
		if !slices.ContainsFunc(lines, func(l string) bool { return strings.HasPrefix(l, "ok    "+name+":") }) {
			t.Errorf("no ok line for %s in\n%s", name, strings.Join(lines, "\n"))
		}
	}
}

func TestVerifyDetectsTampering(t *testing.T) {
	key := testKey(t)
	tests := []struct {
		name   string
		tamper func(st *MemoryStorage)
		check  string // the first check that must fail
		detail string // words its line must hold
	}{
		{"one byte of a stored reply", func(st *MemoryStorage) {
			e := st.Log(testOrigin)[5]
			i := bytes.Index(e.Record, []byte("250 2.0.0 OK"))
			e.Record[i+1] = '4'
		}, "records", "record 5"},
		{"a reply changed, its hashes recomputed", func(st *MemoryStorage) {
			e := st.Log(testOrigin)[5]
			e.Record = bytes.Replace(e.Record, []byte("250 2.0.0 OK"), []byte("550 5.0.0 NO"), 1)
			e.Hash = sha256.Sum256(e.Record)
		}, "tree hashes", "record 5"},
		{"a record rewritten with whitespace, its hash recomputed", func(st *MemoryStorage) {
			e := st.Log(testOrigin)[5]
			e.Record = bytes.Replace(e.Record, []byte(`,"factId":`), []byte(`, "factId":`), 1)
			e.Hash = sha256.Sum256(e.Record)
		}, "records", "record 5 is not in canonical form (RFC 8785)"},
		{"a member added to a record", func(st *MemoryStorage) {
			e := st.Log(testOrigin)[5]
			e.Record = bytes.Replace(e.Record, []byte(`,"factId":`), []byte(`,"extra":1,"factId":`), 1)
			e.Hash = sha256.Sum256(e.Record)
		}, "records", `record 5 is not in canonical form (RFC 8785) or not a record of format mailtrace-evidence/1: unknown member "extra"`},
		{"an attempt deleted", func(st *MemoryStorage) {
			es := st.Log(testOrigin)
			st.SetLog(testOrigin, slices.Delete(slices.Clone(es), 5, 6))
		}, "index", "records 5 to 5 are missing"},
		{"a closing record deleted", func(st *MemoryStorage) {
			es := st.Log(testOrigin)
			st.SetLog(testOrigin, slices.Delete(slices.Clone(es), 6, 7))
		}, "index", "records 6 to 6 are missing"},
		{"two records reordered", func(st *MemoryStorage) {
			es := cloneEntries(st.Log(testOrigin))
			es[4], es[5] = es[5], es[4]
			es[4].Index, es[5].Index = 4, 5
			st.SetLog(testOrigin, es)
		}, "index", "position 4 says it is record 5"},
		{"a forged record inserted", func(st *MemoryStorage) {
			es := cloneEntries(st.Log(testOrigin))
			forged := *es[5]
			forged.FactID = "forged"
			forged.Record = bytes.Replace(forged.Record, []byte(es[5].FactID), []byte("forged"), 1)
			forged.Hash = sha256.Sum256(forged.Record)
			es = slices.Insert(es, 6, &forged)
			for i, e := range es {
				e.Index = int64(i)
			}
			st.SetLog(testOrigin, es)
		}, "index", "position 6 says it is record 5"},
		{"a checkpoint's size changed", func(st *MemoryStorage) {
			st.checkpoints[testOrigin][1].Tree.N++
		}, "checkpoints", "stored size or root differs"},
		{"a checkpoint's root changed", func(st *MemoryStorage) {
			st.checkpoints[testOrigin][1].Tree.Hash[0] ^= 1
		}, "checkpoints", "stored size or root differs"},
		{"a checkpoint signed by an unknown key", func(st *MemoryStorage) {
			c := st.checkpoints[testOrigin][2]
			other, err := SignCheckpoint(testKey(t), testOrigin, c.Tree, c.Time)
			if err != nil {
				t.Fatal(err)
			}
			st.checkpoints[testOrigin][2] = other
		}, "checkpoints", "signed by no known key"},
		{"a rewritten history re-signed with the same key next to an earlier checkpoint", func(st *MemoryStorage) {
			rewritten := buildLog(t, key, 10, "550 5.0.0 NO")
			earlier := st.checkpoints[testOrigin][1]
			st.SetLog(testOrigin, rewritten.Log(testOrigin))
			cps := slices.Clone(rewritten.checkpoints[testOrigin])
			cps[1] = earlier
			st.SetCheckpoints(testOrigin, cps)
		}, "checkpoints", "the log was rewritten"},
		{"records deleted after the last checkpoint's size", func(st *MemoryStorage) {
			es := st.Log(testOrigin)
			st.SetLog(testOrigin, es[:len(es)-3])
		}, "checkpoints", "records were deleted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := buildLog(t, key, 10, "250 2.0.0 OK")
			tt.tamper(st)
			res, err := Verify(context.Background(), st, VerifyOptions{Origin: testOrigin, Verifiers: verifiersOf(t, key)})
			if !errors.Is(err, ErrVerify) {
				t.Fatalf("verify passed a tampered log: %v", err)
			}
			if res.First.Name != tt.check || !strings.Contains(res.First.Detail, tt.detail) {
				t.Errorf("first failure %q, want %s with %q", res.First, tt.check, tt.detail)
			}
		})
	}
}

func TestCheckpointKeysAndRotation(t *testing.T) {
	ctx := context.Background()
	old, current := testKey(t), testKey(t)
	st := NewMemoryStorage()
	l, err := Open(ctx, Options{Origin: testOrigin, Storage: st, Key: old})
	if err != nil {
		t.Fatal(err)
	}
	l.Append(ctx, acceptFact("a"))
	c1, fresh, err := l.Checkpoint(ctx)
	if err != nil || !fresh {
		t.Fatal(err, fresh)
	}
	if _, fresh, _ := l.Checkpoint(ctx); fresh {
		t.Error("a checkpoint was signed again for a log that did not grow")
	}
	// The sidecar restarts with a new key: the log goes on.
	l, err = Open(ctx, Options{Origin: testOrigin, Storage: st, Key: current})
	if err != nil {
		t.Fatal(err)
	}
	l.Append(ctx, sentFact("a", 1))
	c2, _, err := l.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if c1.KeyID == c2.KeyID {
		t.Fatal("rotation kept the key ID")
	}
	body := CheckpointText(c2.Note)
	if lines := strings.Split(body, "\n"); len(lines) != 4 || lines[0] != testOrigin || lines[1] != "4" {
		t.Errorf("checkpoint body %q is not origin, size, root", body)
	}
	tests := []struct {
		name string
		keys []*Key
		ok   bool
	}{
		{"old and current keys", []*Key{old, current}, true},
		{"only the current key", []*Key{current}, false},
		{"only the old key", []*Key{old}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Verify(ctx, st, VerifyOptions{Origin: testOrigin, Verifiers: verifiersOf(t, tt.keys...)})
			if (err == nil) != tt.ok {
				t.Errorf("verify: %v, want ok %v", err, tt.ok)
			}
		})
	}
	if _, _, err := OpenCheckpoint(c2.Note, "another/origin", verifiersOf(t, current)); !errors.Is(err, ErrCheckpoint) {
		t.Errorf("a checkpoint opened for another origin: %v", err)
	}
}

func TestLoadKeyRefusesReadableFiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "evidence.key")
	k, err := WriteKey(path, testOrigin)
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v", fi.Mode().Perm())
	}
	if _, err := WriteKey(path, testOrigin); err == nil {
		t.Error("WriteKey replaced an existing key")
	}
	tests := []struct {
		name string
		mode os.FileMode
		ok   bool
	}{
		{"owner only", 0o600, true},
		{"owner read only", 0o400, true},
		{"group readable", 0o640, false},
		{"world readable", 0o604, false},
		{"group writable", 0o620, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			os.Chmod(path, tt.mode)
			got, err := LoadKey(path)
			if (err == nil) != tt.ok {
				t.Fatalf("LoadKey with mode %04o: %v", tt.mode, err)
			}
			if err != nil && !errors.Is(err, ErrKey) {
				t.Errorf("err %v is not ErrKey", err)
			}
			if got != nil && (got.Public != k.Public || got.ID() != k.ID()) {
				t.Errorf("loaded key %s, written %s", got.ID(), k.ID())
			}
		})
	}
}

func TestCheckpointBodyRoundTrip(t *testing.T) {
	tree := tlog.Tree{N: 12345, Hash: tlog.RecordHash([]byte("x"))}
	origin, got, err := ParseCheckpointBody(CheckpointBody(testOrigin, tree))
	if err != nil || origin != testOrigin || got != tree {
		t.Fatalf("round trip: %q %v %v", origin, got, err)
	}
	for _, bad := range []string{"", "o\n", "o\n01\nAAAA\n", "o\n-1\nAAAA\n", "o\n1\nnot-base64\n"} {
		if _, _, err := ParseCheckpointBody(bad); !errors.Is(err, ErrCheckpoint) {
			t.Errorf("ParseCheckpointBody(%q): %v", bad, err)
		}
	}
}

func FuzzParseCheckpointBody(f *testing.F) {
	f.Add(CheckpointBody(testOrigin, tlog.Tree{N: 3}))
	f.Fuzz(func(t *testing.T, s string) {
		origin, tree, err := ParseCheckpointBody(s)
		if err != nil {
			return
		}
		if _, again, err := ParseCheckpointBody(CheckpointBody(origin, tree)); err != nil || again != tree {
			t.Fatalf("round trip of %q: %v %v", s, again, err)
		}
	})
}

// BenchmarkVerify1M verifies a log of a million records (about 330,000
// messages accepted, relayed and closed) with a checkpoint every 10,000.
func BenchmarkVerify1M(b *testing.B) { benchmarkVerify(b, 1_000_000) }

func BenchmarkVerify100k(b *testing.B) { benchmarkVerify(b, 100_000) }

func benchmarkVerify(b *testing.B, records int64) {
	ctx := context.Background()
	key := testKey(b)
	st := NewMemoryStorage()
	l, err := Open(ctx, Options{Origin: testOrigin, Host: "mx1", Storage: st, Key: key})
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; l.Size() < records; i++ {
		trace := fmt.Sprintf("trace-%d", i)
		l.Append(ctx, acceptFact(trace))
		l.Append(ctx, sentFact(trace, i))
		if i%3333 == 0 {
			l.Checkpoint(ctx)
		}
	}
	l.Checkpoint(ctx)
	vs := verifiersOf(b, key)
	b.ResetTimer()
	for b.Loop() {
		res, err := Verify(ctx, st, VerifyOptions{Origin: testOrigin, Verifiers: vs})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(res.Records)/b.Elapsed().Seconds(), "records/s")
	}
}
