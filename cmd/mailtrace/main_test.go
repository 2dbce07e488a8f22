package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailtrace/mailtrace/store/storetest"
)

// binary is mailtrace built without the set-up's library path, as a
// package built elsewhere would be.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "mailtrace-bin")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "mailtrace")
	out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
	if err != nil {
		os.Stderr.Write(out)
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	stdout, stderr string
	code           int
}

func run(t *testing.T, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(filteredEnv(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{stdout.String(), stderr.String(), code}
}

// filteredEnv is the test's environment without mailtrace's own variables.
func filteredEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "MAILTRACE_") {
			out = append(out, kv)
		}
	}
	return append(out, "MAILTRACE_CONFIG=/nonexistent-on-purpose/mailtrace.yaml")
}

func TestCommandsWithoutStore(t *testing.T) {
	tests := []struct {
		args      []string
		code      int
		stdout    string
		stderr    string
		notStdout string
		notStderr string
	}{
		{args: []string{"version"}, stdout: "mailtrace dev"},
		{args: []string{"--version"}, stdout: "mailtrace dev"},
		{args: []string{"help"}, stdout: "migrate"},
		{args: []string{"migrate", "-h"}, stderr: "--apply-retention"},
		{args: []string{"sql", "--help"}, stderr: "--format"},
		{args: []string{"frobnicate"}, code: 2, stderr: `unknown command "frobnicate"`},
		{args: []string{"classify", "550 no"}, stdout: "category:   bad-mailbox"},
		{args: []string{"dsn"}, code: 2, stderr: "dsn needs parse or ingest"},
		{args: []string{"dsn", "parse"}, code: 2, stderr: "name the report files"},
		{args: []string{"trace"}, code: 2, stderr: "trace takes one ID"},
		{args: []string{"trace", "x", "--from", "yesterday"}, code: 2, stderr: "not an RFC 3339 time"},
		{args: []string{"milter", "--listen", "8894"}, code: 1, stderr: "use inet:127.0.0.1:8894"},
		{args: []string{"run", "extra"}, code: 2, stderr: "run takes no arguments"},
		{args: []string{"sql"}, code: 2, stderr: "sql takes one query"},
		{args: []string{"migrate", "--bogus"}, code: 2, stderr: "flag provided but not defined"},
		{args: []string{"migrate", "--print", "--cluster", "mail"}, stdout: "ReplicatedReplacingMergeTree"},
		{args: []string{"migrate", "--print", "--store", "clickhouse://h/proddb"}, stdout: "`proddb`.`delivery_events`"},
		{args: []string{"migrate", "--print", "--retention-days", "30"}, stdout: "INTERVAL 30 DAY"},
	}
	for _, tt := range tests {
		// The config file named in the environment does not exist: commands
		// that do not need it must not care.
		env := []string{"MAILTRACE_CONFIG="}
		r := run(t, env, tt.args...)
		if r.code != tt.code || !strings.Contains(r.stdout, tt.stdout) || !strings.Contains(r.stderr, tt.stderr) {
			t.Errorf("mailtrace %s: exit %d, stdout %q, stderr %q; want exit %d, stdout with %q, stderr with %q",
				strings.Join(tt.args, " "), r.code, trim(r.stdout), trim(r.stderr), tt.code, tt.stdout, tt.stderr)
		}
	}
}

func trim(s string) string {
	if len(s) > 300 {
		return s[:300] + "..."
	}
	return s
}

// TestRunsWithoutLibchdb checks that a machine without libchdb gets one
// clear error for the embedded store, and can still use a server.
func TestRunsWithoutLibchdb(t *testing.T) {
	r := run(t, []string{"MAILTRACE_CONFIG="}, "migrate", "--store", "chdb://"+t.TempDir())
	if r.code != 1 || !strings.Contains(r.stderr, "needs libchdb.so") || !strings.Contains(r.stderr, "make setup") {
		t.Errorf("embedded store without libchdb: exit %d, stderr %q", r.code, r.stderr)
	}
	r = run(t, []string{"MAILTRACE_CONFIG="}, "migrate", "--store", "clickhouse://u:secret@127.0.0.1:1/db?dial_timeout=2s")
	if r.code != 1 || !strings.Contains(r.stderr, "does not answer") || strings.Contains(r.stderr, "secret") || strings.Contains(r.stderr, "panic") {
		t.Errorf("server store without libchdb: exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestMigrateAndSQL(t *testing.T) {
	env := []string{"MAILTRACE_CONFIG=", "MAILTRACE_CHDB_LIBRARY=" + storetest.ChdbLibrary(t),
		"MAILTRACE_STORE=chdb://" + t.TempDir()}
	r := run(t, env, "migrate")
	if r.code != 0 || !strings.Contains(r.stdout, "applied 0001 tables") {
		t.Fatalf("migrate: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if r = run(t, env, "migrate"); r.code != 0 || !strings.Contains(r.stdout, "up to date") {
		t.Fatalf("second migrate: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if r = run(t, env, "migrate", "--status"); r.code != 0 || !strings.Contains(r.stdout, "0001 tables applied") {
		t.Fatalf("migrate --status: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	tables := "SELECT name FROM system.tables WHERE database = currentDatabase() AND name = 'delivery_events'"
	if r = run(t, env, "sql", tables); r.code != 0 || r.stdout != "name\ndelivery_events\n" {
		t.Fatalf("sql: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if r = run(t, env, "sql", "--format", "json", "SELECT 1 AS one, 'it''s' AS s"); r.stdout != "{\"one\":1,\"s\":\"it's\"}\n" {
		t.Errorf("sql --format json: %q, stderr %q", r.stdout, r.stderr)
	}
	for _, write := range []string{
		"DROP TABLE delivery_events",
		"INSERT INTO delivery_events (recipient) VALUES ('x')",
		"SELECT 1; DROP TABLE delivery_events",
		"ALTER TABLE delivery_events DELETE WHERE 1",
		"TRUNCATE TABLE delivery_events",
	} {
		r = run(t, env, "sql", write)
		if r.code != 1 || !strings.Contains(r.stderr, "refused") {
			t.Errorf("sql %q: exit %d, stderr %q; want it refused", write, r.code, r.stderr)
		}
	}
	if r = run(t, env, "sql", tables); r.stdout != "name\ndelivery_events\n" {
		t.Errorf("delivery_events gone after refused writes: %q %q", r.stdout, r.stderr)
	}
	// What the store holds must not leave it, and a hostile value must not
	// reach the terminal raw.
	key := filepath.Join(t.TempDir(), "verp-1.key")
	os.WriteFile(key, []byte("the-verp-signing-key\n"), 0o600)
	for q, want := range map[string]string{
		"SELECT * FROM file('" + key + "', 'LineAsString')":                  "refused: table function file() reads files; mailtrace sql reads mailtrace's tables",
		"SELECT file('" + key + "')":                                         "refused: function file() reads files on the server",
		"SELECT * FROM url('http://127.0.0.1:9465/metrics', 'LineAsString')": "refused: table function url() reaches other hosts",
		"SELECT * FROM system.processes":                                     "refused: system.processes is not open to analysts",
	} {
		r = run(t, env, "sql", q)
		if r.code != 1 || !strings.Contains(r.stderr, want) || strings.Contains(r.stdout+r.stderr, "the-verp-signing-key") {
			t.Errorf("sql %q: exit %d, stdout %q, stderr %q; want it refused saying %q", q, r.code, r.stdout, r.stderr, want)
		}
	}
	if r = run(t, env, "sql", "SELECT concat('red', char(27), '[31m', char(7)) AS s"); r.code != 0 || r.stdout != "s\nred\\x1B[31m\\x07\n" {
		t.Errorf("sql with control characters in a value: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

func TestConfigFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	os.WriteFile(good, []byte("store: chdb://"+filepath.Join(dir, "st")+"\nchdb_library: "+storetest.ChdbLibrary(t)+"\nretention_days: 400\n"), 0o600)
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("stor: typo\n"), 0o600)
	r := run(t, nil, "migrate", "--config", good)
	if r.code != 0 {
		t.Fatalf("migrate with a config file: exit %d, stderr %q", r.code, r.stderr)
	}
	r = run(t, nil, "sql", "--config", good, "SELECT create_table_query FROM system.tables WHERE database = currentDatabase() AND name = 'bounces'")
	if !strings.Contains(r.stdout, "toIntervalDay(400)") {
		t.Errorf("retention_days from the config file not applied: %q %q", r.stdout, r.stderr)
	}
	r = run(t, nil, "migrate", "--config", bad)
	if r.code != 1 || !strings.Contains(r.stderr, "field stor not found") {
		t.Errorf("config with an unknown key: exit %d, stderr %q", r.code, r.stderr)
	}
	r = run(t, nil, "migrate", "--config", filepath.Join(dir, "missing.yaml"))
	if r.code != 1 || !strings.Contains(r.stderr, "no such file") {
		t.Errorf("missing named config: exit %d, stderr %q", r.code, r.stderr)
	}
}
