package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mailtrace/mailtrace/evidence"
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
	if r = run(t, env, "evidence", "keygen"); r.code != 1 || !strings.Contains(r.stderr, "exists") {
		t.Errorf("keygen over an existing key: exit %d, stderr %q", r.code, r.stderr)
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
	// Without the key, and without verifier_keys, there is nothing to trust.
	os.Chmod(keyFile, 0o644)
	if r = run(t, env, "evidence", "verify"); r.code != 1 || !strings.Contains(r.stderr, "chmod 600") {
		t.Errorf("verify with a readable key file: exit %d, stderr %q", r.code, r.stderr)
	}
}
