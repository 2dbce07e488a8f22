package store

import (
	"strings"
	"testing"
	"time"
)

func TestScanStruct(t *testing.T) {
	type status string
	type row struct {
		Name    string    `ch:"name"`
		Status  status    `ch:"status"`
		When    time.Time `ch:"time"`
		Count   uint64    `ch:"n"`
		Tags    []string  `ch:"tags"`
		ignored string
	}
	at := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	// The columns in another order than the fields, and one the struct
	// does not take.
	cols := []Column{{Name: "tags"}, {Name: "extra"}, {Name: "n"}, {Name: "status"}, {Name: "time"}, {Name: "name"}}
	vals := []any{[]string{"a"}, "skipped", uint32(7), "sent", at, "anna"}
	r := &Rows{columns: cols, cur: vals}
	var got row
	if err := r.ScanStruct(&got); err != nil {
		t.Fatal(err)
	}
	if got.Name != "anna" || got.Status != "sent" || !got.When.Equal(at) || got.Count != 7 || len(got.Tags) != 1 || got.Tags[0] != "a" || got.ignored != "" {
		t.Errorf("scanned %+v", got)
	}
	// Through slots: the columns are named s0, s1, t0; the mapping says
	// which holds which field's column.
	r = &Rows{columns: []Column{{Name: "s0"}, {Name: "t0"}, {Name: "s1"}, {Name: "n"}, {Name: "tags"}, {Name: "s2"}},
		cur: []any{"sent", at, "bob", uint64(3), []string{}, "unused"}}
	var slotted row
	if err := r.ScanStructAs(&slotted, map[string]string{"name": "s1", "status": "s0", "time": "t0"}); err != nil {
		t.Fatal(err)
	}
	if slotted.Name != "bob" || slotted.Status != "sent" || !slotted.When.Equal(at) || slotted.Count != 3 {
		t.Errorf("scanned through slots %+v", slotted)
	}
	if err := r.ScanStructAs(&row{}, map[string]string{"name": "s9"}); err == nil || !strings.Contains(err.Error(), "wants column s9") {
		t.Errorf("a slot the result lacks: %v", err)
	}
	for _, tt := range []struct {
		name string
		cols []Column
		vals []any
		dst  any
		want string
	}{
		{"a field's column missing", []Column{{Name: "name"}, {Name: "status"}}, []any{"anna", "sent"}, &row{}, "wants column time"},
		{"a column of another type", []Column{{Name: "name"}, {Name: "status"}, {Name: "time"}, {Name: "n"}, {Name: "tags"}}, []any{uint8(1), "sent", at, uint64(1), []string{}}, &row{}, "scan column name"},
		{"a named string from another type", []Column{{Name: "name"}, {Name: "status"}, {Name: "time"}, {Name: "n"}, {Name: "tags"}}, []any{"anna", uint8(1), at, uint64(1), []string{}}, &row{}, "scan column status"},
		{"not a pointer to a struct", cols, vals, row{}, "not a pointer to a struct"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := &Rows{columns: tt.cols, cur: tt.vals}
			err := r.ScanStruct(tt.dst)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one saying %q", err, tt.want)
			}
		})
	}
}
