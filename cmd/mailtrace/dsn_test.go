package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

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

	// A missing file stops the command before anything is stored.
	r = run(t, nil, "dsn", "ingest", "--config", cfg, file, filepath.Join(dir, "missing.eml"))
	if r.code != 1 || r.stdout != "" || !strings.Contains(r.stderr, "missing.eml: no such file or directory; nothing was read") {
		t.Errorf("dsn ingest with a missing file: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "st")); err == nil {
		t.Error("dsn ingest with a missing file opened the store")
	}
	r = run(t, nil, "dsn", "ingest", "--config", cfg, file)
	if r.code != 0 || !strings.Contains(r.stdout, "matched by none") {
		t.Errorf("dsn ingest: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = run(t, nil, "sql", "--config", cfg, "SELECT recipient, matched_by, category FROM bounces")
	if r.stdout != "recipient\tmatched_by\tcategory\ngone@example.net\tnone\tbad-mailbox\n" {
		t.Errorf("stored report: %q %s", r.stdout, r.stderr)
	}
}

// dsn ingest refuses what is not a mail message, stores nothing for it,
// and goes on with the other files; dsn parse says the same.
func TestDSNIngestRefusesNonMessages(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "bounce.eml")
	os.WriteFile(good, []byte(savedBounce), 0o600)
	files := map[string]string{
		"binary.bin": "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00",
		"notes.txt":  "Hi. This is the qmail-send program at mx.example.net.\n<gone@example.net>:\nno mailbox here (#5.1.1)\n",
		"empty.eml":  "",
		"nul.eml":    "From: a@example.net\nSubject: x\x00\n\nbody\n",
	}
	var bad []string
	for name, content := range files {
		path := filepath.Join(dir, name)
		os.WriteFile(path, []byte(content), 0o600)
		bad = append(bad, path)
	}
	cfg := filepath.Join(dir, "mailtrace.yaml")
	os.WriteFile(cfg, []byte("store: chdb://"+filepath.Join(dir, "st")+"\nchdb_library: "+storetest.ChdbLibrary(t)+"\n"), 0o600)
	want := map[string]string{
		"binary.bin": "binary.bin: not a mail message: it does not start with a header",
		"notes.txt":  "notes.txt: not a mail message: it does not start with a header",
		"empty.eml":  "empty.eml: not a mail message: the file is empty",
		"nul.eml":    "nul.eml: not a mail message: header line 2 holds a NUL byte",
	}
	for _, verb := range []string{"parse", "ingest"} {
		r := run(t, nil, append([]string{"dsn", verb, "--config", cfg, bad[0], good}, bad[1:]...)...)
		if r.code != 1 || !strings.Contains(r.stderr, "4 of 5 file(s) skipped: not mail messages") {
			t.Errorf("dsn %s: exit %d, stderr %q", verb, r.code, r.stderr)
		}
		for name, w := range want {
			if !strings.Contains(r.stderr, w) {
				t.Errorf("dsn %s: stderr lacks %q:\n%s", verb, w, r.stderr)
			}
			if strings.Contains(r.stdout, name) {
				t.Errorf("dsn %s: %s reported as a report:\n%s", verb, name, r.stdout)
			}
		}
		if !strings.Contains(r.stdout, "bounce.eml: dsn") {
			t.Errorf("dsn %s: the good file was not read among the bad ones:\n%s", verb, r.stdout)
		}
	}
	r := run(t, nil, "sql", "--config", cfg, "SELECT count() AS reports, uniqExact(report_sha256) AS files FROM bounces")
	if r.stdout != "reports\tfiles\n1\t1\n" {
		t.Errorf("stored: %q %s; want the one report", r.stdout, r.stderr)
	}
	r = run(t, nil, "dsn", "ingest", "--config", cfg, dir)
	if r.code != 1 || !strings.Contains(r.stderr, "is a directory; nothing was read") {
		t.Errorf("dsn ingest DIR: exit %d, stderr %q", r.code, r.stderr)
	}
}

// What a report says is printed escaped: control characters and bytes
// that are not UTF-8 cannot reach the terminal, in text or JSON.
func TestDSNParseEscapes(t *testing.T) {
	dir := t.TempDir()
	hostile := "From: MAILER-DAEMON@mx.example.net\r\nSubject: failure \x1b[2J\x9b\r\nMessage-ID: <nd2@mx.example.net>\r\n\r\n" +
		"Hi. This is the qmail-send program at mx.example.net.\r\n\r\n<gone@example.net>:\r\nSorry \x1b]0;owned\x07 \xff\xfe no mailbox \u202e here\\. (#5.1.1)\r\n"
	file := filepath.Join(dir, "bounce\x1b[31m\xff.eml")
	os.WriteFile(file, []byte(hostile), 0o600)
	cfg := filepath.Join(dir, "mailtrace.yaml")
	os.WriteFile(cfg, []byte("store: chdb://"+filepath.Join(dir, "st")+"\n"), 0o600)
	for _, mode := range [][]string{nil, {"--json"}} {
		r := run(t, nil, append([]string{"dsn", "parse", "--config", cfg, file}, mode...)...)
		if r.code != 0 {
			t.Fatalf("dsn parse %v: exit %d, %s", mode, r.code, r.stderr)
		}
		for _, b := range []byte(r.stdout) {
			if (b < 0x20 && b != '\n' && b != '\t') || b == 0x7f {
				t.Errorf("dsn parse %v: output holds control byte %#x:\n%q", mode, b, r.stdout)
				break
			}
		}
		if !utf8.ValidString(r.stdout) || strings.Contains(r.stdout, "\u202e") || strings.Contains(r.stdout, "\x9b") {
			t.Errorf("dsn parse %v: output holds invalid UTF-8 or a character that does not print:\n%q", mode, r.stdout)
		}
		// (The parser reads the bytes that are not UTF-8 in the text as U+FFFD.)
		wantParts := []string{`bounce\x1b[31m\xff.eml`, `\x1b]0;owned\x07 `, ` no mailbox \u202e here\\.`}
		if mode != nil {
			var got struct {
				File       string
				Recipients []struct{ Diagnostic string }
			}
			if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || len(got.Recipients) != 1 {
				t.Fatalf("dsn parse --json: %v %q", err, r.stdout)
			}
			if !strings.HasSuffix(got.File, wantParts[0]) || !strings.Contains(got.Recipients[0].Diagnostic, wantParts[1]) ||
				!strings.Contains(got.Recipients[0].Diagnostic, wantParts[2]) {
				t.Errorf("dsn parse --json: file %q, diagnostic %q; want them escaped as %q", got.File, got.Recipients[0].Diagnostic, wantParts)
			}
			continue
		}
		for _, w := range wantParts {
			if !strings.Contains(r.stdout, w) {
				t.Errorf("dsn parse: output lacks %q:\n%s", w, r.stdout)
			}
		}
	}
}

func TestEscapeText(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"plain", "550 5.1.1 user unknown", "550 5.1.1 user unknown"},
		{"non-ASCII letters stay", "Empfänger unbekannt 宛先不明", "Empfänger unbekannt 宛先不明"},
		{"tab, newline, return", "a\tb\nc\rd", `a\tb\nc\rd`},
		{"escape sequence", "\x1b[2J", `\x1b[2J`},
		{"NUL and DEL", "\x00\x7f", `\x00\x7f`},
		{"C1 control", "\u009b", `\u009b`},
		{"invalid UTF-8", "\xff\xc3(", `\xff\xc3(`},
		{"bidirectional override", "abc\u202edef", `abc\u202edef`},
		{"backslash", `C:\x41`, `C:\\x41`},
		{"replacement character itself", "\ufffd", "\ufffd"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := escapeText(tt.in); got != tt.want {
				t.Errorf("escapeText(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func FuzzEscapeText(f *testing.F) {
	f.Add("550 \x1b[2J \xff\u202e\\")
	f.Fuzz(func(t *testing.T, s string) {
		out := escapeText(s)
		if !utf8.ValidString(out) {
			t.Fatalf("escapeText(%q) = %q: not UTF-8", s, out)
		}
		for _, r := range out {
			if !unicode.IsPrint(r) {
				t.Fatalf("escapeText(%q) = %q holds %U", s, out, r)
			}
		}
	})
}
