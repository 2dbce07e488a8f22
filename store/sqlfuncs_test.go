package store_test

import (
	"context"
	"flag"
	"os"
	"slices"
	"sort"
	"testing"

	"github.com/mailtrace/mailtrace/store"
	"github.com/mailtrace/mailtrace/store/storetest"
)

var updateSQLFunctions = flag.Bool("update-sql-functions", false,
	"rewrite sqlfunctions.txt from the pinned libchdb's system.functions and deniedFunctions (review the new functions first)")

func names(t *testing.T, st store.Store, query string) []string {
	t.Helper()
	rows, err := st.Query(context.Background(), query, nil)
	if err != nil {
		t.Fatal(err)
	}
	all, err := rows.All()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range all {
		out = append(out, r[0].(string))
	}
	return out
}

// TestSQLFunctionList fails when the pinned libchdb offers a function
// that sqlfunctions.txt does not classify (or the file lists one it does
// not offer): after a libchdb upgrade, review the new functions, add those
// that reach files, hosts, programs, other tables or the server's
// configuration to deniedFunctions, and regenerate the file.
func TestSQLFunctionList(t *testing.T) {
	st := storetest.Chdb(t)
	rows, err := st.Query(context.Background(), "SELECT name, alias_to, is_aggregate, case_insensitive FROM system.functions", nil)
	if err != nil {
		t.Fatal(err)
	}
	all, err := rows.All()
	if err != nil {
		t.Fatal(err)
	}
	var fns []store.FunctionRow
	known := map[string]bool{}
	for _, r := range all {
		fns = append(fns, store.FunctionRow{Name: r[0].(string), AliasTo: r[1].(string), Aggregate: r[2].(uint8) == 1, CaseInsensitive: r[3].(uint8) == 1})
		known[r[0].(string)] = true
	}
	want := store.RenderSQLFunctionList(fns)
	if *updateSQLFunctions {
		if err := os.WriteFile("sqlfunctions.txt", []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote sqlfunctions.txt: %d functions", len(fns))
		return
	}
	if store.SQLFunctionList != want {
		t.Errorf("sqlfunctions.txt does not classify the functions of libchdb %s as system.functions lists them: "+
			"review the new functions, add the dangerous ones to deniedFunctions in sqlfuncs.go, then run "+
			"go test ./store -run TestSQLFunctionList -update-sql-functions", store.ChdbVersion)
	}
	for _, n := range store.DeniedFunctionNames() {
		if !known[n] {
			t.Errorf("deniedFunctions names %s, which libchdb %s does not have (a typo?)", n, store.ChdbVersion)
		}
	}
	for _, n := range store.InFunctionNames() {
		if !known[n] {
			t.Errorf("inFunctions names %s, which libchdb %s does not have", n, store.ChdbVersion)
		}
	}
	tableFns := map[string]bool{}
	for _, n := range names(t, st, "SELECT name FROM system.table_functions") {
		tableFns[n] = true
	}
	allowed, refused := store.TableFunctionNames()
	for _, n := range append(allowed, refused...) {
		if !tableFns[n] {
			t.Errorf("the check names table function %s, which libchdb %s does not have", n, store.ChdbVersion)
		}
	}
	combinators := names(t, st, "SELECT name FROM system.aggregate_function_combinators")
	got := slices.Clone(store.AggregateCombinators)
	sort.Strings(combinators)
	sort.Strings(got)
	if !slices.Equal(got, combinators) {
		t.Errorf("aggregateCombinators = %v; libchdb %s has %v", got, store.ChdbVersion, combinators)
	}
}
