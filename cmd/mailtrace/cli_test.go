package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/mailtrace/mailtrace/store/storetest"
)

// TestCommandLineForms runs every command in the forms README.md shows,
// with the flags before and after the arguments, after --, and the global
// flags before the command's name. Where a command would start serving, a
// flag value its config check refuses shows that the flag was read.
func TestCommandLineForms(t *testing.T) {
	dir := t.TempDir()
	lib := storetest.ChdbLibrary(t)
	st := filepath.Join(dir, "st")
	if r := run(t, []string{"MAILTRACE_CONFIG="}, "migrate", "--store", "chdb://"+st, "--chdb-library", lib); r.code != 0 {
		t.Fatalf("migrate: exit %d, %s", r.code, r.stderr)
	}
	cfg := filepath.Join(dir, "mailtrace.yaml")
	os.WriteFile(cfg, []byte("store: chdb://"+st+"\nchdb_library: "+lib+"\n"), 0o600)
	absent := filepath.Join(dir, "absent")
	noStore := filepath.Join(dir, "nostore.yaml")
	os.WriteFile(noStore, []byte("store: chdb://"+absent+"\nchdb_library: "+lib+"\n"), 0o600)
	report := filepath.Join(dir, "bounce.eml")
	os.WriteFile(report, []byte(savedBounce), 0o600)
	logFile := filepath.Join(dir, "mail.log")
	os.WriteFile(logFile, []byte("Nov 25 10:00:00 mx1 postfix/qmgr[44]: A1: removed\n"), 0o600)
	missing := "no mailtrace store at chdb://" + absent
	vectors := "../../evidence/testdata/bundles/"

	tests := []struct {
		name           string
		args           []string
		code           int
		stdout, stderr string
	}{
		{name: "trace ID --json", args: []string{"trace", "<m@x>", "--json", "--config", noStore}, code: 1, stderr: missing},
		{name: "trace --json ID", args: []string{"trace", "--json", "<m@x>", "--config", noStore}, code: 1, stderr: missing},
		{name: "global --config before trace", args: []string{"--config", noStore, "trace", "<m@x>", "--json"}, code: 1, stderr: missing},
		{name: "trace recipient in a time range", args: []string{"trace", "a@example.com", "--from", "2026-01-01", "--to", "2026-01-02", "--config", cfg},
			code: 1, stderr: `no message is known by "a@example.com"`},
		{name: "trace two IDs", args: []string{"trace", "a", "b", "--config", cfg}, code: 2, stderr: "trace takes one ID"},
		{name: "sql QUERY --format csv", args: []string{"sql", "SELECT 1 AS one", "--format", "csv", "--config", cfg}, stdout: "one\n1\n"},
		{name: "sql --format json QUERY", args: []string{"sql", "--format", "json", "SELECT 1 AS one", "--config", cfg}, stdout: "{\"one\":1}\n"},
		{name: "global --store and --chdb-library before sql", args: []string{"--store", "chdb://" + st, "--chdb-library", lib, "sql", "SELECT 2 AS two"}, stdout: "two\n2\n"},
		{name: "sql flag missing its value", args: []string{"sql", "SELECT 1", "--format"}, code: 2, stderr: "flag needs an argument: -format"},
		{name: "blocks --json", args: []string{"blocks", "--json", "--config", cfg}},
		{name: "blocks --all in a range", args: []string{"blocks", "--all", "--from", "2026-01-01", "--to", "2026-02-01", "--config", cfg}, stdout: "no block incidents opened in the range"},
		{name: "global --config before blocks", args: []string{"--config", noStore, "blocks"}, code: 1, stderr: missing},
		{name: "classify REPLY --json", args: []string{"classify", "550 5.1.1 no such user", "--json"}, stdout: `"category": "bad-mailbox"`},
		{name: "classify --mx HOST REPLY --json", args: []string{"classify", "--mx", "mx4.hotmail.com", "550 5.7.1 messages from [192.0.2.1] weren't sent. (S3150)", "--json"},
			stdout: `"provider": "microsoft"`},
		{name: "classify -- REPLY starting with a dash", args: []string{"classify", "--json", "--", "-ERR 5.1.1 no such user"}, stdout: `"pattern": "no such user"`},
		{name: "dsn parse FILE --json", args: []string{"dsn", "parse", report, "--json", "--config", cfg}, stdout: `"kind":"dsn"`},
		{name: "dsn --json parse FILE", args: []string{"dsn", "--json", "parse", report, "--config", cfg}, stdout: `"kind":"dsn"`},
		{name: "global --config before dsn", args: []string{"--config", cfg, "dsn", "parse", report}, stdout: "gone@example.net"},
		{name: "dsn ingest FILE --config", args: []string{"dsn", "ingest", report, "--config", cfg}, stdout: "matched by none"},
		{name: "migrate --status --config", args: []string{"migrate", "--status", "--config", cfg}, stdout: "0001 tables applied"},
		{name: "global --config before migrate --status", args: []string{"--config", noStore, "migrate", "--status"}, code: 1, stderr: missing},
		{name: "migrate --print --cluster", args: []string{"migrate", "--print", "--cluster", "mail"}, stdout: "ReplicatedReplacingMergeTree"},
		{name: "doctor --print-postfix after the global --config", args: []string{"--config", cfg, "doctor", "--print-postfix"}, stdout: "### main.cf"},
		{name: "doctor --postfix-config DIR", args: []string{"doctor", "--skip-store", "--postfix-config", filepath.Join(dir, "nopostfix")}, code: 1, stderr: "nopostfix"},
		{name: "import FILE --timezone", args: []string{"import", logFile, "--timezone", "Mars/Olympus", "--config", cfg}, code: 1, stderr: "Mars/Olympus"},
		{name: "import --log-level FILE", args: []string{"import", "--log-level", "loud", logFile}, code: 1, stderr: `log_level "loud"`},
		{name: "run --listen", args: []string{"run", "--listen", "8894"}, code: 1, stderr: "use inet:127.0.0.1:8894"},
		{name: "global --log-level before run", args: []string{"--log-level", "loud", "run"}, code: 1, stderr: `log_level "loud"`},
		{name: "milter --listen", args: []string{"milter", "--listen", "8894"}, code: 1, stderr: "use inet:127.0.0.1:8894"},
		{name: "collect --log FILE --journal", args: []string{"collect", "--log", logFile, "--journal", "--log-level", "loud"}, code: 1, stderr: `log_level "loud"`},
		{name: "api --listen", args: []string{"api", "--listen", "127.0.0.1:8025", "--log-level", "loud"}, code: 1, stderr: `log_level "loud"`},
		{name: "evidence export ID --out FILE", args: []string{"evidence", "export", "4XAA1", "--out", filepath.Join(dir, "b.zip"), "--config", noStore}, code: 1, stderr: missing},
		{name: "evidence export --lang en ID", args: []string{"evidence", "export", "--lang", "en", "4XAA1", "--config", noStore}, code: 1, stderr: missing},
		{name: "evidence verify BUNDLE --key --tsa-roots", args: []string{"evidence", "verify", vectors + "valid.zip", "--key", vectors + "log.pub", "--tsa-roots", vectors + "tsa-root.pem"},
			stdout: "ok    time stamp: 1 RFC 3161 tokens, each over its checkpoint, signed by a TSA the given roots vouch for"},
		{name: "evidence verify --key BUNDLE", args: []string{"evidence", "verify", "--key", vectors + "log.pub", vectors + "token-other-checkpoint.zip"}, code: 1,
			stdout: "FAIL  time stamp: logs/1/checkpoint.tsr"},
		{name: "version", args: []string{"version"}, stdout: "mailtrace dev"},
		{name: "global --config before version", args: []string{"--config", cfg, "version"}, stdout: "mailtrace dev"},
		{name: "global --config before --version", args: []string{"--config", cfg, "--version"}, stdout: "mailtrace dev"},
		{name: "unknown flag after the argument", args: []string{"trace", "ID", "--bogus"}, code: 2, stderr: "flag provided but not defined: -bogus"},
		{name: "unknown flag shows the usage", args: []string{"sql", "--bogus", "SELECT 1"}, code: 2, stderr: "Usage: mailtrace sql"},
		{name: "a command's flag before the command", args: []string{"--json", "trace", "ID"}, code: 2, stderr: "flag --json before the command"},
		{name: "global flags without a command", args: []string{"--config", cfg}, code: 2, stderr: "no command after --config"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, []string{"MAILTRACE_CONFIG="}, tt.args...)
			if r.code != tt.code || !strings.Contains(r.stdout, tt.stdout) || !strings.Contains(r.stderr, tt.stderr) {
				t.Errorf("mailtrace %q: exit %d, stdout %q, stderr %q; want exit %d, stdout with %q, stderr with %q",
					tt.args, r.code, trim(r.stdout), trim(r.stderr), tt.code, tt.stdout, tt.stderr)
			}
		})
	}
	if _, err := os.Stat(absent); err == nil {
		t.Errorf("a read-only command created %s", absent)
	}
}

// Every command answers -h, before or after an argument, with its usage.
func TestEveryCommandHelp(t *testing.T) {
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		for _, args := range [][]string{{name, "-h"}, {name, "--help"}, {name, "ARG", "-h"}, {"--config", "/x.yaml", name, "-h"}} {
			t.Run(strings.Join(args, " "), func(t *testing.T) {
				r := run(t, nil, args...)
				if r.code != 0 || !strings.Contains(r.stderr, "-config") || !strings.Contains(r.stderr, "-chdb-library") {
					t.Errorf("mailtrace %q: exit %d, stderr %q; want exit 0 and the flags (global ones too)", args, r.code, trim(r.stderr))
				}
				if !strings.Contains(r.stderr, fmt.Sprintf("Usage: mailtrace %s", name)) {
					t.Errorf("mailtrace %q: stderr %q lacks the usage line", args, trim(r.stderr))
				}
			})
		}
	}
}

// Read-only commands never create a store: not its directory, not its
// tables; they say where they looked and what to do.
func TestReadOnlyCommandsCreateNothing(t *testing.T) {
	dir := t.TempDir()
	lib := storetest.ChdbLibrary(t)
	empty := filepath.Join(dir, "empty")
	os.Mkdir(empty, 0o750)
	postfix := filepath.Join(dir, "postfix") // a Postfix without mailtrace: the doctor goes on to the store
	os.Mkdir(postfix, 0o755)
	os.WriteFile(filepath.Join(postfix, "main.cf"), nil, 0o644)
	os.WriteFile(filepath.Join(postfix, "master.cf"), nil, 0o644)
	for _, where := range []struct {
		name, path, why string
	}{
		{"missing directory", filepath.Join(dir, "missing", "store"), "does not exist"},
		{"empty directory", empty, "holds no mailtrace database"},
	} {
		for _, args := range [][]string{
			{"trace", "<m@example.com>"},
			{"sql", "SELECT 1"},
			{"blocks"},
			{"evidence", "export", "4XAA1"},
			{"migrate", "--status"},
			{"doctor", "--postfix-config", postfix},
			{"api", "--listen", "127.0.0.1:0"},
		} {
			t.Run(where.name+"/"+args[0], func(t *testing.T) {
				r := run(t, []string{"MAILTRACE_CONFIG=", "MAILTRACE_CHDB_LIBRARY=" + lib}, append(args, "--store", "chdb://"+where.path)...)
				want := fmt.Sprintf("no mailtrace store at chdb://%s (%s %s); check --store/--config, or run `mailtrace migrate`", where.path, where.path, where.why)
				if r.code == 0 || !strings.Contains(r.stdout+r.stderr, want) {
					t.Errorf("mailtrace %q: exit %d, stdout %q, stderr %q; want a failure saying %q", args, r.code, trim(r.stdout), trim(r.stderr), want)
				}
				if _, err := os.Stat(filepath.Join(dir, "missing")); err == nil {
					t.Errorf("mailtrace %q created %s", args, filepath.Join(dir, "missing"))
				}
				if entries, _ := os.ReadDir(empty); len(entries) > 0 {
					t.Errorf("mailtrace %q wrote into %s: %d entries", args, empty, len(entries))
				}
			})
		}
	}
	// The default store, without a config: nothing is made under
	// /var/lib/mailtrace (and the library is not needed to say so).
	if _, err := os.Stat("/var/lib/mailtrace"); err == nil {
		t.Log("/var/lib/mailtrace exists on this machine: the default store's case is not checked")
		return
	}
	r := run(t, []string{"MAILTRACE_CONFIG="}, "trace", "<m@example.com>")
	if r.code != 1 || !strings.Contains(r.stderr, "no mailtrace store at chdb:///var/lib/mailtrace/store (/var/lib/mailtrace/store does not exist)") {
		t.Errorf("trace on the default store: exit %d, stderr %q", r.code, r.stderr)
	}
	if _, err := os.Stat("/var/lib/mailtrace"); err == nil {
		t.Error("trace created /var/lib/mailtrace")
		os.RemoveAll("/var/lib/mailtrace")
	}
}

// A libchdb.so named by the flag, the config or the environment must be
// there: the search does not go on to other places, which would hide the
// mistake. That holds too when the command then asks a running sidecar's
// API; a server store does not use the library.
func TestChdbLibraryNamed(t *testing.T) {
	dir := t.TempDir()
	lib := storetest.ChdbLibrary(t)
	st := filepath.Join(dir, "st")
	if r := run(t, []string{"MAILTRACE_CONFIG="}, "migrate", "--store", "chdb://"+st, "--chdb-library", lib); r.code != 0 {
		t.Fatalf("migrate: exit %d, %s", r.code, r.stderr)
	}
	cfg := filepath.Join(dir, "mailtrace.yaml")
	os.WriteFile(cfg, []byte("store: chdb://"+st+"\nchdb_library: /nope/libchdb.so\n"), 0o600)
	notLib := filepath.Join(dir, "libchdb.so")
	os.WriteFile(notLib, []byte("not a shared library\n"), 0o600)
	missing := "/nope/libchdb.so (chdb_library, --chdb-library or MAILTRACE_CHDB_LIBRARY): no such file or directory; point it at libchdb.so"
	tests := []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{name: "flag", args: []string{"sql", "SELECT 1", "--store", "chdb://" + st, "--chdb-library", "/nope/libchdb.so"}, want: missing},
		{name: "global flag", args: []string{"--chdb-library", "/nope/libchdb.so", "migrate", "--store", "chdb://" + st}, want: missing},
		{name: "config", args: []string{"blocks", "--config", cfg}, want: missing},
		{name: "environment", env: []string{"MAILTRACE_CHDB_LIBRARY=/nope/libchdb.so"}, args: []string{"trace", "x", "--store", "chdb://" + st}, want: missing},
		{name: "a directory", args: []string{"sql", "SELECT 1", "--store", "chdb://" + st, "--chdb-library", dir}, want: "it is a directory"},
		{name: "not a library", args: []string{"sql", "SELECT 1", "--store", "chdb://" + st, "--chdb-library", notLib}, want: "is not a linux-x64 libchdb.so of chDB"},
		{name: "asking the API", args: []string{"trace", "x", "--store", "chdb://" + st, "--api", "http://127.0.0.1:1", "--chdb-library", "/nope/libchdb.so"}, want: missing},
		{name: "under a home directory", args: []string{"sql", "SELECT 1", "--store", "chdb://" + st, "--chdb-library", "/home/nobody/libchdb.so"},
			want: "does not see /root or /home: install the library as /usr/local/lib/mailtrace/libchdb.so"},
		{name: "a server store does not use it", args: []string{"sql", "SELECT 1", "--store", "clickhouse://127.0.0.1:1/db?dial_timeout=1s", "--chdb-library", "/nope/libchdb.so"},
			want: "does not answer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, append([]string{"MAILTRACE_CONFIG="}, tt.env...), tt.args...)
			if r.code != 1 || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("mailtrace %q: exit %d, stderr %q; want exit 1 saying %q", tt.args, r.code, trim(r.stderr), tt.want)
			}
		})
	}
	// A command that does not use the store does not need the library.
	for _, args := range [][]string{{"classify", "550 5.1.1 no such user"}, {"migrate", "--print"}, {"doctor", "--print-postfix"}} {
		r := run(t, []string{"MAILTRACE_CONFIG="}, append(args, "--store", "chdb://"+st, "--chdb-library", "/nope/libchdb.so")...)
		if r.code != 0 {
			t.Errorf("mailtrace %q with a missing library: exit %d, stderr %q", args, r.code, trim(r.stderr))
		}
	}
}
