package evidence

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// ErrNotCanonical means that bytes given as JSON cannot be put in the
// canonical form of RFC 8785: they are not I-JSON (invalid UTF-8, a number
// that is not finite, a duplicate member name) or not JSON at all.
var ErrNotCanonical = errors.New("evidence: not canonicalizable JSON")

// Canonicalize returns the RFC 8785 (JSON Canonicalization Scheme) form of
// the JSON value in data: no whitespace, object members sorted by the
// UTF-16 code units of their names, strings with the minimal escapes, and
// numbers as ECMAScript writes them.
func Canonicalize(data []byte) ([]byte, error) {
	if !utf8.Valid(data) {
		return nil, fmt.Errorf("%w: invalid UTF-8", ErrNotCanonical)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	out := make([]byte, 0, len(data))
	out, err := canonValue(dec, out)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: data after the JSON value", ErrNotCanonical)
	}
	return out, nil
}

func canonValue(dec *json.Decoder, out []byte) ([]byte, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotCanonical, err)
	}
	switch v := tok.(type) {
	case json.Delim:
		switch v {
		case '{':
			return canonObject(dec, out)
		case '[':
			out = append(out, '[')
			for i := 0; dec.More(); i++ {
				if i > 0 {
					out = append(out, ',')
				}
				if out, err = canonValue(dec, out); err != nil {
					return nil, err
				}
			}
			if _, err := dec.Token(); err != nil {
				return nil, fmt.Errorf("%w: %v", ErrNotCanonical, err)
			}
			return append(out, ']'), nil
		}
		return nil, fmt.Errorf("%w: unexpected %v", ErrNotCanonical, v)
	case string:
		return appendCanonString(out, v), nil
	case json.Number:
		f, err := strconv.ParseFloat(string(v), 64)
		if err != nil {
			return nil, fmt.Errorf("%w: number %s: %v", ErrNotCanonical, v, err)
		}
		s, err := formatNumber(f)
		if err != nil {
			return nil, err
		}
		return append(out, s...), nil
	case bool:
		return strconv.AppendBool(out, v), nil
	case nil:
		return append(out, "null"...), nil
	}
	return nil, fmt.Errorf("%w: unexpected token %v", ErrNotCanonical, tok)
}

type member struct {
	key   string
	utf16 []uint16
	value []byte
}

func canonObject(dec *json.Decoder, out []byte) ([]byte, error) {
	var members []member
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrNotCanonical, err)
		}
		key, ok := tok.(string)
		if !ok {
			return nil, fmt.Errorf("%w: object member name %v", ErrNotCanonical, tok)
		}
		value, err := canonValue(dec, nil)
		if err != nil {
			return nil, err
		}
		members = append(members, member{key: key, utf16: utf16.Encode([]rune(key)), value: value})
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotCanonical, err)
	}
	slices.SortFunc(members, func(a, b member) int { return slices.Compare(a.utf16, b.utf16) })
	out = append(out, '{')
	for i, m := range members {
		if i > 0 {
			if members[i-1].key == m.key {
				return nil, fmt.Errorf("%w: duplicate member %q", ErrNotCanonical, m.key)
			}
			out = append(out, ',')
		}
		out = appendCanonString(out, m.key)
		out = append(out, ':')
		out = append(out, m.value...)
	}
	return append(out, '}'), nil
}

// appendCanonString writes s as RFC 8785 asks: only '"', '\\' and the
// control characters are escaped, the usual ones by their short forms,
// the others as \u00xx in lower case.
func appendCanonString(out []byte, s string) []byte {
	const hex = "0123456789abcdef"
	out = append(out, '"')
	start := 0 // the run of bytes that need no escape, appended at once
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		out = append(out, s[start:i]...)
		start = i + 1
		switch c {
		case '"':
			out = append(out, '\\', '"')
		case '\\':
			out = append(out, '\\', '\\')
		case '\b':
			out = append(out, '\\', 'b')
		case '\f':
			out = append(out, '\\', 'f')
		case '\n':
			out = append(out, '\\', 'n')
		case '\r':
			out = append(out, '\\', 'r')
		case '\t':
			out = append(out, '\\', 't')
		default:
			out = append(out, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
	}
	out = append(out, s[start:]...)
	return append(out, '"')
}

// formatNumber writes f as ECMAScript's Number.prototype.toString does
// (RFC 8785 section 3.2.2.3): the shortest digits that read back as f,
// plain between 1e-6 and 1e21, exponent form outside.
func formatNumber(f float64) (string, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "", fmt.Errorf("%w: %v is not a JSON number", ErrNotCanonical, f)
	}
	if f == 0 {
		return "0", nil
	}
	var sign string
	if f < 0 {
		sign, f = "-", -f
	}
	e := strconv.FormatFloat(f, 'e', -1, 64) // d.ddde±xx
	mant, exp, _ := strings.Cut(e, "e")
	digits := strings.Replace(mant, ".", "", 1)
	x, _ := strconv.Atoi(exp)
	n := x + 1 // the decimal point goes after n digits
	k := len(digits)
	switch {
	case k <= n && n <= 21:
		return sign + digits + strings.Repeat("0", n-k), nil
	case 0 < n && n <= 21:
		return sign + digits[:n] + "." + digits[n:], nil
	case -6 < n && n <= 0:
		return sign + "0." + strings.Repeat("0", -n) + digits, nil
	}
	s := digits[:1]
	if k > 1 {
		s += "." + digits[1:]
	}
	if n-1 >= 0 {
		return sign + s + "e+" + strconv.Itoa(n-1), nil
	}
	return sign + s + "e" + strconv.Itoa(n-1), nil
}
