package store_test

import (
	"context"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailtrace/mailtrace/store"
	"github.com/mailtrace/mailtrace/store/storetest"
)

// A store opened read-only is never created: not its directory, not its
// database, not a table; one that is not there is ErrNoStore.
func TestOpenReadOnlyCreatesNothing(t *testing.T) {
	ctx := context.Background()
	lib := storetest.ChdbLibrary(t)
	base := t.TempDir()
	// A store with the database but no tables, as a read-only command of
	// an older mailtrace left behind.
	bare := filepath.Join(base, "bare")
	st, err := store.Open(ctx, "chdb://"+bare, store.Options{ChdbLibrary: lib})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	// A store with mailtrace's tables (schema_migrations is what migrate
	// creates first).
	good := filepath.Join(base, "good")
	st, err = store.Open(ctx, "chdb://"+good, store.Options{ChdbLibrary: lib})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Exec(ctx, "CREATE TABLE mailtrace.schema_migrations (version UInt32) ENGINE = MergeTree ORDER BY version", nil); err != nil {
		t.Fatal(err)
	}
	st.Close()
	empty := filepath.Join(base, "empty")
	os.Mkdir(empty, 0o750)
	file := filepath.Join(base, "file")
	os.WriteFile(file, []byte("not a store\n"), 0o600)

	tests := []struct {
		name string
		path string
		want string // in the ErrNoStore error; "" opens
	}{
		{name: "missing directory", path: filepath.Join(base, "missing", "store"), want: "does not exist"},
		{name: "empty directory", path: empty, want: "holds no mailtrace database"},
		{name: "a file", path: file, want: "is not a directory"},
		{name: "database without tables", path: bare, want: "has no mailtrace tables"},
		{name: "a store", path: good},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := listTree(t, base)
			st, err := store.Open(ctx, "chdb://"+tt.path, store.Options{ChdbLibrary: lib, ReadOnly: true})
			if tt.want == "" {
				if err != nil {
					t.Fatalf("read-only open of a store: %v", err)
				}
				defer st.Close()
				var n uint64
				if n = storetest.Count(t, st, "SELECT count() FROM schema_migrations"); n != 0 {
					t.Errorf("schema_migrations has %d rows", n)
				}
				return
			}
			if !errors.Is(err, store.ErrNoStore) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("read-only open of %s: %v; want ErrNoStore saying %q", tt.path, err, tt.want)
			}
			if after := listTree(t, base); after != before {
				t.Errorf("read-only open changed the file system:\nbefore:\n%s\nafter:\n%s", before, after)
			}
		})
	}
}

// listTree lists every path under dir, for comparing before and after.
func listTree(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	filepath.Walk(dir, func(path string, fi os.FileInfo, err error) error {
		if err != nil {
			return nil
		}
		b.WriteString(path + "\n")
		return nil
	})
	return b.String()
}

// On a server, read-only opens neither create a missing database nor
// take one without mailtrace's tables.
func TestOpenReadOnlyServer(t *testing.T) {
	dsn := os.Getenv("MAILTRACE_TEST_CLICKHOUSE")
	srv := storetest.Server(t)
	ctx := context.Background()
	db := "mailtrace_readonly_test"
	srv.Exec(ctx, "DROP DATABASE IF EXISTS "+store.QuoteIdent(db), nil)
	parsed, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	parsed.Path = "/" + db
	u := parsed.String()
	_, err = store.Open(ctx, u, store.Options{ReadOnly: true})
	if !errors.Is(err, store.ErrNoStore) || !strings.Contains(err.Error(), "has no database") {
		t.Fatalf("read-only open of a missing database: %v", err)
	}
	if n := storetest.Count(t, srv, "SELECT count() FROM system.databases WHERE name = "+store.Quote(db)); n != 0 {
		t.Fatalf("read-only open created database %s", db)
	}
	if err := srv.Exec(ctx, "CREATE DATABASE "+store.QuoteIdent(db), nil); err != nil {
		t.Fatal(err)
	}
	defer srv.Exec(ctx, "DROP DATABASE IF EXISTS "+store.QuoteIdent(db), nil)
	_, err = store.Open(ctx, u, store.Options{ReadOnly: true})
	if !errors.Is(err, store.ErrNoStore) || !strings.Contains(err.Error(), "has no mailtrace tables") {
		t.Fatalf("read-only open of a database without tables: %v", err)
	}
}
