package store_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/mailtrace/mailtrace/schema"
	"github.com/mailtrace/mailtrace/store"
	"github.com/mailtrace/mailtrace/store/storetest"
)

// canary is what an analyst's query must never reach: a file holding a
// secret and an HTTP server that counts requests.
type canary struct {
	file, secret, url string
	db                string // the store's database
	hits              atomic.Int64
}

func newCanary(t testing.TB) *canary {
	t.Helper()
	c := &canary{secret: fmt.Sprintf("canary-secret-%d", time.Now().UnixNano())}
	c.file = filepath.Join(t.TempDir(), "verp-1.key")
	if err := os.WriteFile(c.file, []byte(c.secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.hits.Add(1)
		fmt.Fprintln(w, c.secret)
	}))
	t.Cleanup(srv.Close)
	c.url = srv.URL + "/metrics"
	return c
}

// expand fills @FILE@, @URL@ and @DB@ in a query template.
func (c *canary) expand(q string) string {
	return strings.NewReplacer("@FILE@", c.file, "@URL@", c.url, "@DB@", c.db).Replace(q)
}

// sqlStore gives st mailtrace's schema, a few rows, and a table whose
// engine reads from a host.
func sqlStore(t testing.TB, st store.Store, c *canary) store.Store {
	t.Helper()
	ctx := context.Background()
	if _, err := schema.Migrate(ctx, st, schema.Options{Database: st.Database()}, false); err != nil {
		t.Fatal(err)
	}
	createKV(t, st)
	if err := st.Insert(ctx, block(t, &kv{id: 1, s: "a", arr: []string{"x"}}, &kv{id: 2, s: "b"})); err != nil {
		t.Fatal(err)
	}
	if err := st.Exec(ctx, "DROP TABLE IF EXISTS remote_log", nil); err != nil {
		t.Fatal(err)
	}
	if err := st.Exec(ctx, "CREATE TABLE remote_log (line String) ENGINE = URL("+store.Quote(c.url)+", 'LineAsString')", nil); err != nil {
		t.Fatal(err)
	}
	c.db = st.Database()
	return st
}

// eachSQLStore runs f on an embedded store, and on a ClickHouse server
// when MAILTRACE_TEST_CLICKHOUSE names one, each prepared by sqlStore.
func eachSQLStore(t *testing.T, f func(t *testing.T, st store.Store, c *canary)) {
	storetest.Each(t, func(t *testing.T, st store.Store) {
		c := newCanary(t)
		f(t, sqlStore(t, st, c), c)
		if n := c.hits.Load(); n != 0 {
			t.Errorf("the canary HTTP server was asked %d times", n)
		}
	})
}

func runSQL(st store.Store, query, format string) (string, error) {
	var out bytes.Buffer
	err := store.QueryReadOnly(context.Background(), st, query, format, store.DefaultSQLLimits(), &out)
	return out.String(), err
}

// allowed are queries an analyst may give, in every shape, with their
// answer as tsv ("" where it is not compared).
var allowed = []struct{ name, query, want string }{
	{"plain", "SELECT id, s FROM kv ORDER BY id", "id\ts\n1\ta\n2\tb\n"},
	{"qualified with the store's database", "SELECT count() FROM @DB@.kv", "count()\n2\n"},
	{"quoted names", "SELECT count() AS `n` FROM \"@DB@\".`kv`", "n\n2\n"},
	{"mailtrace's tables", "SELECT count() FROM delivery_events JOIN accept_records USING (trace_id)", "count()\n0\n"},
	{"FINAL", "SELECT count() FROM block_incidents FINAL", "count()\n0\n"},
	{"system.tables", "SELECT name FROM system.tables WHERE database = currentDatabase() AND name = 'kv'", "name\nkv\n"},
	{"system.columns", "SELECT name FROM system.columns WHERE database = '@DB@' AND table = 'kv' ORDER BY position", "name\nid\ns\narr\n"},
	{"CTE", "WITH t AS (SELECT id FROM kv) SELECT sum(id) FROM t", "sum(id)\n3\n"},
	{"nested CTEs", "WITH a AS (SELECT id FROM kv), b AS (SELECT id * 10 AS id FROM a) SELECT max(id) FROM b", "max(id)\n20\n"},
	{"WITH scalar", "WITH 2 AS two SELECT two * id AS d FROM kv ORDER BY d", "d\n2\n4\n"},
	{"WITH scalar subquery", "WITH (SELECT max(id) FROM kv) AS mx SELECT mx", "mx\n2\n"},
	{"UNION ALL", "SELECT id FROM kv WHERE id = 1 UNION ALL SELECT id FROM kv WHERE id = 2 ORDER BY id", "id\n1\n2\n"},
	{"UNION DISTINCT", "SELECT 1 AS x UNION DISTINCT SELECT 1", "x\n1\n"},
	{"INTERSECT and EXCEPT", "(SELECT id FROM kv INTERSECT SELECT 1) EXCEPT SELECT 2", "id\n1\n"},
	{"LEFT JOIN ON", "SELECT a.id, b.id FROM kv AS a LEFT JOIN kv AS b ON a.id = b.id + 1 ORDER BY a.id", "id\tb.id\n1\t0\n2\t1\n"},
	{"CROSS JOIN", "SELECT count() FROM kv, kv AS k2", "count()\n4\n"},
	{"ARRAY JOIN", "SELECT id, e FROM kv ARRAY JOIN arr AS e", "id\te\n1\tx\n"},
	{"IN subquery", "SELECT id FROM kv WHERE id IN (SELECT max(id) FROM kv)", "id\n2\n"},
	{"IN table", "SELECT id FROM kv WHERE (id, s, arr) IN kv ORDER BY id", "id\n1\n2\n"},
	{"IN store-qualified table", "SELECT count() FROM kv WHERE (id, s, arr) IN @DB@.kv", "count()\n2\n"},
	{"IN CTE", "WITH one AS (SELECT 1) SELECT id FROM kv WHERE id IN one", "id\n1\n"},
	{"scalar subquery", "SELECT (SELECT count() FROM kv) AS n", "n\n2\n"},
	{"EXISTS", "SELECT EXISTS (SELECT 1 FROM kv WHERE id = 2) AS e", "e\n1\n"},
	{"subquery in FROM", "SELECT sum(n) FROM (SELECT id AS n FROM (SELECT id FROM kv))", "sum(n)\n3\n"},
	{"lambdas", "SELECT arrayMap(x -> x * 2, [1, 2]) AS m, arrayFilter((x, y) -> y > 1, ['a', 'b'], [1, 2]) AS f", "m\tf\n[2,4]\t['b']\n"},
	{"numbers", "SELECT sum(number) FROM numbers(10)", "sum(number)\n45\n"},
	{"numbers_mt", "SELECT count() FROM numbers_mt(1000)", "count()\n1000\n"},
	{"generateSeries", "SELECT groupArray(generate_series) AS g FROM generateSeries(1, 3)", "g\n[1,2,3]\n"},
	{"generate_series", "SELECT count() FROM generate_series(1, 5)", "count()\n5\n"},
	{"values", "SELECT * FROM values('x UInt8, y String', (1, 'a'), (2, 'b')) ORDER BY x", "x\ty\n1\ta\n2\tb\n"},
	{"VALUES syntax", "SELECT * FROM (VALUES (1), (2))", "c1\n1\n2\n"},
	{"table function in a subquery of a table function", "SELECT count() FROM numbers(assumeNotNull((SELECT count() FROM kv)))", "count()\n2\n"},
	{"aggregate combinators", "SELECT sumIf(id, id > 1) AS a, uniqArrayIf(arr, id = 1) AS b, finalizeAggregation(countState()) AS c, quantileIf(0.5)(id, id > 0) AS q FROM kv", "a\tb\tc\tq\n2\t1\t2\t1.5\n"},
	{"window function", "SELECT id, row_number() OVER (ORDER BY id DESC) AS r FROM kv ORDER BY id", "id\tr\n1\t2\n2\t1\n"},
	{"case-insensitive functions", "SELECT COUNT(), Sum(id), DATABASE(), lower('X') FROM kv", "COUNT()\tSum(id)\tDATABASE()\tlower('X')\n2\t3\t@DB@\tx\n"},
	{"operators and syntax", "SELECT id BETWEEN 1 AND 2, s LIKE 'a%', s ILIKE 'A', id IS NULL, -id, NOT id, CASE WHEN id = 1 THEN 'one' ELSE 'other' END, id::String, CAST(id AS Float64), arr[1], (1, 'x').2, INTERVAL 1 DAY, DATE '2026-01-02', s || s FROM kv WHERE id = 1",
		"" /* the header is long */},
	{"SETTINGS allowed", "SELECT count() FROM kv SETTINGS max_threads = 1, join_use_nulls = 1, session_timezone = 'UTC'", "count()\n2\n"},
	{"SETTINGS in a subquery", "SELECT * FROM (SELECT count() AS n FROM kv SETTINGS max_threads = 1)", "n\n2\n"},
	{"comments", "-- who\n# what\n/* why /* nested */ still */ SELECT /* here */ count() -- there\nFROM kv # end", "count()\n2\n"},
	{"trailing semicolons", "SELECT 1 AS one;;", "one\n1\n"},
	{"escapes in literals", "SELECT 'a\\nb', $$c'd$$, 'ünï 日本'", ""},
	{"function names in literals", "SELECT 'file(\\'/etc/passwd\\')' AS s, 'url' AS u", "s\tu\nfile(\\'/etc/passwd\\')\turl\n"},
	{"columns named like functions", "SELECT `file`, url FROM (SELECT 1 AS `file`, 2 AS url)", "file\turl\n1\t2\n"},
	{"version", "SELECT version() != '' AS v", "v\n1\n"},
	{"GROUP BY, HAVING, ORDER BY, LIMIT BY", "SELECT s, count() AS n FROM kv GROUP BY s HAVING n > 0 ORDER BY s DESC LIMIT 1 BY s LIMIT 1", "s\tn\nb\t1\n"},
	{"asterisk transformers", "SELECT * EXCEPT (arr) REPLACE (id * 10 AS id) FROM kv ORDER BY id", "id\ts\n10\ta\n20\tb\n"},
	{"COLUMNS", "SELECT COLUMNS('^i') FROM kv ORDER BY id", "id\n1\n2\n"},
}

// TestSQLAllowed runs queries an analyst may give, in every shape.
func TestSQLAllowed(t *testing.T) {
	eachSQLStore(t, func(t *testing.T, st store.Store, c *canary) {
		for _, tt := range allowed {
			t.Run(tt.name, func(t *testing.T) {
				q := c.expand(tt.query)
				out, err := runSQL(st, q, "tsv")
				if err != nil {
					t.Fatalf("%s: %v", q, err)
				}
				if want := c.expand(tt.want); want != "" && out != want {
					t.Errorf("%s = %q, want %q", q, out, want)
				}
				checkReach(t, st, q)
			})
		}
	})
}

// refusals are queries mailtrace must not run. want is part of the
// message; engine cases are refused by the engine's own parse (a syntax
// error) rather than mailtrace's check.
var refusals = []struct {
	name, query, want string
	engine            bool
}{
	// Table functions the issue names, and their relatives.
	{"file", "SELECT * FROM file('@FILE@', 'LineAsString')", "table function file() reads files", false},
	{"file in backquotes", "SELECT * FROM `file`('@FILE@', 'LineAsString')", "table function file() reads files", false},
	{"url", "SELECT * FROM url('@URL@', 'LineAsString')", "table function url() reaches other hosts", false},
	{"s3", "SELECT * FROM s3('http://127.0.0.1:1/b/k', 'LineAsString')", "table function s3() reads object storage", false},
	{"hdfs", "SELECT * FROM hdfs('hdfs://127.0.0.1:1/x', 'LineAsString')", "table function hdfs()", false},
	{"azureBlobStorage", "SELECT * FROM azureBlobStorage('http://127.0.0.1:1', 'c', 'b')", "table function azureBlobStorage()", false},
	{"gcs", "SELECT * FROM gcs('http://127.0.0.1:1/b/k', 'LineAsString')", "table function gcs()", false},
	{"remote", "SELECT * FROM remote('127.0.0.1:1', system.one)", "table function remote() queries other ClickHouse servers", false},
	{"remoteSecure", "SELECT * FROM remoteSecure('127.0.0.1:1', system.one)", "table function remoteSecure()", false},
	{"cluster", "SELECT * FROM cluster('default', system.one)", "table function cluster()", false},
	{"mysql", "SELECT * FROM mysql('127.0.0.1:1', 'd', 't', 'u', 'p')", "table function mysql() reads another database system", false},
	{"postgresql", "SELECT * FROM postgresql('127.0.0.1:1', 'd', 't', 'u', 'p')", "table function postgresql()", false},
	{"sqlite", "SELECT * FROM sqlite('@FILE@', 't')", "table function sqlite()", false},
	{"mongodb", "SELECT * FROM mongodb('127.0.0.1:1', 'd', 'c', 'u', 'p', 'x String')", "table function mongodb()", false},
	{"redis", "SELECT * FROM redis('127.0.0.1:1', 'k', 'k String')", "table function redis()", false},
	{"jdbc", "SELECT * FROM jdbc('ds', 't')", "table function jdbc()", false},
	{"odbc", "SELECT * FROM odbc('ds', 't')", "table function odbc()", false},
	{"executable", "SELECT * FROM executable('cat @FILE@', 'LineAsString', 'x String')", "table function executable() runs programs", false},
	{"input", "SELECT * FROM input('x String')", "table function input()", false},
	{"dictionary", "SELECT * FROM dictionary('d')", "table function dictionary()", false},
	{"iceberg", "SELECT * FROM iceberg('http://127.0.0.1:1/t')", "table function iceberg() reads data lakes", false},
	{"deltaLake", "SELECT * FROM deltaLake('http://127.0.0.1:1/t')", "table function deltaLake()", false},
	{"hudi", "SELECT * FROM hudi('http://127.0.0.1:1/t')", "table function hudi()", false},
	{"merge", "SELECT * FROM merge('system', '^one$')", "table function merge() reads tables of other databases", false},
	{"view", "SELECT * FROM view(SELECT 1)", "table function view() is not one mailtrace sql allows", false},
	{"zeros", "SELECT * FROM zeros(3)", "table function zeros()", false},
	{"format", "SELECT * FROM format(CSV, '1')", "table function format()", false},
	{"generateRandom", "SELECT * FROM generateRandom('x UInt8') LIMIT 1", "table function generateRandom()", false},
	{"EXPLAIN as a subquery", "SELECT * FROM (EXPLAIN AST SELECT 1)", "table function viewExplain() is EXPLAIN", false},
	{"table function in upper case", "SELECT * FROM FILE('@FILE@', 'LineAsString')", "table function FILE() reads files", false},

	// Scalar functions that reach outside.
	{"scalar file", "SELECT file('@FILE@')", "function file() reads files on the server", false},
	{"scalar file in mixed case", "SELECT FiLe('@FILE@')", "function FiLe() reads files", false},
	{"scalar file in backquotes", "SELECT `file`('@FILE@')", "function file() reads files", false},
	{"dictGet", "SELECT dictGet('d', 'a', 1)", "function dictGet() reads a dictionary", false},
	{"dictHas", "SELECT dictHas('d', 1)", "function dictHas()", false},
	{"joinGet", "SELECT joinGet('kv', 's', 1)", "function joinGet() reads a table named in a string", false},
	{"getSetting", "SELECT getSetting('max_memory_usage')", "function getSetting() tells about the server", false},
	{"getMacro", "SELECT getMacro('shard')", "function getMacro()", false},
	{"hostName", "SELECT hostName()", "function hostName()", false},
	{"hostname alias", "SELECT hostname()", "function hostname() tells about the server", false},
	{"FQDN in lower case", "SELECT fqdn()", "function fqdn()", false},
	{"currentUser through its alias user", "SELECT user()", "function user()", false},
	{"hasColumnInTable", "SELECT hasColumnInTable('system', 'users', 'name')", "function hasColumnInTable() looks into the tables of other databases", false},
	{"catboostEvaluate", "SELECT catboostEvaluate('@FILE@', 1)", "function catboostEvaluate() loads a model", false},
	{"aiGenerate", "SELECT aiGenerate('hello')", "function aiGenerate() sends data to an LLM provider", false},
	{"logTrace", "SELECT logTrace('x')", "function logTrace() writes to the server's log", false},
	{"internal function", "SELECT __getScalar('x')", "function __getScalar() is internal", false},
	{"introspection", "SELECT addressToSymbol(1)", "function addressToSymbol() inspects the server process", false},
	{"unknown function", "SELECT noSuchFunction(1)", "function noSuchFunction() is not one mailtrace sql knows", false},
	{"homoglyph", "SELECT f\u0456le('@FILE@')", "Syntax error", true},
	{"aggregate combinator on a denied base", "SELECT dictGetIf('d', 'a', 1, 1)", "function dictGetIf() is not one mailtrace sql knows", false},

	// The same, in every position of a query.
	{"in a FROM subquery", "SELECT * FROM (SELECT * FROM file('@FILE@', 'LineAsString'))", "table function file()", false},
	{"in an IN subquery", "SELECT 1 WHERE 'x' IN (SELECT * FROM url('@URL@', 'LineAsString'))", "table function url()", false},
	{"in a JOIN", "SELECT * FROM kv JOIN url('@URL@', 'LineAsString') AS u ON 1 = 1", "table function url()", false},
	{"in a scalar subquery", "SELECT (SELECT * FROM file('@FILE@', 'LineAsString'))", "table function file()", false},
	{"in a CTE", "WITH t AS (SELECT * FROM file('@FILE@', 'LineAsString')) SELECT * FROM t", "table function file()", false},
	{"in a WITH scalar", "WITH (SELECT file('@FILE@')) AS k SELECT k", "function file()", false},
	{"in the second branch of a UNION", "SELECT 'a' UNION ALL SELECT * FROM file('@FILE@', 'LineAsString')", "table function file()", false},
	{"in an EXCEPT", "SELECT 'a' EXCEPT SELECT file('@FILE@')", "function file()", false},
	{"in a lambda", "SELECT arrayMap(x -> file(x), ['@FILE@'])", "function file()", false},
	{"in the arguments of an allowed table function", "SELECT * FROM numbers((SELECT length(file('@FILE@'))))", "function file()", false},
	{"in a WHERE", "SELECT id FROM kv WHERE s = file('@FILE@')", "function file()", false},
	{"in ORDER BY", "SELECT id FROM kv ORDER BY file('@FILE@')", "function file()", false},
	{"in GROUP BY", "SELECT count() FROM kv GROUP BY file('@FILE@')", "function file()", false},
	{"in an inline window", "SELECT row_number() OVER (PARTITION BY file('@FILE@')) FROM kv", "function file()", false},
	{"in a deep nesting", "SELECT * FROM (SELECT * FROM (SELECT * FROM (SELECT (SELECT [file('@FILE@')]) AS x)))", "function file()", false},
	{"after a line comment", "SELECT 1 -- harmless\n, file('@FILE@')", "function file()", false},
	{"after a hash comment", "SELECT 1 # harmless\n, file('@FILE@')", "function file()", false},
	{"between block comments", "SELECT /* a */ file /* b */ ( /* c */ '@FILE@' /* d */ )", "function file()", false},
	{"with odd whitespace", "SELECT\tfile\r\n(\f'@FILE@')", "function file()", false},
	{"escaping the parentheses", "SELECT 1) UNION ALL (SELECT * FROM file('@FILE@', 'LineAsString')", "does not stand alone", false},
	{"escaping the parentheses to a second column", "SELECT 1) AS a, file('@FILE@') AS b FROM (SELECT 1", "Syntax error", true},

	// Tables outside mailtrace's.
	{"system.processes", "SELECT * FROM system.processes", "system.processes is not open to analysts", false},
	{"system.one", "SELECT * FROM system.one", "system.one is not open", false},
	{"system.users quoted", "SELECT * FROM \"system\".`users`", "system.users is not open", false},
	{"system.settings in a JOIN", "SELECT * FROM kv JOIN system.settings AS s ON 1 = 1", "system.settings", false},
	{"system table in an IN", "SELECT id FROM kv WHERE s IN system.processes", "system.processes", false},
	{"information_schema", "SELECT * FROM information_schema.tables", "database information_schema", false},
	{"INFORMATION_SCHEMA", "SELECT * FROM INFORMATION_SCHEMA.TABLES", "database INFORMATION_SCHEMA", false},
	{"the file-backed default database", "SELECT * FROM `default`.`@FILE@`", "is in database default", false},
	{"another database", "SELECT * FROM other.kv", "database other", false},
	{"another database in an IN", "SELECT 1 WHERE 1 IN other.t", "database other", false},
	{"a store table whose engine reaches a host", "SELECT * FROM remote_log", "table remote_log has engine URL", false},
	{"the same, qualified", "SELECT * FROM @DB@.remote_log", "table remote_log has engine URL", false},
	{"a name with two dots", "SELECT * FROM `a.b`.c", "is in database a", false},
	{"a name with two dots in the store's database", "SELECT * FROM @DB@.`a.b`", "more than one dot", false},

	// Settings.
	{"SETTINGS max_execution_time", "SELECT 1 SETTINGS max_execution_time = 0", "SETTINGS max_execution_time: this setting is not open", false},
	{"SETTINGS readonly", "SELECT 1 SETTINGS readonly = 0", "SETTINGS readonly", false},
	{"SETTINGS max_memory_usage in a subquery", "SELECT * FROM (SELECT 1 SETTINGS max_memory_usage = 0)", "SETTINGS max_memory_usage", false},
	{"SETTINGS max_result_rows in an IN", "SELECT 1 WHERE 1 IN (SELECT 1 SETTINGS max_result_rows = 0)", "SETTINGS max_result_rows", false},
	{"SETTINGS max_threads above the cap", "SELECT 1 SETTINGS max_threads = 100000", "SETTINGS max_threads = 100000: this value is not taken", false},
	{"SETTINGS after an allowed one", "SELECT 1 SETTINGS max_threads = 1, allow_introspection_functions = 1", "allow_introspection_functions", false},
	{"a setting hidden in a string value", "SELECT 1 SETTINGS session_timezone = 'UTC max_execution_time=0'", "Invalid time zone", true},
	{"SETTINGS after a parenthesized UNION", "SELECT * FROM ((SELECT 1 UNION ALL SELECT 2) SETTINGS max_threads = 1)", "Syntax error", true},
	{"SETTINGS in a CTE", "WITH t AS (SELECT 1 SETTINGS max_execution_time = 0) SELECT * FROM t", "max_execution_time", false},

	// Statements, output options and constructs the check cannot see into.
	{"INTO OUTFILE", "SELECT * FROM kv INTO OUTFILE '@FILE@.out'", "Syntax error", true},
	{"FORMAT", "SELECT * FROM kv FORMAT JSON", "Syntax error", true},
	{"two statements", "SELECT 1; SELECT * FROM file('@FILE@')", "more than one statement", false},
	{"a semicolon after a comment quote", "SELECT 1 # '\n) ; DROP TABLE kv; --", "more than one statement", false},
	{"INSERT", "INSERT INTO kv VALUES (3, 'c', [])", "refused: INSERT statements change the store", false},
	{"DROP in lower case", "drop table kv", "refused: DROP", false},
	{"SYSTEM", "SYSTEM STOP MERGES", "refused: SYSTEM", false},
	{"EXPLAIN", "EXPLAIN SELECT 1", "EXPLAIN is not supported here", false},
	{"SHOW", "SHOW TABLES", "SHOW is not supported", false},
	{"named window", "SELECT row_number() OVER w FROM kv WINDOW w AS (ORDER BY file('@FILE@'))", "a named window", false},
	{"APPLY", "SELECT * APPLY(file) FROM (SELECT '@FILE@' AS p)", "APPLY is not shown", false},
	{"query parameter", "SELECT {p:String}", "", true},
	{"a line break in a quoted name", "SELECT 1 AS `a\n  Function numbers`", "the quoted name at byte 12 holds a control character", false},
	{"an escaped line break in a quoted name", "SELECT 1 AS `a\\n  Function numbers`", "holds a control character or a backslash", false},
	{"an escaped line break in a double-quoted table", "SELECT * FROM \"sys\\ntem\".processes", "backslash", false},
	{"a NUL byte", "SELECT 'a\x00b'", "NUL byte", false},
	{"unterminated comment", "SELECT 1 /* ", "unterminated comment", false},
	{"unterminated quote", "SELECT 'a\\'; SELECT file('@FILE@')", "unterminated", false},
	{"a query over 1 MiB", "SELECT '" + strings.Repeat("x", store.MaxSQLQuery) + "'", "mailtrace sql takes at most", false},
}

// TestSQLRefused checks that every query of refusals is refused, says
// why, and reaches neither the canary file nor the canary host.
func TestSQLRefused(t *testing.T) {
	eachSQLStore(t, func(t *testing.T, st store.Store, c *canary) {
		for _, tt := range refusals {
			t.Run(tt.name, func(t *testing.T) {
				q := c.expand(tt.query)
				for _, format := range []string{"tsv", "json"} {
					out, err := runSQL(st, q, format)
					if err == nil {
						t.Fatalf("%s as %s ran: %q", q, format, out)
					}
					if !strings.Contains(err.Error(), tt.want) {
						t.Errorf("%s: error %q, want it to say %q", q, err, tt.want)
					}
					if refused := errors.Is(err, store.ErrRefused); refused == tt.engine {
						t.Errorf("%s: error %q: refused by mailtrace's check = %v, want %v", q, err, refused, !tt.engine)
					}
					if strings.Contains(out+err.Error(), c.secret) {
						t.Errorf("%s: the canary file's secret came back: %q %v", q, out, err)
					}
				}
			})
		}
	})
}

// resolvedReach is the second opinion of the fuzz target and the tests:
// the analyzer's resolved query tree of a query the check let through,
// with every table, table function and function it names. It is a
// different part of the engine from the parse the check reads: aliases,
// WITH names and views are resolved there.
func resolvedReach(t testing.TB, st store.Store, text string) (tables, tableFns, fns []string) {
	t.Helper()
	lines, err := store.Explain(context.Background(), st, "EXPLAIN QUERY TREE "+text)
	if err != nil {
		return nil, nil, nil // the analyzer refused it, so it cannot run either
	}
	for _, line := range lines {
		l := strings.TrimLeft(line, " ")
		field := func(key string) string {
			_, v, ok := strings.Cut(l, ", "+key+": ")
			if !ok {
				return ""
			}
			v, _, _ = strings.Cut(v, ", ")
			return v
		}
		switch {
		case strings.HasPrefix(l, "TABLE id:"):
			tables = append(tables, field("table_name"))
		case strings.HasPrefix(l, "TABLE_FUNCTION id:"):
			tableFns = append(tableFns, field("table_function_name"))
		case strings.HasPrefix(l, "FUNCTION id:"):
			fns = append(fns, field("function_name"))
		}
	}
	return tables, tableFns, fns
}

// checkReach fails the test when a query the check let through reaches,
// in the analyzer's eyes, a table or function the check refuses.
func checkReach(t testing.TB, st store.Store, query string) {
	t.Helper()
	text, err := store.WrapRows(query, "TSV", store.DefaultSQLLimits())
	if err != nil {
		t.Fatalf("%s was run but is not a query: %v", query, err)
	}
	tables, tableFns, fns := resolvedReach(t, st, text)
	for _, tb := range tables {
		db, name, _ := strings.Cut(tb, ".")
		if !(db == st.Database() && name != "remote_log" || tb == "system.tables" || tb == "system.columns" || tb == "system.one") {
			t.Errorf("%s was let through, and the analyzer reads table %s", query, tb)
		}
	}
	for _, f := range tableFns {
		if ok, _ := store.CheckTableFunctionName(f); !ok {
			t.Errorf("%s was let through, and the analyzer calls table function %s", query, f)
		}
	}
	for _, f := range fns {
		if ok, _ := store.CheckFunctionName(f); !ok {
			t.Errorf("%s was let through, and the analyzer calls function %s", query, f)
		}
	}
}

// TestSQLRefusedVariants writes the dangerous calls of refusals in other
// spellings (case, quotes, comments, whitespace, nesting) and checks that
// none of them runs.
func TestSQLRefusedVariants(t *testing.T) {
	bases := []string{
		"SELECT * FROM file('@FILE@', 'LineAsString')",
		"SELECT file('@FILE@')",
		"SELECT * FROM url('@URL@', 'LineAsString')",
		"SELECT * FROM system.processes",
		"SELECT * FROM `default`.`@FILE@`",
		"SELECT getSetting('readonly')",
		"SELECT 1 SETTINGS readonly = 0",
	}
	eachSQLStore(t, func(t *testing.T, st store.Store, c *canary) {
		n := 0
		for _, base := range bases {
			for _, v := range sqlVariants(c.expand(base)) {
				n++
				out, err := runSQL(st, v, "tsv")
				if err == nil {
					t.Errorf("%q ran: %q", v, out)
					continue
				}
				if strings.Contains(out+err.Error(), c.secret) {
					t.Errorf("%q: the canary file's secret came back", v)
				}
			}
		}
		t.Logf("%d variants refused", n)
	})
}

// sqlVariants spells a query in other ways that mean the same to the
// engine, or might to a careless check.
func sqlVariants(q string) []string {
	out := []string{q}
	swap := func(from string, tos ...string) {
		if !strings.Contains(q, from) {
			return
		}
		for _, to := range tos {
			out = append(out, strings.Replace(q, from, to, 1))
		}
	}
	for _, fn := range []string{"file", "url", "getSetting"} {
		swap(fn+"(", strings.ToUpper(fn)+"(", strings.ToUpper(fn[:1])+fn[1:]+"(", "`"+fn+"`(", "\""+fn+"\"(",
			fn+" (", fn+"\n(", fn+"/* c */(", fn+"-- c\n(", fn+"# c\n(", fn+"\t\r\n(")
	}
	swap("system.processes", "`system`.`processes`", "\"system\".\"processes\"", "system . processes",
		"system/* c */.processes", "SYSTEM.processes", "system.PROCESSES", "(SELECT * FROM system.processes)")
	swap("readonly = 0", "`readonly` = 0", "\"readonly\"=0", "readonly=false", "READONLY = 0", "max_threads = 1, readonly = 0")
	swap("SELECT ", "/* lead */ SELECT ", "-- lead\nSELECT ", "# lead\nSELECT ", "(SELECT ", "select ", "SeLeCt ")
	if strings.HasPrefix(q, "SELECT") {
		out = append(out,
			"SELECT * FROM ("+q+")",
			"SELECT * FROM (SELECT * FROM ("+q+"))",
			"WITH x AS ("+q+") SELECT * FROM x",
			"SELECT 1 UNION ALL SELECT * FROM ("+q+")",
			"SELECT (SELECT count() FROM ("+q+"))",
			"SELECT 1 WHERE 1 IN (SELECT count() FROM ("+q+"))",
			q+" -- trailing",
			q+" # trailing",
			q+" /* trailing */",
			q+";",
			"/* a /* nested */ comment */ "+q,
		)
	}
	return out
}

// TestSQLLimits runs a query over each limit and checks that the engine
// stops it, that the error says which limit, and that the limits stay on
// that query: mailtrace's own statements in the same session run as
// before.
func TestSQLLimits(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st store.Store) { sqlLimits(t, st) })
}

func sqlLimits(t *testing.T, st store.Store) {
	createKV(t, st)
	ctx := context.Background()
	session := func() string {
		rows, err := st.Query(ctx, "SELECT getSetting('max_execution_time'), getSetting('max_memory_usage'), getSetting('max_result_rows'), "+
			"getSetting('result_overflow_mode'), getSetting('readonly'), getSetting('max_threads')", nil)
		if err != nil {
			t.Fatal(err)
		}
		all, err := rows.All()
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprint(all)
	}
	before := session()
	tests := []struct {
		name   string
		limit  func(*store.SQLLimits)
		over   string // a query past the limit
		under  string // one within it
		engine string // the engine's reason
		ours   string // mailtrace's
	}{
		{"execution time", func(l *store.SQLLimits) { l.MaxExecutionTime = time.Second },
			"SELECT count() FROM numbers(2e10)", "SELECT count() FROM numbers(1000)",
			"Timeout exceeded", "stopped: the query ran longer than sql.max_execution_time (1s)"},
		{"memory", func(l *store.SQLLimits) { l.MaxMemory = 64 << 20 },
			"SELECT length(groupArray(number)) FROM numbers(100000000)", "SELECT length(groupArray(number)) FROM numbers(1000)",
			"Query memory limit exceeded", "stopped: the query needed more memory than sql.max_memory (64MiB)"},
		{"result rows", func(l *store.SQLLimits) { l.MaxResultRows = 10 },
			"SELECT number FROM numbers(100)", "SELECT number FROM numbers(10)",
			"Limit for result exceeded, max rows: 10", "stopped: the answer has more rows than sql.max_result_rows (10)"},
		{"result rows on a large answer", func(l *store.SQLLimits) { l.MaxResultRows = 1000 },
			"SELECT number FROM numbers(10000000)", "SELECT count() FROM (SELECT number FROM numbers(10000000))",
			"Limit for result exceeded", "sql.max_result_rows (1000)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			limits := store.DefaultSQLLimits()
			tt.limit(&limits)
			for _, format := range []string{"tsv", "json"} {
				var out bytes.Buffer
				start := time.Now()
				err := store.QueryReadOnly(ctx, st, tt.over, format, limits, &out)
				if err == nil || !strings.Contains(err.Error(), tt.engine) || !strings.Contains(err.Error(), tt.ours) {
					t.Errorf("%s as %s: %v; want the engine to stop it (%q) and mailtrace to say %q", tt.over, format, err, tt.engine, tt.ours)
				}
				if d := time.Since(start); d > limits.MaxExecutionTime+10*time.Second {
					t.Errorf("%s took %v", tt.over, d)
				}
				if err := store.QueryReadOnly(ctx, st, tt.under, format, limits, &out); err != nil {
					t.Errorf("%s, within the limit: %v", tt.under, err)
				}
			}
			if got := session(); got != before {
				t.Errorf("the session's settings after an analyst's query: %s, before %s", got, before)
			}
			if err := st.Insert(ctx, block(t, &kv{id: uint32(len(tt.name)), s: tt.name})); err != nil {
				t.Errorf("mailtrace's own insert after an analyst's query: %v", err)
			}
		})
	}
	if err := store.QueryReadOnly(ctx, st, "SELECT 1", "tsv", store.SQLLimits{}, io.Discard); err == nil {
		t.Error("zero limits were taken")
	}
}

// TestSQLOutputEscaped checks that control characters and bytes that are
// not UTF-8 in values never reach the output raw.
func TestSQLOutputEscaped(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st store.Store) { sqlOutputEscaped(t, st) })
}

func sqlOutputEscaped(t *testing.T, st store.Store) {
	createKV(t, st)
	ctx := context.Background()
	hostile := "red\x1b[31m bell\x07 nul\x00 del\x7f c1\u009b csi bad\xff\xfe utf8 ü tab\t nl\n cr\r back\\slash"
	if err := st.Insert(ctx, block(t, &kv{id: 1, s: hostile, arr: []string{"\x1b]0;title\x07"}})); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ format, want string }{
		{"tsv", "s\tarr\n" +
			`red\x1B[31m bell\x07 nul\0 del\x7F c1\xC2\x9B csi bad\xFF\xFE utf8 ü tab\t nl\n cr\r back\\slash` + "\t" + `['\x1B]0;title\x07']` + "\n"},
		{"csv", "s,arr\n" +
			"\"red\\x1B[31m bell\\x07 nul\\x00 del\\x7F c1\\xC2\\x9B csi bad\\xFF\\xFE utf8 ü tab\t nl\n cr\\x0D back\\slash\",\"['\\x1B]0;title\\x07']\"\n"},
		{"json", `{"s":"red\u001B[31m bell\u0007 nul\u0000 del\u007f c1\u009b csi bad\ufffd\ufffd utf8 ü tab\t nl\n cr\r back\\slash","arr":["\u001B]0;title\u0007"]}` + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			var out bytes.Buffer
			if err := store.QueryReadOnly(ctx, st, "SELECT s, arr FROM kv", tt.format, store.DefaultSQLLimits(), &out); err != nil {
				t.Fatal(err)
			}
			got := out.String()
			if got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
			if !utf8.ValidString(got) {
				t.Errorf("%s output is not UTF-8: %q", tt.format, got)
			}
			for _, r := range got {
				if r < 0x20 && r != '\t' && r != '\n' || r >= 0x7f && r <= 0x9f {
					t.Errorf("%s output holds a raw %U: %q", tt.format, r, got)
				}
			}
			if tt.format == "json" {
				for _, line := range strings.Split(strings.TrimSpace(got), "\n") {
					if !json.Valid([]byte(line)) {
						t.Errorf("not JSON: %s", line)
					}
				}
			}
		})
	}
	// A column named by a hostile expression.
	var out bytes.Buffer
	if err := store.QueryReadOnly(ctx, st, "SELECT '\\x1b[2J'", "tsv", store.DefaultSQLLimits(), &out); err != nil {
		t.Fatal(err)
	}
	if strings.ContainsRune(out.String(), 0x1b) {
		t.Errorf("the header holds a raw escape: %q", out.String())
	}
}

// FuzzQueryReadOnly mutates queries, the dangerous ones of refusals and
// their variants among them, and checks what must hold of anything that
// runs: the canary file's secret never comes back, the canary host is
// never asked, and the analyzer's resolved tree of a query the check let
// through names no table or function the check refuses.
func FuzzQueryReadOnly(f *testing.F) {
	c := newCanary(f)
	st := sqlStore(f, storetest.Chdb(f), c)
	for _, tt := range allowed {
		f.Add(c.expand(tt.query))
	}
	for _, tt := range refusals {
		if len(tt.query) < 4096 {
			for _, v := range sqlVariants(c.expand(tt.query)) {
				f.Add(v)
			}
		}
	}
	limits := store.DefaultSQLLimits()
	limits.MaxExecutionTime, limits.MaxResultRows, limits.MaxMemory = 2*time.Second, 1000, 256<<20
	f.Fuzz(func(t *testing.T, q string) {
		hits := c.hits.Load()
		var out bytes.Buffer
		err := store.QueryReadOnly(context.Background(), st, q, "tsv", limits, &out)
		if strings.Contains(out.String(), c.secret) || err != nil && strings.Contains(err.Error(), c.secret) {
			t.Fatalf("%q read the canary file: %q %v", q, out.String(), err)
		}
		if c.hits.Load() != hits {
			t.Fatalf("%q reached the canary host", q)
		}
		if err == nil {
			checkReach(t, st, q)
		}
	})
}

// TestSQLReadOnlyWall: the engine's read-only mode, which the limits put
// on every analyst's query, refuses on its own the table functions that
// reach files and hosts and the file-backed default database, should the
// check ever let one through.
func TestSQLReadOnlyWall(t *testing.T) {
	eachSQLStore(t, func(t *testing.T, st store.Store, c *canary) {
		for _, q := range []string{
			"SELECT * FROM file('@FILE@', 'LineAsString')",
			"SELECT * FROM url('@URL@', 'LineAsString')",
			"SELECT * FROM `default`.`@FILE@`",
			"SELECT * FROM s3('@URL@', 'LineAsString')",
			"SELECT * FROM executable('cat @FILE@', 'LineAsString', 'x String')",
			"SELECT * FROM remote('127.0.0.1:1', system.one)",
		} {
			q = c.expand(q)
			rows, err := store.RunUnchecked(context.Background(), st, q, store.DefaultSQLLimits())
			if err == nil || !strings.Contains(err.Error(), "(READONLY)") {
				t.Errorf("%s without the check: %v %v; want the engine's read-only mode to refuse it", q, rows, err)
			}
		}
	})
}
