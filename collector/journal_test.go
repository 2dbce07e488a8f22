package collector

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mailtrace/mailtrace/store/storetest"
)

// exportEntry writes one entry in journald's export format; a message with
// a newline uses the binary-safe form.
func exportEntry(b *bytes.Buffer, n int, at time.Time, ident, pid, msg string) {
	fmt.Fprintf(b, "__CURSOR=s=%d\n__REALTIME_TIMESTAMP=%d\n__MONOTONIC_TIMESTAMP=%d\n_BOOT_ID=0123456789abcdef0123456789abcdef\n", n, at.UnixMicro(), n+1)
	fmt.Fprintf(b, "_HOSTNAME=mx1\nSYSLOG_FACILITY=2\nSYSLOG_IDENTIFIER=%s\nSYSLOG_PID=%s\n_PID=%s\n", ident, pid, pid)
	if strings.ContainsAny(msg, "\n") {
		b.WriteString("MESSAGE\n")
		binary.Write(b, binary.LittleEndian, uint64(len(msg)))
		b.WriteString(msg + "\n")
	} else {
		fmt.Fprintf(b, "MESSAGE=%s\n", msg)
	}
	b.WriteString("\n")
}

func TestReadJournal(t *testing.T) {
	at := time.Date(2026, 11, 25, 10, 0, 0, 123456000, time.UTC)
	var b bytes.Buffer
	exportEntry(&b, 1, at, "postfix/qmgr", "44", "ABCDEF123: removed")
	exportEntry(&b, 2, at, "postfix-legal/smtp", "51", "ABCDEF123: to=<a@b>, relay=m[1.2.3.4]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 ok)\nsecond line")
	fmt.Fprintf(&b, "__CURSOR=s=3\n__REALTIME_TIMESTAMP=1\n\n") // no MESSAGE: skipped
	var lines []string
	var ends []uint64
	err := readJournal(bufio.NewReader(bytes.NewReader(b.Bytes())), 0, func(l []byte, end uint64, _ string) error {
		lines = append(lines, string(l))
		ends = append(ends, end)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"2026-11-25T10:00:00.123456Z mx1 postfix/qmgr[44]: ABCDEF123: removed",
		"2026-11-25T10:00:00.123456Z mx1 postfix-legal/smtp[51]: ABCDEF123: to=<a@b>, relay=m[1.2.3.4]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 ok)",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Fatalf("lines:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	// Offsets are entry ends: reading from one continues with the next entry.
	var rest []string
	readJournal(bufio.NewReader(bytes.NewReader(b.Bytes()[ends[0]:])), ends[0], func(l []byte, end uint64, _ string) error {
		rest = append(rest, string(l))
		return nil
	})
	if len(rest) != 1 || rest[0] != want[1] {
		t.Errorf("from offset %d: %q", ends[0], rest)
	}
}

func TestImportJournalExport(t *testing.T) {
	st := migratedStore(t)
	var b bytes.Buffer
	journalEntries(&b, 0, importLog)
	path := filepath.Join(t.TempDir(), "journal.export")
	os.WriteFile(path, b.Bytes(), 0o644)
	res := importFile(t, st, path, 2)
	if res.Events != 4 || res.Lines != 9 {
		t.Errorf("journal import: %+v", res)
	}
	if n := storetest.Count(t, st, "SELECT count() FROM delivery_events WHERE service = 'postfix-legal/smtp' AND status = 'sent'"); n != 2 {
		t.Errorf("%d sent attempts from the journal, want 2", n)
	}
	if again := importFile(t, st, path, 2); again.Lines != 0 {
		t.Errorf("re-import read %d lines", again.Lines)
	}
}

// journalEntries writes syslog lines ("Nov 25 10:00:00 mx1 postfix/smtpd[42]:
// text") as the journal entries they come from, numbered from first.
func journalEntries(b *bytes.Buffer, first int, log string) {
	at := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	for i, line := range strings.Split(strings.TrimSpace(log), "\n") {
		f := strings.SplitN(line, " ", 6)
		tag, msg := strings.TrimSuffix(f[4], ":"), f[5]
		ident, pid, _ := strings.Cut(strings.TrimSuffix(tag, "]"), "[")
		exportEntry(b, first+i, at.Add(time.Duration(first+i)*time.Second), ident, pid, msg)
	}
}
