package store

import (
	"encoding/binary"
	"math"
	"time"
)

// Column is one column of a table: its name and ClickHouse type, exactly as
// in the DDL (for example "LowCardinality(String)").
type Column struct {
	Name string
	Type string
}

// Table describes the columns a Row writes, in the order it writes them.
type Table struct {
	Name    string
	Columns []Column
}

// Row is one row of a Table. AppendRow writes its fields in column order.
type Row interface {
	AppendRow(e *Encoder)
}

// Block is a batch of rows bound for one table, encoded as RowBinary.
type Block struct {
	Table *Table
	Rows  int
	// Data holds the rows in RowBinary, without the names-and-types header.
	Data []byte
	// Token is the insert_deduplication_token: a retried block with the same
	// token is stored once. NewBlock derives it from the content.
	Token string
}

// Encoder appends values in ClickHouse's RowBinary format.
type Encoder struct {
	buf []byte
}

// Bytes returns what was encoded so far.
func (e *Encoder) Bytes() []byte { return e.buf }

// Len is the number of bytes encoded so far.
func (e *Encoder) Len() int { return len(e.buf) }

// Reset empties the encoder, keeping its memory.
func (e *Encoder) Reset() { e.buf = e.buf[:0] }

func (e *Encoder) uvarint(v uint64) { e.buf = binary.AppendUvarint(e.buf, v) }

// String writes a String (or LowCardinality(String)) value: any bytes.
func (e *Encoder) String(s string) {
	e.uvarint(uint64(len(s)))
	e.buf = append(e.buf, s...)
}

// StringArray writes an Array(String) value.
func (e *Encoder) StringArray(ss []string) {
	e.uvarint(uint64(len(ss)))
	for _, s := range ss {
		e.String(s)
	}
}

// UInt8 writes a UInt8 value.
func (e *Encoder) UInt8(v uint8) { e.buf = append(e.buf, v) }

// Bool writes a Bool (or UInt8 0/1) value.
func (e *Encoder) Bool(v bool) {
	if v {
		e.buf = append(e.buf, 1)
	} else {
		e.buf = append(e.buf, 0)
	}
}

// UInt16 writes a UInt16 value.
func (e *Encoder) UInt16(v uint16) { e.buf = binary.LittleEndian.AppendUint16(e.buf, v) }

// UInt32 writes a UInt32 value.
func (e *Encoder) UInt32(v uint32) { e.buf = binary.LittleEndian.AppendUint32(e.buf, v) }

// UInt64 writes a UInt64 value.
func (e *Encoder) UInt64(v uint64) { e.buf = binary.LittleEndian.AppendUint64(e.buf, v) }

// Int64 writes an Int64 value.
func (e *Encoder) Int64(v int64) { e.UInt64(uint64(v)) }

// Float32 writes a Float32 value.
func (e *Encoder) Float32(v float32) { e.UInt32(math.Float32bits(v)) }

// Float64 writes a Float64 value.
func (e *Encoder) Float64(v float64) { e.UInt64(math.Float64bits(v)) }

// DateTime64 writes a DateTime64(precision) value; precision is the
// column's number of decimal digits of the second (3 = ms, 6 = µs).
func (e *Encoder) DateTime64(t time.Time, precision int) {
	e.Int64(toTicks(t, precision))
}

// UUID writes a UUID value given in its usual byte order.
func (e *Encoder) UUID(u [16]byte) {
	// RowBinary stores a UUID as two little-endian 64-bit halves.
	e.UInt64(binary.BigEndian.Uint64(u[:8]))
	e.UInt64(binary.BigEndian.Uint64(u[8:]))
}

func toTicks(t time.Time, precision int) int64 {
	if t.IsZero() {
		return 0
	}
	switch precision {
	case 0:
		return t.Unix()
	case 3:
		return t.UnixMilli()
	case 6:
		return t.UnixMicro()
	case 9:
		return t.UnixNano()
	}
	return t.UnixNano() / int64(math.Pow10(9-precision))
}

func fromTicks(v int64, precision int) time.Time {
	switch precision {
	case 0:
		return time.Unix(v, 0).UTC()
	case 3:
		return time.UnixMilli(v).UTC()
	case 6:
		return time.UnixMicro(v).UTC()
	case 9:
		return time.Unix(0, v).UTC()
	}
	scale := int64(math.Pow10(9 - precision))
	return time.Unix(0, v*scale).UTC()
}

// header is the names-and-types preamble of RowBinaryWithNamesAndTypes, which
// makes ClickHouse check that the row layout matches the table.
func (t *Table) header() []byte {
	var e Encoder
	e.uvarint(uint64(len(t.Columns)))
	for _, c := range t.Columns {
		e.String(c.Name)
	}
	for _, c := range t.Columns {
		e.String(c.Type)
	}
	return e.buf
}

// ColumnList is the table's column names, quoted, for an INSERT statement.
func (t *Table) ColumnList() string {
	b := make([]byte, 0, 32*len(t.Columns))
	b = append(b, '(')
	for i, c := range t.Columns {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = append(b, QuoteIdent(c.Name)...)
	}
	return string(append(b, ')'))
}

// FixedBytes writes a FixedString(len(b)) value.
func (e *Encoder) FixedBytes(b []byte) { e.buf = append(e.buf, b...) }
