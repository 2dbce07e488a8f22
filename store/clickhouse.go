package store

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// clickhouseStore is the server backend: ClickHouse's native protocol with
// LZ4 compression, through clickhouse-go.
type clickhouseStore struct {
	conn driver.Conn
	db   string
}

// openClickHouse opens clickhouse://user:pass@host:9000/db. The clickhouses
// scheme (or ?secure=true) turns TLS on; ?skip_verify=true accepts any
// certificate (for tests against self-signed servers only);
// ?dial_timeout=5s and ?max_open_conns=N tune the pool.
func openClickHouse(ctx context.Context, u *url.URL, readOnly bool) (Store, error) {
	q := u.Query()
	db := strings.Trim(u.Path, "/")
	if db == "" {
		db = "mailtrace"
	}
	host := u.Host
	if host == "" {
		host = "127.0.0.1"
	}
	secure := u.Scheme == "clickhouses" || q.Get("secure") == "true"
	if _, _, err := net.SplitHostPort(host); err != nil {
		if secure {
			host = net.JoinHostPort(host, "9440")
		} else {
			host = net.JoinHostPort(host, "9000")
		}
	}
	opts := &clickhouse.Options{
		Addr: []string{host},
		Auth: clickhouse.Auth{Database: db, Username: u.User.Username()},
		Compression: &clickhouse.Compression{
			Method: clickhouse.CompressionLZ4,
		},
		DialTimeout:     10 * time.Second,
		MaxOpenConns:    4,
		ConnMaxLifetime: time.Hour,
	}
	if pw, ok := u.User.Password(); ok {
		opts.Auth.Password = pw
	}
	if opts.Auth.Username == "" {
		opts.Auth.Username = "default"
	}
	if secure {
		opts.TLS = &tls.Config{ServerName: u.Hostname(), MinVersion: tls.VersionTLS12,
			InsecureSkipVerify: q.Get("skip_verify") == "true"}
	}
	if v := q.Get("dial_timeout"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return nil, fmt.Errorf("store: dial_timeout %q: %w", v, err)
		}
		opts.DialTimeout = d
	}
	if v := q.Get("max_open_conns"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("store: max_open_conns %q is not a positive number", v)
		}
		opts.MaxOpenConns = n
	}
	conn, err := clickhouse.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("store: connecting to ClickHouse at %s: %w", host, err)
	}
	// The database may not exist yet (migrate creates it): ping through the
	// default database, as the server rejects a login into a missing one.
	if err := conn.Ping(ctx); err != nil {
		conn.Close()
		if strings.Contains(err.Error(), "UNKNOWN_DATABASE") || strings.Contains(err.Error(), "Code: 81") {
			if readOnly {
				return nil, fmt.Errorf("%w: ClickHouse at %s has no database %s", ErrNoStore, host, db)
			}
			return openMissingDatabase(ctx, opts, db)
		}
		return nil, fmt.Errorf("store: ClickHouse at %s does not answer: %w (check the address, user and password, and TLS)", host, err)
	}
	return &clickhouseStore{conn: conn, db: db}, nil
}

// openMissingDatabase creates the database through "default" and reconnects.
func openMissingDatabase(ctx context.Context, opts *clickhouse.Options, db string) (Store, error) {
	boot := *opts
	boot.Auth.Database = "default"
	conn, err := clickhouse.Open(&boot)
	if err != nil {
		return nil, err
	}
	err = conn.Exec(ctx, "CREATE DATABASE IF NOT EXISTS "+QuoteIdent(db))
	conn.Close()
	if err != nil {
		return nil, fmt.Errorf("store: creating database %s: %w", db, err)
	}
	conn, err = clickhouse.Open(opts)
	if err != nil {
		return nil, err
	}
	if err := conn.Ping(ctx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("store: ClickHouse database %s: %w", db, err)
	}
	return &clickhouseStore{conn: conn, db: db}, nil
}

func (s *clickhouseStore) Backend() string  { return "clickhouse" }
func (s *clickhouseStore) Database() string { return s.db }

func (s *clickhouseStore) withParams(ctx context.Context, query string, params Params, settings clickhouse.Settings) (context.Context, error) {
	sp, err := serverParams(query, params)
	if err != nil {
		return nil, err
	}
	var opts []clickhouse.QueryOption
	if len(sp) > 0 {
		opts = append(opts, clickhouse.WithParameters(clickhouse.Parameters(sp)))
	}
	if len(settings) > 0 {
		opts = append(opts, clickhouse.WithSettings(settings))
	}
	return clickhouse.Context(ctx, opts...), nil
}

func (s *clickhouseStore) Exec(ctx context.Context, query string, params Params) error {
	ctx, err := s.withParams(ctx, query, params, nil)
	if err != nil {
		return err
	}
	return s.conn.Exec(ctx, query)
}

func (s *clickhouseStore) Query(ctx context.Context, query string, params Params) (*Rows, error) {
	ctx, err := s.withParams(ctx, query, params, nil)
	if err != nil {
		return nil, err
	}
	rows, err := s.conn.Query(ctx, query)
	if err != nil {
		return nil, err
	}
	types := rows.ColumnTypes()
	cols := make([]Column, len(types))
	for i, t := range types {
		cols[i] = Column{Name: t.Name(), Type: t.DatabaseTypeName()}
	}
	next := func() ([]any, error) {
		if !rows.Next() {
			if err := rows.Err(); err != nil {
				return nil, err
			}
			return nil, io.EOF
		}
		dest := make([]any, len(types))
		for i, t := range types {
			dest[i] = reflect.New(t.ScanType()).Interface()
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		for i := range dest {
			dest[i] = normalize(reflect.ValueOf(dest[i]).Elem())
		}
		return dest, nil
	}
	return &Rows{columns: cols, next: next, close: rows.Close}, nil
}

// explain runs an EXPLAIN statement and returns its lines.
func (s *clickhouseStore) explain(ctx context.Context, query string) ([]string, error) {
	rows, err := s.conn.Query(ctx, query)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return nil, err
		}
		out = append(out, line)
	}
	return out, rows.Err()
}

// normalize gives server values the Go types the embedded backend returns.
func normalize(v reflect.Value) any {
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return nil
		}
		v = v.Elem()
	}
	switch x := v.Interface().(type) {
	case time.Time:
		return x.UTC()
	case net.IP:
		return x.String()
	case fmt.Stringer:
		if v.Kind() == reflect.Array && v.Len() == 16 { // uuid.UUID
			return x.String()
		}
	}
	return v.Interface()
}

// Insert sends the block as one batch. A retry of the same block carries the
// same insert_deduplication_token, so the server stores it once.
func (s *clickhouseStore) Insert(ctx context.Context, b *NativeBlock) error {
	if b.Rows == 0 {
		return nil
	}
	rows, err := decodeBlock(b)
	if err != nil {
		return fmt.Errorf("%w: %v", errRejected, err)
	}
	ctx = clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{
		"insert_deduplication_token":                         b.Token,
		"deduplicate_blocks_in_dependent_materialized_views": 1,
		"optimize_on_insert":                                 0,
	}))
	batch, err := s.conn.PrepareBatch(ctx, "INSERT INTO "+QuoteIdent(s.db)+"."+QuoteIdent(b.Table.Name)+" "+b.Table.ColumnList())
	if err != nil {
		return fmt.Errorf("insert into %s: %w", b.Table.Name, err)
	}
	for _, r := range rows {
		if err := batch.Append(r...); err != nil {
			batch.Abort()
			return fmt.Errorf("insert into %s: %w", b.Table.Name, err)
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("insert into %s (%d rows): %w", b.Table.Name, b.Rows, err)
	}
	return nil
}

func (s *clickhouseStore) Close() error { return s.conn.Close() }
