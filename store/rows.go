package store

import (
	"fmt"
	"io"
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
