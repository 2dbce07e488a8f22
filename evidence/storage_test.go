package evidence_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/mailtrace/mailtrace/evidence"
	"github.com/mailtrace/mailtrace/schema"
	"github.com/mailtrace/mailtrace/store"
	"github.com/mailtrace/mailtrace/store/storetest"
)

// TestStoreStorage writes two hosts' logs through the store's writers,
// reopens them, replays facts, and verifies both from the tables.
func TestStoreStorage(t *testing.T) {
	ctx := context.Background()
	storetest.Each(t, func(t *testing.T, st store.Store) {
		if _, err := schema.Migrate(ctx, st, schema.Options{Database: st.Database()}, false); err != nil {
			t.Fatal(err)
		}
		private, _, _ := evidence.GenerateKey("mailtrace.test")
		key, _ := evidence.ParseKey(private)
		origins := []string{"mailtrace.test/mx1", "mailtrace.test/mx2"}
		fact := func(host string, i int) evidence.Fact {
			return evidence.Fact{ID: fmt.Sprintf("line:%s:%d", host, i), Event: evidence.EventRelayToNonERDS,
				Time: time.Date(2026, 11, 30, 0, 0, i, 0, time.UTC), Message: fmt.Sprintf("%s-m%d", host, i/2), Final: i%2 == 1,
				Facts: map[string]any{"line": fmt.Sprintf("%s postfix/smtp[1]: status=sent (250 ok %d) \x01 ü", host, i)}}
		}
		open := func(s evidence.Storage, origin string) *evidence.Ledger {
			l, err := evidence.Open(ctx, evidence.Options{Origin: origin, Host: origin[len(origin)-3:], Storage: s, Key: key})
			if err != nil {
				t.Fatal(err)
			}
			return l
		}
		s := evidence.NewStoreStorage(st, store.WriterOptions{MaxRows: 7})
		for _, origin := range origins {
			l := open(s, origin)
			for i := range 20 {
				if _, err := l.Append(ctx, fact(origin, i)); err != nil {
					t.Fatal(err)
				}
			}
			if _, _, err := l.Checkpoint(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Close(ctx); err != nil {
			t.Fatal(err)
		}

		// A second process: the same facts again and five more.
		s = evidence.NewStoreStorage(st, store.WriterOptions{})
		defer s.Close(ctx)
		got, err := s.Origins(ctx)
		if err != nil || len(got) != 2 {
			t.Fatalf("origins %v, %v", got, err)
		}
		for _, origin := range origins {
			l := open(s, origin)
			if l.Size() != 31 {
				t.Fatalf("%s reopened at %d records, want 31", origin, l.Size())
			}
			for i := range 25 {
				if _, err := l.Append(ctx, fact(origin, i)); err != nil {
					t.Fatal(err)
				}
			}
			if l.Size() != 31+7 {
				t.Errorf("%s: %d records after the replay, want 38", origin, l.Size())
			}
			if _, _, err := l.Checkpoint(ctx); err != nil {
				t.Fatal(err)
			}
			vs, _, _ := evidence.Verifiers(key.Public)
			res, err := evidence.Verify(ctx, s, evidence.VerifyOptions{Origin: origin, Verifiers: vs})
			if err != nil {
				t.Fatal(err)
			}
			if res.Records != 38 || res.Checkpoints != 2 || res.Messages != 13 {
				t.Errorf("%s verified %+v", origin, res)
			}
		}
		// A row changed straight in the table is caught.
		if err := st.Exec(ctx, "ALTER TABLE evidence_records UPDATE record = replaceOne(record, '250 ok 3', '550 no 3') WHERE origin = 'mailtrace.test/mx2' SETTINGS mutations_sync = 1", nil); err != nil {
			t.Fatal(err)
		}
		vs, _, _ := evidence.Verifiers(key.Public)
		res, err := evidence.Verify(ctx, s, evidence.VerifyOptions{Origin: origins[1], Verifiers: vs})
		if err == nil || res.First.Name != "records" {
			t.Errorf("a record changed in the table: %v, first failure %v", err, res.First)
		}
	})
}
