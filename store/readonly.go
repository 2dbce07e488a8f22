package store

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"strings"
)

// Output formats of QueryReadOnly.
var readOnlyFormats = map[string]string{
	"tsv":  "TSV",
	"csv":  "CSV",
	"json": "JSONEachRow",
}

// QueryReadOnly runs an analyst's SELECT and writes its result to w as
// "tsv" or "csv" (with a header line) or "json" (one object per line).
//
// Only SELECT and WITH queries are taken, and they run as a subquery of
// mailtrace's own SELECT, so that nothing else can run: not a second
// statement after a semicolon, not INSERT, ALTER, DROP or SYSTEM, not INTO
// OUTFILE. The store is written by mailtrace alone.
func QueryReadOnly(ctx context.Context, st Store, query, format string, w io.Writer) error {
	chFormat, ok := readOnlyFormats[format]
	if !ok {
		return fmt.Errorf("unknown output format %q: use tsv, csv or json", format)
	}
	q, err := readOnlyQuery(query)
	if err != nil {
		return err
	}
	if format != "json" {
		head, err := st.Query(ctx, "SELECT * FROM ("+q+"\n) LIMIT 0", nil)
		if err != nil {
			return err
		}
		cols := head.Columns()
		head.Close()
		if err := writeHeader(w, format, cols); err != nil {
			return err
		}
	}
	rows, err := st.Query(ctx, "SELECT formatRow("+Quote(chFormat)+", *) FROM ("+q+"\n)", nil)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		line, _ := rows.Values()[0].(string)
		if _, err := io.WriteString(w, line); err != nil {
			return err
		}
	}
	return rows.Err()
}

func writeHeader(w io.Writer, format string, cols []Column) error {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.Name
	}
	if format == "csv" {
		cw := csv.NewWriter(w)
		cw.Write(names)
		cw.Flush()
		return cw.Error()
	}
	r := strings.NewReplacer("\\", `\\`, "\t", `\t`, "\n", `\n`)
	for i := range names {
		names[i] = r.Replace(names[i])
	}
	_, err := io.WriteString(w, strings.Join(names, "\t")+"\n")
	return err
}

// readOnlyQuery checks that query is one SELECT (or WITH ... SELECT) and
// returns it without its trailing semicolon.
func readOnlyQuery(query string) (string, error) {
	q := strings.TrimSpace(query)
	for strings.HasSuffix(q, ";") {
		q = strings.TrimSpace(strings.TrimSuffix(q, ";"))
	}
	word := firstKeyword(q)
	switch strings.ToUpper(word) {
	case "SELECT", "WITH":
		// The query runs inside mailtrace's own SELECT: a semicolon could
		// close it and start another statement, so there must be none.
		semi := false
		if err := scanSQL(q, func(i int) int { semi = semi || q[i] == ';'; return i }); err != nil {
			return "", fmt.Errorf("refused: %v", err)
		}
		if semi {
			return "", fmt.Errorf("refused: more than one statement; mailtrace sql runs one SELECT at a time")
		}
		return q, nil
	case "":
		return "", fmt.Errorf("empty query: give a SELECT, for example: SELECT count() FROM delivery_events")
	case "SHOW", "DESCRIBE", "DESC", "EXISTS", "EXPLAIN":
		return "", fmt.Errorf("%s is not supported here; ask system tables with a SELECT, for example: "+
			"SELECT name, total_rows FROM system.tables WHERE database = currentDatabase()", strings.ToUpper(word))
	}
	return "", fmt.Errorf("refused: %s statements change the store, and mailtrace sql only reads it; "+
		"only SELECT and WITH queries run here", strings.ToUpper(word))
}

// firstKeyword returns the first word of a query after blanks and comments.
func firstKeyword(q string) string {
	for {
		q = strings.TrimLeft(q, " \t\r\n(")
		switch {
		case strings.HasPrefix(q, "--"), strings.HasPrefix(q, "#"):
			nl := strings.IndexByte(q, '\n')
			if nl < 0 {
				return ""
			}
			q = q[nl+1:]
		case strings.HasPrefix(q, "/*"):
			end := strings.Index(q, "*/")
			if end < 0 {
				return ""
			}
			q = q[end+2:]
		default:
			end := strings.IndexFunc(q, func(r rune) bool {
				return !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
			})
			if end < 0 {
				return q
			}
			return q[:end]
		}
	}
}
