package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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
		wantErr string
	}{
		{name: "file named by MAILTRACE_CONFIG is absent", path: "", env: map[string]string{"MAILTRACE_CONFIG": filepath.Join(dir, "absent-default.yaml")},
			wantErr: "no such file"},
		{name: "empty file", path: write("empty.yaml", ""), want: Default()},
		{name: "file", path: write("f.yaml", "store: clickhouse://u:p@db:9000/mail\nretention_days: 30\nlog_level: debug\n"),
			want: Config{Store: "clickhouse://u:p@db:9000/mail", RetentionDays: 30, LogLevel: "debug"}},
		{name: "env over file", path: write("g.yaml", "store: chdb:///a\n"),
			env:  map[string]string{"MAILTRACE_STORE": "chdb:///b", "MAILTRACE_RETENTION_DAYS": "90", "MAILTRACE_CHDB_LIBRARY": "/x/libchdb.so"},
			want: Config{Store: "chdb:///b", RetentionDays: 90, LogLevel: "info", ChdbLibrary: "/x/libchdb.so"}},
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
			if err != nil || got != tt.want {
				t.Fatalf("Load = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

// clearEnv unsets mailtrace's variables for the test (make test sets some).
func clearEnv(t *testing.T) {
	for _, k := range []string{"MAILTRACE_CONFIG", "MAILTRACE_STORE", "MAILTRACE_RETENTION_DAYS", "MAILTRACE_CHDB_LIBRARY", "MAILTRACE_LOG_LEVEL"} {
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
	if err != nil || got != Default() {
		t.Fatalf("Load without any file = %+v, %v; want the defaults", got, err)
	}
}
