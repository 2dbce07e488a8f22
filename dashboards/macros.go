package dashboards

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Env is what Grafana and the ClickHouse plugin fill a query in with: the
// dashboard's time range, the panel's interval and the variables' values.
type Env struct {
	From, To time.Time
	Interval time.Duration
	// Vars are the variables' selected values; All marks variables set to
	// "All" (their values are then every option).
	Vars map[string][]string
	All  map[string]bool
}

var (
	macroRe = regexp.MustCompile(`\$__(timeFilter_ms|timeFilter|dateTimeFilter|dateFilter|timeInterval_ms|timeInterval|fromTime_ms|toTime_ms|fromTime|toTime|interval_s|conditionalAll)\b`)
	varRe   = regexp.MustCompile(`\$\{(\w+)(?::(\w+))?\}|\$(\w+)`)
)

// Expand turns a panel's SQL into what ClickHouse receives, the way
// Grafana and grafana-clickhouse-datasource (v4) do: first the plugin's
// $__conditionalAll (in the browser, before variables: "1=1" when the
// variable is set to All, else the condition), then Grafana's variables
// (${v:singlequote} -> 'a','b'; ${v:sqlstring} -> 'a' with quotes doubled;
// $v -> the values joined by commas), then the plugin's server-side
// macros:
//
//	$__timeFilter(c)      c >= toDateTime(FROM) AND c <= toDateTime(TO)     (Unix seconds)
//	$__timeFilter_ms(c)   c >= fromUnixTimestamp64Milli(FROM_MS) AND c <= fromUnixTimestamp64Milli(TO_MS)
//	$__dateFilter(c)      c >= toDate('YYYY-MM-DD') AND c <= toDate('YYYY-MM-DD')
//	$__dateTimeFilter(d, t)  $__dateFilter(d) AND $__timeFilter(t)
//	$__timeInterval(c)    toStartOfInterval(toDateTime(c), INTERVAL N second)
//	$__timeInterval_ms(c) toStartOfInterval(toDateTime64(c, 3), INTERVAL N millisecond)
//	$__fromTime, $__toTime             toDateTime(FROM), toDateTime(TO)
//	$__fromTime_ms, $__toTime_ms       fromUnixTimestamp64Milli(...)
//	$__interval_s         N
func Expand(sql string, env Env) (string, error) {
	var firstErr error
	fail := func(err error) {
		if firstErr == nil {
			firstErr = err
		}
	}
	// $__conditionalAll(condition, $var)
	sql = replaceMacros(sql, func(name string, args []string) (string, bool) {
		if name != "conditionalAll" {
			return "", false
		}
		if len(args) != 2 {
			fail(fmt.Errorf("$__conditionalAll needs 2 arguments, got %d", len(args)))
			return "", true
		}
		v := strings.TrimPrefix(strings.Trim(strings.TrimSpace(args[1]), "${}"), "$")
		if env.All[v] {
			return "1=1", true
		}
		return args[0], true
	})
	sql = varRe.ReplaceAllStringFunc(sql, func(m string) string {
		g := varRe.FindStringSubmatch(m)
		name, format := g[1], g[2]
		if name == "" {
			name = g[3]
		}
		if strings.HasPrefix(name, "__") {
			return m // a macro
		}
		vals, ok := env.Vars[name]
		if !ok {
			fail(fmt.Errorf("variable $%s has no value", name))
			return m
		}
		switch format {
		case "singlequote", "sqlstring":
			q := make([]string, len(vals))
			for i, v := range vals {
				q[i] = "'" + strings.ReplaceAll(strings.ReplaceAll(v, `\`, `\\`), "'", "''") + "'"
			}
			return strings.Join(q, ",")
		case "", "csv", "raw":
			return strings.Join(vals, ",")
		default:
			fail(fmt.Errorf("variable format %q is not supported here", format))
			return m
		}
	})
	secs := int64(env.Interval / time.Second)
	if secs < 1 {
		secs = 1
	}
	from, to := env.From.Unix(), env.To.Unix()
	sql = replaceMacros(sql, func(name string, args []string) (string, bool) {
		one := func() string {
			if len(args) != 1 {
				fail(fmt.Errorf("$__%s needs one column", name))
				return ""
			}
			return strings.TrimSpace(args[0])
		}
		switch name {
		case "timeFilter":
			c := one()
			return fmt.Sprintf("%s >= toDateTime(%d) AND %s <= toDateTime(%d)", c, from, c, to), true
		case "timeFilter_ms":
			c := one()
			return fmt.Sprintf("%s >= fromUnixTimestamp64Milli(%d) AND %s <= fromUnixTimestamp64Milli(%d)", c, env.From.UnixMilli(), c, env.To.UnixMilli()), true
		case "dateFilter":
			c := one()
			return fmt.Sprintf("%s >= toDate('%s') AND %s <= toDate('%s')", c, env.From.UTC().Format(time.DateOnly), c, env.To.UTC().Format(time.DateOnly)), true
		case "dateTimeFilter":
			if len(args) != 2 {
				fail(fmt.Errorf("$__dateTimeFilter needs two columns"))
				return "", true
			}
			d, t := strings.TrimSpace(args[0]), strings.TrimSpace(args[1])
			return fmt.Sprintf("%s >= toDate('%s') AND %s <= toDate('%s') AND %s >= toDateTime(%d) AND %s <= toDateTime(%d)",
				d, env.From.UTC().Format(time.DateOnly), d, env.To.UTC().Format(time.DateOnly), t, from, t, to), true
		case "timeInterval":
			return fmt.Sprintf("toStartOfInterval(toDateTime(%s), INTERVAL %d second)", one(), secs), true
		case "timeInterval_ms":
			return fmt.Sprintf("toStartOfInterval(toDateTime64(%s, 3), INTERVAL %d millisecond)", one(), env.Interval.Milliseconds()), true
		case "fromTime":
			return fmt.Sprintf("toDateTime(%d)", from), true
		case "toTime":
			return fmt.Sprintf("toDateTime(%d)", to), true
		case "fromTime_ms":
			return fmt.Sprintf("fromUnixTimestamp64Milli(%d)", env.From.UnixMilli()), true
		case "toTime_ms":
			return fmt.Sprintf("fromUnixTimestamp64Milli(%d)", env.To.UnixMilli()), true
		case "interval_s":
			return fmt.Sprint(secs), true
		}
		return "", false
	})
	if strings.Contains(sql, "$") {
		fail(fmt.Errorf("unexpanded $ left in: %s", sql))
	}
	return sql, firstErr
}

// replaceMacros replaces $__name(args) where f says so; arguments may
// hold parentheses of their own (subqueries).
func replaceMacros(sql string, f func(name string, args []string) (string, bool)) string {
	var out strings.Builder
	for {
		loc := macroRe.FindStringSubmatchIndex(sql)
		if loc == nil {
			out.WriteString(sql)
			return out.String()
		}
		name, end := sql[loc[2]:loc[3]], loc[1]
		var args []string
		if end < len(sql) && sql[end] == '(' {
			depth := 0
			for i := end; i < len(sql); i++ {
				if sql[i] == '(' {
					depth++
				} else if sql[i] == ')' {
					depth--
					if depth == 0 {
						args = splitArgs(sql[end+1 : i])
						end = i + 1
						break
					}
				}
			}
		}
		out.WriteString(sql[:loc[0]])
		if rep, ok := f(name, args); ok {
			out.WriteString(rep)
		} else {
			out.WriteString(sql[loc[0]:end])
		}
		sql = sql[end:]
	}
}

// splitArgs splits macro arguments at top-level commas.
func splitArgs(s string) []string {
	var out []string
	depth, start := 0, 0
	for i, c := range s {
		switch c {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}
