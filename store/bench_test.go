package store_test

import (
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/mailtrace/mailtrace/schema"
	"github.com/mailtrace/mailtrace/store"
	"github.com/mailtrace/mailtrace/store/storetest"
)

// benchEvents is a realistic mix of delivery attempts: mostly sent, some
// deferred and bounced, with full receiver replies.
func benchEvents(n int) []*schema.DeliveryEvent {
	base := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	providers := []string{"google", "microsoft", "yahoo", "apple", "other"}
	replies := []string{
		"250 2.0.0 OK  1732521600 a640c23a62f3a-aa5f9d3e2f1si12345066b.123 - gsmtp",
		"250 2.6.0 <20261125080000.4Q1ABC@mx1.court.example> [InternalId=12345678901234, Hostname=AM0PR01MB1234.eurprd01.prod.exchangelabs.com] 45678 bytes in 0.123, 362.1 KB/sec Queued mail for delivery",
		"250 ok dirdel",
		"421 4.7.0 [TSS04] Messages from 203.0.113.10 temporarily deferred due to unexpected volume or user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes",
		"550 5.1.1 The email account that you tried to reach does not exist. Please try double-checking the recipient's email address for typos or unnecessary spaces. For more information, go to https://support.google.com/mail/?p=NoSuchUser a640c23a62f3a-aa5f9d3e2f1si12345066b.123 - gsmtp",
	}
	statuses := []schema.DeliveryStatus{schema.StatusSent, schema.StatusSent, schema.StatusSent, schema.StatusDeferred, schema.StatusBounced}
	out := make([]*schema.DeliveryEvent, n)
	for i := range out {
		k := i % 5
		out[i] = &schema.DeliveryEvent{
			Time: base.Add(time.Duration(i) * time.Millisecond), EventID: uint64(i)*0x9E3779B97F4A7C15 + 1,
			Host: "mx1", QueueID: fmt.Sprintf("4Q%09X", i/2), TraceID: [16]byte{byte(i), byte(i >> 8), byte(i >> 16), 0x70},
			MessageID: fmt.Sprintf("<20261125.%d@court.example>", i/2), Sender: "notices@court.example",
			Recipient: fmt.Sprintf("person%d@%s.example", i, providers[k]), Status: statuses[k],
			DSN: []string{"2.0.0", "2.6.0", "2.0.0", "4.7.0", "5.1.1"}[k], Service: "postfix-legal/smtp",
			RelayHost: "mx." + providers[k] + ".example", RelayIP: fmt.Sprintf("198.51.100.%d", k), RelayPort: 25,
			Response: replies[k], Delay: 1.2, DelayBeforeQueue: 0.01, DelayInQueue: 0.1, DelayConnect: 0.3, DelayTransmit: 0.8,
			TLS: "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)", Pool: "legal", SourceIP: "203.0.113.10",
			Provider: providers[k], Category: []string{"", "", "", "rate-limited", "bad-mailbox"}[k], IsBlock: k == 3,
		}
	}
	return out
}

// BenchmarkWriterDeliveryEvents measures delivery rows per second into the
// embedded store through the batching writer, into the migrated table with
// its materialized views (lookup and per-minute aggregates) firing.
func BenchmarkWriterDeliveryEvents(b *testing.B) {
	st := storetest.Chdb(b)
	ctx := context.Background()
	if _, err := schema.Migrate(ctx, st, schema.Options{Database: st.Database()}, false); err != nil {
		b.Fatal(err)
	}
	const perOp = 200_000
	events := benchEvents(perOp)
	w := store.NewWriter(st, schema.DeliveryEvents, store.WriterOptions{MaxRows: 100_000, MaxBytes: 64 << 20})
	b.ResetTimer()
	start := time.Now()
	for i := 0; b.Loop(); i++ {
		for _, e := range events {
			e.EventID += uint64(perOp) // new rows each round: no deduplication
			if err := w.Write(ctx, e); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Flush(ctx); err != nil {
			b.Fatal(err)
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	w.Close(ctx)
	b.ReportMetric(float64(b.N*perOp)/elapsed.Seconds(), "rows/s")
}

// BenchmarkEncodeDeliveryEvents measures the Go side alone: RowBinary
// encoding of delivery rows.
func BenchmarkEncodeDeliveryEvents(b *testing.B) {
	events := benchEvents(10_000)
	e := store.NewEncoder(schema.DeliveryEvents)
	b.ResetTimer()
	n := 0
	for b.Loop() {
		for _, ev := range events {
			ev.AppendRow(e)
		}
		if _, err := e.Seal(); err != nil {
			b.Fatal(err)
		}
		n += len(events)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkSQLCheck measures what the check of an analyst's query costs,
// beside running it: the engine's parse (EXPLAIN AST) of each text that
// runs, the store's table list, and for a query with SETTINGS the query
// tree too.
func BenchmarkSQLCheck(b *testing.B) {
	st := storetest.Chdb(b)
	ctx := context.Background()
	if _, err := schema.Migrate(ctx, st, schema.Options{Database: st.Database()}, false); err != nil {
		b.Fatal(err)
	}
	queries := []struct{ name, query string }{
		{"small", "SELECT status, count() FROM delivery_events GROUP BY status"},
		{"joins and subqueries", "WITH b AS (SELECT trace_id, category FROM bounces WHERE category != '') " +
			"SELECT d.recipient, d.status, b.category, (SELECT count() FROM accept_records) AS total FROM delivery_events AS d " +
			"LEFT JOIN b USING (trace_id) WHERE d.trace_id IN (SELECT trace_id FROM messages WHERE origin = 'client') " +
			"AND d.provider IN ('google', 'microsoft') ORDER BY d.recipient LIMIT 100"},
		{"with SETTINGS", "SELECT count() FROM delivery_events SETTINGS max_threads = 1"},
	}
	for _, q := range queries {
		b.Run("check json/"+q.name, func(b *testing.B) {
			for b.Loop() {
				if err := store.CheckSQL(ctx, st, q.query, "json"); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("check tsv/"+q.name, func(b *testing.B) {
			for b.Loop() {
				if err := store.CheckSQL(ctx, st, q.query, "tsv"); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("QueryReadOnly tsv/"+q.name, func(b *testing.B) {
			for b.Loop() {
				if err := store.QueryReadOnly(ctx, st, q.query, "tsv", store.DefaultSQLLimits(), io.Discard); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("unchecked query/"+q.name, func(b *testing.B) {
			for b.Loop() {
				rows, err := st.Query(ctx, q.query, nil)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := rows.All(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
