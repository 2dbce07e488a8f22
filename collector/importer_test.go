package collector

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailtrace/mailtrace/schema"
	"github.com/mailtrace/mailtrace/store"
	"github.com/mailtrace/mailtrace/store/storetest"
)

func TestReadLines(t *testing.T) {
	long := strings.Repeat("x", MaxLine+100)
	tests := []struct {
		name  string
		in    string
		lines []string
		sizes []int
	}{
		{"plain", "a\nbb\n", []string{"a", "bb"}, []int{2, 3}},
		{"no final newline", "a\nbb", []string{"a", "bb"}, []int{2, 2}},
		{"crlf", "a\r\n", []string{"a"}, []int{3}},
		{"empty lines", "\n\na\n", []string{"", "", "a"}, []int{1, 1, 2}},
		{"long line cut", long + "\nz\n", []string{long[:MaxLine], "z"}, []int{MaxLine + 101, 2}},
		{"nul and invalid utf-8", "a\x00\xff\n", []string{"a\x00\xff"}, []int{4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var lines []string
			var sizes []int
			err := readLines(bufio.NewReaderSize(strings.NewReader(tt.in), 4096), func(l []byte, n int) error {
				lines = append(lines, string(l))
				sizes = append(sizes, n)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(lines) != len(tt.lines) {
				t.Fatalf("%d lines, want %d", len(lines), len(tt.lines))
			}
			total := 0
			for i := range lines {
				if lines[i] != tt.lines[i] || sizes[i] != tt.sizes[i] {
					t.Errorf("line %d: %q (%d bytes), want %q (%d)", i, trim(lines[i]), sizes[i], trim(tt.lines[i]), tt.sizes[i])
				}
				total += sizes[i]
			}
			if total != len(tt.in) {
				t.Errorf("sizes add up to %d, input has %d bytes", total, len(tt.in))
			}
		})
	}
}

func trim(s string) string {
	if len(s) > 30 {
		return s[:30] + "..."
	}
	return s
}

const importLog = `Nov 25 10:00:00 mx1 postfix/smtpd[42]: 4dK9Fq1MpkzB3: client=app.example[192.0.2.7]
Nov 25 10:00:00 mx1 postfix/cleanup[43]: 4dK9Fq1MpkzB3: message-id=<n1@court.example>
Nov 25 10:00:00 mx1 postfix/qmgr[44]: 4dK9Fq1MpkzB3: from=<n@court.example>, size=4321, nrcpt=2 (queue active)
Nov 25 10:00:02 mx1 postfix-legal/smtp[51]: 4dK9Fq1MpkzB3: to=<a@gmail.example>, relay=gmail-smtp-in.l.google.com[142.250.1.27]:25, delay=1.2, delays=0.1/0.01/0.3/0.79, dsn=2.0.0, status=sent (250 2.0.0 OK)
Nov 25 10:00:02 mx1 postfix-legal/smtp[52]: 4dK9Fq1MpkzB3: to=<b@yahoo.example>, relay=mx.yahoo.example[192.0.2.10]:25, delay=1.5, delays=0.1/0.01/1/0.4, dsn=4.7.0, status=deferred (421 4.7.0 [TSS04] try later)
Nov 25 10:12:00 mx1 postfix/smtpd[42]: NOQUEUE: reject: RCPT from unknown[198.51.100.66]: 554 5.7.1 <x@y.example>: Relay access denied; from=<spam@y.example> to=<x@y.example> proto=ESMTP helo=<spammer>
Nov 25 10:12:00 mx1 dovecot[77]: imap-login: Login: user=<x>, method=PLAIN
Nov 25 10:20:02 mx1 postfix-legal/smtp[52]: 4dK9Fq1MpkzB3: to=<b@yahoo.example>, relay=mx.yahoo.example[192.0.2.10]:25, delay=1201, delays=1200/0.01/0.3/0.7, dsn=2.0.0, status=sent (250 ok dirdel)
Nov 25 10:20:02 mx1 postfix/qmgr[44]: 4dK9Fq1MpkzB3: removed
`

func migratedStore(t *testing.T) store.Store {
	t.Helper()
	st := storetest.Chdb(t)
	if _, err := schema.Migrate(context.Background(), st, schema.Options{Database: st.Database()}, false); err != nil {
		t.Fatal(err)
	}
	return st
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func importFile(t *testing.T, st store.Store, path string, chunk int) ImportResult {
	t.Helper()
	ctx := context.Background()
	p := NewPipeline(st, PipelineOptions{ChunkLines: chunk, Logger: quiet()})
	res, err := Import(ctx, p, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	return res
}

func TestImportTwiceAddsNothing(t *testing.T) {
	st := migratedStore(t)
	dir := t.TempDir()
	plain := filepath.Join(dir, "mail.log")
	os.WriteFile(plain, []byte(importLog), 0o644)
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	w.Write([]byte(importLog))
	w.Close()
	packed := filepath.Join(dir, "mail.log.1.gz")
	os.WriteFile(packed, gz.Bytes(), 0o644)

	res := importFile(t, st, plain, 3)
	if res.Lines != 9 || res.Events != 4 || res.Size != uint64(len(importLog)) {
		t.Errorf("first import: %+v", res)
	}
	checks := map[string]uint64{
		"SELECT count() FROM delivery_events":                                                         4,
		"SELECT count() FROM delivery_events WHERE status = 'sent'":                                   2,
		"SELECT count() FROM delivery_events WHERE status = 'rejected' AND recipient = 'x@y.example'": 1,
		"SELECT count() FROM messages WHERE state = 'removed' AND message_id = '<n1@court.example>'":  1,
		"SELECT sum(attempts) FROM delivery_minutely":                                                 4,
		"SELECT count() FROM id_lookup FINAL WHERE id = '<n1@court.example>'":                         1,
	}
	for q, want := range checks {
		if got := storetest.Count(t, st, q); got != want {
			t.Errorf("after import: %s = %d, want %d", q, got, want)
		}
	}
	// The same file again, and the same content compressed under another
	// name: nothing new.
	for _, path := range []string{plain, packed} {
		res := importFile(t, st, path, 3)
		if res.Lines != 0 || res.SkippedTo != uint64(len(importLog)) {
			t.Errorf("re-import of %s read %d lines (skipped to %d)", filepath.Base(path), res.Lines, res.SkippedTo)
		}
	}
	for q, want := range checks {
		if got := storetest.Count(t, st, q); got != want {
			t.Errorf("after re-import: %s = %d, want %d", q, got, want)
		}
	}
}

// crashingStore fails every insert after the first n, as a process killed
// in the middle of an import would stop writing, and then ends the import
// (crash), as the kill would: the cut does not depend on how fast the
// machine is. The writer and the checkpoint both insert, from their own
// goroutines.
type crashingStore struct {
	store.Store
	crash func()
	mu    sync.Mutex
	left  int
}

func (c *crashingStore) Insert(ctx context.Context, b *store.NativeBlock) error {
	c.mu.Lock()
	if c.left <= 0 {
		c.mu.Unlock()
		c.crash()
		return context.Canceled
	}
	c.left--
	c.mu.Unlock()
	return c.Store.Insert(ctx, b)
}

// TestImportResumesExactly cuts an import off after every possible number
// of inserts and checks that finishing it stores every row exactly once.
func TestImportResumesExactly(t *testing.T) {
	st := migratedStore(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "mail.log")
	os.WriteFile(path, []byte(importLog), 0o644)
	ctx := context.Background()
	for cut := 0; ; cut++ {
		if cut == 100 {
			t.Fatal("the import never completed")
		}
		for _, tbl := range []string{"delivery_events", "messages", "collector_checkpoints", "delivery_minutely", "id_lookup"} {
			if err := st.Exec(ctx, "TRUNCATE TABLE "+tbl, nil); err != nil {
				t.Fatal(err)
			}
		}
		cctx, cancel := context.WithTimeout(ctx, time.Minute)
		crash := &crashingStore{Store: st, left: cut, crash: cancel}
		p := NewPipeline(crash, PipelineOptions{ChunkLines: 2, Logger: quiet()})
		_, err := Import(cctx, p, path)
		cancel()
		closeCtx, cancelClose := context.WithTimeout(ctx, 100*time.Millisecond)
		p.Close(closeCtx) // the "killed" process's writers give up
		cancelClose()
		completed := err == nil
		importFile(t, st, path, 2)
		got := storetest.Count(t, st, "SELECT count() FROM delivery_events")
		distinct := storetest.Count(t, st, "SELECT uniqExact(event_id) FROM delivery_events")
		attempts := storetest.Count(t, st, "SELECT sum(attempts) FROM delivery_minutely")
		if got != 4 || distinct != 4 || attempts != 4 {
			t.Errorf("cut after %d inserts (completed %v): %d events, %d distinct, %d counted; want 4", cut, completed, got, distinct, attempts)
		}
		if completed {
			if cut < 5 {
				t.Errorf("the import completed after only %d inserts: the cuts tested nothing", cut)
			}
			t.Logf("cut the import at each of its %d inserts", cut)
			break
		}
	}
}

// retentionLog has one message 2000 days old and one 10 days old, in RFC
// 3339 time as rsyslog writes it.
func retentionLog(now time.Time) string {
	old, recent := now.AddDate(0, 0, -2000).Format(time.RFC3339), now.AddDate(0, 0, -10).Format(time.RFC3339)
	return old + ` mx1 postfix/smtpd[42]: 0AE91984252: client=app.example[192.0.2.7]
` + old + ` mx1 postfix/qmgr[44]: 0AE91984252: from=<n@court.example>, size=4321, nrcpt=1 (queue active)
` + old + ` mx1 postfix/smtp[51]: 0AE91984252: to=<a@gmail.example>, relay=mx[192.0.2.9]:25, delay=1, delays=0/0/0.5/0.5, dsn=2.0.0, status=sent (250 ok)
` + old + ` mx1 postfix/qmgr[44]: 0AE91984252: removed
` + recent + ` mx1 postfix/smtpd[42]: 1BF02A95363: client=app.example[192.0.2.7]
` + recent + ` mx1 postfix/qmgr[44]: 1BF02A95363: from=<n@court.example>, size=4321, nrcpt=1 (queue active)
` + recent + ` mx1 postfix/smtp[51]: 1BF02A95363: to=<b@gmail.example>, relay=mx[192.0.2.9]:25, delay=1, delays=0/0/0.5/0.5, dsn=2.0.0, status=sent (250 ok)
` + recent + ` mx1 postfix/qmgr[44]: 1BF02A95363: removed
`
}

// TestImportOutsideRetention: rows older than the store's retention are
// not written (its TTL would drop them at once) but counted, with what to
// do; after raising the retention, importing again with Before adds them
// and nothing twice.
func TestImportOutsideRetention(t *testing.T) {
	st := migratedStore(t)
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "mail.log")
	os.WriteFile(path, []byte(retentionLog(time.Now().UTC())), 0o644)
	p := NewPipeline(st, PipelineOptions{Logger: quiet(), RetentionDays: 1826})
	res, err := Import(ctx, p, path)
	if err != nil {
		t.Fatal(err)
	}
	cutoff := p.Cutoff()
	p.Close(ctx)
	if res.Events != 1 || res.Messages != 1 || res.Outside.Events != 1 || res.Outside.Messages != 1 {
		t.Errorf("stored %d events and %d messages, %d and %d outside; want 1 of each", res.Events, res.Messages, res.Outside.Events, res.Outside.Messages)
	}
	if hint := res.Outside.Hint(); !strings.Contains(hint, "1 delivery event and 1 message record are older than the store's retention of 1826 days") ||
		!strings.Contains(hint, "--retention-days 2001 --apply-retention") && !strings.Contains(hint, "--retention-days 2002 --apply-retention") {
		t.Errorf("hint: %s", hint)
	}
	if n := storetest.Count(t, st, "SELECT count() FROM delivery_events"); n != 1 {
		t.Errorf("%d events stored, want the recent one", n)
	}
	// Raised retention; the file again, only what was left out.
	p2 := NewPipeline(st, PipelineOptions{Logger: quiet(), RetentionDays: 3653, Again: true, Before: cutoff})
	res, err = Import(ctx, p2, path)
	if err != nil {
		t.Fatal(err)
	}
	p2.Close(ctx)
	if res.Events != 1 || res.Messages != 1 || res.Outside.Events != 0 || res.Skipped != 2 {
		t.Errorf("again: %+v", res)
	}
	for q, want := range map[string]uint64{
		"SELECT count() FROM delivery_events":             2,
		"SELECT uniqExact(event_id) FROM delivery_events": 2,
		"SELECT sum(attempts) FROM delivery_minutely":     2,
		"SELECT count() FROM messages FINAL":              2,
	} {
		if got := storetest.Count(t, st, q); got != want {
			t.Errorf("%s = %d, want %d", q, got, want)
		}
	}
}

// TestImportUnknownLines: a line about a message that is not understood is
// counted by kind and kept, a few per kind and day.
func TestImportUnknownLines(t *testing.T) {
	st := migratedStore(t)
	var b strings.Builder
	for i := range UnknownPerDay + 5 {
		fmt.Fprintf(&b, "Nov 25 10:00:%02d mx1 postfix/cleanup[43]: 0AE91984252: frobnicated the message %d\n", i, i)
	}
	b.WriteString("Nov 25 10:01:00 mx1 postfix/smtpd[42]: NOQUEUE: quux: RCPT from x[192.0.2.1]: no\n")
	b.WriteString("Nov 25 10:01:00 mx1 postfix/anvil[9]: statistics: max connection rate 1/60s for (smtp:192.0.2.7) at Nov 25 09:59:00\n")
	path := filepath.Join(t.TempDir(), "mail.log")
	os.WriteFile(path, []byte(b.String()), 0o644)
	res := importFile(t, st, path, 1000)
	if res.Unknown["cleanup/frobnicated"] != UnknownPerDay+5 || res.Unknown["smtpd/NOQUEUE quux"] != 1 || len(res.Unknown) != 2 {
		t.Errorf("unknown lines counted: %v", res.Unknown)
	}
	if n := storetest.Count(t, st, "SELECT count() FROM unknown_lines WHERE kind = 'cleanup/frobnicated' AND queue_id = '0AE91984252' AND line LIKE '% frobnicated the message %'"); n != UnknownPerDay {
		t.Errorf("%d frobnicated lines kept, want %d", n, UnknownPerDay)
	}
	if n := storetest.Count(t, st, "SELECT count() FROM unknown_lines"); n != UnknownPerDay+1 {
		t.Errorf("%d unknown lines kept, want %d", n, UnknownPerDay+1)
	}
}
