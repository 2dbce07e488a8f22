package evidence

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"
)

var t0 = time.Date(2026, 11, 30, 14, 5, 6, 123456000, time.UTC)

func testLedger(t testing.TB, st Storage) *Ledger {
	t.Helper()
	l, err := Open(context.Background(), Options{Origin: "mailtrace.test/mx1", Host: "mx1", Version: "test", Storage: st,
		Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func acceptFact(trace string) Fact {
	return Fact{ID: "accept:" + trace, Event: EventSubmissionAcceptance, Time: t0, Message: trace,
		MessageIdentifier: "<" + trace + "@example.com>", Sender: "notices@example.com",
		Recipients: []string{"ana@example.org"}, SubmissionTime: t0,
		TimeDigits: 6, SubmissionDigits: 6, // the milter's clock
		Facts: map[string]any{"clientIP": "10.0.0.5", "size": 2048, "class": "legal", "pool": "legal"}}
}

func sentFact(trace string, n int) Fact {
	line := fmt.Sprintf("2026-11-30T14:05:07.5+00:00 mx1 postfix-legal/smtp[123]: 4AbC%d: to=<ana@example.org>, relay=mx.example.org[192.0.2.1]:25, delay=1.2, status=sent (250 2.0.0 OK id=%d)", n, n)
	return Fact{ID: "line:" + line, Event: EventRelayToNonERDS, Time: t0.Add(time.Second), Message: trace,
		Recipients: []string{"ana@example.org"}, Final: true,
		Reasons: []Reason{{Code: "2.0.0", Text: "250 2.0.0 OK"}},
		Facts:   map[string]any{"line": line, "relayIP": "192.0.2.1", "relayPort": uint16(25), "delay": float32(1.2)}}
}

// rfc6962Root computes the RFC 6962 tree hash of the leaves without
// tlog: an independent check of the stored hashes.
func rfc6962Root(leaves [][]byte) [32]byte {
	if len(leaves) == 1 {
		return sha256.Sum256(append([]byte{0}, leaves[0]...))
	}
	k := 1
	for k*2 < len(leaves) {
		k *= 2
	}
	l, r := rfc6962Root(leaves[:k]), rfc6962Root(leaves[k:])
	return sha256.Sum256(append(append([]byte{1}, l[:]...), r[:]...))
}

func TestLedgerAppendsChainsAndCloses(t *testing.T) {
	ctx := context.Background()
	st := NewMemoryStorage()
	l := testLedger(t, st)
	if ok, err := l.Append(ctx, acceptFact("t1")); !ok || err != nil {
		t.Fatalf("accept: %v %v", ok, err)
	}
	if ok, err := l.Append(ctx, sentFact("t1", 1)); !ok || err != nil {
		t.Fatalf("sent: %v %v", ok, err)
	}
	log := st.Log(l.Origin())
	wantEvents := []string{EventLedgerStart, EventSubmissionAcceptance, EventRelayToNonERDS, EventChainClosing}
	if len(log) != len(wantEvents) {
		t.Fatalf("log has %d records, want %d", len(log), len(wantEvents))
	}
	var recs []Record
	for i, e := range log {
		var r Record
		if err := json.Unmarshal(e.Record, &r); err != nil {
			t.Fatal(err)
		}
		if r.ERDSEventId != wantEvents[i] || e.Event != wantEvents[i] {
			t.Errorf("record %d: event %s, want %s", i, r.ERDSEventId, wantEvents[i])
		}
		if r.Log.Index != int64(i) || r.Version != FormatVersion || r.HashAlgorithm != HashAlgorithm {
			t.Errorf("record %d: log %+v version %s hash %s", i, r.Log, r.Version, r.HashAlgorithm)
		}
		if sha256.Sum256(e.Record) != e.Hash {
			t.Errorf("record %d: entry hash is not the SHA-256 of the record", i)
		}
		recs = append(recs, r)
	}
	if recs[1].Chain.Position != 1 || recs[1].Chain.PreviousRecordHash != "" {
		t.Errorf("accept chain link %+v", recs[1].Chain)
	}
	if recs[2].Chain.Position != 2 || recs[2].Chain.PreviousRecordHash != hex.EncodeToString(log[1].Hash[:]) {
		t.Errorf("sent chain link %+v, want previous %x", recs[2].Chain, log[1].Hash)
	}
	if c := recs[3].Closing; c == nil || c.Records != 2 || c.LastRecordHash != hex.EncodeToString(log[2].Hash[:]) {
		t.Errorf("closing %+v", recs[3].Closing)
	}
	if recs[2].EventReasons[0].Code != "2.0.0" || recs[2].Facts["relayIP"] != "192.0.2.1" || recs[2].Facts["delay"] != 1.2 {
		t.Errorf("sent record lost facts: %+v %+v", recs[2].EventReasons, recs[2].Facts)
	}
	if recs[1].SenderDetails.Address != "notices@example.com" || recs[1].RecipientDetails[0].Address != "ana@example.org" ||
		recs[1].MessageIdentifier != "<t1@example.com>" || recs[1].SubmissionTime != "2026-11-30T14:05:06.123456Z" {
		t.Errorf("accept record fields: %+v", recs[1])
	}

	// A DSN a week later reopens the closed chain: a new closing follows.
	dsn := Fact{ID: "report:abc", Event: EventDeliveryReport, Time: t0.Add(7 * 24 * time.Hour), Message: "t1",
		Facts: map[string]any{"reportSHA256": "abc"}}
	if ok, err := l.Append(ctx, dsn); !ok || err != nil {
		t.Fatalf("dsn: %v %v", ok, err)
	}
	log = st.Log(l.Origin())
	if len(log) != 6 || log[4].Event != EventDeliveryReport || log[5].Event != EventChainClosing {
		t.Fatalf("after the late DSN the log is %d records, last events %s %s", len(log), log[4].Event, log[5].Event)
	}
	var reopened, closing Record
	json.Unmarshal(log[4].Record, &reopened)
	json.Unmarshal(log[5].Record, &closing)
	if reopened.Chain.PreviousRecordHash != hex.EncodeToString(log[3].Hash[:]) || reopened.Chain.Position != 4 {
		t.Errorf("reopening record links %+v, want the earlier closing record", reopened.Chain)
	}
	if closing.Closing.Records != 4 || closing.Closing.LastRecordHash != hex.EncodeToString(log[4].Hash[:]) {
		t.Errorf("new closing %+v", closing.Closing)
	}
}

func TestLedgerExactlyOnce(t *testing.T) {
	ctx := context.Background()
	st := NewMemoryStorage()
	l := testLedger(t, st)
	facts := []Fact{acceptFact("t1"), sentFact("t1", 1), acceptFact("t2"), sentFact("t2", 2)}
	for _, f := range facts {
		if _, err := l.Append(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	size := l.Size()
	tree, _ := l.Tree()
	tests := []struct {
		name   string
		ledger func() *Ledger
	}{
		{"replayed in the same process", func() *Ledger { return l }},
		{"replayed after reopening the storage", func() *Ledger { return testLedger(t, st) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lg := tt.ledger()
			for _, f := range append(facts, facts...) {
				ok, err := lg.Append(ctx, f)
				if err != nil || ok {
					t.Fatalf("replay of %s: appended %v, err %v", f.ID, ok, err)
				}
			}
			if lg.Size() != size {
				t.Errorf("size %d after replay, want %d", lg.Size(), size)
			}
			if got, _ := lg.Tree(); got != tree {
				t.Errorf("tree %v after replay, want %v", got, tree)
			}
		})
	}
	// A reopened ledger continues the chains it loaded.
	l2 := testLedger(t, st)
	late := Fact{ID: "report:late", Event: EventDeliveryReport, Time: t0, Message: "t2"}
	if ok, err := l2.Append(ctx, late); !ok || err != nil {
		t.Fatal(ok, err)
	}
	log := st.Log(l2.Origin())
	var r Record
	json.Unmarshal(log[len(log)-2].Record, &r)
	if r.Chain.Position != 4 || r.Chain.PreviousRecordHash != hex.EncodeToString(log[len(log)-3].Hash[:]) {
		t.Errorf("after reopening, the late record links %+v", r.Chain)
	}
}

// allHashes reads stored hashes from the whole stored log.
func allHashes(log []*Entry) tlog.HashReaderFunc {
	return func(indexes []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(indexes))
		for i, idx := range indexes {
			n := sort.Search(len(log), func(n int) bool { return tlog.StoredHashIndex(0, int64(n)) > idx }) - 1
			e := log[n]
			off := idx - tlog.StoredHashIndex(0, e.Index)
			if off < 0 || off >= int64(len(e.TreeHashes)) {
				return nil, fmt.Errorf("no stored hash %d", idx)
			}
			out[i] = e.TreeHashes[off]
		}
		return out, nil
	}
}

func TestLedgerTreeAndProofs(t *testing.T) {
	ctx := context.Background()
	st := NewMemoryStorage()
	l := testLedger(t, st)
	var trees []tlog.Tree
	for i := range 37 {
		trace := fmt.Sprintf("t%d", i)
		l.Append(ctx, acceptFact(trace))
		l.Append(ctx, sentFact(trace, i))
		tree, err := l.Tree()
		if err != nil {
			t.Fatal(err)
		}
		trees = append(trees, tree)
	}
	log := st.Log(l.Origin())
	var leaves [][]byte
	for _, e := range log {
		leaves = append(leaves, e.Record)
	}
	last := trees[len(trees)-1]
	if got := rfc6962Root(leaves); tlog.Hash(got) != last.Hash {
		t.Fatalf("tree hash %v, RFC 6962 computed independently %x", last.Hash, got)
	}
	r := allHashes(log)
	for i, e := range log {
		p, err := tlog.ProveRecord(last.N, int64(i), r)
		if err != nil {
			t.Fatalf("proving record %d: %v", i, err)
		}
		if err := tlog.CheckRecord(p, last.N, last.Hash, int64(i), tlog.RecordHash(e.Record)); err != nil {
			t.Errorf("inclusion proof of record %d: %v", i, err)
		}
	}
	for _, old := range trees[:len(trees)-1] {
		p, err := tlog.ProveTree(last.N, old.N, r)
		if err != nil {
			t.Fatal(err)
		}
		if err := tlog.CheckTree(p, last.N, last.Hash, old.N, old.Hash); err != nil {
			t.Errorf("consistency %d -> %d: %v", old.N, last.N, err)
		}
	}
	if len(l.frontier) > 8 {
		t.Errorf("the ledger keeps %d tree hashes in memory, want at most log2(size)", len(l.frontier))
	}
}

func TestRecordCanonicalMatchesRFC8785(t *testing.T) {
	ctx := context.Background()
	st := NewMemoryStorage()
	l := testLedger(t, st)
	f := sentFact("t1", 1)
	f.Facts["odd"] = "ünïcödé € 😀 \u2028 <tag> \"quoted\" \\ \x01"
	f.Facts["nested"] = map[string]any{"b": []string{"x", "y"}, "a": []any{int64(-3), true, nil, 0.25}}
	f.Facts["\ufb33"], f.Facts["\U0001F600"] = "after", "before"
	l.Append(ctx, acceptFact("t1"))
	l.Append(ctx, f)
	for i, e := range st.Log(l.Origin()) {
		var r Record
		if err := json.Unmarshal(e.Record, &r); err != nil {
			t.Fatal(err)
		}
		std, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		want, err := Canonicalize(std)
		if err != nil {
			t.Fatal(err)
		}
		if string(want) != string(e.Record) {
			t.Errorf("record %d:\n stored    %s\n canonical %s", i, e.Record, want)
		}
	}
}

func TestLedgerRefusesFacts(t *testing.T) {
	tests := []struct {
		name string
		fact Fact
	}{
		{"no ID", Fact{Event: EventDeferred}},
		{"no event", Fact{ID: "x"}},
		{"integer beyond 2^53", Fact{ID: "y", Event: EventDeferred, Facts: map[string]any{"n": uint64(1) << 60}}},
		{"unsupported type", Fact{ID: "z", Event: EventDeferred, Facts: map[string]any{"t": time.Now()}}},
	}
	l := testLedger(t, NewMemoryStorage())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := l.Append(context.Background(), tt.fact); err == nil {
				t.Error("appended")
			}
			if l.Size() != 1 {
				t.Errorf("a refused fact left the log at %d records", l.Size())
			}
		})
	}
}

func BenchmarkAppend(b *testing.B) {
	ctx := context.Background()
	l := testLedger(b, NewMemoryStorage())
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		f := sentFact(fmt.Sprintf("t%d", i), i)
		f.Final = i%2 == 0
		if _, err := l.Append(ctx, f); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(l.Size()-1)/b.Elapsed().Seconds(), "records/s")
}

// Bytes that are not UTF-8 (Postfix logs other programs' bytes as they
// came) are kept: U+FFFD in the text, the raw bytes in base64 beside it.
func TestLedgerKeepsBytesThatAreNotUTF8(t *testing.T) {
	st := NewMemoryStorage()
	l := testLedger(t, st)
	f := Fact{ID: "x", Event: EventDeferred, Message: "m", Sender: "a\xffb@example.com",
		Reasons: []Reason{{Code: "4.0.0", Text: "451 \xfe try later"}}, Facts: map[string]any{"response": "451 \xfe try later"}}
	if ok, err := l.Append(context.Background(), f); !ok || err != nil {
		t.Fatal(ok, err)
	}
	var r Record
	json.Unmarshal(st.Log(l.Origin())[1].Record, &r)
	if r.Facts["response"] != "451 \ufffd try later" || r.Facts["responseBase64"] != "NDUxIP4gdHJ5IGxhdGVy" ||
		r.SenderDetails.Address != "a\ufffdb@example.com" || r.Facts["senderBase64"] != "Yf9iQGV4YW1wbGUuY29t" {
		t.Errorf("record %s", st.Log(l.Origin())[1].Record)
	}
}

// A crash stored a final fact but not the closing record after it: the
// fact, replayed, closes its chain, and the log verifies.
func TestReplayClosesAChainACrashLeftOpen(t *testing.T) {
	ctx := context.Background()
	key := testKey(t)
	st := NewMemoryStorage()
	l, _ := Open(ctx, Options{Origin: testOrigin, Storage: st, Key: key})
	l.Append(ctx, acceptFact("t1"))
	l.Append(ctx, sentFact("t1", 1))
	log := st.Log(testOrigin)
	if log[len(log)-1].Event != EventChainClosing {
		t.Fatal("no closing record")
	}
	st.SetLog(testOrigin, log[:len(log)-1]) // the crash
	l, err := Open(ctx, Options{Origin: testOrigin, Storage: st, Key: key})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		l.Append(ctx, acceptFact("t1"))
		l.Append(ctx, sentFact("t1", 1))
	}
	log = st.Log(testOrigin)
	if len(log) != 4 || log[3].Event != EventChainClosing {
		t.Fatalf("after the replay the log has %d records, the last %s", len(log), log[len(log)-1].Event)
	}
	l.Checkpoint(ctx)
	if res, err := Verify(ctx, st, VerifyOptions{Origin: testOrigin, Verifiers: verifiersOf(t, key)}); err != nil || res.OpenChains != 0 {
		t.Errorf("verify: %v, %+v", err, res)
	}
}
