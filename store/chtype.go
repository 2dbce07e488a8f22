package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// chType is a parsed ClickHouse data type, enough to decode RowBinary.
type chType struct {
	name   string    // base name: String, UInt64, Array, Nullable, ...
	args   []*chType // element types of Array, Nullable, LowCardinality, Tuple, Map
	size   int       // FixedString length, DateTime64 precision
	enum   map[int16]string
	source string
}

// parseType parses a type as ClickHouse prints it, for example
// "Array(LowCardinality(Nullable(String)))" or "DateTime64(6, 'UTC')".
func parseType(s string) (*chType, error) {
	p := typeParser{s: s}
	t, err := p.parse()
	if err != nil {
		return nil, fmt.Errorf("type %q: %w", s, err)
	}
	p.space()
	if p.i != len(p.s) {
		return nil, fmt.Errorf("type %q: unexpected %q", s, p.s[p.i:])
	}
	return t, nil
}

type typeParser struct {
	s string
	i int
}

func (p *typeParser) space() {
	for p.i < len(p.s) && p.s[p.i] == ' ' {
		p.i++
	}
}

func (p *typeParser) ident() string {
	p.space()
	start := p.i
	for p.i < len(p.s) {
		c := p.s[p.i]
		if c == '(' || c == ')' || c == ',' || c == ' ' {
			break
		}
		p.i++
	}
	return p.s[start:p.i]
}

// rawArgs returns the text of each top-level argument between parentheses.
func (p *typeParser) rawArgs() ([]string, error) {
	if p.i >= len(p.s) || p.s[p.i] != '(' {
		return nil, nil
	}
	p.i++
	var args []string
	depth, start, quoted := 0, p.i, false
	for ; p.i < len(p.s); p.i++ {
		c := p.s[p.i]
		switch {
		case quoted:
			if c == '\\' {
				p.i++
			} else if c == '\'' {
				quoted = false
			}
		case c == '\'':
			quoted = true
		case c == '(':
			depth++
		case c == ')' && depth > 0:
			depth--
		case c == ')':
			args = append(args, strings.TrimSpace(p.s[start:p.i]))
			p.i++
			return args, nil
		case c == ',' && depth == 0:
			args = append(args, strings.TrimSpace(p.s[start:p.i]))
			start = p.i + 1
		}
	}
	return nil, errors.New("unbalanced parentheses")
}

func (p *typeParser) parse() (*chType, error) {
	start := p.i
	name := p.ident()
	if name == "" {
		return nil, errors.New("missing type name")
	}
	args, err := p.rawArgs()
	if err != nil {
		return nil, err
	}
	t := &chType{name: name, source: p.s[start:p.i]}
	switch name {
	case "SimpleAggregateFunction":
		// Stored and sent as its value type: SimpleAggregateFunction(min, T) is T.
		if len(args) != 2 {
			return nil, errors.New("SimpleAggregateFunction takes a function and a type")
		}
		return parseType(args[1])
	case "Array", "Nullable", "LowCardinality", "Map", "Tuple":
		for _, a := range args {
			// Named tuple elements look like "name Type".
			if name == "Tuple" {
				if sp := strings.IndexByte(a, ' '); sp > 0 && !strings.ContainsAny(a[:sp], "(") {
					a = strings.TrimSpace(a[sp+1:])
				}
			}
			sub, err := parseType(a)
			if err != nil {
				return nil, err
			}
			t.args = append(t.args, sub)
		}
		if (name == "Array" || name == "Nullable" || name == "LowCardinality") && len(t.args) != 1 {
			return nil, fmt.Errorf("%s takes one type", name)
		}
		if name == "Map" && len(t.args) != 2 {
			return nil, errors.New("a Map takes two types")
		}
	case "FixedString":
		if len(args) != 1 {
			return nil, errors.New("FixedString takes a length")
		}
		t.size, err = strconv.Atoi(args[0])
		if err != nil || t.size < 0 {
			return nil, fmt.Errorf("bad FixedString length %q", args[0])
		}
	case "DateTime64":
		if len(args) < 1 {
			return nil, errors.New("DateTime64 takes a precision")
		}
		t.size, err = strconv.Atoi(args[0])
		if err != nil || t.size < 0 || t.size > 9 {
			return nil, fmt.Errorf("bad DateTime64 precision %q", args[0])
		}
	case "Enum8", "Enum16":
		t.enum = make(map[int16]string, len(args))
		for _, a := range args {
			eq := strings.LastIndexByte(a, '=')
			if eq < 0 {
				return nil, fmt.Errorf("bad enum value %q", a)
			}
			n, err := strconv.ParseInt(strings.TrimSpace(a[eq+1:]), 10, 16)
			if err != nil {
				return nil, fmt.Errorf("bad enum value %q", a)
			}
			label, err := unquote(strings.TrimSpace(a[:eq]))
			if err != nil {
				return nil, err
			}
			t.enum[int16(n)] = label
		}
	}
	return t, nil
}

// unquote reads a single-quoted ClickHouse string literal.
func unquote(s string) (string, error) {
	if len(s) < 2 || s[0] != '\'' || s[len(s)-1] != '\'' {
		return "", fmt.Errorf("not a quoted string: %q", s)
	}
	var b strings.Builder
	for i := 1; i < len(s)-1; i++ {
		c := s[i]
		if c == '\\' && i+1 < len(s)-1 {
			i++
			c = s[i]
		}
		b.WriteByte(c)
	}
	return b.String(), nil
}

// decoder reads RowBinary values.
type decoder struct {
	b []byte
	i int
}

var errShort = errors.New("RowBinary data ends early")

func (d *decoder) need(n int) ([]byte, error) {
	if n < 0 || len(d.b)-d.i < n {
		return nil, errShort
	}
	s := d.b[d.i : d.i+n]
	d.i += n
	return s, nil
}

func (d *decoder) uvarint() (uint64, error) {
	v, n := binary.Uvarint(d.b[d.i:])
	if n <= 0 {
		return 0, errShort
	}
	d.i += n
	return v, nil
}

func (d *decoder) str() (string, error) {
	n, err := d.uvarint()
	if err != nil {
		return "", err
	}
	if n > uint64(len(d.b)) {
		return "", errShort
	}
	s, err := d.need(int(n))
	return string(s), err
}

// value decodes one value of type t. Strings come back as string, integers
// as their Go width, times as time.Time in UTC, UUIDs and IPs as their
// text form, Nullable as nil or the value, Array(String) as []string and
// other arrays as []any.
func (d *decoder) value(t *chType) (any, error) {
	switch t.name {
	case "String":
		return d.str()
	case "FixedString":
		b, err := d.need(t.size)
		return string(b), err
	case "LowCardinality":
		return d.value(t.args[0])
	case "Nullable":
		b, err := d.need(1)
		if err != nil || b[0] != 0 {
			return nil, err
		}
		return d.value(t.args[0])
	case "Nothing":
		return nil, nil
	case "Bool", "UInt8", "Int8", "Enum8":
		b, err := d.need(1)
		if err != nil {
			return nil, err
		}
		return from8(t, b[0]), nil
	case "UInt16", "Int16", "Date", "Enum16":
		b, err := d.need(2)
		if err != nil {
			return nil, err
		}
		return from16(t, binary.LittleEndian.Uint16(b)), nil
	case "UInt32", "Int32", "Float32", "Date32", "DateTime", "IPv4":
		b, err := d.need(4)
		if err != nil {
			return nil, err
		}
		return from32(t, binary.LittleEndian.Uint32(b)), nil
	case "UInt64", "Int64", "Float64", "DateTime64":
		b, err := d.need(8)
		if err != nil {
			return nil, err
		}
		return from64(t, binary.LittleEndian.Uint64(b)), nil
	case "UUID", "IPv6":
		b, err := d.need(16)
		if err != nil {
			return nil, err
		}
		return from128(t, b), nil
	case "Array":
		return d.array(t)
	case "Tuple":
		out := make([]any, len(t.args))
		for i, a := range t.args {
			v, err := d.value(a)
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	case "Map":
		return d.mapValue(t)
	}
	return nil, fmt.Errorf("reading type %s is not supported; cast it in the query, e.g. toString(x)", t.source)
}

// from8 is the value of a one-byte type.
func from8(t *chType, v uint8) any {
	switch t.name {
	case "Bool":
		return v != 0
	case "Int8":
		return int8(v)
	case "Enum8":
		return t.enum[int16(int8(v))]
	}
	return v
}

// from16 is the value of a two-byte type.
func from16(t *chType, v uint16) any {
	switch t.name {
	case "Int16":
		return int16(v)
	case "Date":
		return time.Unix(int64(v)*86400, 0).UTC()
	case "Enum16":
		return t.enum[int16(v)]
	}
	return v
}

// from32 is the value of a four-byte type.
func from32(t *chType, v uint32) any {
	switch t.name {
	case "Int32":
		return int32(v)
	case "Float32":
		return math.Float32frombits(v)
	case "Date32":
		return time.Unix(int64(int32(v))*86400, 0).UTC()
	case "DateTime":
		return time.Unix(int64(v), 0).UTC()
	case "IPv4":
		return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}).String()
	}
	return v
}

// from64 is the value of an eight-byte type.
func from64(t *chType, v uint64) any {
	switch t.name {
	case "Int64":
		return int64(v)
	case "Float64":
		return math.Float64frombits(v)
	case "DateTime64":
		return fromTicks(int64(v), t.size)
	}
	return v
}

// from128 is the value of a sixteen-byte type: a UUID (two little-endian
// halves) or an IPv6 address.
func from128(t *chType, b []byte) any {
	if t.name == "IPv6" {
		return netip.AddrFrom16([16]byte(b)).Unmap().String()
	}
	var u [16]byte
	binary.BigEndian.PutUint64(u[:8], binary.LittleEndian.Uint64(b[:8]))
	binary.BigEndian.PutUint64(u[8:], binary.LittleEndian.Uint64(b[8:]))
	return FormatUUID(u)
}

// array reads an Array: its length, then its elements ([]string for
// strings, []any otherwise).
func (d *decoder) array(t *chType) (any, error) {
	n, err := d.uvarint()
	if err != nil {
		return nil, err
	}
	if n > uint64(len(d.b)-d.i) {
		return nil, errShort
	}
	elem := t.args[0]
	for elem.name == "LowCardinality" {
		elem = elem.args[0]
	}
	if elem.name == "String" {
		out := make([]string, n)
		for i := range out {
			if out[i], err = d.str(); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	out := make([]any, n)
	for i := range out {
		if out[i], err = d.value(t.args[0]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// mapValue reads a Map: its length, then key and value pairs, keyed by
// the key printed.
func (d *decoder) mapValue(t *chType) (any, error) {
	n, err := d.uvarint()
	if err != nil {
		return nil, err
	}
	if n > uint64(len(d.b)-d.i) {
		return nil, errShort
	}
	out := make(map[string]any, n)
	for range n {
		k, err := d.value(t.args[0])
		if err != nil {
			return nil, err
		}
		v, err := d.value(t.args[1])
		if err != nil {
			return nil, err
		}
		out[fmt.Sprint(k)] = v
	}
	return out, nil
}

// FormatUUID prints a UUID in its canonical 8-4-4-4-12 form.
func FormatUUID(u [16]byte) string {
	const hex = "0123456789abcdef"
	var b [36]byte
	j := 0
	for i, c := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b[j] = '-'
			j++
		}
		b[j], b[j+1] = hex[c>>4], hex[c&0xf]
		j += 2
	}
	return string(b[:])
}
