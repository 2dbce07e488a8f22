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

// CheckCanonical tells whether data is already in RFC 8785 canonical
// form, without building it again: what Canonicalize would return equal
// to data (FuzzCheckCanonical holds the two together). It is how verify
// checks a million records quickly.
func CheckCanonical(data []byte) error {
	if !utf8.Valid(data) {
		return fmt.Errorf("%w: invalid UTF-8", ErrNotCanonical)
	}
	s := canonScanner{b: data}
	return s.run()
}

func (s *canonScanner) run() error {
	if err := s.value(); err != nil {
		return err
	}
	if s.i != len(s.b) {
		return s.fail("data after the value")
	}
	return nil
}

type canonScanner struct {
	b     []byte
	i     int
	depth int
	// top, when set, receives each member of the top-level object: its
	// name and the bytes of its value.
	top func(name string, value []byte)
}

func (s *canonScanner) fail(what string) error {
	return fmt.Errorf("%w: %s at byte %d", ErrNotCanonical, what, s.i)
}

func (s *canonScanner) value() error {
	if s.i >= len(s.b) {
		return s.fail("end of data")
	}
	switch c := s.b[s.i]; {
	case c == '{':
		return s.object()
	case c == '[':
		s.i++
		if s.i < len(s.b) && s.b[s.i] == ']' {
			s.i++
			return nil
		}
		for {
			if err := s.value(); err != nil {
				return err
			}
			if s.i < len(s.b) && s.b[s.i] == ',' {
				s.i++
				continue
			}
			if s.i < len(s.b) && s.b[s.i] == ']' {
				s.i++
				return nil
			}
			return s.fail("no , or ] in an array")
		}
	case c == '"':
		_, err := s.str(false)
		return err
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	case c == '-' || c >= '0' && c <= '9':
		return s.number()
	}
	return s.fail(fmt.Sprintf("unexpected %q", s.b[s.i]))
}

func (s *canonScanner) literal(lit string) error {
	if !bytes.HasPrefix(s.b[s.i:], []byte(lit)) {
		return s.fail("not a literal")
	}
	s.i += len(lit)
	return nil
}

func (s *canonScanner) object() error {
	s.i++
	s.depth++
	defer func() { s.depth-- }()
	if s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
		return nil
	}
	var prev string
	for first := true; ; first = false {
		if s.i >= len(s.b) || s.b[s.i] != '"' {
			return s.fail("no member name")
		}
		key, err := s.str(true)
		if err != nil {
			return err
		}
		if !first && compareUTF16(prev, key) >= 0 {
			return s.fail(fmt.Sprintf("member %q not after %q in order", key, prev))
		}
		prev = key
		if s.i >= len(s.b) || s.b[s.i] != ':' {
			return s.fail("no : after a member name")
		}
		s.i++
		start := s.i
		if err := s.value(); err != nil {
			return err
		}
		if s.depth == 1 && s.top != nil {
			s.top(key, s.b[start:s.i])
		}
		if s.i < len(s.b) && s.b[s.i] == ',' {
			s.i++
			continue
		}
		if s.i < len(s.b) && s.b[s.i] == '}' {
			s.i++
			return nil
		}
		return s.fail("no , or } in an object")
	}
}

// str reads a string and checks that its escapes are the minimal ones;
// it returns the text when asked (member names, to check their order).
func (s *canonScanner) str(want bool) (string, error) {
	s.i++ // the opening quote
	start := s.i
	var text []byte
	escaped := false
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			if !want {
				return "", nil
			}
			if !escaped {
				return string(s.b[start : s.i-1]), nil
			}
			return string(text), nil
		case c < 0x20:
			return "", s.fail("a control character not escaped")
		case c != '\\':
			if escaped && want {
				text = append(text, c)
			}
			s.i++
			continue
		}
		if !escaped && want {
			text = append(text, s.b[start:s.i]...)
		}
		escaped = true
		if s.i+1 >= len(s.b) {
			return "", s.fail("a cut escape")
		}
		var r byte
		switch s.b[s.i+1] {
		case '"', '\\':
			r = s.b[s.i+1]
			s.i += 2
		case 'b':
			r, s.i = '\b', s.i+2
		case 'f':
			r, s.i = '\f', s.i+2
		case 'n':
			r, s.i = '\n', s.i+2
		case 'r':
			r, s.i = '\r', s.i+2
		case 't':
			r, s.i = '\t', s.i+2
		case 'u':
			// Only controls without a short form are written \u00xx, in
			// lower case.
			if s.i+6 > len(s.b) || s.b[s.i+2] != '0' || s.b[s.i+3] != '0' || !isLowerHex(s.b[s.i+4]) || !isLowerHex(s.b[s.i+5]) || s.b[s.i+4] > '1' {
				return "", s.fail("an escape canonical JSON does not write")
			}
			v, _ := strconv.ParseUint(string(s.b[s.i+4:s.i+6]), 16, 8)
			if r = byte(v); r == '\b' || r == '\f' || r == '\n' || r == '\r' || r == '\t' {
				return "", s.fail("a control written long that has a short escape")
			}
			s.i += 6
		default:
			return "", s.fail("an escape canonical JSON does not write")
		}
		if want {
			text = append(text, r)
		}
	}
	return "", s.fail("a string without its closing quote")
}

func isLowerHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' }

func (s *canonScanner) number() error {
	start := s.i
	for s.i < len(s.b) {
		c := s.b[s.i]
		if c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E' || c >= '0' && c <= '9' {
			s.i++
			continue
		}
		break
	}
	lit := string(s.b[start:s.i])
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil || !json.Valid(s.b[start:s.i]) {
		return s.fail("not a number")
	}
	want, err := formatNumber(f)
	if err != nil || want != lit {
		return s.fail(fmt.Sprintf("number %s is written %s in canonical form", lit, want))
	}
	return nil
}
