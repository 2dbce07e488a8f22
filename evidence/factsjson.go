package evidence

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// factsWriter writes a facts object in canonical form directly, for the
// facts written most (delivery attempts): members must come in sorted
// order (checked), empty strings, zero numbers and false are left out,
// and a string that is not UTF-8 gets its NAME+"Base64" sibling as
// validFacts does.
type factsWriter struct {
	b    []byte
	last string
	err  error
}

// newFactsWriter starts a facts object; size is room for it (one
// allocation when it fits).
func newFactsWriter(size int) *factsWriter {
	return &factsWriter{b: append(make([]byte, 0, size), '{')}
}

func (w *factsWriter) key(k string) {
	if w.last != "" && compareUTF16(w.last, k) >= 0 && w.err == nil {
		w.err = fmt.Errorf("%w: facts member %q after %q", ErrNotCanonical, k, w.last)
	}
	if len(w.b) > 1 {
		w.b = append(w.b, ',')
	}
	w.b = appendCanonString(w.b, k)
	w.b = append(w.b, ':')
	w.last = k
}

func (w *factsWriter) str(k, v string) {
	if v == "" {
		return
	}
	w.key(k)
	if utf8.ValidString(v) {
		w.b = appendCanonString(w.b, v)
		return
	}
	w.b = appendCanonString(w.b, strings.ToValidUTF8(v, "\uFFFD"))
	w.key(k + "Base64")
	w.b = appendCanonString(w.b, base64.StdEncoding.EncodeToString([]byte(v)))
}

func (w *factsWriter) int(k string, v int64) {
	if v == 0 {
		return
	}
	w.key(k)
	w.b = strconv.AppendInt(w.b, v, 10)
}

// digits writes a time's digits of a fraction of a second, 0 too: a
// whole-second source is a fact, not an empty value.
func (w *factsWriter) digits(k string, d uint8) {
	w.key(k)
	w.b = strconv.AppendUint(w.b, uint64(d), 10)
}

func (w *factsWriter) bool(k string, v bool) {
	if !v {
		return
	}
	w.key(k)
	w.b = append(w.b, "true"...)
}

func (w *factsWriter) float32s(k string, vs ...float32) {
	zero := true
	for _, v := range vs {
		zero = zero && v == 0
	}
	if zero {
		return
	}
	w.key(k)
	if len(vs) > 1 {
		w.b = append(w.b, '[')
	}
	for i, v := range vs {
		if i > 0 {
			w.b = append(w.b, ',')
		}
		var err error
		if w.b, err = appendCanonAny(w.b, v); err != nil && w.err == nil {
			w.err = err
		}
	}
	if len(vs) > 1 {
		w.b = append(w.b, ']')
	}
}

func (w *factsWriter) done() ([]byte, error) { return append(w.b, '}'), w.err }

func (w *factsWriter) strs(k string, vs []string) {
	if len(vs) == 0 {
		return
	}
	w.key(k)
	w.b = append(w.b, '[')
	var bad []string
	for i, v := range vs {
		if i > 0 {
			w.b = append(w.b, ',')
		}
		if !utf8.ValidString(v) {
			bad = append(bad, base64.StdEncoding.EncodeToString([]byte(v)))
			v = strings.ToValidUTF8(v, "\uFFFD")
		}
		w.b = appendCanonString(w.b, v)
	}
	w.b = append(w.b, ']')
	if bad != nil {
		w.key(k + "Base64")
		w.b = append(w.b, '[')
		for i, v := range bad {
			if i > 0 {
				w.b = append(w.b, ',')
			}
			w.b = appendCanonString(w.b, v)
		}
		w.b = append(w.b, ']')
	}
}
