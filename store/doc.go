// Package store is mailtrace's storage layer: every accept record, delivery
// attempt and bounce ends up in ClickHouse tables through it, and every trace,
// search and analyst query reads them back through it.
//
// Two backends sit behind one Store interface:
//
//   - chdb:///path — the ClickHouse engine embedded in this process (libchdb,
//     loaded only when this backend is opened, so the binary runs without it);
//   - clickhouse://user:pass@host:9000/db (and clickhouses:// for TLS) — a
//     ClickHouse server over the native protocol with LZ4 compression.
//
// Rows travel as blocks of ClickHouse's columnar Native format (see
// NativeBlock), which is binary-safe: quotes, backslashes, NUL bytes and
// invalid UTF-8 round-trip exactly. Each insert carries an
// insert_deduplication_token derived from its content, so a batch that is
// retried after a timeout is stored once. Every write takes one path (see
// InsertRows and Writer).
//
// Queries never have user input spliced into them unescaped: placeholders
// written as {name:Type} (ClickHouse's own query-parameter syntax) are bound
// by the server where it supports them, and by Quote where it does not.
package store
