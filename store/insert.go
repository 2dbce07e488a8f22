package store

import (
	"context"
	"fmt"
)

// Rows reach the store by one path: a caller that writes a batch once (an
// intake's report, the detector's incidents, the milter's accept records,
// a checkpoint) encodes it and calls InsertEncoded or InsertRows; a stream
// of rows goes through a Writer, which batches them and retries. Both seal
// the rows into a NativeBlock and hand it to insertBlock, the one call of
// Store.Insert outside the backends.
//
// The two batching paths keep different retry rules on purpose, because
// their inputs differ:
//
//   - Writer (the collector's delivery events, messages, unknown lines):
//     its input can wait, so a failed block is retried, the same block with
//     the same token, with backoff from RetryMin to RetryMax, until stored
//     or the writer is closed; Write blocks meanwhile (back-pressure), and a
//     block the store rejects for its content may be set aside on disk.
//   - milter.Recorder (accept records): the milter never holds up mail, so
//     a batch gets one InsertRows attempt bounded by a timeout, and what
//     the store does not take goes to the on-disk spool, replayed with
//     backoff while the store stays down.

// InsertRows encodes rows of table into one block and stores it, once: a
// failure is returned, not retried (a Writer retries). No rows stores
// nothing.
func InsertRows[R Row](ctx context.Context, st Store, table *Table, rows ...R) error {
	enc := NewEncoder(table)
	for _, r := range rows {
		r.AppendRow(enc)
	}
	return InsertEncoded(ctx, st, enc)
}

// InsertEncoded seals what enc holds into one block and stores it, as
// InsertRows does; enc is empty afterwards, whatever the outcome.
func InsertEncoded(ctx context.Context, st Store, enc *Encoder) error {
	if enc.Rows() == 0 && enc.col == 0 {
		return nil
	}
	b, err := enc.Seal()
	if err != nil {
		return err
	}
	return insertBlock(ctx, st, b)
}

// insertBlock stores one sealed block. Storing the same block again
// (after a failure whose outcome is unknown) stores it once: the block's
// Token deduplicates it.
func insertBlock(ctx context.Context, st Store, b *NativeBlock) error {
	if err := st.Insert(ctx, b); err != nil {
		return fmt.Errorf("storing %d rows in %s: %w", b.Rows, b.Table.Name, err)
	}
	return nil
}
