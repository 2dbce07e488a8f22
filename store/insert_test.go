package store_test

import (
	"context"
	"strings"
	"testing"

	"github.com/mailtrace/mailtrace/store"
	"github.com/mailtrace/mailtrace/store/storetest"
)

// halfRow writes one of kv's three columns.
type halfRow struct{}

func (halfRow) AppendRow(e *store.Encoder) { e.UInt32(1) }

func TestInsertRows(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		createKV(t, st)
		tests := []struct {
			name    string
			insert  func() error
			wantErr string // empty: no error
			want    uint64 // kv rows afterwards
		}{
			{name: "rows are stored", want: 2, insert: func() error {
				return store.InsertRows(ctx, st, kvTable, &kv{id: 1, s: "a"}, &kv{id: 2, s: "b"})
			}},
			{name: "the same rows again are stored once", want: 2, insert: func() error {
				return store.InsertRows(ctx, st, kvTable, &kv{id: 1, s: "a"}, &kv{id: 2, s: "b"})
			}},
			{name: "no rows store nothing", want: 2, insert: func() error {
				return store.InsertRows[*kv](ctx, st, kvTable)
			}},
			{name: "a row missing columns is refused", want: 2, wantErr: "a row wrote 1 of 3 columns", insert: func() error {
				return store.InsertRows(ctx, st, kvTable, halfRow{})
			}},
			{name: "an encoder's rows are stored and it is emptied", want: 3, insert: func() error {
				enc := store.NewEncoder(kvTable)
				(&kv{id: 3, s: "c"}).AppendRow(enc)
				err := store.InsertEncoded(ctx, st, enc)
				if enc.Rows() != 0 {
					t.Errorf("encoder holds %d rows after InsertEncoded", enc.Rows())
				}
				return err
			}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				err := tt.insert()
				switch {
				case tt.wantErr == "" && err != nil:
					t.Fatal(err)
				case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
					t.Fatalf("error %v, want one saying %q", err, tt.wantErr)
				}
				if n := storetest.Count(t, st, "SELECT count() FROM kv"); n != tt.want {
					t.Errorf("%d rows in kv, want %d", n, tt.want)
				}
			})
		}
	})
}

// An insert the store refuses names the table and the rows, and carries
// the store's error.
func TestInsertRowsError(t *testing.T) {
	st := &outage{Store: storetest.Chdb(t)}
	st.down.Store(true)
	err := store.InsertRows(context.Background(), st, kvTable, &kv{id: 1})
	if err == nil || !strings.Contains(err.Error(), "storing 1 rows in kv: connection refused") {
		t.Errorf("error %v: want the store's, naming 1 rows in kv", err)
	}
}
