package store

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Quote returns s as a ClickHouse string literal. Every byte that could end
// the literal or confuse the parser is escaped, NUL included, so that any
// bytes (invalid UTF-8 too) read back exactly. This is the one place that
// turns data into SQL text.
func Quote(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('\'')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '\'':
			b.WriteString(`\'`)
		case '\\':
			b.WriteString(`\\`)
		case 0:
			b.WriteString(`\0`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if c < 0x20 || c == 0x7f {
				fmt.Fprintf(&b, `\x%02X`, c)
			} else {
				b.WriteByte(c)
			}
		}
	}
	b.WriteByte('\'')
	return b.String()
}

// QuoteIdent returns name as a ClickHouse identifier in backquotes.
func QuoteIdent(name string) string {
	var b strings.Builder
	b.Grow(len(name) + 2)
	b.WriteByte('`')
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch c {
		case '`':
			b.WriteString("\\`")
		case '\\':
			b.WriteString(`\\`)
		case 0:
			b.WriteString(`\0`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('`')
	return b.String()
}

// Params are the values of a query's {name:Type} placeholders.
type Params map[string]any

// paramText renders a parameter value in ClickHouse's text format, the form
// in which both the server's query parameters and CAST expect it.
func paramText(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case []byte:
		return string(x), nil
	case bool:
		if x {
			return "1", nil
		}
		return "0", nil
	case int:
		return strconv.FormatInt(int64(x), 10), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case int32:
		return strconv.FormatInt(int64(x), 10), nil
	case uint:
		return strconv.FormatUint(uint64(x), 10), nil
	case uint64:
		return strconv.FormatUint(x, 10), nil
	case uint32:
		return strconv.FormatUint(uint64(x), 10), nil
	case uint16:
		return strconv.FormatUint(uint64(x), 10), nil
	case uint8:
		return strconv.FormatUint(uint64(x), 10), nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return "", fmt.Errorf("parameter value %v is not a finite number", x)
		}
		return strconv.FormatFloat(x, 'g', -1, 64), nil
	case time.Time:
		return x.UTC().Format("2006-01-02 15:04:05.999999999"), nil
	case [16]byte:
		return FormatUUID(x), nil
	case []string:
		parts := make([]string, len(x))
		for i, s := range x {
			parts[i] = Quote(s)
		}
		return "[" + strings.Join(parts, ",") + "]", nil
	}
	return "", fmt.Errorf("parameter of type %T is not supported", v)
}

// placeholder is one {name:Type} in a query.
type placeholder struct {
	start, end int // byte range of "{name:Type}"
	name, typ  string
}

// placeholders finds the {name:Type} placeholders of a query outside string
// literals, quoted identifiers and comments.
func placeholders(q string) []placeholder {
	var out []placeholder
	scanSQL(q, func(i int) int {
		if q[i] != '{' {
			return i
		}
		end := strings.IndexByte(q[i:], '}')
		if end < 0 {
			return i
		}
		inner := q[i+1 : i+end]
		colon := strings.IndexByte(inner, ':')
		if colon > 0 && isIdent(strings.TrimSpace(inner[:colon])) {
			out = append(out, placeholder{start: i, end: i + end + 1,
				name: strings.TrimSpace(inner[:colon]), typ: strings.TrimSpace(inner[colon+1:])})
			return i + end
		}
		return i
	})
	return out
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// bindParams replaces each {name:Type} placeholder by a quoted literal cast
// to its type, for backends without server-side parameters. Identifier
// placeholders become quoted identifiers.
func bindParams(q string, params Params) (string, error) {
	ps := placeholders(q)
	if len(ps) == 0 {
		return q, nil
	}
	var b strings.Builder
	last := 0
	for _, p := range ps {
		v, ok := params[p.name]
		if !ok {
			return "", fmt.Errorf("query parameter %q has no value", p.name)
		}
		text, err := paramText(v)
		if err != nil {
			return "", fmt.Errorf("query parameter %q: %w", p.name, err)
		}
		b.WriteString(q[last:p.start])
		if p.typ == "Identifier" {
			b.WriteString(QuoteIdent(text))
		} else {
			b.WriteString("CAST(" + Quote(text) + " AS " + p.typ + ")")
		}
		last = p.end
	}
	b.WriteString(q[last:])
	return b.String(), nil
}

// serverParams renders params for a server that binds them itself.
func serverParams(q string, params Params) (map[string]string, error) {
	out := make(map[string]string, len(params))
	for _, p := range placeholders(q) {
		v, ok := params[p.name]
		if !ok {
			return nil, fmt.Errorf("query parameter %q has no value", p.name)
		}
		text, err := paramText(v)
		if err != nil {
			return nil, fmt.Errorf("query parameter %q: %w", p.name, err)
		}
		out[p.name] = text
	}
	return out, nil
}

// SplitStatements splits SQL text on semicolons outside quotes and
// comments, and drops statements that are empty or only comments.
func SplitStatements(text string) []string {
	var out []string
	start := 0
	flush := func(end int) {
		if s := strings.TrimSpace(text[start:end]); !onlyComments(s) {
			out = append(out, s)
		}
		start = end + 1
	}
	scanSQL(text, func(i int) int {
		if text[i] == ';' {
			flush(i)
		}
		return i
	})
	if start < len(text) {
		flush(len(text))
	}
	return out
}

// scanSQL calls visit with the index of every byte of q that is SQL text
// rather than part of a string literal, quoted identifier, heredoc or
// comment, as ClickHouse's lexer reads them; visit returns the index it has
// consumed up to. It reports an error when a literal or comment does not
// end, which callers that must not misjudge a query treat as a refusal.
func scanSQL(q string, visit func(i int) int) error {
	return lexSQL(q, visit, nil)
}

// lexSQL is scanSQL that also hands quoted to every quoted identifier
// (`name` or "name"), with its quotes; an error from quoted ends the scan.
func lexSQL(q string, visit func(i int) int, quoted func(name string, at int) error) error {
	for i := 0; i < len(q); i++ {
		switch c := q[i]; {
		case c == '\'' || c == '"' || c == '`':
			j := i + 1
			for ; j < len(q) && q[j] != c; j++ {
				if q[j] == '\\' {
					j++
				}
			}
			if j >= len(q) {
				return fmt.Errorf("unterminated %c quote at byte %d", c, i)
			}
			if c != '\'' && quoted != nil {
				if err := quoted(q[i:j+1], i); err != nil {
					return err
				}
			}
			i = j
		case c == '-' && strings.HasPrefix(q[i:], "--"), c == '#' && (strings.HasPrefix(q[i:], "# ") || strings.HasPrefix(q[i:], "#!")):
			// ClickHouse reads # as a comment only before a space or !.
			nl := strings.IndexByte(q[i:], '\n')
			if nl < 0 {
				return nil
			}
			i += nl
		case c == '/' && strings.HasPrefix(q[i:], "/*"):
			depth, j := 1, i+2
			for ; j < len(q) && depth > 0; j++ {
				switch {
				case strings.HasPrefix(q[j:], "/*"):
					depth++
					j++
				case strings.HasPrefix(q[j:], "*/"):
					depth--
					j++
				}
			}
			if depth > 0 {
				return fmt.Errorf("unterminated comment at byte %d", i)
			}
			i = j - 1
		case c == '$':
			// Heredoc: $tag$ ... $tag$, tag possibly empty.
			end := strings.IndexByte(q[i+1:], '$')
			if end < 0 || !isIdent(q[i+1:i+1+end]) && end != 0 {
				i = visit(i)
				continue
			}
			tag := q[i : i+end+2]
			close := strings.Index(q[i+len(tag):], tag)
			if close < 0 {
				return fmt.Errorf("unterminated heredoc %s at byte %d", tag, i)
			}
			i += len(tag) + close + len(tag) - 1
		default:
			i = visit(i)
		}
	}
	return nil
}

func onlyComments(s string) bool {
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		if line != "" && !strings.HasPrefix(line, "--") {
			return false
		}
	}
	return true
}
