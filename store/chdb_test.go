package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mailtrace/mailtrace/store"
	"github.com/mailtrace/mailtrace/store/storetest"
)

// hostile are values a log line or a bounce may carry.
var hostile = []string{
	"",
	"it's \"quoted\"",
	`back\slash \' \\'`,
	"nul\x00in the middle\x00",
	"\xff\xfe\xfd invalid UTF-8 \xc3\x28",
	"tab\tnewline\ncr\r",
	"'); DROP TABLE t; --",
	"{s:String} placeholder-looking",
	"FORMAT RowBinary\n",
	"ünïcödé 日本語 😀",
	strings.Repeat("x\x00'\\", 1<<18), // 1 MiB
}

type kv struct {
	id  uint32
	s   string
	arr []string
}

var kvTable = &store.Table{Name: "kv", Columns: []store.Column{
	{Name: "id", Type: "UInt32"}, {Name: "s", Type: "String"}, {Name: "arr", Type: "Array(String)"},
}}

func (r *kv) AppendRow(e *store.Encoder) { e.UInt32(r.id); e.String(r.s); e.StringArray(r.arr) }

func createKV(t testing.TB, st store.Store) {
	t.Helper()
	ctx := context.Background()
	if err := st.Exec(ctx, "DROP TABLE IF EXISTS kv", nil); err != nil {
		t.Fatal(err)
	}
	err := st.Exec(ctx, "CREATE TABLE kv (id UInt32, s String, arr Array(String)) ENGINE = MergeTree ORDER BY id "+
		"SETTINGS non_replicated_deduplication_window = 100", nil)
	if err != nil {
		t.Fatal(err)
	}
}

func block(t testing.TB, rows ...store.Row) *store.NativeBlock {
	return encode(t, kvTable, rows...)
}

func encode(t testing.TB, table *store.Table, rows ...store.Row) *store.NativeBlock {
	t.Helper()
	e := store.NewEncoder(table)
	for _, r := range rows {
		r.AppendRow(e)
	}
	b, err := e.Seal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestHostileStringsRoundTrip(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		createKV(t, st)
		var rows []store.Row
		for i, s := range hostile {
			rows = append(rows, &kv{id: uint32(i), s: s, arr: []string{s, "x"}})
		}
		if err := st.Insert(ctx, block(t, rows...)); err != nil {
			t.Fatal(err)
		}
		res, err := st.Query(ctx, "SELECT id, s, arr FROM kv ORDER BY id", nil)
		if err != nil {
			t.Fatal(err)
		}
		all, err := res.All()
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != len(hostile) {
			t.Fatalf("read %d rows, want %d", len(all), len(hostile))
		}
		for i, r := range all {
			if got := r[1].(string); got != hostile[i] {
				t.Errorf("row %d: read %q (%d bytes), wrote %q (%d bytes)", i, trim(got), len(got), trim(hostile[i]), len(hostile[i]))
			}
			if arr := r[2].([]string); len(arr) != 2 || arr[0] != hostile[i] || arr[1] != "x" {
				t.Errorf("row %d: array read back as %q", i, arr)
			}
		}
		// The same values as query parameters, bound by the server or quoted.
		for i, s := range hostile {
			res, err := st.Query(ctx, "SELECT {s:String} AS v, count() FROM kv WHERE s = {s:String}", store.Params{"s": s})
			if err != nil {
				t.Fatalf("value %d as a parameter: %v", i, err)
			}
			all, err := res.All()
			if err != nil {
				t.Fatal(err)
			}
			if all[0][0].(string) != s || all[0][1].(uint64) != 1 {
				t.Errorf("value %d as a parameter: read %q, matched %d rows", i, trim(all[0][0].(string)), all[0][1])
			}
		}
	})
}

func trim(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

func TestInsertTwiceStoredOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		createKV(t, st)
		b := block(t, &kv{id: 1, s: "a"}, &kv{id: 2, s: "b"})
		for range 3 {
			if err := st.Insert(ctx, b); err != nil {
				t.Fatal(err)
			}
		}
		other := block(t, &kv{id: 3, s: "c"})
		if err := st.Insert(ctx, other); err != nil {
			t.Fatal(err)
		}
		if n := storetest.Count(t, st, "SELECT count() FROM kv"); n != 3 {
			t.Errorf("after inserting a 2-row block three times and a 1-row block once: %d rows, want 3", n)
		}
	})
}

// wide writes n UInt8 columns: the block then starts with the byte n,
// which for 9 to 13 and 32 is also blank space.
type wide struct{ n int }

func (w wide) AppendRow(e *store.Encoder) {
	for i := range w.n {
		e.UInt8(uint8(i))
	}
}

func TestInsertHeaderStartingWithBlanks(t *testing.T) {
	st := storetest.Chdb(t)
	ctx := context.Background()
	for _, n := range []int{9, 10, 11, 12, 13, 32} {
		name := fmt.Sprintf("wide%d", n)
		table := &store.Table{Name: name}
		var defs []string
		for i := range n {
			table.Columns = append(table.Columns, store.Column{Name: fmt.Sprintf("c%d", i), Type: "UInt8"})
			defs = append(defs, fmt.Sprintf("c%d UInt8", i))
		}
		if err := st.Exec(ctx, "CREATE TABLE "+name+" ("+strings.Join(defs, ", ")+") ENGINE = MergeTree ORDER BY c0", nil); err != nil {
			t.Fatal(err)
		}
		if err := st.Insert(ctx, encode(t, table, wide{n})); err != nil {
			t.Fatalf("%d columns: %v", n, err)
		}
		if got := storetest.Count(t, st, fmt.Sprintf("SELECT toUInt64(c%d) FROM %s", n-1, name)); got != uint64(n-1) {
			t.Errorf("%d columns: last column read %d, want %d", n, got, n-1)
		}
	}
}

// outage wraps a real store and fails inserts while down is set, as a
// ClickHouse restart would.
type outage struct {
	store.Store
	down     atomic.Bool
	failures atomic.Int64
}

func (o *outage) Insert(ctx context.Context, b *store.NativeBlock) error {
	if o.down.Load() {
		o.failures.Add(1)
		return errors.New("connection refused")
	}
	return o.Store.Insert(ctx, b)
}

func TestWriterSurvivesOutage(t *testing.T) {
	st := &outage{Store: storetest.Chdb(t)}
	createKV(t, st)
	ctx := context.Background()
	w := store.NewWriter(st, kvTable, store.WriterOptions{MaxRows: 10, MaxDelay: 20 * time.Millisecond,
		Queue: 1, RetryMin: 5 * time.Millisecond, RetryMax: 20 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	st.down.Store(true)
	// With the store down, one block is being retried and one waits in the
	// queue; the writer then pushes back instead of growing.
	written := 0
	for ; written < 1000; written++ {
		wctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		err := w.Write(wctx, &kv{id: uint32(written), s: fmt.Sprint(written)})
		cancel()
		if err != nil {
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("write %d: %v", written, err)
			}
			break
		}
	}
	if written >= 1000 {
		t.Fatal("the writer took 1000 rows while the store was down: no back-pressure")
	}
	if st.failures.Load() == 0 {
		t.Fatal("no insert was attempted while the store was down")
	}
	st.down.Store(false)
	for i := written; i < written+25; i++ {
		if err := w.Write(ctx, &kv{id: uint32(i), s: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	total := written + 25
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if n := storetest.Count(t, st, "SELECT count() FROM kv"); n != uint64(total) {
		t.Errorf("%d rows stored, %d accepted", n, total)
	}
	if n := storetest.Count(t, st, "SELECT uniqExact(id) FROM kv"); n != uint64(total) {
		t.Errorf("%d distinct rows stored, %d accepted", n, total)
	}
	if s := w.Stats(); s.Written != uint64(total) || s.Acked != uint64(total) || s.Retries == 0 {
		t.Errorf("stats %+v, want %d written and acked and some retries", s, total)
	}
}

func TestWriterFlushesByAge(t *testing.T) {
	st := storetest.Chdb(t)
	createKV(t, st)
	ctx := context.Background()
	w := store.NewWriter(st, kvTable, store.WriterOptions{MaxRows: 1000, MaxDelay: 50 * time.Millisecond})
	defer w.Close(ctx)
	if err := w.Write(ctx, &kv{id: 1, s: "lonely"}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for w.Stats().Acked < 1 {
		if time.Now().After(deadline) {
			t.Fatal("a lone row was not stored within 10 s with MaxDelay 50 ms")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestQueryReadOnly(t *testing.T) {
	st := storetest.Chdb(t)
	createKV(t, st)
	ctx := context.Background()
	if err := st.Insert(ctx, block(t, &kv{id: 1, s: "a,\"b\"\tc", arr: []string{"x"}}, &kv{id: 2, s: "plain"})); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ format, query, want, wantErr string }{
		{"tsv", "SELECT id, s FROM kv ORDER BY id", "id\ts\n1\ta,\"b\"\\tc\n2\tplain\n", ""},
		{"csv", "SELECT id, s FROM kv ORDER BY id;", "id,s\n1,\"a,\"\"b\"\"\tc\"\n2,\"plain\"\n", ""},
		{"json", "SELECT id, arr FROM kv ORDER BY id", "{\"id\":1,\"arr\":[\"x\"]}\n{\"id\":2,\"arr\":[]}\n", ""},
		{"json", "WITH 2 AS two SELECT two * id AS d FROM kv ORDER BY d", "{\"d\":2}\n{\"d\":4}\n", ""},
		{"tsv", "DROP TABLE kv", "", "refused"},
		{"tsv", "SELECT 1) ; DROP TABLE kv; SELECT (1", "", "refused"},
		{"tsv", "SELECT 1 # '\n) ; DROP TABLE kv; --", "", "refused"},
		{"tsv", "SELECT * FROM kv INTO OUTFILE '/tmp/x'", "", "Syntax error"},
		{"xml", "SELECT 1", "", "unknown output format"},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		err := store.QueryReadOnly(ctx, st, tt.query, tt.format, store.DefaultSQLLimits(), &out)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: error %v, want %q", tt.query, err, tt.wantErr)
			}
			continue
		}
		if err != nil || out.String() != tt.want {
			t.Errorf("%s as %s = %q, %v; want %q", tt.query, tt.format, out.String(), err, tt.want)
		}
	}
	if n := storetest.Count(t, st, "SELECT count() FROM kv"); n != 2 {
		t.Errorf("kv has %d rows after refused writes, want 2", n)
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	tests := []struct{ dsn, want string }{
		{"chdb://relative/path", "three slashes"},
		{"chdb:relative", "absolute directory"},
		{"/var/lib/mailtrace", "missing scheme"},
		{"postgres://x", "unknown scheme"},
		{"clickhouse://user:secret@127.0.0.1:1/db?dial_timeout=1s", "does not answer"},
	}
	for _, tt := range tests {
		_, err := store.Open(ctx, tt.dsn, store.Options{})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Open(%q) = %v, want an error saying %q", tt.dsn, err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("Open(%q) error shows the password: %v", tt.dsn, err)
		}
	}
}

func TestOneEmbeddedStorePerProcess(t *testing.T) {
	storetest.Chdb(t)
	_, err := store.Open(context.Background(), "chdb://"+t.TempDir(), store.Options{ChdbLibrary: storetest.ChdbLibrary(t)})
	if err == nil || !strings.Contains(err.Error(), "already open") {
		t.Errorf("opening a second embedded store: %v, want 'already open'", err)
	}
}

// rejecting wraps a real store and corrupts the blocks of one table, as a
// schema drift would, so that ClickHouse refuses their content.
type rejecting struct{ store.Store }

func (r rejecting) Insert(ctx context.Context, b *store.NativeBlock) error {
	if strings.Contains(string(b.Data), "poison") {
		bad := *b
		bad.Data = b.Data[:len(b.Data)-3]
		return r.Store.Insert(ctx, &bad)
	}
	return r.Store.Insert(ctx, b)
}

func TestWriterSetsAsideRejectedBlocks(t *testing.T) {
	st := rejecting{storetest.Chdb(t)}
	createKV(t, st)
	ctx := context.Background()
	dir := t.TempDir()
	w := store.NewWriter(st, kvTable, store.WriterOptions{MaxRows: 2, RetryMin: time.Millisecond, DeadLetterDir: dir,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	for i, s := range []string{"a", "b", "poison", "c", "d", "e"} {
		if err := w.Write(ctx, &kv{id: uint32(i), s: s}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if n := storetest.Count(t, st, "SELECT count() FROM kv"); n != 4 {
		t.Errorf("%d rows stored, want the 4 outside the rejected block", n)
	}
	if s := w.Stats(); s.DeadLettered != 2 || s.Acked != 6 {
		t.Errorf("stats %+v: want 2 rows set aside, 6 acknowledged", s)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "kv-*.native"))
	if len(files) != 1 {
		t.Fatalf("dead-letter files %v, want one", files)
	}
	// The file is the untouched block: inserting it, once fixed, works.
	data, _ := os.ReadFile(files[0])
	if err := st.Store.Insert(ctx, &store.NativeBlock{Table: kvTable, Rows: 2, Data: data, Token: "replay"}); err != nil {
		t.Fatal(err)
	}
	if n := storetest.Count(t, st, "SELECT count() FROM kv WHERE s = 'poison'"); n != 1 {
		t.Errorf("replayed dead letter: %d poison rows, want 1", n)
	}
	note, _ := os.ReadFile(strings.TrimSuffix(files[0], ".native") + ".error")
	if !strings.Contains(string(note), "CANNOT_READ_ALL_DATA") && !strings.Contains(string(note), "Code:") {
		t.Errorf("error note %q does not say what the store answered", note)
	}
}

// TestQueryStreams reads a result of several libchdb chunks, an empty one,
// and one closed early, after which the store still answers.
func TestQueryStreams(t *testing.T) {
	st := storetest.Chdb(t)
	ctx := context.Background()
	rows, err := st.Query(ctx, "SELECT number, toString(number) AS s FROM numbers(300000)", nil)
	if err != nil {
		t.Fatal(err)
	}
	n := uint64(0)
	for rows.Next() {
		v := rows.Values()
		if v[0].(uint64) != n || v[1].(string) != fmt.Sprint(n) {
			t.Fatalf("row %d = %v", n, v)
		}
		n++
	}
	if rows.Err() != nil || n != 300000 {
		t.Fatalf("read %d rows, err %v", n, rows.Err())
	}
	empty, err := st.Query(ctx, "SELECT number AS n FROM numbers(10) LIMIT 0", nil)
	if err != nil {
		t.Fatal(err)
	}
	if cols := empty.Columns(); len(cols) != 1 || cols[0].Name != "n" || cols[0].Type != "UInt64" || empty.Next() {
		t.Errorf("empty result: columns %v", cols)
	}
	big, err := st.Query(ctx, "SELECT number FROM numbers(100000000)", nil)
	if err != nil {
		t.Fatal(err)
	}
	big.Next()
	big.Close()
	if got := storetest.Count(t, st, "SELECT toUInt64(42)"); got != 42 {
		t.Errorf("after an early close: %d", got)
	}
	if _, err := st.Query(ctx, "SELECT no_such_column", nil); err == nil || !strings.Contains(err.Error(), "no_such_column") {
		t.Errorf("bad query: %v", err)
	}
	if got := storetest.Count(t, st, "SELECT toUInt64(7)"); got != 7 {
		t.Errorf("after a failed query: %d", got)
	}
}

// TestFailedQueryLeavesNothingBehind: libchdb keeps what a failed streamed
// query had written and puts it in front of the next result; the store
// must not hand that to the next query.
func TestFailedQueryLeavesNothingBehind(t *testing.T) {
	st := storetest.Chdb(t)
	createKV(t, st)
	ctx := context.Background()
	if err := st.Insert(ctx, block(t, &kv{id: 1, s: "a"})); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, query string }{
		{"error after the header", "SELECT id FROM kv WHERE id IN kv"},
		{"error after rows", "SELECT throwIf(number = 300000) FROM numbers(1000000)"},
		{"error before running", "SELECT noSuchFunction()"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, err := st.Query(ctx, tt.query, nil)
			if err == nil {
				_, err = rows.All()
			}
			if err == nil {
				t.Fatalf("%s did not fail", tt.query)
			}
			rows, err = st.Query(ctx, "SELECT toUInt64(43) AS answer", nil)
			if err != nil {
				t.Fatalf("the query after a failed one: %v", err)
			}
			all, err := rows.All()
			if cols := rows.Columns(); err != nil || len(cols) != 1 || cols[0].Name != "answer" || len(all) != 1 || all[0][0] != uint64(43) {
				t.Errorf("the query after a failed one read columns %v, rows %v, %v", cols, all, err)
			}
		})
	}
}
