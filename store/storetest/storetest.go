// Package storetest opens real stores for tests: an embedded chDB store in
// a temporary directory (libchdb installed by `make setup`), and a
// ClickHouse server when MAILTRACE_TEST_CLICKHOUSE names one.
package storetest

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/mailtrace/mailtrace/store"
)

// ChdbLibrary finds libchdb.so for tests: where store.FindChdbLibrary
// looks, then in the source tree's .cache, where set-up installs it.
func ChdbLibrary(t testing.TB) string {
	t.Helper()
	if p, _ := store.FindChdbLibrary(""); p != "" {
		return p
	}
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		p := filepath.Join(dir, ".cache", "chdb", store.ChdbVersion, "libchdb.so")
		if _, err := os.Stat(p); err == nil {
			return p
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	t.Fatalf("libchdb.so %s is not installed: run `make setup` (or scripts/setup-chdb.sh) first", store.ChdbVersion)
	return ""
}

// Chdb opens an embedded store in a fresh directory, closed at the end of
// the test. libchdb holds one session per process: do not run two at once.
func Chdb(t testing.TB) store.Store {
	t.Helper()
	return ChdbAt(t, t.TempDir())
}

// ChdbAt opens an embedded store on dir, closed at the end of the test.
func ChdbAt(t testing.TB, dir string) store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), "chdb://"+dir, store.Options{ChdbLibrary: ChdbLibrary(t)})
	if err != nil {
		t.Fatalf("opening embedded store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// Server opens the ClickHouse server named by MAILTRACE_TEST_CLICKHOUSE
// (a clickhouse:// DSN), or skips the test when it is not set.
func Server(t testing.TB) store.Store {
	t.Helper()
	dsn := os.Getenv("MAILTRACE_TEST_CLICKHOUSE")
	if dsn == "" {
		t.Skip("MAILTRACE_TEST_CLICKHOUSE is not set: no ClickHouse server to test against")
	}
	st, err := store.Open(context.Background(), dsn, store.Options{})
	if err != nil {
		t.Fatalf("opening %s: %v", store.Redact(dsn), err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// Each runs f against every backend available: chDB always, the server
// when configured.
func Each(t *testing.T, f func(t *testing.T, st store.Store)) {
	t.Run("chdb", func(t *testing.T) { f(t, Chdb(t)) })
	t.Run("clickhouse", func(t *testing.T) { f(t, Server(t)) })
}

// Count runs a query whose first column of its first row is a UInt64 (a
// count, a sum) and returns it.
func Count(t testing.TB, st store.Store, query string) uint64 {
	t.Helper()
	rows, err := st.Query(context.Background(), query, nil)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	all, err := rows.All()
	if err != nil || len(all) == 0 {
		t.Fatalf("%s: %d rows, %v", query, len(all), err)
	}
	n, ok := all[0][0].(uint64)
	if !ok {
		t.Fatalf("%s: first value is %T, not UInt64", query, all[0][0])
	}
	return n
}
