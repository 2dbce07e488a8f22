package store

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Output formats of QueryReadOnly.
var readOnlyFormats = map[string]string{
	"tsv":  "TSV",
	"csv":  "CSV",
	"json": "JSONEachRow",
}

// MaxSQLQuery is the longest analyst's query taken, in bytes.
const MaxSQLQuery = 1 << 20

// QueryReadOnly runs an analyst's query and writes its answer to w as
// "tsv" or "csv" (with a header line) or "json" (one object per line).
// Every path that takes SQL from a user goes through here: `mailtrace sql`
// and /api/v1/sql.
//
// The query must be one SELECT (or WITH ... SELECT) that reads mailtrace's
// tables and nothing beyond them (sqlguard.go says what and how that is
// decided); it runs as a subquery of mailtrace's own SELECT, under the
// limits and in the engine's read-only mode. A refusal is an ErrRefused
// error that says what was refused and why. Control characters and bytes
// that are not UTF-8 are escaped in the answer, so that a value from a
// hostile log line cannot drive the terminal it is shown on: as \xHH in tsv
// (which ClickHouse reads back) and csv, as \u00HH in json, where a byte
// that is not UTF-8 becomes U+FFFD (select hex(column) for exact bytes).
func QueryReadOnly(ctx context.Context, st Store, query, format string, limits SQLLimits, w io.Writer) error {
	chFormat, ok := readOnlyFormats[format]
	if !ok {
		return fmt.Errorf("unknown output format %q: use tsv, csv or json", format)
	}
	if err := limits.Validate(); err != nil {
		return err
	}
	q, err := readOnlyQuery(query)
	if err != nil {
		return err
	}
	sq := &sqlQuery{st: st, limits: limits, user: q}
	rowsQuery := sq.wrapRows(chFormat)
	if err := sq.check(ctx, rowsQuery); err != nil {
		return err
	}
	if format != "json" {
		headQuery := sq.wrapHeader()
		if err := sq.check(ctx, headQuery); err != nil {
			return err
		}
		// Params are nil: a text with anything that looks like a
		// placeholder fails rather than runs changed.
		head, err := st.Query(ctx, sq.run(headQuery), nil)
		if err != nil {
			return limitReached(err, limits)
		}
		cols := head.Columns()
		head.Close()
		if err := writeHeader(w, format, cols); err != nil {
			return err
		}
	}
	rows, err := st.Query(ctx, sq.run(rowsQuery), nil)
	if err != nil {
		return limitReached(err, limits)
	}
	defer rows.Close()
	for rows.Next() {
		line, _ := rows.Values()[0].(string)
		if _, err := io.WriteString(w, escapeOutput(format, line)); err != nil {
			return err
		}
	}
	return limitReached(rows.Err(), limits)
}

// limitReached says which of mailtrace's limits the engine stopped a
// query at, before the engine's own words.
func limitReached(err error, l SQLLimits) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	var limit string
	switch {
	case strings.Contains(msg, "(TIMEOUT_EXCEEDED)"):
		limit = fmt.Sprintf("the query ran longer than sql.max_execution_time (%v)", l.MaxExecutionTime)
	case strings.Contains(msg, "Query memory limit exceeded"):
		limit = fmt.Sprintf("the query needed more memory than sql.max_memory (%v)", l.MaxMemory)
	case strings.Contains(msg, "(TOO_MANY_ROWS_OR_BYTES)"):
		limit = fmt.Sprintf("the answer has more rows than sql.max_result_rows (%d); add a LIMIT or aggregate", l.MaxResultRows)
	default:
		return err
	}
	return fmt.Errorf("stopped: %s; the limit is in the sql section of mailtrace's config: %w", limit, err)
}

func writeHeader(w io.Writer, format string, cols []Column) error {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.Name
	}
	var b strings.Builder
	if format == "csv" {
		cw := csv.NewWriter(&b)
		cw.Write(names)
		cw.Flush()
		if err := cw.Error(); err != nil {
			return err
		}
	} else {
		r := strings.NewReplacer("\\", `\\`, "\t", `\t`, "\n", `\n`)
		for i := range names {
			names[i] = r.Replace(names[i])
		}
		b.WriteString(strings.Join(names, "\t") + "\n")
	}
	_, err := io.WriteString(w, escapeOutput(format, b.String()))
	return err
}

// escapeOutput escapes what the engine's formatting leaves raw in a line
// of answer: C0 and C1 control characters other than the tab and line
// feed the format itself uses, DEL, and bytes that are not UTF-8. The
// engine's TSV already writes a backslash as \\, so \xHH there is not
// ambiguous.
func escapeOutput(format, line string) string {
	clean := true
	for i := 0; i < len(line); i++ {
		if c := line[i]; c < 0x20 && c != '\t' && c != '\n' || c >= 0x7f {
			clean = false
			break
		}
	}
	if clean {
		return line
	}
	var b strings.Builder
	b.Grow(len(line) + 16)
	hex := func(c byte) {
		if format == "json" {
			fmt.Fprintf(&b, `\u%04x`, c)
		} else {
			fmt.Fprintf(&b, `\x%02X`, c)
		}
	}
	for i := 0; i < len(line); {
		r, size := utf8.DecodeRuneInString(line[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			if format == "json" {
				b.WriteString(`\ufffd`)
			} else {
				hex(line[i])
			}
		case r == '\n' || r == '\t' && format != "json":
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			hex(byte(r))
		case r >= 0x80 && r <= 0x9f:
			if format == "json" {
				hex(byte(r))
			} else {
				hex(line[i])
				hex(line[i+1])
			}
		default:
			b.WriteString(line[i : i+size])
		}
		i += size
	}
	return b.String()
}

// readOnlyQuery does the checks that need no engine, for clear messages:
// one SELECT or WITH statement, without a semicolon inside, of reasonable
// size, whose quoted names hold no line break or escape (the engine's
// parse prints names as they are). It returns the query without its
// trailing semicolons.
func readOnlyQuery(query string) (string, error) {
	q := strings.TrimSpace(query)
	for strings.HasSuffix(q, ";") {
		q = strings.TrimSpace(strings.TrimSuffix(q, ";"))
	}
	if len(q) > MaxSQLQuery {
		return "", refusedf("the query is %d bytes; mailtrace sql takes at most %d", len(q), MaxSQLQuery)
	}
	if strings.IndexByte(q, 0) >= 0 {
		return "", refusedf("the query holds a NUL byte")
	}
	word := firstKeyword(q)
	switch strings.ToUpper(word) {
	case "SELECT", "WITH":
		// The query runs inside mailtrace's own SELECT: a semicolon could
		// close it and start another statement, so there must be none.
		semi := false
		err := lexSQL(q, func(i int) int { semi = semi || q[i] == ';'; return i }, checkQuotedName)
		if errors.Is(err, ErrRefused) {
			return "", err
		}
		if err != nil {
			return "", refusedf("%v", err)
		}
		if semi {
			return "", refusedf("more than one statement; mailtrace sql runs one SELECT at a time")
		}
		return q, nil
	case "":
		return "", fmt.Errorf("empty query: give a SELECT, for example: SELECT count() FROM delivery_events")
	case "SHOW", "DESCRIBE", "DESC", "EXISTS", "EXPLAIN":
		return "", refusedf("%s is not supported here; ask system tables with a SELECT, for example: "+
			"SELECT name, total_rows FROM system.tables WHERE database = currentDatabase()", strings.ToUpper(word))
	}
	return "", refusedf("%s statements change the store, and mailtrace sql only reads it; "+
		"only SELECT and WITH queries run here", strings.ToUpper(word))
}

// checkQuotedName refuses a quoted name with a control character or a
// backslash escape, either of which could put a line break in the name.
func checkQuotedName(name string, at int) error {
	for i := 1; i < len(name)-1; i++ {
		if c := name[i]; c < 0x20 || c == 0x7f || c == '\\' {
			return refusedf("the quoted name at byte %d holds a control character or a backslash; mailtrace sql takes names without them", at)
		}
	}
	return nil
}

// firstKeyword returns the first word of a query after blanks, opening
// parentheses and comments (nested ones too, as ClickHouse reads them).
func firstKeyword(q string) string {
	start := -1
	scanSQL(q, func(i int) int {
		if strings.IndexByte(" \t\r\n\f(", q[i]) < 0 {
			start = i
			return len(q)
		}
		return i
	})
	if start < 0 {
		return ""
	}
	q = q[start:]
	end := strings.IndexFunc(q, func(r rune) bool {
		return !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
	})
	if end < 0 {
		return q
	}
	return q[:end]
}
