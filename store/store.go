package store

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Store is one ClickHouse database holding mailtrace's tables.
type Store interface {
	// Backend names the engine: "chdb" or "clickhouse".
	Backend() string
	// Database is the database that holds mailtrace's tables.
	Database() string
	// Exec runs a statement that returns no rows (DDL, ALTER, SET).
	Exec(ctx context.Context, query string, params Params) error
	// Query runs a statement and streams its rows back.
	Query(ctx context.Context, query string, params Params) (*Rows, error)
	// Insert stores one block of rows. Inserting the same block twice (same
	// table and Token) stores it once.
	Insert(ctx context.Context, b *NativeBlock) error
	// Close releases the connection; for chdb it also unloads the session.
	Close() error
}

// Options tune how a store is opened.
type Options struct {
	// ChdbLibrary is the path of libchdb.so; empty means the usual places
	// (see FindChdbLibrary).
	ChdbLibrary string
	// ReadOnly opens only a store that exists, with mailtrace's tables,
	// and creates nothing: no directory, no database. A store that is
	// not there is ErrNoStore.
	ReadOnly bool
}

// Open opens the store named by a DSN:
//
//	chdb:///var/lib/mailtrace/store         embedded (the default)
//	clickhouse://user:pass@host:9000/db     ClickHouse server, native protocol
//	clickhouses://user:pass@host:9440/db    the same over TLS
func Open(ctx context.Context, dsn string, opts Options) (Store, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return nil, fmt.Errorf("store %q: not a URL: %w (use chdb:///path or clickhouse://user:pass@host:9000/db)", Redact(dsn), err)
	}
	switch u.Scheme {
	case "chdb":
		path := u.Path
		if u.Host != "" {
			return nil, fmt.Errorf("store %q: chdb takes an absolute path with three slashes, as in chdb:///var/lib/mailtrace/store", dsn)
		}
		if path == "" || !strings.HasPrefix(path, "/") {
			return nil, fmt.Errorf("store %q: chdb needs an absolute directory, as in chdb:///var/lib/mailtrace/store", dsn)
		}
		st, err := openChdb(path, opts)
		if err != nil {
			return nil, err
		}
		return checkTables(ctx, st, opts)
	case "clickhouse", "clickhouses":
		st, err := openClickHouse(ctx, u, opts.ReadOnly)
		if err != nil {
			return nil, err
		}
		return checkTables(ctx, st, opts)
	case "":
		return nil, fmt.Errorf("store %q: missing scheme (use chdb:///path or clickhouse://user:pass@host:9000/db)", Redact(dsn))
	default:
		return nil, fmt.Errorf("store %q: unknown scheme %q (use chdb:///path, clickhouse:// or clickhouses://)", Redact(dsn), u.Scheme)
	}
}

// Redact hides the password in a store DSN so that it can be logged.
func Redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil {
		return dsn
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// checkTables makes sure a store opened read-only holds mailtrace's
// tables: schema_migrations, which every migration run creates first.
func checkTables(ctx context.Context, st Store, opts Options) (Store, error) {
	if !opts.ReadOnly {
		return st, nil
	}
	ok, err := HasTable(ctx, st, st.Database(), "schema_migrations")
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("store: looking for mailtrace's tables: %w", err)
	}
	if !ok {
		st.Close()
		return nil, fmt.Errorf("%w: database %s has no mailtrace tables", ErrNoStore, st.Database())
	}
	return st, nil
}

// HasTable tells whether database db holds table name.
func HasTable(ctx context.Context, st Store, db, name string) (bool, error) {
	rows, err := st.Query(ctx, "SELECT count() FROM system.tables WHERE database = "+Quote(db)+" AND name = "+Quote(name), nil)
	if err != nil {
		return false, err
	}
	all, err := rows.All()
	if err != nil {
		return false, err
	}
	return len(all) == 1 && all[0][0] == uint64(1), nil
}

// ErrNoStore means that a store opened read-only is not there (no
// directory, no database, or none of mailtrace's tables); nothing was
// created.
var ErrNoStore = errors.New("no mailtrace store")

// ErrClosed is returned by a store or writer used after Close.
var ErrClosed = errors.New("store: closed")

// ErrInUse means another process owns the embedded store: only one may.
// Commands then reach that process (a running sidecar) through its API.
var ErrInUse = errors.New("another mailtrace process holds the embedded store; only one process may own it")
