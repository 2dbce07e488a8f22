package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailtrace/mailtrace/store/storetest"
)

const savedBounce = "From: MAILER-DAEMON@mx.example.net\r\nSubject: failure notice\r\nMessage-ID: <nd1@mx.example.net>\r\n\r\n" +
	"Hi. This is the qmail-send program at mx.example.net.\r\n\r\n<gone@example.net>:\r\nSorry, no mailbox here by that name. (#5.1.1)\r\n"

func TestDSNCommand(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "bounce.eml")
	os.WriteFile(file, []byte(savedBounce), 0o600)
	cfg := filepath.Join(dir, "mailtrace.yaml")
	os.WriteFile(cfg, []byte("store: chdb://"+filepath.Join(dir, "st")+"\nchdb_library: "+storetest.ChdbLibrary(t)+"\n"), 0o600)

	r := run(t, nil, "dsn", "parse", "--config", cfg, "--json", file)
	var got struct {
		File       string
		Kind       string
		Recipients []struct{ Address, Action, Status, Diagnostic, Category string }
	}
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || r.code != 0 {
		t.Fatalf("dsn parse --json: exit %d %v\n%s%s", r.code, err, r.stdout, r.stderr)
	}
	if got.File != file || got.Kind != "dsn" || len(got.Recipients) != 1 || got.Recipients[0].Address != "gone@example.net" ||
		got.Recipients[0].Status != "5.1.1" || got.Recipients[0].Action != "failed" || got.Recipients[0].Category != "bad-mailbox" ||
		!strings.Contains(got.Recipients[0].Diagnostic, "no mailbox here") {
		t.Errorf("dsn parse --json: %+v", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "st")); err == nil {
		t.Error("dsn parse opened the store")
	}

	r = run(t, nil, "dsn", "ingest", "--config", cfg, file, filepath.Join(dir, "missing.eml"))
	if r.code != 1 || !strings.Contains(r.stdout, "matched by none") || !strings.Contains(r.stderr, "missing.eml") {
		t.Errorf("dsn ingest: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = run(t, nil, "sql", "--config", cfg, "SELECT recipient, matched_by, category FROM bounces")
	if r.stdout != "recipient\tmatched_by\tcategory\ngone@example.net\tnone\tbad-mailbox\n" {
		t.Errorf("stored report: %q %s", r.stdout, r.stderr)
	}
}
