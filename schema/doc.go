// Package schema holds mailtrace's ClickHouse tables: the versioned
// migrations that create them (SQL templates embedded in the binary), the
// Go row types that fill them, and the migration runner behind
// `mailtrace migrate`.
//
// The same migrations render for one ClickHouse (embedded chDB or a server:
// MergeTree engines) and for a cluster (ReplicatedMergeTree engines, ON
// CLUSTER, and a Distributed table over each node-local one, sharded by
// message so that a message's accept record, attempts and bounces live on
// one shard). Every table keeps data for a retention period (10 years by
// default, for compliance) and deduplicates retried inserts.
package schema
