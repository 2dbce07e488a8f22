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
	Insert(ctx context.Context, b *Block) error
	// Close releases the connection; for chdb it also unloads the session.
	Close() error
}

// Options tune how a store is opened.
type Options struct {
	// ChdbLibrary is the path of libchdb.so; empty means the usual places
	// (see FindChdbLibrary).
	ChdbLibrary string
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
		return openChdb(path, opts)
	case "clickhouse", "clickhouses":
		return openClickHouse(ctx, u)
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

// ErrClosed is returned by a store or writer used after Close.
var ErrClosed = errors.New("store: closed")

// ErrInUse means another process owns the embedded store: only one may.
// Commands then reach that process (a running sidecar) through its API.
var ErrInUse = errors.New("another mailtrace process holds the embedded store; only one process may own it")
