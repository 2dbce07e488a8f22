package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mailtrace/mailtrace/config"
	"github.com/mailtrace/mailtrace/evidence"
	"github.com/mailtrace/mailtrace/postfixconf"
	"github.com/mailtrace/mailtrace/store"
	"github.com/mailtrace/mailtrace/store/storetest"
)

// withStore opens the embedded store at dir in this process, runs f, and
// closes it so that the command under test can own it.
func withStore(t *testing.T, dir string, f func(st store.Store)) {
	t.Helper()
	st, err := store.Open(context.Background(), "chdb://"+dir, store.Options{ChdbLibrary: storetest.ChdbLibrary(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	f(st)
}

func TestEvidenceCommands(t *testing.T) {
	ctx := context.Background()
	dir, storeDir := t.TempDir(), t.TempDir()
	keyFile := filepath.Join(dir, "evidence.key")
	cfgFile := filepath.Join(dir, "mailtrace.yaml")
	os.WriteFile(cfgFile, []byte(fmt.Sprintf("evidence:\n  key_file: %s\n  origin_prefix: mailtrace.test\n", keyFile)), 0o600)
	env := []string{"MAILTRACE_CONFIG=" + cfgFile, "MAILTRACE_CHDB_LIBRARY=" + storetest.ChdbLibrary(t), "MAILTRACE_STORE=chdb://" + storeDir}

	r := run(t, env, "evidence", "keygen")
	if r.code != 0 || !strings.Contains(r.stdout, "public key: mailtrace.test+") {
		t.Fatalf("keygen: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if fi, err := os.Stat(keyFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi, err)
	}
	if r = run(t, env, "evidence", "keygen"); r.code != 1 || !strings.Contains(r.stderr, keyFile+" exists and is kept") || !strings.Contains(r.stderr, "evidence.verifier_keys") {
		t.Errorf("keygen over an existing key: exit %d, stderr %q", r.code, r.stderr)
	}
	if r = run(t, env, "evidence"); r.code != 2 || !strings.Contains(r.stderr, "evidence needs keygen, verify, status or export") {
		t.Errorf("evidence without a verb: exit %d, stderr %q", r.code, r.stderr)
	}
	if r = run(t, env, "migrate"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	if r = run(t, env, "evidence", "verify"); r.code != 0 || !strings.Contains(r.stdout, "no evidence log") {
		t.Errorf("verify of an empty store: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}

	key, err := evidence.LoadKey(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	withStore(t, storeDir, func(st store.Store) {
		s := evidence.NewStoreStorage(st, store.WriterOptions{})
		l, err := evidence.Open(ctx, evidence.Options{Origin: "mailtrace.test/mx1", Host: "mx1", Storage: s, Key: key})
		if err != nil {
			t.Fatal(err)
		}
		for i := range 5 {
			l.Append(ctx, evidence.Fact{ID: fmt.Sprint("line:", i), Event: evidence.EventRelayToNonERDS, Time: time.Now(),
				Message: fmt.Sprint("m", i), Final: true, Facts: map[string]any{"reply": "250 2.0.0 OK"}})
		}
		if _, _, err := l.Checkpoint(ctx); err != nil {
			t.Fatal(err)
		}
		s.Close(ctx)
	})
	r = run(t, env, "evidence", "verify")
	if r.code != 0 || !strings.Contains(r.stdout, "ok    records: 11 records") || !strings.Contains(r.stdout, "ok    checkpoints: 1 checkpoints") ||
		!strings.Contains(r.stdout, "all 1 logs verified") {
		t.Errorf("verify: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	r = run(t, env, "evidence", "status")
	if r.code != 0 || !strings.Contains(r.stdout, "log mailtrace.test/mx1: 11 records") || !strings.Contains(r.stdout, "not anchored: no TSA configured") {
		t.Errorf("status: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}

	// While another process holds the embedded store, the commands that
	// cannot ask its API say how to run them.
	logFile := filepath.Join(dir, "mail.log")
	os.WriteFile(logFile, []byte("Nov  5 10:00:00 mx1 postfix/qmgr[1]: 4F1A2B3C: removed\n"), 0o600)
	withStore(t, storeDir, func(store.Store) {
		for _, tt := range []struct {
			name string
			args []string
			want string
		}{
			{"evidence verify", []string{"evidence", "verify"}, "mailtrace evidence verify"},
			{"evidence status", []string{"evidence", "status"}, "mailtrace evidence status"},
			{"import", []string{"import", logFile}, "mailtrace import FILE..."},
			{"migrate", []string{"migrate"}, "mailtrace migrate;"},
			{"migrate --status", []string{"migrate", "--status"}, "mailtrace migrate --status;"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				r := run(t, env, tt.args...)
				if r.code != 1 || !strings.Contains(r.stderr, "holds the embedded store") || !strings.Contains(r.stderr, "systemctl stop mailtrace; sudo -u mailtrace "+tt.want) {
					t.Errorf("%s on a held store: exit %d, stderr %q", tt.name, r.code, r.stderr)
				}
			})
		}
	})

	// A reply changed straight in the table.
	withStore(t, storeDir, func(st store.Store) {
		if err := st.Exec(ctx, "ALTER TABLE evidence_records UPDATE record = replaceOne(record, '250 2.0.0 OK', '550 5.0.0 NO') WHERE log_index = 3 SETTINGS mutations_sync = 1", nil); err != nil {
			t.Fatal(err)
		}
	})
	r = run(t, env, "evidence", "verify")
	if r.code != 1 || !strings.Contains(r.stdout, "FAIL  records: record 3: its SHA-256 is") || !strings.Contains(r.stdout, "first failure: records") {
		t.Errorf("verify of a changed record: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	// Without the key, and without verifier_keys, there is nothing to
	// trust; a new key would verify nothing signed already.
	os.Rename(keyFile, keyFile+".away")
	if r = run(t, env, "evidence", "verify"); r.code != 1 || !strings.Contains(r.stderr, "does not exist and evidence.verifier_keys is empty") || strings.Contains(r.stderr, "keygen)") {
		t.Errorf("verify without the key: exit %d, stderr %q", r.code, r.stderr)
	}
	os.Rename(keyFile+".away", keyFile)
	os.Chmod(keyFile, 0o644)
	if r = run(t, env, "evidence", "verify"); r.code != 1 || !strings.Contains(r.stderr, "chmod 600") {
		t.Errorf("verify with a readable key file: exit %d, stderr %q", r.code, r.stderr)
	}
}

// import appends the facts it stores to the ledger (on by default, with a
// key made beside the store at first use); importing again appends
// nothing, and the log verifies.
func TestImportAppendsEvidence(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "mailtrace.yaml")
	os.WriteFile(cfg, []byte("store: chdb://"+filepath.Join(dir, "st")+"\nchdb_library: "+storetest.ChdbLibrary(t)+
		"\ncollector:\n  timezone: UTC\nevidence:\n  origin_prefix: mailtrace.test\n"), 0o600)
	logFile := filepath.Join(dir, "mail.log")
	os.WriteFile(logFile, []byte(postfixLog), 0o600)
	count := "SELECT event FROM evidence_records WHERE origin = 'mailtrace.test/mx1' ORDER BY log_index"
	want := "event\nurn:mailtrace:event:LedgerStart\nhttp://uri.etsi.org/19522/Event/RelayToNonERDS\nurn:mailtrace:event:QueueRemoved\nurn:mailtrace:event:ChainClosing\n"
	for _, args := range [][]string{{"import", logFile}, {"import", "--again", logFile}} {
		r := run(t, nil, append([]string{"--config", cfg}, args...)...)
		if r.code != 0 {
			t.Fatalf("%v: exit %d, %s", args, r.code, r.stderr)
		}
		if r = run(t, nil, "sql", "--config", cfg, count); r.stdout != want {
			t.Errorf("after %v the log holds\n%s\nwant\n%s(stderr %s)", args, r.stdout, want, r.stderr)
		}
	}
	if fi, err := os.Stat(filepath.Join(dir, "evidence.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the key made at first start: %v %v", fi, err)
	}
	r := run(t, nil, "evidence", "verify", "--config", cfg)
	if r.code != 0 || !strings.Contains(r.stdout, "ok    chains: 1 messages, each record linked to the one before; 1 closed, 0 still open") {
		t.Errorf("verify after the imports: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	// With the ledger off nothing is appended.
	os.WriteFile(cfg, []byte("store: chdb://"+filepath.Join(dir, "st")+"\nchdb_library: "+storetest.ChdbLibrary(t)+
		"\ncollector:\n  timezone: UTC\nevidence:\n  enabled: false\n  origin_prefix: mailtrace.test\n"), 0o600)
	other := filepath.Join(dir, "mail2.log")
	os.WriteFile(other, []byte(strings.ReplaceAll(postfixLog, "A1B2C3", "D4E5F6")), 0o600)
	if r = run(t, nil, "import", "--config", cfg, other); r.code != 0 {
		t.Fatal(r.stderr)
	}
	if r = run(t, nil, "sql", "--config", cfg, "SELECT count() FROM evidence_records"); r.stdout != "count()\n4\n" {
		t.Errorf("with the ledger off: %q %s", r.stdout, r.stderr)
	}
}

func TestDoctorChecksEvidence(t *testing.T) {
	dir := t.TempDir()
	cfg := config.Default()
	cfg.Store = "chdb://" + filepath.Join(dir, "store")
	key := filepath.Join(dir, "evidence.key")
	tests := []struct {
		name     string
		setup    func(c *config.Config)
		severity postfixconf.Severity
		says     string
	}{
		{"no key yet", func(c *config.Config) {}, postfixconf.OK, "will be made at first start"},
		{"no TSA", func(c *config.Config) { evidence.WriteKey(key, "mailtrace.test") }, postfixconf.Warning, "not anchored in time: no TSA configured"},
		{"a TSA", func(c *config.Config) { c.Evidence.TSAURL = "https://tsa.example/" }, postfixconf.OK, "time-stamped by https://tsa.example/"},
		{"a key others may read", func(c *config.Config) { os.Chmod(key, 0o644) }, postfixconf.Problem, "chmod 600"},
		{"the ledger off", func(c *config.Config) { c.Evidence.Enabled = false }, postfixconf.Warning, "the evidence ledger is off"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.setup(&cfg)
			f := checkEvidence(cfg)
			if f.Severity != tt.severity || !strings.Contains(f.Message, tt.says) {
				t.Errorf("%v %q, want %v with %q", f.Severity, f.Message, tt.severity, tt.says)
			}
		})
	}
}
