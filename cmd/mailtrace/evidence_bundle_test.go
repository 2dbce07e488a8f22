package main

import (
	"archive/zip"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailtrace/mailtrace/certificate"
	"github.com/mailtrace/mailtrace/evidence"
	"github.com/mailtrace/mailtrace/store/storetest"
)

// A message imported from the log is exported as a bundle by its queue
// ID, and the bundle verifies offline, with no configuration or store,
// against the log's public key; a changed byte fails with exit 1.
func TestEvidenceExportAndVerifyBundle(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "mailtrace.yaml")
	os.WriteFile(cfg, []byte("store: chdb://"+filepath.Join(dir, "st")+"\nchdb_library: "+storetest.ChdbLibrary(t)+
		"\ncollector:\n  timezone: UTC\nevidence:\n  origin_prefix: mailtrace.test\n  certificate_lang: en\n  certificate_zone: Europe/Madrid\n"), 0o600)
	logFile := filepath.Join(dir, "mail.log")
	os.WriteFile(logFile, []byte(postfixLog), 0o600)
	if r := run(t, nil, "import", "--config", cfg, logFile); r.code != 0 {
		t.Fatalf("import: exit %d, %s", r.code, r.stderr)
	}
	bundle := filepath.Join(dir, "A1B2C3.zip")
	r := run(t, nil, "evidence", "export", "--config", cfg, "A1B2C3", "--out", bundle)
	if r.code != 0 || !strings.Contains(r.stdout, "wrote "+bundle+": message A1B2C3, 3 records") {
		t.Fatalf("export: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	// The certificate in the configured language and zone, or the flag's.
	for _, c := range []struct{ lang, want string }{{"", "Time zone: Europe/Madrid"}, {"es", "Zona horaria: Europe/Madrid"}} {
		out := filepath.Join(dir, "lang.zip")
		args := []string{"evidence", "export", "--config", cfg, "A1B2C3", "--out", out}
		if c.lang != "" {
			args = append(args, "--lang", c.lang)
		}
		if r := run(t, nil, args...); r.code != 0 {
			t.Fatalf("export %v: exit %d, %s", args, r.code, r.stderr)
		}
		data, _ := os.ReadFile(out)
		b, err := evidence.ReadBundle(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatal(err)
		}
		if text, err := certificate.Text(b.Files[evidence.BundleCertificate]); err != nil || !strings.Contains(text, c.want) {
			t.Errorf("certificate with --lang %q: %v\n%s", c.lang, err, text)
		}
	}
	if r := run(t, nil, "evidence", "export", "--config", cfg, "A1B2C3", "--zone", "Mars/Olympus"); r.code != 2 || !strings.Contains(r.stderr, "Mars/Olympus") {
		t.Errorf("export --zone Mars/Olympus: exit %d, %s", r.code, r.stderr)
	}
	key, err := evidence.LoadKey(filepath.Join(dir, "evidence.key"))
	if err != nil {
		t.Fatal(err)
	}
	pub := filepath.Join(dir, "log.pub")
	os.WriteFile(pub, []byte(key.Public+"\n"), 0o644)
	// Offline: no --config, no store in the environment.
	r = run(t, []string{"MAILTRACE_STORE=chdb:///nonexistent"}, "evidence", "verify", bundle, "--key", pub)
	for _, want := range []string{"ok    manifest:", "ok    records: 3 records", "ok    chains: 1 message chains, each complete from its first record, 1 closed",
		"ok    inclusion:", "ok    checkpoint: each checkpoint and latest checkpoint is signed by a key given", "ok    consistency:", "ok    time stamp: no RFC 3161", "ok    certificate: certificate.pdf states what the records say", "bundle verified"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("verify lacks %q: exit %d, stdout %s, stderr %s", want, r.code, r.stdout, r.stderr)
		}
	}
	if r.code != 0 {
		t.Errorf("verify: exit %d", r.code)
	}

	// A changed byte in a record.
	data, _ := os.ReadFile(bundle)
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for _, f := range zr.File {
		rc, _ := f.Open()
		b, _ := io.ReadAll(rc)
		if strings.HasPrefix(f.Name, "logs/1/records/") {
			b = bytes.Replace(b, []byte("250 ok"), []byte("250 OK"), 1)
		}
		w, _ := zw.Create(f.Name)
		w.Write(b)
	}
	zw.Close()
	bad := filepath.Join(dir, "bad.zip")
	os.WriteFile(bad, out.Bytes(), 0o644)
	r = run(t, nil, "evidence", "verify", bad, "--key", pub)
	if r.code != 1 || !strings.Contains(r.stdout, "FAIL  manifest: logs/1/records/") {
		t.Errorf("verify of a changed bundle: exit %d, stdout %s, stderr %s", r.code, r.stdout, r.stderr)
	}
	// An ID that names nothing.
	if r = run(t, nil, "evidence", "export", "--config", cfg, "NOPE99"); r.code != 1 || !strings.Contains(r.stderr, `no message is known by "NOPE99"`) {
		t.Errorf("export of an unknown ID: exit %d, stderr %s", r.code, r.stderr)
	}
}
