package collector

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mailtrace/mailtrace/store"
	"github.com/mailtrace/mailtrace/store/storetest"
)

// deliveryLines is one message of n recipients, accepted and delivered.
func deliveryLines(qid string, n int) string {
	s := fmt.Sprintf("Nov 25 10:00:00 mx1 postfix/qmgr[44]: %s: from=<s@court.example>, size=100, nrcpt=%d (queue active)\n", qid, n)
	for i := range n {
		s += fmt.Sprintf("Nov 25 10:00:01 mx1 postfix-legal/smtp[51]: %s: to=<r%d@x.example>, relay=mx.x.example[192.0.2.9]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 ok %s %d)\n", qid, i, qid, i)
	}
	return s + fmt.Sprintf("Nov 25 10:00:01 mx1 postfix/qmgr[44]: %s: removed\n", qid)
}

func appendTo(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

// waitFor polls the store until q returns want.
func waitFor(t *testing.T, st store.Store, q string, want uint64) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	var got uint64
	for time.Now().Before(deadline) {
		if got = storetest.Count(t, st, q); got == want {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s = %d, want %d", q, got, want)
}

func TestFollowAcrossRotations(t *testing.T) {
	st := migratedStore(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "mail.log")
	appendTo(t, path, deliveryLines("AAAAAA111", 2))
	ctx, cancel := context.WithCancel(context.Background())
	p := NewPipeline(st, PipelineOptions{Announce: true, Grace: 50 * time.Millisecond, Logger: quiet()})
	done := make(chan error, 1)
	go func() {
		done <- Follow(ctx, p, path, FollowOptions{Poll: 20 * time.Millisecond, CommitEvery: 50 * time.Millisecond,
			RotateDrain: 300 * time.Millisecond, Logger: quiet()})
	}()
	q := "SELECT count() FROM delivery_events"
	waitFor(t, st, q, 2)

	// A line written in two parts is read once, whole.
	lines := deliveryLines("BBBBBB222", 1)
	cut := strings.Index(lines, "status=sent (250 ok") + len("status=sent (250")
	appendTo(t, path, lines[:cut])
	time.Sleep(100 * time.Millisecond)
	appendTo(t, path, lines[cut:])
	waitFor(t, st, q, 3)

	// Rotation by rename: Postfix still writes a message to the old file
	// before it reopens its log, then writes to the new one.
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	appendTo(t, path+".1", deliveryLines("CCCCCC333", 2))
	time.Sleep(50 * time.Millisecond)
	appendTo(t, path, deliveryLines("DDDDDD444", 1))
	waitFor(t, st, q, 6)

	// Rotation by copytruncate.
	data, _ := os.ReadFile(path)
	os.WriteFile(path+".2", data, 0o644)
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	appendTo(t, path, deliveryLines("EEEEEE555", 3))
	waitFor(t, st, q, 9)

	waitFor(t, st, "SELECT count() FROM messages FINAL WHERE state = 'removed'", 5)
	cancel()
	<-done
	if err := p.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := storetest.Count(t, st, "SELECT uniqExact(event_id) FROM delivery_events"); n != 9 {
		t.Errorf("%d distinct events, want 9", n)
	}
	// The attempt written in two parts is one event with its whole reply.
	if n := storetest.Count(t, st, "SELECT count() FROM delivery_events WHERE queue_id = 'BBBBBB222'"); n != 1 {
		t.Errorf("the line written in two parts made %d events, want 1", n)
	}
	if n := storetest.Count(t, st, "SELECT count() FROM delivery_events WHERE queue_id = 'BBBBBB222' AND response = '250 ok BBBBBB222 0'"); n != 1 {
		t.Errorf("the line written in two parts lost the end of its reply")
	}
	waitFor(t, st, "SELECT count() FROM messages FINAL WHERE state = 'removed'", 5)
}

// TestFollowResumes stops the follower and starts another: it continues
// from the checkpoint, and reads the end of a file rotated in between.
func TestFollowResumes(t *testing.T) {
	st := migratedStore(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "mail.log")
	appendTo(t, path, deliveryLines("AAAAAA111", 2))
	opts := FollowOptions{Poll: 20 * time.Millisecond, CommitEvery: 30 * time.Millisecond, RotateDrain: 100 * time.Millisecond, Logger: quiet()}
	run := func(until func()) {
		ctx, cancel := context.WithCancel(context.Background())
		p := NewPipeline(st, PipelineOptions{Announce: true, Logger: quiet()})
		done := make(chan error, 1)
		go func() { done <- Follow(ctx, p, path, opts) }()
		until()
		cancel()
		<-done
		p.Close(context.Background())
	}
	q := "SELECT count() FROM delivery_events"
	run(func() { waitFor(t, st, q, 2) })
	// While stopped: more lines, then a rotation, then a new file.
	appendTo(t, path, deliveryLines("BBBBBB222", 1))
	os.Rename(path, path+".1")
	appendTo(t, path, deliveryLines("CCCCCC333", 2))
	run(func() { waitFor(t, st, q, 5) })
	if n := storetest.Count(t, st, "SELECT uniqExact(event_id) FROM delivery_events"); n != 5 {
		t.Errorf("%d distinct events, want 5", n)
	}
}

// TestTailReaderSeesRewrite: a log cut down and written again past the read
// offset between two polls (copytruncate, then more lines than before) is
// told apart from a log that only grew, whatever the line lengths.
func TestTailReaderSeesRewrite(t *testing.T) {
	short := strings.Repeat("Mar  7 02:09:33 mx postfix/qmgr[1]: ABC: removed\n", 3) // lines < 64 bytes
	long := deliveryLines("AAAAAA111", 2)
	tests := []struct {
		name      string
		first     string // read whole
		then      func(path string)
		rewritten bool
	}{
		{"grew, long lines", long, func(p string) { appendTo(t, p, long) }, false},
		{"grew, short lines", short, func(p string) { appendTo(t, p, short) }, false},
		{"untouched", long, func(string) {}, false},
		{"cut and written longer", long, func(p string) {
			os.WriteFile(p, []byte(deliveryLines("EEEEEE555", 4)), 0o644)
		}, true},
		{"cut and written longer, short lines", short, func(p string) {
			os.WriteFile(p, []byte(strings.ReplaceAll(short+short, "ABC", "DEF")), 0o644)
		}, true},
		{"cut shorter", long, func(p string) { os.WriteFile(p, []byte("x\n"), 0o644) }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "mail.log")
			appendTo(t, path, tt.first)
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			r, err := newTailReader(f, 0)
			if err != nil {
				t.Fatal(err)
			}
			// Read in small chunks so that lines are passed over several calls.
			r.chunk = make([]byte, 7)
			nop := func([]byte, uint64) error { return nil }
			if _, err := r.read(nop); err != nil {
				t.Fatal(err)
			}
			if r.pos != uint64(len(tt.first)) {
				t.Fatalf("read to %d, want %d", r.pos, len(tt.first))
			}
			if r.rewritten() {
				t.Fatal("rewritten before any change")
			}
			tt.then(path)
			if got := r.rewritten(); got != tt.rewritten {
				t.Errorf("rewritten() = %v, want %v", got, tt.rewritten)
			}
			// A reader started at an offset checks the bytes before it too.
			r2, err := newTailReader(f, r.pos)
			if err != nil {
				t.Fatal(err)
			}
			if r2.rewritten() {
				t.Error("a reader opened at the offset of the file as it is now says rewritten")
			}
		})
	}
}

// TestRotatedBeforeFirstCommit: a collector that starts on a log, is killed
// before its first commit and finds the log rotated when it starts again
// reads the rotated copy from the top.
func TestRotatedBeforeFirstCommit(t *testing.T) {
	st := migratedStore(t)
	path := filepath.Join(t.TempDir(), "mail.log")
	appendTo(t, path, deliveryLines("AAAAAA111", 2))
	ctx := context.Background()

	// The first collector begins the file and dies before any commit.
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	fp, _, err := fileFingerprint(f)
	if err != nil {
		t.Fatal(err)
	}
	info, _ := f.Stat()
	f.Close()
	first := NewPipeline(st, PipelineOptions{Logger: quiet()})
	if _, err := first.Begin(ctx, path, fp, fileID(info), time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := first.MarkBegun(ctx); err != nil {
		t.Fatal(err)
	}

	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	appendTo(t, path, deliveryLines("BBBBBB222", 1))

	ctx2, cancel := context.WithCancel(ctx)
	p := NewPipeline(st, PipelineOptions{Announce: true, Grace: 50 * time.Millisecond, Logger: quiet()})
	done := make(chan error, 1)
	go func() {
		done <- Follow(ctx2, p, path, FollowOptions{Poll: 20 * time.Millisecond, CommitEvery: 50 * time.Millisecond, Logger: quiet()})
	}()
	waitFor(t, st, "SELECT count() FROM delivery_events", 3)
	cancel()
	<-done
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if n := storetest.Count(t, st, "SELECT count() FROM delivery_events WHERE queue_id = 'AAAAAA111'"); n != 2 {
		t.Errorf("%d attempts of the rotated file, want 2", n)
	}
}
