package store

import (
	"context"
	"fmt"
	"sort"
	"strings"
)

// Internals the tests of package store_test reach.

// SQLFunctionList is the embedded classification of the engine's functions.
var SQLFunctionList = sqlFunctionList

// FunctionRow is one row of system.functions.
type FunctionRow struct {
	Name, AliasTo              string
	Aggregate, CaseInsensitive bool
}

// RenderSQLFunctionList classifies the engine's functions with
// deniedFunctions, as sqlfunctions.txt holds them.
func RenderSQLFunctionList(rows []FunctionRow) string {
	denied := map[string]bool{}
	for _, g := range deniedFunctions {
		for _, n := range g.names {
			denied[n] = true
		}
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].Name < rows[j].Name })
	var b strings.Builder
	fmt.Fprintf(&b, "# The functions of libchdb %s (system.functions), with mailtrace sql's verdict:\n", ChdbVersion)
	b.WriteString("# name, allow or deny, flags (a: aggregate, i: case-insensitive), the function an alias names.\n")
	b.WriteString("# Generated from deniedFunctions in sqlfuncs.go: go test ./store -run TestSQLFunctionList -update-sql-functions\n")
	for _, r := range rows {
		verdict := "allow"
		if denied[r.Name] || denied[r.AliasTo] || strings.HasPrefix(r.Name, "__") {
			verdict = "deny"
		}
		flags := ""
		if r.Aggregate {
			flags += "a"
		}
		if r.CaseInsensitive {
			flags += "i"
		}
		if flags == "" {
			flags = "-"
		}
		fmt.Fprintf(&b, "%s\t%s\t%s", r.Name, verdict, flags)
		if r.AliasTo != "" {
			b.WriteString("\t" + r.AliasTo)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// DeniedFunctionNames are the names deniedFunctions lists.
func DeniedFunctionNames() []string {
	var out []string
	for _, g := range deniedFunctions {
		out = append(out, g.names...)
	}
	return out
}

// TableFunctionNames are the table functions the check names: allowed,
// and refused with a reason of their own.
func TableFunctionNames() (allowed, refused []string) {
	for n := range allowedTableFunctions {
		allowed = append(allowed, n)
	}
	for _, g := range tableFunctionReasons {
		refused = append(refused, g.names...)
	}
	return allowed, refused
}

// InFunctionNames and AggregateCombinators are what the check knows of IN
// and of aggregate combinators.
func InFunctionNames() []string {
	var out []string
	for n := range inFunctions {
		out = append(out, n)
	}
	return out
}

var AggregateCombinators = aggregateCombinators

// CheckFunctionName and CheckTableFunctionName are the check's verdict on
// one name.
func CheckFunctionName(name string) (bool, string)      { return functions().checkFunction(name) }
func CheckTableFunctionName(name string) (bool, string) { return functions().checkTableFunction(name) }

// Explain runs an EXPLAIN statement on a store.
func Explain(ctx context.Context, st Store, query string) ([]string, error) {
	return st.(explainer).explain(ctx, query)
}

// WrapRows is the text QueryReadOnly runs for an analyst's query.
func WrapRows(query, format string, l SQLLimits) (string, error) {
	q, err := readOnlyQuery(query)
	if err != nil {
		return "", err
	}
	sq := &sqlQuery{user: q, limits: l}
	return sq.run(sq.wrapRows(format)), nil
}

// RunUnchecked runs a query as QueryReadOnly does, under the limits, but
// without the check: to test the engine's read-only mode on its own.
func RunUnchecked(ctx context.Context, st Store, query string, l SQLLimits) ([][]any, error) {
	sq := &sqlQuery{user: query, limits: l}
	rows, err := st.Query(ctx, sq.run(sq.wrapRows("TSV")), nil)
	if err != nil {
		return nil, err
	}
	return rows.All()
}

// CheckSQL runs the check alone on an analyst's query, as QueryReadOnly
// does before running it as tsv (two texts) or json (one).
func CheckSQL(ctx context.Context, st Store, query, format string) error {
	q, err := readOnlyQuery(query)
	if err != nil {
		return err
	}
	sq := &sqlQuery{st: st, limits: DefaultSQLLimits(), user: q}
	if err := sq.check(ctx, sq.wrapRows(readOnlyFormats[format])); err != nil {
		return err
	}
	if format != "json" {
		return sq.check(ctx, sq.wrapHeader())
	}
	return nil
}
