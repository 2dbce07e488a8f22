package main

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mailtrace/mailtrace/store/storetest"
)

const postfixLog = "Nov 25 10:00:00 mx1 postfix/qmgr[44]: A1B2C3: from=<s@court.example>, size=100, nrcpt=1 (queue active)\n" +
	"Nov 25 10:00:01 mx1 postfix-legal/smtp[100]: A1B2C3: to=<r@x.example>, relay=mx.x.example[192.0.2.9]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 ok)\n" +
	"Nov 25 10:00:01 mx1 postfix/qmgr[44]: A1B2C3: removed\n"

func gzipped(t *testing.T, data string) []byte {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write([]byte(data))
	w.Close()
	return b.Bytes()
}

// import says what is wrong with a file that is no Postfix log, stores
// nothing for it and goes on; a missing file or a directory stops it
// before it starts. "Run the same command again" is said only where a
// second run continues.
func TestImportInputs(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "mailtrace.yaml")
	os.WriteFile(cfg, []byte("store: chdb://"+filepath.Join(dir, "st")+"\nchdb_library: "+storetest.ChdbLibrary(t)+"\ncollector:\n  timezone: UTC\n"), 0o600)
	file := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, data, 0o600)
		return p
	}
	good := file("mail.log", []byte(postfixLog))
	garbage := file("notes.txt", []byte("shopping list\neggs\nmilk\n"))
	otherLog := file("syslog", []byte("Nov 25 10:00:00 mx1 sshd[12]: Accepted publickey for root\nNov 25 10:00:01 mx1 CRON[13]: (root) CMD (true)\n"))
	binary := file("image.png", []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00\n\x00\xff\xfe"))
	empty := file("empty.log", nil)
	emptyGz := file("empty.log.gz", gzipped(t, ""))
	truncatedGz := file("cut.log.gz", gzipped(t, strings.Repeat(strings.ReplaceAll(postfixLog, " mx1 ", " mx2 "), 200))[:300])
	tests := []struct {
		name   string
		files  []string
		code   int
		stdout string
		stderr []string
	}{
		{name: "text", files: []string{garbage}, code: 1,
			stderr: []string{"notes.txt: not a Postfix log: none of its 3 lines (24 bytes) is a Postfix log line; import reads Postfix's log as syslog writes it", "journalctl -o export", "1 of 1 file(s) not imported"}},
		{name: "another program's log", files: []string{otherLog}, code: 1, stderr: []string{"syslog: not a Postfix log: none of its 2 lines"}},
		{name: "binary", files: []string{binary}, code: 1, stderr: []string{"image.png: not a Postfix log: none of its 4 lines (24 bytes, binary data) is a Postfix log line"}},
		{name: "empty", files: []string{empty}, code: 1, stderr: []string{"empty.log: not a Postfix log: the file is empty"}},
		{name: "empty gzip", files: []string{emptyGz}, code: 1, stderr: []string{"empty.log.gz: not a Postfix log: the file is empty (uncompressed)"}},
		{name: "missing", files: []string{good, filepath.Join(dir, "mail.log.9")}, code: 1, stderr: []string{"mail.log.9: no such file or directory; nothing was read"}},
		{name: "directory", files: []string{dir}, code: 1, stderr: []string{"is a directory; nothing was read"}},
		{name: "damaged gzip", files: []string{truncatedGz}, code: 1, stderr: []string{"cut.log.gz: unreadable after byte", "the file is damaged"}},
		{name: "a bad file among good ones", files: []string{garbage, good, binary}, code: 1, stdout: "mail.log: 3 lines, 1 delivery event and 1 message record stored",
			stderr: []string{"notes.txt: not a Postfix log", "image.png: not a Postfix log", "2 of 3 file(s) not imported, as they hold no Postfix log line"}},
		{name: "the bad file again", files: []string{garbage}, code: 1, stderr: []string{"notes.txt: not a Postfix log: none of its 3 lines"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, nil, append([]string{"import", "--config", cfg}, tt.files...)...)
			if r.code != tt.code || !strings.Contains(r.stdout, tt.stdout) {
				t.Errorf("import %q: exit %d, stdout %q, stderr %q; want exit %d, stdout with %q", tt.files, r.code, r.stdout, r.stderr, tt.code, tt.stdout)
			}
			for _, w := range tt.stderr {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("import %q: stderr lacks %q:\n%s", tt.files, w, r.stderr)
				}
			}
			if strings.Contains(r.stderr, "run the same command again") {
				t.Errorf("import %q: says a second run continues, which it does not here:\n%s", tt.files, r.stderr)
			}
		})
	}
	// The good file's attempt is stored; no checkpoint names the files
	// without a Postfix line (nor the damaged one, which did not end).
	r := run(t, nil, "sql", "--config", cfg, "SELECT (SELECT count() FROM delivery_events WHERE host = 'mx1') AS good, "+
		"(SELECT uniqExact(fingerprint) FROM collector_checkpoints) AS files")
	if r.stdout != "good\tfiles\n1\t1\n" {
		t.Errorf("store after the imports: %q %s", r.stdout, r.stderr)
	}
}

// TestImportOutsideRetention: a store created with a 5-year retention and
// a log whose first message is older: import says how many rows it left
// out and the commands that keep them; following them stores them, and
// nothing twice.
func TestImportOutsideRetention(t *testing.T) {
	env := []string{"MAILTRACE_CONFIG=", "MAILTRACE_CHDB_LIBRARY=" + storetest.ChdbLibrary(t),
		"MAILTRACE_STORE=chdb://" + t.TempDir()}
	if r := run(t, env, "migrate", "--retention-days", "1826"); r.code != 0 {
		t.Fatalf("migrate: %d %s", r.code, r.stderr)
	}
	now := time.Now().UTC()
	old, recent := now.AddDate(0, 0, -2000).Format(time.RFC3339), now.AddDate(0, 0, -3).Format(time.RFC3339)
	log := old + " mx1 postfix/smtp[51]: 0AE91984252: to=<a@gmail.example>, relay=mx[192.0.2.9]:25, delay=1, delays=0/0/0.5/0.5, dsn=2.0.0, status=sent (250 ok)\n" +
		old + " mx1 postfix/qmgr[44]: 0AE91984252: removed\n" +
		recent + " mx1 postfix/smtp[51]: 1BF02A95363: to=<b@gmail.example>, relay=mx[192.0.2.9]:25, delay=1, delays=0/0/0.5/0.5, dsn=2.0.0, status=sent (250 ok)\n" +
		recent + " mx1 postfix/cleanup[43]: 1BF02A95363: frobnicated\n"
	path := filepath.Join(t.TempDir(), "mail.log")
	if err := os.WriteFile(path, []byte(log), 0o644); err != nil {
		t.Fatal(err)
	}
	r := run(t, env, "import", "--timezone", "UTC", path)
	if r.code != 0 {
		t.Fatalf("import: %d %s %s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"1 delivery event and 1 message record stored",
		"1 delivery event and 1 message record are older than the store's retention of 1826 days",
		"--apply-retention", "mailtrace import --again --before ",
		"1 line about a message not understood (cleanup/frobnicated 1)"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("import summary lacks %q:\n%s", want, r.stdout)
		}
	}
	// The commands it names, as a user would copy them.
	migrate := regexp.MustCompile("`mailtrace (migrate --retention-days \\d+ --apply-retention)`").FindStringSubmatch(r.stdout)
	again := regexp.MustCompile("`mailtrace (import --again --before \\S+) ").FindStringSubmatch(r.stdout)
	if migrate == nil || again == nil {
		t.Fatalf("commands not found in:\n%s", r.stdout)
	}
	if r := run(t, env, strings.Fields(migrate[1])...); r.code != 0 {
		t.Fatalf("%s: %d %s", migrate[1], r.code, r.stderr)
	}
	r = run(t, env, append(strings.Fields(again[1]), "--timezone", "UTC", path)...)
	if r.code != 0 || !strings.Contains(r.stdout, "1 delivery event and 1 message record stored") || strings.Contains(r.stdout, "older than") {
		t.Fatalf("import again: %d %s %s", r.code, r.stdout, r.stderr)
	}
	r = run(t, env, "sql", "--format", "tsv", "SELECT count(), uniqExact(event_id), (SELECT sum(attempts) FROM delivery_minutely) FROM delivery_events")
	if !strings.HasSuffix(r.stdout, "2\t2\t2\n") {
		t.Errorf("after both imports: %q %s", r.stdout, r.stderr)
	}
}

// TestRetentionTooLong: a retention past what the TTL's DateTime can hold
// is refused before anything is written, with what to give instead.
func TestRetentionTooLong(t *testing.T) {
	env := []string{"MAILTRACE_CONFIG=", "MAILTRACE_CHDB_LIBRARY=" + storetest.ChdbLibrary(t),
		"MAILTRACE_STORE=chdb://" + t.TempDir(), "MAILTRACE_RETENTION_DAYS=36500"}
	r := run(t, env, "migrate")
	if r.code == 0 || !strings.Contains(r.stderr, "retention of 36500 days") || !strings.Contains(r.stderr, "give at most") {
		t.Errorf("migrate with 36500 days: exit %d, %q", r.code, r.stderr)
	}
}
