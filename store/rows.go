package store

import (
	"fmt"
	"io"
	"reflect"
	"time"
)

// Rows is the result of a query, read one row at a time:
//
//	for rows.Next() { v := rows.Values() ... }
//	if err := rows.Err(); err != nil { ... }
type Rows struct {
	columns []Column
	next    func() ([]any, error) // io.EOF at the end
	close   func() error
	cur     []any
	err     error
	plans   map[planKey][]fieldColumn // see ScanStructAs
}

// Columns lists the result's column names and ClickHouse types.
func (r *Rows) Columns() []Column { return r.columns }

// Next advances to the next row; it returns false at the end or on error,
// and then releases the result as Close does.
func (r *Rows) Next() bool {
	if r.err != nil || r.next == nil {
		return false
	}
	r.cur, r.err = r.next()
	if r.err == io.EOF {
		r.err = nil
	}
	if r.err != nil || r.cur == nil {
		r.cur = nil
		r.Close()
		return false
	}
	return true
}

// Values is the current row, one value per column (see decoder.value for
// the Go types).
func (r *Rows) Values() []any { return r.cur }

// Err is the error that stopped Next, if any.
func (r *Rows) Err() error { return r.err }

// Close releases the result.
func (r *Rows) Close() error {
	r.next = nil
	if r.close != nil {
		c := r.close
		r.close = nil
		return c()
	}
	return nil
}

// All reads every remaining row; for small results.
func (r *Rows) All() ([][]any, error) {
	defer r.Close()
	var out [][]any
	for r.Next() {
		out = append(out, r.Values())
	}
	return out, r.Err()
}

// Scan copies the current row into dst, one pointer per column: *string,
// *time.Time, *float64 (any float), *uint64 and *int64 (any integer),
// *uint8 (a UInt8), *bool (a UInt8 or Bool), *[]string, or *any; a
// pointer to a named string type takes a string. UUIDs arrive as text.
func (r *Rows) Scan(dst ...any) error {
	if len(dst) != len(r.cur) {
		return fmt.Errorf("scan: %d destinations for %d columns", len(dst), len(r.cur))
	}
	for i, v := range r.cur {
		if err := scanValue(dst[i], v); err != nil {
			return fmt.Errorf("scan column %s: %w", r.columns[i].Name, err)
		}
	}
	return nil
}

func scanValue(dst, v any) error {
	switch d := dst.(type) {
	case *any:
		*d = v
		return nil
	case *string:
		if s, ok := v.(string); ok {
			*d = s
			return nil
		}
	case *time.Time:
		if t, ok := v.(time.Time); ok {
			*d = t
			return nil
		}
	case *[]string:
		if s, ok := v.([]string); ok {
			*d = s
			return nil
		}
	case *float64:
		switch x := v.(type) {
		case float32:
			*d = float64(x)
			return nil
		case float64:
			*d = x
			return nil
		}
	case *uint64:
		if n, ok := integer(v); ok {
			*d = n
			return nil
		}
	case *int64:
		if n, ok := integer(v); ok {
			*d = int64(n)
			return nil
		}
	case *uint8:
		if n, ok := v.(uint8); ok {
			*d = n
			return nil
		}
	case *bool:
		if n, ok := integer(v); ok {
			*d = n != 0
			return nil
		}
	}
	// A named string type (a status, a kind) takes a string.
	if s, ok := v.(string); ok {
		if d := reflect.ValueOf(dst); d.Kind() == reflect.Pointer && d.Elem().Kind() == reflect.String {
			d.Elem().SetString(s)
			return nil
		}
	}
	return fmt.Errorf("cannot store %T in %T", v, dst)
}

// integer widens any integer or bool value (negative ones wrap).
func integer(v any) (uint64, bool) {
	switch x := v.(type) {
	case uint8:
		return uint64(x), true
	case uint16:
		return uint64(x), true
	case uint32:
		return uint64(x), true
	case uint64:
		return x, true
	case int8:
		return uint64(x), true
	case int16:
		return uint64(x), true
	case int32:
		return uint64(x), true
	case int64:
		return uint64(x), true
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

// readHeader reads the names-and-types header of a RowBinaryWithNamesAndTypes block.
func readHeader(d *decoder) ([]Column, []*chType, error) {
	n, err := d.uvarint()
	if err != nil || n > uint64(len(d.b)) {
		return nil, nil, fmt.Errorf("reading result header: %w", errShort)
	}
	cols := make([]Column, n)
	for i := range cols {
		if cols[i].Name, err = d.str(); err != nil {
			return nil, nil, fmt.Errorf("reading result header: %w", err)
		}
	}
	types := make([]*chType, n)
	for i := range cols {
		if cols[i].Type, err = d.str(); err != nil {
			return nil, nil, fmt.Errorf("reading result header: %w", err)
		}
		if types[i], err = parseType(cols[i].Type); err != nil {
			return nil, nil, fmt.Errorf("reading result header: %w", err)
		}
	}
	return cols, types, nil
}

// ScanStruct copies the current row into the struct dst points to, by
// column name: each field tagged `ch:"name"` takes the column of that name
// (of the types Scan takes). Columns without a field are left; a tagged
// field without its column is an error, so that a renamed column cannot
// leave a field silently empty. A field of a named string type takes a
// string column.
func (r *Rows) ScanStruct(dst any) error { return r.ScanStructAs(dst, nil) }

// ScanStructAs is ScanStruct for a result whose columns are named
// otherwise than the fields' tags: as names the column that holds each
// tag's value (a tag it does not name is its own column). A query of
// several tables' rows in one (a UNION of rows of different shapes in
// shared columns) is read so, each table's rows into their own type.
// The fields' columns are looked up once per type and mapping for the
// whole result.
func (r *Rows) ScanStructAs(dst any, as map[string]string) error {
	v := reflect.ValueOf(dst)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("scan: %T is not a pointer to a struct", dst)
	}
	v = v.Elem()
	plan, err := r.plan(v.Type(), as)
	if err != nil {
		return err
	}
	for _, f := range plan {
		field := v.Field(f.field)
		if f.named {
			var s string
			if err := scanValue(&s, r.cur[f.column]); err != nil {
				return fmt.Errorf("scan column %s: %w", r.columns[f.column].Name, err)
			}
			field.SetString(s)
			continue
		}
		if err := scanValue(field.Addr().Interface(), r.cur[f.column]); err != nil {
			return fmt.Errorf("scan column %s: %w", r.columns[f.column].Name, err)
		}
	}
	return nil
}

// fieldColumn pairs a struct field with the column it is scanned from;
// named is a field of a named string type (a status, a kind).
type fieldColumn struct {
	field, column int
	named         bool
}

// plan maps a struct type's tagged fields to the result's columns, once
// per type and mapping for the whole result.
func (r *Rows) plan(t reflect.Type, as map[string]string) ([]fieldColumn, error) {
	k := planKey{t, reflect.ValueOf(as).Pointer()}
	if p, ok := r.plans[k]; ok {
		return p, nil
	}
	byName := make(map[string]int, len(r.columns))
	for i, c := range r.columns {
		byName[c.Name] = i
	}
	var p []fieldColumn
	for i := range t.NumField() {
		name := t.Field(i).Tag.Get("ch")
		if name == "" {
			continue
		}
		if a := as[name]; a != "" {
			name = a
		}
		col, ok := byName[name]
		if !ok {
			return nil, fmt.Errorf("scan: %s.%s wants column %s, which the result does not have", t.Name(), t.Field(i).Name, name)
		}
		ft := t.Field(i).Type
		p = append(p, fieldColumn{i, col, ft.Kind() == reflect.String && ft != reflect.TypeFor[string]()})
	}
	if r.plans == nil {
		r.plans = map[planKey][]fieldColumn{}
	}
	r.plans[k] = p
	return p, nil
}

// planKey names a plan: a struct type read through one mapping (the map
// itself, not its contents: a mapping is not changed while a result is
// read).
type planKey struct {
	t  reflect.Type
	as uintptr
}
