package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// What an analyst's SQL may reach, and how mailtrace decides.
//
// The decision is made on the engine's own parse of the exact text that
// will run: mailtrace wraps the analyst's query in its own SELECT (which
// picks the output format and carries the limits), asks the same backend
// for EXPLAIN AST of that whole text, and walks the tree. EXPLAIN AST only
// parses; the analyzer's query tree (EXPLAIN QUERY TREE) would resolve
// the query first, and resolving a table function reads it: url() fetches
// the URL to learn its columns. The tree must hold:
//
//   - mailtrace's SELECT around exactly one subquery, the analyst's (the
//     SETTINGS clause with the limits is appended after the check); so no
//     second statement, FORMAT or INTO OUTFILE (they cannot stand in a
//     subquery, and a query that escapes the parentheses changes the shape);
//   - tables of the store's database (unqualified names mean it), and of
//     all the rest only system.tables and system.columns; a table of the
//     store's database whose engine reads elsewhere (URL, File, MySQL...)
//     is refused too;
//   - table functions from allowedTableFunctions only, and functions from
//     the allowlist of sqlfunctions.txt (see sqlfuncs.go);
//   - SETTINGS from allowedSettings only. EXPLAIN AST does not show what a
//     SETTINGS clause sets, so for a query that has one, EXPLAIN QUERY TREE
//     with run_passes = 0 (the tree built from the parse, before the
//     analyzer resolves anything) shows the names and values, and every
//     clause of the parse must be found there;
//   - only node kinds the checker knows; those whose dump hides part of
//     the query (a named WINDOW, APPLY) are refused.
//
// EXPLAIN AST prints names as they are, and a quoted name may hold a line
// break that would print as lines of its own; quoted names with control
// characters or escapes are therefore refused before the engine is asked,
// and the dump must be a well-formed tree whose every node has the number
// of children it declares. The run then adds the engine's read-only mode,
// which on its own refuses file(), url(), s3() and the like, as a second
// wall.

// ErrRefused marks a query mailtrace will not run: the error says what
// was refused and why.
var ErrRefused = errors.New("refused")

// refusedf returns an ErrRefused error with the why.
func refusedf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrRefused}, args...)...)
}

// openTables is what an analyst's query may read, for error messages.
const openTables = "mailtrace sql reads mailtrace's tables, system.tables and system.columns, and the table functions numbers(), values() and generateSeries()"

// explainer runs EXPLAIN statements, which the embedded engine does not
// stream.
type explainer interface {
	explain(ctx context.Context, query string) ([]string, error)
}

// astNode is one node of an EXPLAIN AST dump.
type astNode struct {
	kind     string // SelectQuery, Function, TableIdentifier...
	name     string // what follows the kind: a function's or table's name
	children []*astNode
	line     int
}

// astKinds are the node kinds an analyst's query may hold; leaf kinds
// have no children.
var astKinds = map[string]struct{ leaf bool }{
	"SelectWithUnionQuery": {}, "SelectIntersectExceptQuery": {}, "SelectQuery": {}, "ExpressionList": {},
	"TablesInSelectQuery": {}, "TablesInSelectQueryElement": {}, "TableExpression": {}, "TableJoin": {},
	"ArrayJoin": {}, "Subquery": {}, "Function": {}, "Asterisk": {}, "QualifiedAsterisk": {},
	"ColumnsListMatcher": {}, "QualifiedColumnsListMatcher": {}, "QualifiedColumnsRegexpMatcher": {},
	"ColumnsTransformerList": {}, "ColumnsExceptTransformer": {}, "ColumnsReplaceTransformer": {},
	"ColumnsReplaceTransformer::Replacement": {}, "WithElement": {}, "OrderByElement": {},
	"InterpolateElement": {}, "WindowDefinition": {},
	"Identifier": {leaf: true}, "TableIdentifier": {leaf: true}, "Literal": {leaf: true}, "Set": {leaf: true},
	"ColumnsRegexpMatcher": {leaf: true}, "SampleRatio": {leaf: true},
}

// refusedKinds are node kinds refused with a reason of their own.
var refusedKinds = map[string]string{
	"WindowListElement":       "a named window (WINDOW w AS ...) is not shown by the engine's parse, so it cannot be checked; write the window inline: OVER (PARTITION BY ... ORDER BY ...)",
	"ColumnsApplyTransformer": "APPLY is not shown by the engine's parse, so it cannot be checked; call the function on the columns instead",
	"QueryParameter":          "query parameters ({name:Type}) are not taken here; write the value into the query",
	"Explain":                 "EXPLAIN is not supported here",
}

// parseASTDump reads EXPLAIN AST output into a tree: one node per line,
// one space of indentation per level, and "(children N)" on every node
// that has children.
func parseASTDump(lines []string) (*astNode, error) {
	bad := func(i int, why string) error {
		return refusedf("the engine's parse of the query could not be read (line %d: %s); write names without line breaks or escapes", i+1, why)
	}
	var root *astNode
	var stack []*astNode
	declared := map[*astNode]int{}
	for i, line := range lines {
		depth := len(line) - len(strings.TrimLeft(line, " "))
		text := line[depth:]
		count := 0
		if at := strings.LastIndex(text, " (children "); at >= 0 && strings.HasSuffix(text, ")") {
			c, err := strconv.Atoi(text[at+len(" (children ") : len(text)-1])
			if err != nil || c < 1 {
				return nil, bad(i, "children count")
			}
			count, text = c, text[:at]
		}
		kind, rest, _ := strings.Cut(text, " ")
		if kind == "" {
			return nil, bad(i, "empty node")
		}
		n := &astNode{kind: kind, line: i + 1}
		declared[n] = count
		n.name = rest
		if alias := strings.LastIndex(rest, " (alias "); alias >= 0 && strings.HasSuffix(rest, ")") {
			n.name = rest[:alias]
		}
		switch {
		case depth == 0 && root == nil:
			root = n
			stack = []*astNode{n}
			continue
		case depth == 0 || depth > len(stack):
			return nil, bad(i, "indentation")
		}
		stack = stack[:depth]
		parent := stack[depth-1]
		parent.children = append(parent.children, n)
		stack = append(stack, n)
	}
	if root == nil {
		return nil, refusedf("the engine returned no parse of the query")
	}
	var check func(n *astNode) error
	check = func(n *astNode) error {
		if len(n.children) != declared[n] {
			return bad(n.line-1, fmt.Sprintf("%s declares %d children and has %d", n.kind, declared[n], len(n.children)))
		}
		if k, ok := astKinds[n.kind]; ok && k.leaf && len(n.children) > 0 {
			return bad(n.line-1, n.kind+" with children")
		}
		for _, c := range n.children {
			if err := check(c); err != nil {
				return err
			}
		}
		return nil
	}
	return root, check(root)
}

// sqlQuery is one analyst's query as mailtrace runs it.
type sqlQuery struct {
	st     Store
	limits SQLLimits
	user   string // the analyst's text
	tables map[string]string
}

// wrapRows is the query that returns the analyst's rows in format,
// without the SETTINGS clause of the limits (see run).
func (q *sqlQuery) wrapRows(format string) string {
	return "SELECT formatRow(" + Quote(format) + ", *) FROM (\n" + q.user + "\n)"
}

// wrapHeader is the query that returns the analyst's columns.
func (q *sqlQuery) wrapHeader() string {
	return "SELECT * FROM (\n" + q.user + "\n) LIMIT 0"
}

// run is the text that runs for a checked one: the same, with the limits
// appended as mailtrace's SETTINGS clause. The check leaves them out
// because EXPLAIN applies a query's settings to itself, and a small
// max_result_rows would stop the EXPLAIN; what the clause follows is
// already closed, so it cannot change how the analyst's part parses.
func (q *sqlQuery) run(checked string) string {
	return checked + " " + q.limits.settingsClause()
}

// check decides whether text, one of the wrapped queries, may run.
func (q *sqlQuery) check(ctx context.Context, text string) error {
	ex, ok := q.st.(explainer)
	if !ok {
		return refusedf("this store cannot check queries")
	}
	lines, err := ex.explain(ctx, "EXPLAIN AST "+text)
	if err != nil {
		return err
	}
	root, err := parseASTDump(lines)
	if err != nil {
		return err
	}
	user, err := wrapped(root)
	if err != nil {
		return err
	}
	w := &astWalk{q: q, ctx: ctx}
	if err := w.walk(user, nil); err != nil {
		return err
	}
	if w.sets > 0 {
		return q.checkSettings(ctx, ex, text, w.sets)
	}
	return nil
}

// wrapped finds the analyst's query inside mailtrace's SELECT, and refuses
// a parse of any other shape: the query then did not stand alone as one
// SELECT inside the parentheses.
func wrapped(root *astNode) (*astNode, error) {
	notAlone := refusedf("the query does not stand alone as one SELECT; give one SELECT or WITH query, without FORMAT, INTO OUTFILE or a second statement")
	path := func(n *astNode, kinds ...string) *astNode {
		for _, k := range kinds {
			if n == nil || n.kind != k || len(n.children) != 1 {
				return nil
			}
			n = n.children[0]
		}
		return n
	}
	sel := path(root, "SelectWithUnionQuery", "ExpressionList")
	if sel == nil || sel.kind != "SelectQuery" || len(sel.children) < 2 {
		return nil, notAlone
	}
	proj := sel.children[0]
	switch {
	case len(sel.children) == 2 && proj.kind == "ExpressionList" && len(proj.children) == 1 &&
		proj.children[0].kind == "Function" && proj.children[0].name == "formatRow":
	case len(sel.children) == 3 && proj.kind == "ExpressionList" && len(proj.children) == 1 &&
		proj.children[0].kind == "Asterisk" && len(proj.children[0].children) == 0 &&
		sel.children[2].kind == "Literal" && sel.children[2].name == "UInt64_0":
	default:
		return nil, notAlone
	}
	user := path(sel.children[1], "TablesInSelectQuery", "TablesInSelectQueryElement", "TableExpression", "Subquery")
	if user == nil || user.kind != "SelectWithUnionQuery" {
		return nil, notAlone
	}
	return user, nil
}

// astWalk checks the analyst's part of a parse.
type astWalk struct {
	q    *sqlQuery
	ctx  context.Context
	sets int // SETTINGS clauses seen
}

func (w *astWalk) walk(n, parent *astNode) error {
	if why, ok := refusedKinds[n.kind]; ok {
		return refusedf("%s", why)
	}
	if _, ok := astKinds[n.kind]; !ok {
		return refusedf("the query holds %s, which mailtrace sql does not know; %s", n.kind, openTables)
	}
	switch n.kind {
	case "SelectWithUnionQuery":
		// Its children: the list of selects, then SETTINGS; FORMAT and
		// INTO OUTFILE would follow, and mailtrace picks the format.
		for i, c := range n.children {
			if i == 0 && c.kind != "ExpressionList" || i > 0 && c.kind != "Set" {
				return refusedf("FORMAT and INTO OUTFILE are not taken here: mailtrace writes the answer itself (choose tsv, csv or json)")
			}
		}
	case "TableExpression":
		for _, c := range n.children {
			switch c.kind {
			case "TableIdentifier", "Function", "Subquery", "SampleRatio":
			default:
				return refusedf("the query reads from %s, which mailtrace sql does not know; %s", c.kind, openTables)
			}
		}
	case "Function":
		if parent != nil && parent.kind == "TableExpression" {
			if ok, why := functions().checkTableFunction(n.name); !ok {
				return refusedf("%s; %s", why, openTables)
			}
			break
		}
		if ok, why := functions().checkFunction(n.name); !ok {
			return refusedf("%s; %s", why, openTables)
		}
		if inFunctions[n.name] && len(n.children) > 0 && len(n.children[0].children) == 2 {
			if rhs := n.children[0].children[1]; rhs.kind == "Identifier" {
				if err := w.q.checkTable(w.ctx, rhs.name); err != nil {
					return err
				}
			}
		}
	case "TableIdentifier":
		if err := w.q.checkTable(w.ctx, n.name); err != nil {
			return err
		}
	case "Set":
		w.sets++
	}
	for _, c := range n.children {
		if err := w.walk(c, n); err != nil {
			return err
		}
	}
	return nil
}

// openSystemTables are the system tables an analyst may read.
var openSystemTables = map[string]bool{"tables": true, "columns": true}

// safeEngine tells whether a table of the store's database keeps its rows
// in the store itself.
func safeEngine(engine string) bool {
	switch engine {
	case "MaterializedView", "Distributed", "Memory", "Null", "Log", "TinyLog", "StripeLog":
		return true
	}
	return strings.HasSuffix(engine, "MergeTree")
}

// checkTable decides whether a query may read the table a name gives, as
// the engine's parse prints it: "name" or "database.name" (an unqualified
// name means the store's database, or a WITH query of that name).
func (q *sqlQuery) checkTable(ctx context.Context, name string) error {
	parts := strings.Split(name, ".")
	switch {
	case len(parts) == 2 && parts[0] == "system":
		if openSystemTables[parts[1]] {
			return nil
		}
		return refusedf("system.%s is not open to analysts: of the system tables only system.tables and system.columns are; %s", parts[1], openTables)
	case len(parts) > 1 && parts[0] != q.st.Database():
		return refusedf("table %s is in database %s, not in mailtrace's database %s; %s", name, parts[0], q.st.Database(), openTables)
	case len(parts) > 2:
		return refusedf("table name %s has more than one dot; name a table as table or database.table", name)
	}
	table := parts[len(parts)-1]
	if q.tables == nil {
		if err := q.loadTables(ctx); err != nil {
			return err
		}
	}
	if engine, ok := q.tables[table]; ok && !safeEngine(engine) {
		return refusedf("table %s has engine %s, which reads outside the store; %s", table, engine, openTables)
	}
	return nil
}

// loadTables reads the store database's tables and their engines.
func (q *sqlQuery) loadTables(ctx context.Context) error {
	rows, err := q.st.Query(ctx, "SELECT name, engine FROM system.tables WHERE database = {db:String}", Params{"db": q.st.Database()})
	if err != nil {
		return fmt.Errorf("listing the store's tables: %w", err)
	}
	all, err := rows.All()
	if err != nil {
		return fmt.Errorf("listing the store's tables: %w", err)
	}
	q.tables = make(map[string]string, len(all))
	for _, r := range all {
		name, _ := r[0].(string)
		engine, _ := r[1].(string)
		q.tables[name] = engine
	}
	return nil
}

// allowedSettings are the settings an analyst's query may change, each
// with a check of its value as the query tree prints it. Anything that
// could lift a limit or the read-only mode is absent.
var allowedSettings = map[string]func(l SQLLimits, v string) bool{
	"max_threads": func(l SQLLimits, v string) bool {
		n, err := strconv.Atoi(v)
		return err == nil && n >= 1 && n <= l.MaxThreads
	},
	"join_use_nulls":                     boolSetting,
	"aggregate_functions_null_for_empty": boolSetting,
	"transform_null_in":                  boolSetting,
	"cast_keep_nullable":                 boolSetting,
	"group_by_use_nulls":                 boolSetting,
	"enable_positional_arguments":        boolSetting,
	"prefer_column_name_to_alias":        boolSetting,
	"session_timezone": func(_ SQLLimits, v string) bool {
		return v != "" && strings.Trim(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_/+-") == ""
	},
	"date_time_output_format": func(_ SQLLimits, v string) bool {
		return v == "simple" || v == "iso" || v == "unix_timestamp"
	},
}

func boolSetting(_ SQLLimits, v string) bool { return v == "0" || v == "1" }

// allowedSettingNames lists allowedSettings for messages.
func allowedSettingNames() string {
	return "max_threads (up to sql.max_threads), join_use_nulls, aggregate_functions_null_for_empty, transform_null_in, " +
		"cast_keep_nullable, group_by_use_nulls, enable_positional_arguments, prefer_column_name_to_alias, " +
		"session_timezone, date_time_output_format"
}

// checkSettings reads the query tree of text, where the parse found sets
// SETTINGS clauses of the analyst's, and checks every setting in them. The
// tree prints each clause as one line, "SETTINGS name=value ...".
func (q *sqlQuery) checkSettings(ctx context.Context, ex explainer, text string, sets int) error {
	lines, err := ex.explain(ctx, "EXPLAIN QUERY TREE run_passes = 0 "+text)
	if err != nil {
		return err
	}
	found := 0
	for _, line := range lines {
		clause, ok := strings.CutPrefix(strings.TrimLeft(line, " "), "SETTINGS ")
		if !ok {
			continue
		}
		found++
		for _, kv := range strings.Split(clause, " ") {
			name, value, _ := strings.Cut(kv, "=")
			check, ok := allowedSettings[name]
			if !ok {
				return refusedf("SETTINGS %s: this setting is not open to analysts (the limits are set in mailtrace's config, sql section); the query may set %s", name, allowedSettingNames())
			}
			if !check(q.limits, value) {
				return refusedf("SETTINGS %s = %s: this value is not taken here", name, value)
			}
		}
	}
	if found != sets {
		return refusedf("mailtrace could not read every SETTINGS clause of the query (found %d of %d); put SETTINGS at the end of a SELECT", found, sets)
	}
	return nil
}
