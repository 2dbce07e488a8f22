package schema_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailtrace/mailtrace/schema"
	"github.com/mailtrace/mailtrace/store"
	"github.com/mailtrace/mailtrace/store/storetest"
)

func migrated(t *testing.T, opts schema.Options) store.Store {
	t.Helper()
	st := storetest.Chdb(t)
	opts.Database = st.Database()
	if _, err := schema.Migrate(context.Background(), st, opts, false); err != nil {
		t.Fatal(err)
	}
	return st
}

func query(t *testing.T, st store.Store, q string, params store.Params) [][]any {
	t.Helper()
	res, err := st.Query(context.Background(), q, params)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	all, err := res.All()
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return all
}

func TestMigrateFromEmptyAndAgain(t *testing.T) {
	st := storetest.Chdb(t)
	ctx := context.Background()
	opts := schema.Options{Database: st.Database()}
	applied, err := schema.Migrate(ctx, st, opts, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) == 0 {
		t.Fatal("nothing applied to an empty store")
	}
	again, err := schema.Migrate(ctx, st, opts, false)
	if err != nil || len(again) != 0 {
		t.Fatalf("second run applied %d migrations, err %v; want none", len(again), err)
	}
	status, err := schema.Status(ctx, st, opts)
	if err != nil || len(status) != len(applied) {
		t.Fatalf("status lists %d migrations (err %v), want %d", len(status), err, len(applied))
	}
	tables := query(t, st, "SELECT name FROM system.tables WHERE database = currentDatabase() ORDER BY name", nil)
	var names []string
	for _, r := range tables {
		names = append(names, r[0].(string))
	}
	for _, want := range []string{"accept_records", "bounces", "delivery_events", "delivery_minutely", "id_lookup", "schema_migrations"} {
		if !contains(names, want) {
			t.Errorf("table %s missing after migrate; have %v", want, names)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestMigrateConcurrently(t *testing.T) {
	st := storetest.Chdb(t)
	opts := schema.Options{Database: st.Database()}
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() { _, errs[i] = schema.Migrate(context.Background(), st, opts, false) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("migrate %d: %v", i, err)
		}
	}
	rows := query(t, st, "SELECT count(DISTINCT version) FROM schema_migrations", nil)
	ms, _ := schema.Migrations(opts)
	if rows[0][0].(uint64) != uint64(len(ms)) {
		t.Errorf("%v distinct versions recorded, want %d", rows[0][0], len(ms))
	}
}

// TestRowsMatchTables checks that each Go row type writes exactly its
// table's columns, by name, type and order.
func TestRowsMatchTables(t *testing.T) {
	st := migrated(t, schema.Options{})
	for _, table := range schema.Tables {
		got := query(t, st, "SELECT name, type FROM system.columns WHERE database = currentDatabase() AND table = {t:String} ORDER BY position",
			store.Params{"t": table.Name})
		if len(got) != len(table.Columns) {
			t.Errorf("%s: table has %d columns, the row type writes %d", table.Name, len(got), len(table.Columns))
			continue
		}
		for i, c := range table.Columns {
			if got[i][0] != c.Name || got[i][1] != c.Type {
				t.Errorf("%s column %d: table has %v %v, row type writes %s %s", table.Name, i, got[i][0], got[i][1], c.Name, c.Type)
			}
		}
	}
}

// event makes the i-th of a realistic stream of delivery attempts, with
// hostile bytes in the free-text fields now and then.
func event(i int) *schema.DeliveryEvent {
	base := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	statuses := []schema.DeliveryStatus{schema.StatusSent, schema.StatusSent, schema.StatusSent, schema.StatusDeferred, schema.StatusBounced}
	providers := []string{"google", "microsoft", "yahoo", "apple", "other"}
	var trace [16]byte
	binary.BigEndian.PutUint64(trace[:8], uint64(i/3+1))
	binary.BigEndian.PutUint64(trace[8:], 0x7000_8000_0000_0000|uint64(i))
	e := &schema.DeliveryEvent{
		Time:             base.Add(time.Duration(i) * 1500 * time.Microsecond),
		EventID:          uint64(i)*2654435761 + 1,
		Host:             "mx1",
		QueueID:          fmt.Sprintf("4Q%08X", i/3),
		TraceID:          trace,
		MessageID:        fmt.Sprintf("<%d.notice@court.example>", i/3),
		Sender:           "notices@court.example",
		Recipient:        fmt.Sprintf("person%d@%s.example", i, providers[i%5]),
		Status:           statuses[i%5],
		DSN:              []string{"2.0.0", "2.0.0", "2.0.0", "4.7.0", "5.1.1"}[i%5],
		Service:          "postfix-legal/smtp",
		RelayHost:        "mx." + providers[i%5] + ".example",
		RelayIP:          fmt.Sprintf("192.0.2.%d", i%250),
		RelayPort:        25,
		Response:         fmt.Sprintf("250 2.0.0 OK  1732521600 a%d-20020a05 - gsmtp (queued as %X)", i, i),
		Delay:            float32(i%100) / 10,
		DelayBeforeQueue: 0.01, DelayInQueue: 0.02, DelayConnect: 0.1, DelayTransmit: float32(i%7) / 3,
		ConnUse:    uint32(i % 5),
		TLS:        "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)",
		Pool:       "legal",
		SourceIP:   "203.0.113.10",
		Provider:   providers[i%5],
		Category:   "",
		IsBlock:    i%97 == 0,
		TimeDigits: uint8(i % 2 * 6),
	}
	if i%1000 == 7 {
		e.Response = "550 5.7.1 \"quoted\" (paren) x=y; \x00nul \xff\xfe \\ '" + strings.Repeat("z", i%5000)
	}
	return e
}

func TestWriterRoundTrip100k(t *testing.T) {
	st := migrated(t, schema.Options{})
	ctx := context.Background()
	const n = 100_000
	w := store.NewWriter(st, schema.DeliveryEvents, store.WriterOptions{MaxRows: 20_000})
	for i := range n {
		if err := w.Write(ctx, event(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	res, err := st.Query(ctx, "SELECT * FROM delivery_events ORDER BY time, event_id", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Close()
	i := 0
	for res.Next() {
		// Encode what was read and what was written the same way and compare
		// the bytes: every field, exactly.
		want, got := store.NewEncoder(schema.DeliveryEvents), store.NewEncoder(schema.DeliveryEvents)
		event(i).AppendRow(want)
		gotRow := fromValues(t, res.Values())
		gotRow.AppendRow(got)
		wb, _ := want.Seal()
		gb, _ := got.Seal()
		if string(wb.Data) != string(gb.Data) {
			t.Fatalf("row %d differs:\nwrote %+v\nread  %+v", i, event(i), gotRow)
		}
		i++
	}
	if err := res.Err(); err != nil {
		t.Fatal(err)
	}
	if i != n {
		t.Fatalf("read %d rows, wrote %d", i, n)
	}
}

func fromValues(t *testing.T, v []any) *schema.DeliveryEvent {
	t.Helper()
	var trace [16]byte
	hex := strings.ReplaceAll(v[4].(string), "-", "")
	for k := range trace {
		fmt.Sscanf(hex[2*k:2*k+2], "%02x", &trace[k])
	}
	return &schema.DeliveryEvent{
		Time: v[0].(time.Time), EventID: v[1].(uint64), Host: v[2].(string), QueueID: v[3].(string), TraceID: trace,
		MessageID: v[5].(string), Sender: v[6].(string), Recipient: v[7].(string), OrigRecipient: v[8].(string),
		Status: schema.DeliveryStatus(v[9].(string)), DSN: v[10].(string), Service: v[11].(string), RelayHost: v[12].(string),
		RelayIP: v[13].(string), RelayPort: v[14].(uint16), Response: v[15].(string), Delay: v[16].(float32),
		DelayBeforeQueue: v[17].(float32), DelayInQueue: v[18].(float32), DelayConnect: v[19].(float32),
		DelayTransmit: v[20].(float32), ConnUse: v[21].(uint32), TLS: v[22].(string), Pool: v[23].(string),
		SourceIP: v[24].(string), Provider: v[25].(string), Category: v[26].(string), IsBlock: v[27].(uint8) == 1,
		RelayPath: v[28].(string), QueuedAs: v[29].(string), TimeDigits: v[30].(uint8),
	}
}

// TestRetriedBlockCountedOnce sends the same block three times, as a writer
// retrying after timeouts would, and checks the table and every view fed
// from it.
func TestRetriedBlockCountedOnce(t *testing.T) {
	st := migrated(t, schema.Options{})
	ctx := context.Background()
	const n = 50
	e := store.NewEncoder(schema.DeliveryEvents)
	for i := range n {
		event(i).AppendRow(e)
	}
	b, err := e.Seal()
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := st.Insert(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	checks := []struct {
		q    string
		want uint64
	}{
		{"SELECT count() FROM delivery_events", n},
		{"SELECT sum(attempts) FROM delivery_minutely", n},
		// Each event gives its recipient to the lookup table.
		{"SELECT count() FROM id_lookup", n},
		{"SELECT count() FROM id_lookup WHERE id_kind = 'recipient'", n},
	}
	for _, c := range checks {
		if got := query(t, st, c.q, nil)[0][0].(uint64); got != c.want {
			t.Errorf("%s = %d, want %d", c.q, got, c.want)
		}
	}
	// The lookup finds a message by its recipient, case-insensitively.
	got := query(t, st, "SELECT queue_id FROM id_lookup WHERE id = lower({r:String})", store.Params{"r": "Person4@Other.Example"})
	if len(got) != 1 || got[0][0] != event(4).QueueID {
		t.Errorf("lookup by recipient = %v, want %s", got, event(4).QueueID)
	}
}

func TestAcceptRecordFeedsLookup(t *testing.T) {
	st := migrated(t, schema.Options{})
	ctx := context.Background()
	rec := &schema.AcceptRecord{Time: time.Now().UTC().Truncate(time.Microsecond), TraceID: [16]byte{1, 2, 3, 4, 5, 6, 0x70, 8, 0x80},
		Host: "mx1", QueueID: "4QABCDEF", MessageID: "<a@b>", Sender: "s@court.example",
		Recipients: []string{"One@X.example", "two@y.example"}, Class: "legal", Pool: "legal", Size: 1234}
	e := store.NewEncoder(schema.AcceptRecords)
	rec.AppendRow(e)
	b, err := e.Seal()
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Insert(ctx, b); err != nil {
		t.Fatal(err)
	}
	rows := query(t, st, "SELECT id_kind, id FROM id_lookup WHERE queue_id = '4QABCDEF' ORDER BY id_kind, id", nil)
	want := []string{"message_id <a@b>", "queue_id 4QABCDEF", "recipient one@x.example", "recipient two@y.example",
		"trace_id " + store.FormatUUID(rec.TraceID)}
	if len(rows) != len(want) {
		t.Fatalf("lookup rows %v, want %v", rows, want)
	}
	for i, r := range rows {
		if got := r[0].(string) + " " + r[1].(string); got != want[i] {
			t.Errorf("lookup row %d = %s, want %s", i, got, want[i])
		}
	}
}

// TestClusterRenderingParses checks every statement of the cluster rendering
// with ClickHouse's own parser (chDB cannot run ON CLUSTER statements).
func TestClusterRenderingParses(t *testing.T) {
	st := storetest.Chdb(t)
	stmts, err := schema.Render(schema.Options{Database: "mailtrace", Cluster: "mail_cluster"})
	if err != nil {
		t.Fatal(err)
	}
	var distributed, replicated int
	for _, s := range stmts {
		if strings.Contains(s, "ENGINE = Distributed(") {
			distributed++
		}
		if strings.Contains(s, "ENGINE = Replicated") {
			replicated++
		}
		if !strings.Contains(s, "ON CLUSTER `mail_cluster`") {
			t.Errorf("statement without ON CLUSTER:\n%s", s)
		}
		if err := st.Exec(context.Background(), "EXPLAIN AST "+s, nil); err != nil {
			t.Errorf("does not parse: %v\n%s", err, s)
		}
	}
	if distributed != 18 || replicated != 19 {
		t.Errorf("%d Distributed and %d Replicated tables, want 18 and 19", distributed, replicated)
	}
}

func TestRetention(t *testing.T) {
	st := migrated(t, schema.Options{RetentionDays: 30})
	ctx := context.Background()
	ttl := func() string {
		return query(t, st, "SELECT create_table_query FROM system.tables WHERE database = currentDatabase() AND name = 'delivery_events'", nil)[0][0].(string)
	}
	if !strings.Contains(ttl(), "toIntervalDay(30)") {
		t.Fatalf("created with 30 days: %s", ttl())
	}
	if _, err := schema.Migrate(ctx, st, schema.Options{Database: st.Database(), RetentionDays: 90}, true); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(ttl(), "toIntervalDay(90)") {
		t.Fatalf("after applying 90 days: %s", ttl())
	}
	if _, err := schema.Migrations(schema.Options{Database: "x", RetentionDays: -1}); err == nil {
		t.Error("a negative retention was accepted")
	}
}

func TestRetentionLimits(t *testing.T) {
	if schema.DefaultRetentionDays != 3653 {
		t.Errorf("default retention %d days, want 3653 (10 years)", schema.DefaultRetentionDays)
	}
	tests := []struct {
		name string
		days int
		ok   bool
	}{
		{"default", schema.DefaultRetentionDays, true},
		{"one day", 1, true},
		{"zero", 0, false},
		{"negative", -5, false},
		{"a century overflows the DateTime TTL", 36500, false},
		{"the longest that fits", schema.MaxRetentionDays(time.Now()) - 1, true},
		{"one past it", schema.MaxRetentionDays(time.Now()) + 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := schema.CheckRetention(tt.days)
			if (err == nil) != tt.ok {
				t.Fatalf("CheckRetention(%d) = %v, want ok %v", tt.days, err, tt.ok)
			}
			if _, err := schema.Migrations(schema.Options{Database: "x", RetentionDays: tt.days}); tt.days != 0 && (err == nil) != tt.ok {
				t.Errorf("Migrations with %d days: %v, want ok %v", tt.days, err, tt.ok)
			}
		})
	}
}

// TestStoreRetention reads the retention a store's tables really have,
// which is not the configured one until it is applied.
func TestStoreRetention(t *testing.T) {
	st := migrated(t, schema.Options{RetentionDays: 1826})
	ctx := context.Background()
	if days, err := schema.Retention(ctx, st); err != nil || days != 1826 {
		t.Fatalf("Retention = %d, %v; want 1826", days, err)
	}
	// Migrating with another retention leaves the store's as it was...
	if _, err := schema.Migrate(ctx, st, schema.Options{Database: st.Database(), RetentionDays: 3653}, false); err != nil {
		t.Fatal(err)
	}
	if days, _ := schema.Retention(ctx, st); days != 1826 {
		t.Fatalf("Retention after migrate without --apply-retention = %d, want 1826 kept", days)
	}
	// ...until it is applied.
	if _, err := schema.Migrate(ctx, st, schema.Options{Database: st.Database(), RetentionDays: 3653}, true); err != nil {
		t.Fatal(err)
	}
	if days, _ := schema.Retention(ctx, st); days != 3653 {
		t.Fatalf("Retention after --apply-retention = %d, want 3653", days)
	}
}

// TestTimeDigitsOnAnExistingStore migrates a store that holds rows written
// before the time_digits columns existed: they get the precision their
// times suggest, and new rows keep the one they are written with.
func TestTimeDigitsOnAnExistingStore(t *testing.T) {
	st := storetest.Chdb(t)
	ctx := context.Background()
	opts := schema.Options{Database: st.Database()}
	ms, err := schema.Migrations(opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.Name == "time_digits" {
			break
		}
		for _, s := range m.Statements {
			if err := st.Exec(ctx, s, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	old := []string{
		`INSERT INTO delivery_events (time, event_id, host, queue_id, recipient, status) VALUES
			('2026-11-25 08:00:00.000000', 1, 'mx1', 'Q1', 'a@x', 'sent'),
			('2026-11-25 08:00:00.000002', 2, 'mx1', 'Q1', 'b@x', 'sent'),
			('2026-11-25 08:00:00.412345', 3, 'mx1', 'Q1', 'c@x', 'sent')`,
		`INSERT INTO messages (first_seen, last_seen, host, queue_id) VALUES
			('2026-11-25 08:00:00.000001', '2026-11-25 08:00:01', 'mx1', 'Q1'),
			('2026-11-25 08:00:00.250000', '2026-11-25 08:00:01', 'mx1', 'Q2')`,
		`INSERT INTO bounces (time, event_id, host, queue_id, recipient) VALUES
			('2026-11-25 08:00:07', 1, 'mx1', 'Q1', 'a@x'),
			('2026-11-25 08:00:07.000001', 2, 'mx1', 'Q1', 'b@x')`,
	}
	for _, s := range old {
		if err := st.Exec(ctx, s, nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := schema.Migrate(ctx, st, opts, false); err != nil {
		t.Fatal(err)
	}
	enc := store.NewEncoder(schema.DeliveryEvents)
	(&schema.DeliveryEvent{Time: time.Date(2026, 11, 25, 8, 0, 1, 0, time.UTC), EventID: 4,
		Host: "mx1", QueueID: "Q1", Recipient: "d@x", Status: "sent", TimeDigits: 6}).AppendRow(enc)
	if b, err := enc.Seal(); err != nil {
		t.Fatal(err)
	} else if err := st.Insert(ctx, b); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, query, want string
	}{
		{"old attempts: whole seconds, the collector's per-line microseconds, a real fraction",
			"SELECT groupArray(time_digits) FROM (SELECT time_digits FROM delivery_events WHERE event_id < 4 ORDER BY event_id)", "[0 0 6]"},
		{"a new attempt keeps what it was written with", "SELECT time_digits FROM delivery_events WHERE event_id = 4", "6"},
		{"old messages", "SELECT groupArray(time_digits) FROM (SELECT time_digits FROM messages ORDER BY queue_id)", "[0 6]"},
		{"old reports: a Date header, an intake time", "SELECT groupArray(time_digits) FROM (SELECT time_digits FROM bounces ORDER BY event_id)", "[0 6]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fmt.Sprint(query(t, st, tt.query, nil)[0][0]); got != tt.want {
				t.Errorf("%s = %s, want %s", tt.query, got, tt.want)
			}
		})
	}
}

// TestRFC3339Digits checks that a time is written with exactly its
// source's digits, cut, never rounded up into digits it did not have.
func TestRFC3339Digits(t *testing.T) {
	tied := time.Date(2026, 12, 2, 5, 4, 36, 999_045_000, time.UTC)
	tests := []struct {
		name   string
		digits uint8
		want   string
	}{
		{"whole seconds", schema.DigitsWholeSecond, "2026-12-02T05:04:36Z"},
		{"milliseconds", 3, "2026-12-02T05:04:36.999Z"},
		{"microseconds", schema.DigitsMicrosecond, "2026-12-02T05:04:36.999045Z"},
		{"nanoseconds, trailing zeros kept", 9, "2026-12-02T05:04:36.999045000Z"},
		{"beyond nanoseconds", 12, "2026-12-02T05:04:36.999045000Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := schema.RFC3339Digits(tied.In(time.FixedZone("COT", -5*3600)), tt.digits); got != tt.want {
				t.Errorf("RFC3339Digits(%d) = %s, want %s", tt.digits, got, tt.want)
			}
		})
	}
}
