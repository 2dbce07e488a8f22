package collector

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/mailtrace/mailtrace/store/storetest"
)

const journalRemote = "/lib/systemd/systemd-journal-remote"

// appendJournal writes entries into a journal file, as journald would.
func appendJournal(t *testing.T, file string, first int, log string) {
	t.Helper()
	var b bytes.Buffer
	journalEntries(&b, first, log)
	cmd := exec.Command(journalRemote, "-o", file, "-")
	cmd.Stdin = &b
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", journalRemote, err, out)
	}
}

// TestFollowJournal follows a real journal file with journalctl, stops,
// and resumes from the saved cursor.
func TestFollowJournal(t *testing.T) {
	if _, err := os.Stat(journalRemote); err != nil {
		t.Skip("systemd-journal-remote is not installed (make setup installs it)")
	}
	if _, err := exec.LookPath("journalctl"); err != nil {
		t.Skip("journalctl is not installed")
	}
	st := migratedStore(t)
	file := filepath.Join(t.TempDir(), "mail.journal")
	appendJournal(t, file, 0, "Nov 25 09:00:00 mx1 postfix/qmgr[1]: 0DD0DD1110: removed") // before the first run: not read
	run := func(until func()) {
		ctx, cancel := context.WithCancel(context.Background())
		p := NewPipeline(st, PipelineOptions{Announce: true, Grace: 50 * time.Millisecond, Logger: quiet()})
		done := make(chan error, 1)
		go func() {
			done <- FollowJournal(ctx, p, JournalOptions{Args: []string{"--file=" + file}, CommitEvery: 50 * time.Millisecond, Logger: quiet()})
		}()
		time.Sleep(300 * time.Millisecond) // journalctl is at the journal's end
		until()
		cancel()
		<-done
		p.Close(context.Background())
	}
	q := "SELECT count() FROM delivery_events"
	run(func() {
		appendJournal(t, file, 1, deliveryLines("AAAAAA111", 2))
		waitFor(t, st, q, 2)
	})
	appendJournal(t, file, 10, deliveryLines("BBBBBB222", 3)) // while stopped
	run(func() {
		waitFor(t, st, q, 5)
		appendJournal(t, file, 20, deliveryLines("CCCCCC333", 1))
		waitFor(t, st, q, 6)
	})
	if n := storetest.Count(t, st, "SELECT uniqExact(event_id) FROM delivery_events"); n != 6 {
		t.Errorf("%d distinct events, want 6", n)
	}
	if n := storetest.Count(t, st, "SELECT count() FROM messages FINAL WHERE queue_id = '0DD0DD1110'"); n != 0 {
		t.Errorf("the first run read entries from before it started")
	}
}
