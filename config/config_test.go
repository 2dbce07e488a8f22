package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name    string
		path    string
		env     map[string]string
		want    Config
		check   func(Config) bool
		wantErr string
	}{
		{name: "file named by MAILTRACE_CONFIG is absent", path: "", env: map[string]string{"MAILTRACE_CONFIG": filepath.Join(dir, "absent-default.yaml")},
			wantErr: "no such file"},
		{name: "empty file", path: write("empty.yaml", ""), want: Default()},
		{name: "file", path: write("f.yaml", "store: clickhouse://u:p@db:9000/mail\nretention_days: 30\nlog_level: debug\n"),
			want: withStore(Default(), "clickhouse://u:p@db:9000/mail", 30, "debug", "")},
		{name: "env over file", path: write("g.yaml", "store: chdb:///a\n"),
			env:  map[string]string{"MAILTRACE_STORE": "chdb:///b", "MAILTRACE_RETENTION_DAYS": "90", "MAILTRACE_CHDB_LIBRARY": "/x/libchdb.so"},
			want: withStore(Default(), "chdb:///b", 90, "info", "/x/libchdb.so")},
		{name: "collector", path: write("m.yaml", "collector:\n  logs: [/var/log/maillog]\n  timezone: UTC\n  grace: 1m\n"),
			check: func(c Config) bool {
				return c.Collector.Logs[0] == "/var/log/maillog" && c.Collector.Grace == time.Minute
			}},
		{name: "pools and milter classes", path: write("p.yaml", "pools:\n  - {name: legal, source_ip: 203.0.113.10}\n  - {name: bulk, syslog_name: pf-bulk}\n"+
			"milter:\n  listen: unix:/run/mailtrace/milter.sock\n  default_class: marketing\n  classes: [{name: legal, pool: legal}, {name: marketing, pool: bulk}]\n"+
			"  rules: [{class: legal, sender: ['@court.example']}]\n"),
			check: func(c Config) bool {
				return len(c.Pools) == 2 && c.Pools[0].SyslogName == "postfix-legal" && c.Pools[1].SyslogName == "pf-bulk" &&
					c.Milter.Listen == "unix:/run/mailtrace/milter.sock" && len(c.Milter.Classes) == 2 && c.Milter.OnError == "accept"
			}},
		{name: "class pool not in pools", path: write("q.yaml", "pools: [{name: legal}]\nmilter: {default_class: t, classes: [{name: t, pool: tx}]}\n"),
			wantErr: "not in pools"},
		{name: "api beyond loopback without tokens", path: write("t.yaml", "api: {listen: 0.0.0.0:8025}\n"), wantErr: "api.tokens"},
		{name: "api with tokens", path: write("u.yaml", "api:\n  listen: 0.0.0.0:8025\n  tokens: [{name: alice, role: analyst, sha256: "+strings.Repeat("ab", 32)+"}]\n"),
			check: func(c Config) bool { return len(c.API.Tokens) == 1 && c.API.Tokens[0].Name == "alice" }},
		{name: "api anonymous role", path: write("v.yaml", "api: {anonymous_role: admin}\n"),
			check: func(c Config) bool { return c.API.AnonymousRole == "admin" }},
		{name: "api unknown anonymous role", path: write("w.yaml", "api: {anonymous_role: root}\n"), wantErr: "api.anonymous_role"},
		{name: "sql limits", path: write("x.yaml", "sql:\n  max_execution_time: 2m\n  max_memory: 512MiB\n  max_result_rows: 5000\n  max_threads: 3\n"),
			check: func(c Config) bool {
				return c.SQL.MaxExecutionTime == 2*time.Minute && c.SQL.MaxMemory == 512<<20 && c.SQL.MaxResultRows == 5000 && c.SQL.MaxThreads == 3
			}},
		{name: "sql memory in bytes", path: write("y.yaml", "sql: {max_memory: 1073741824}\n"),
			check: func(c Config) bool { return c.SQL.MaxMemory == 1<<30 && c.SQL.MaxExecutionTime == 30*time.Second }},
		{name: "sql memory unit unknown", path: write("z.yaml", "sql: {max_memory: 2 gigs}\n"), wantErr: "KiB, MiB, GiB"},
		{name: "sql limit too small", path: write("za.yaml", "sql: {max_execution_time: 10ms}\n"), wantErr: "sql.max_execution_time"},
		{name: "bad milter listen", path: write("r.yaml", "milter: {listen: 8894}\n"), wantErr: "inet:127.0.0.1:8894"},
		{name: "env milter listen", path: write("s.yaml", ""), env: map[string]string{"MAILTRACE_MILTER_LISTEN": "inet:127.0.0.1:9999"},
			check: func(c Config) bool { return c.Milter.Listen == "inet:127.0.0.1:9999" }},
		{name: "bad timezone", path: write("n.yaml", "collector: {timezone: Mars/Olympus}\n"), wantErr: "collector.timezone"},
		{name: "pool without name", path: write("o.yaml", "pools: [{source_ip: 203.0.113.10}]\n"), wantErr: "no name"},
		{name: "unknown key", path: write("h.yaml", "stroe: x\n"), wantErr: "field stroe not found"},
		{name: "bad yaml", path: write("i.yaml", "store: [\n"), wantErr: "config"},
		{name: "bad retention", path: write("j.yaml", "retention_days: 0\n"), wantErr: "positive number of days"},
		{name: "bad env retention", path: write("k.yaml", ""), env: map[string]string{"MAILTRACE_RETENTION_DAYS": "5y"}, wantErr: "not a number"},
		{name: "bad level", path: write("l.yaml", "log_level: loud\n"), wantErr: "log_level"},
		{name: "missing named file", path: filepath.Join(dir, "nope.yaml"), wantErr: "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			got, err := Load(tt.path)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.check != nil {
				if !tt.check(got) {
					t.Fatalf("Load = %+v", got)
				}
				return
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Load = %+v; want %+v", got, tt.want)
			}
		})
	}
}

func withStore(c Config, store string, days int, level, lib string) Config {
	c.Store, c.RetentionDays, c.LogLevel, c.ChdbLibrary = store, days, level, lib
	return c
}

// clearEnv unsets mailtrace's variables for the test (make test sets some).
func clearEnv(t *testing.T) {
	for _, k := range []string{"MAILTRACE_CONFIG", "MAILTRACE_STORE", "MAILTRACE_RETENTION_DAYS", "MAILTRACE_CHDB_LIBRARY", "MAILTRACE_LOG_LEVEL", "MAILTRACE_METRICS_LISTEN", "MAILTRACE_MILTER_LISTEN", "MAILTRACE_API_LISTEN", "MAILTRACE_BOUNCES_LISTEN"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
}

func TestDefaultPathMayBeAbsent(t *testing.T) {
	clearEnv(t)
	if _, err := os.Stat(DefaultPath); err == nil {
		t.Skip(DefaultPath + " exists on this machine")
	}
	got, err := Load("")
	if err != nil || !reflect.DeepEqual(got, Default()) {
		t.Fatalf("Load without any file = %+v, %v; want the defaults", got, err)
	}
}

// The example shipped in deploy/ must load as it is, apart from its key file.
func TestExampleConfigLoads(t *testing.T) {
	clearEnv(t)
	data, err := os.ReadFile("../deploy/mailtrace.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	key := filepath.Join(dir, "verp-1.key")
	os.WriteFile(key, []byte("c2VjcmV0IHNlY3JldCBzZWNyZXQgc2VjcmV0Cg==\n"), 0o600)
	body := strings.ReplaceAll(string(data), "/etc/mailtrace/verp-1.key", key)
	path := filepath.Join(dir, "mailtrace.yaml")
	os.WriteFile(path, []byte(body), 0o600)
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Pools) != 3 || len(c.Milter.Classes) != 4 || len(c.Milter.Rules) != 4 || c.Milter.VERP.Domain == "" {
		t.Fatalf("example config read as %+v", c)
	}
}
