package main

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mailtrace/mailtrace/store/storetest"
)

// TestSQLThroughAPI: while `mailtrace api` holds the embedded store,
// `mailtrace sql` asks it, with the token from MAILTRACE_API_TOKEN; only
// an admin's token runs SQL, and a wrong one is told so.
func TestSQLThroughAPI(t *testing.T) {
	dir := t.TempDir()
	port := freePort(t)
	cfgPath := filepath.Join(dir, "mailtrace.yaml")
	cfg := "store: chdb://" + filepath.Join(dir, "store") + "\nchdb_library: " + storetest.ChdbLibrary(t) + "\n" +
		"api:\n  listen: 127.0.0.1:" + port + "\n  tokens:\n" +
		"    - {name: noc, role: admin, token: admin-token-0123456789}\n" +
		"    - {name: compliance, role: analyst, token: analyst-token-0123456789}\n" +
		"sql: {max_execution_time: 2s}\n"
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := run(t, nil, "migrate", "--config", cfgPath); r.code != 0 {
		t.Fatalf("migrate: %s", r.stderr)
	}
	api := exec.Command(binary, "api", "--config", cfgPath)
	api.Env = filteredEnv()
	if err := api.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		api.Process.Signal(syscall.SIGTERM)
		api.Wait()
	})
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if res, err := http.Get("http://127.0.0.1:" + port + "/healthz"); err == nil {
			res.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("mailtrace api never answered")
		}
	}
	tests := []struct {
		name, token, query string
		code               int
		stdout, stderr     string
	}{
		{"admin", "admin-token-0123456789", "SELECT count() FROM accept_records", 0, "count()\n0\n", "asking its API"},
		{"analyst", "analyst-token-0123456789", "SELECT count() FROM accept_records", 1, "", "compliance has role analyst; this needs admin"},
		{"wrong token", "not-a-token-0123456789", "SELECT 1", 1, "", "token not accepted: it matches none of the tokens in api.tokens (mailtrace commands send the token in MAILTRACE_API_TOKEN)"},
		{"no token", "", "SELECT 1", 1, "", "a bearer token is required"},
		{"a refused query", "admin-token-0123456789", "SELECT * FROM file('/etc/passwd', 'LineAsString')", 1, "", "refused: table function file() reads files"},
		{"a query past the time limit", "admin-token-0123456789", "SELECT count() FROM numbers(2e10)", 1, "", "stopped: the query ran longer than sql.max_execution_time (2s)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var env []string
			if tt.token != "" {
				env = []string{"MAILTRACE_API_TOKEN=" + tt.token}
			}
			r := run(t, env, "sql", "--config", cfgPath, tt.query)
			if r.code != tt.code || r.stdout != tt.stdout || !strings.Contains(r.stderr, tt.stderr) {
				t.Errorf("sql %q with %q: exit %d, stdout %q, stderr %q; want exit %d, %q, saying %q", tt.query, tt.token, r.code, r.stdout, r.stderr, tt.code, tt.stdout, tt.stderr)
			}
		})
	}
}
