package collector

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"
)

// FollowOptions tune how a live log is followed.
type FollowOptions struct {
	// Poll is how often the file is checked for new lines and rotation
	// (default 250 ms).
	Poll time.Duration
	// CommitEvery bounds how long read lines wait before they are
	// committed to the store (default 1 s).
	CommitEvery time.Duration
	// RotateDrain is how long a rotated-away file is still read for lines
	// Postfix writes to it before it reopens its log (default 2 s).
	RotateDrain time.Duration
	Logger      *slog.Logger
}

func (o *FollowOptions) defaults() {
	if o.Poll <= 0 {
		o.Poll = 250 * time.Millisecond
	}
	if o.CommitEvery <= 0 {
		o.CommitEvery = time.Second
	}
	if o.RotateDrain <= 0 {
		o.RotateDrain = 2 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// Follow reads the log at path as Postfix writes it, from where the last
// run stopped, until ctx ends. It follows both rotation styles: rename and
// create (the old file is read to its end, including lines written to it
// after the rename), and copytruncate (reading starts again at the top).
// Only complete lines are read; a partial last line waits for its end.
//
// The file is polled rather than watched: rotation is then seen from the
// file's identity (device and inode), and nothing written to the old file
// is skipped in a race between "modified" and "moved" notifications.
func Follow(ctx context.Context, p *Pipeline, path string, opts FollowOptions) error {
	opts.defaults()
	if err := catchUpRotated(ctx, p, path, opts.Logger); err != nil {
		return err
	}
	for {
		f, err := waitOpen(ctx, path, opts.Poll)
		if err != nil {
			return err
		}
		err = followFile(ctx, p, path, f, opts)
		f.Close()
		if err != nil {
			if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				return commitOnExit(p, err)
			}
			return err
		}
	}
}

// commitOnExit commits what was read before stopping.
func commitOnExit(p *Pipeline, cause error) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.Commit(ctx); err != nil {
		return fmt.Errorf("%w; committing the last lines: %v", cause, err)
	}
	if err := p.Sync(ctx); err != nil {
		return fmt.Errorf("%w; committing the last lines: %v", cause, err)
	}
	return cause
}

func waitOpen(ctx context.Context, path string, poll time.Duration) (*os.File, error) {
	warned := false
	for {
		f, err := os.Open(path)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("opening log: %w", err)
		}
		if !warned {
			slog.Warn("log file does not exist yet; waiting for it", "path", path)
			warned = true
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(poll):
		}
	}
}

// tailReader reads complete lines from an open file, keeping a partial last
// line until its newline arrives.
type tailReader struct {
	f      *os.File
	buf    []byte // unread bytes; buf[0] is at file offset pos
	pos    uint64
	chunk  []byte
	cutLen int // bytes of an over-long line already passed

	// seen holds the last bytes before pos as they were read. A log cut
	// down and written again (copytruncate) past pos before the next poll
	// has a size that says nothing; its bytes before pos say it changed.
	seen    [seenLen]byte
	seenLen int
	check   []byte
}

// seenLen is how many bytes before the offset are compared at each poll: a
// line's tail, with its time stamp or queue ID, rarely comes back in the
// same place.
const seenLen = 64

func newTailReader(f *os.File, offset uint64) (*tailReader, error) {
	if _, err := f.Seek(int64(offset), io.SeekStart); err != nil {
		return nil, err
	}
	t := &tailReader{f: f, pos: offset, chunk: make([]byte, 1<<20), check: make([]byte, seenLen)}
	n := min(offset, seenLen)
	if n > 0 {
		got, err := f.ReadAt(t.seen[:n], int64(offset-n))
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, err
		}
		t.seenLen = got
		if got < int(n) {
			t.seenLen = 0
		}
	}
	return t, nil
}

// rewritten tells whether the bytes just before the read offset are no
// longer the ones read there: the file was cut and written again.
func (t *tailReader) rewritten() bool {
	if t.seenLen == 0 {
		return false
	}
	start := int64(t.pos) - int64(t.seenLen)
	n, err := t.f.ReadAt(t.check[:t.seenLen], start)
	if n < t.seenLen {
		return err != nil // shorter than what was read
	}
	return !bytes.Equal(t.check[:t.seenLen], t.seen[:t.seenLen])
}

// remember keeps the tail of raw, the bytes that end at the new offset.
func (t *tailReader) remember(raw []byte) {
	if len(raw) >= seenLen {
		t.seenLen = copy(t.seen[:], raw[len(raw)-seenLen:])
		return
	}
	// Shift what is kept left and append raw.
	keep := min(t.seenLen, seenLen-len(raw))
	copy(t.seen[:], t.seen[t.seenLen-keep:t.seenLen])
	t.seenLen = keep + copy(t.seen[keep:], raw)
}

// read reads what is available and calls fn for each complete line with
// the offset just after it. It returns how many bytes it read.
func (t *tailReader) read(fn func(line []byte, end uint64) error) (int, error) {
	total := 0
	for {
		n, err := t.f.Read(t.chunk)
		if n > 0 {
			total += n
			t.buf = append(t.buf, t.chunk[:n]...)
			if err := t.lines(fn); err != nil {
				return total, err
			}
		}
		if err == io.EOF || n == 0 {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

func (t *tailReader) lines(fn func(line []byte, end uint64) error) error {
	// base[:used] are the raw bytes passed in this call, ending at t.pos
	// and starting where the bytes remembered end.
	base, used := t.buf, 0
	for {
		nl := bytes.IndexByte(t.buf, '\n')
		if nl < 0 {
			t.remember(base[:used])
			if len(t.buf) > MaxLine {
				// Keep the head of an over-long line; count the rest.
				t.cutLen += len(t.buf) - MaxLine
				t.buf = t.buf[:MaxLine]
			}
			// Compact: move the partial line to the front of the buffer.
			if cap(t.buf) > 4*MaxLine {
				t.buf = append([]byte(nil), t.buf...)
			}
			return nil
		}
		line := t.buf[:nl]
		if len(line) > MaxLine {
			t.cutLen += len(line) - MaxLine
			line = line[:MaxLine]
		}
		end := t.pos + uint64(nl+1+t.cutLen)
		if len(line) > 0 && line[len(line)-1] == '\r' {
			line = line[:len(line)-1]
		}
		if err := fn(line, end); err != nil {
			return err
		}
		if t.cutLen > 0 {
			// Some bytes before end were passed over, not kept.
			t.seenLen, base, used = 0, t.buf[nl+1:], 0
		} else {
			used += nl + 1
		}
		t.pos = end
		t.cutLen = 0
		t.buf = t.buf[nl+1:]
	}
}

// followFile follows one open file until it is rotated away (returns nil)
// or ctx ends.
func followFile(ctx context.Context, p *Pipeline, path string, f *os.File, opts FollowOptions) error {
	st, err := f.Stat()
	if err != nil {
		return err
	}
	id := fileID(st)
	fp, err := waitFingerprint(ctx, f, opts.Poll)
	if err != nil {
		return err
	}
	offset, err := p.Begin(ctx, path, fp, id, time.Now())
	if err != nil {
		return err
	}
	if offset > uint64(st.Size()) {
		opts.Logger.Warn("log is shorter than where reading stopped; reading it from the top", "path", path, "offset", offset, "size", st.Size())
		offset = 0
	}
	if err := p.MarkBegun(ctx); err != nil {
		return err
	}
	opts.Logger.Info("following log", "path", path, "offset", offset, "fingerprint", fp)
	r, err := newTailReader(f, offset)
	if err != nil {
		return err
	}
	line := func(l []byte, end uint64) error { return p.Line(ctx, l, end) }
	lastCommit := time.Now()
	var drainUntil time.Time
	for {
		if r.rewritten() {
			opts.Logger.Warn("log was truncated and written again (copytruncate); reading it from the top. "+
				"Lines written between the copy and the truncation are lost: prefer rotation by rename (create)", "path", path)
			if err := p.Commit(ctx); err != nil {
				return err
			}
			return nil
		}
		n, err := r.read(line)
		if err != nil {
			return err
		}
		if time.Since(lastCommit) >= opts.CommitEvery {
			if err := p.Commit(ctx); err != nil {
				return err
			}
			lastCommit = time.Now()
		}
		if n == 0 {
			if err := p.Tick(time.Now()); err != nil {
				return err
			}
			switch rotated, truncated := rotation(path, f, r.pos); {
			case truncated:
				opts.Logger.Warn("log was truncated (copytruncate); reading it from the top. "+
					"Lines written between the copy and the truncation are lost: prefer rotation by rename (create)", "path", path)
				if err := p.Commit(ctx); err != nil {
					return err
				}
				return nil
			case rotated && drainUntil.IsZero():
				drainUntil = time.Now().Add(opts.RotateDrain)
			case rotated && time.Now().After(drainUntil):
				opts.Logger.Info("log was rotated; following the new file", "path", path, "old_offset", r.pos)
				if err := p.Commit(ctx); err != nil {
					return err
				}
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(opts.Poll):
		}
	}
}

// rotation tells whether path now names another file, or the same file
// cut shorter than what was read.
func rotation(path string, f *os.File, pos uint64) (rotated, truncated bool) {
	cur, err := os.Stat(path)
	if err != nil {
		return errors.Is(err, os.ErrNotExist), false
	}
	open, err := f.Stat()
	if err != nil {
		return false, false
	}
	if !os.SameFile(cur, open) {
		return true, false
	}
	return false, uint64(open.Size()) < pos
}

// waitFingerprint waits for the file's first complete line, which
// identifies it.
func waitFingerprint(ctx context.Context, f *os.File, poll time.Duration) (string, error) {
	for {
		fp, ok, err := fileFingerprint(f)
		if err != nil || ok {
			return fp, err
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(poll):
		}
	}
}

// catchUpRotated finishes a file that was rotated away while the collector
// was not running: the last checkpoint of path names a file that is no
// longer at path; if a rotated copy of it (path.1, path-20261125...) is
// found, its unread end is read before the new file.
func catchUpRotated(ctx context.Context, p *Pipeline, path string, log *slog.Logger) error {
	last, found, err := LatestCheckpoint(ctx, p.st, path)
	if err != nil || !found {
		return err
	}
	if f, err := os.Open(path); err == nil {
		fp, _, _ := fileFingerprint(f)
		f.Close()
		if fp == last.Fingerprint {
			return nil // still the same file
		}
	}
	candidates, _ := filepath.Glob(path + "?*")
	for _, c := range candidates {
		f, err := os.Open(c)
		if err != nil {
			continue
		}
		fp, _, _ := fileFingerprint(f)
		if fp != last.Fingerprint {
			f.Close()
			continue
		}
		st, _ := f.Stat()
		log.Info("reading the end of a log rotated while stopped", "file", c, "from", last.Offset)
		if _, err := p.Begin(ctx, path, fp, fileID(st), time.Now()); err != nil {
			f.Close()
			return err
		}
		r, err := newTailReader(f, last.Offset)
		if err == nil {
			_, err = r.read(func(l []byte, end uint64) error { return p.Line(ctx, l, end) })
		}
		f.Close()
		if err != nil {
			return err
		}
		if err := p.Commit(ctx); err != nil {
			return err
		}
		return p.Sync(ctx)
	}
	log.Warn("the log was rotated while stopped and its rotated copy was not found; its last lines are not read",
		"path", path, "offset", last.Offset)
	return nil
}
