package collector

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
	"time"

	"github.com/mailtrace/mailtrace/postfixlog"
)

// MaxLine is the longest line kept whole; longer lines are cut there (the
// rest up to the newline is skipped) and still parsed. rsyslog cuts at 8 KiB
// by default; Postfix's own log lines stay far below this.
const MaxLine = 1 << 20

// fingerprintSize bounds the first line that identifies a log file.
const fingerprintSize = 4096

// ImportResult says what importing one file did.
type ImportResult struct {
	Path        string
	Fingerprint string
	Lines       uint64 // lines read this time
	SkippedTo   uint64 // offset the file was already imported up to
	Size        uint64 // bytes, uncompressed
	Events      uint64 // delivery events stored
	Messages    uint64 // message records stored
	// Unknown counts the lines about a message not understood, by kind.
	Unknown map[string]uint64
	// Outside counts the rows older than the store's retention, not
	// stored; Skipped the rows not before ImportOptions.Before.
	Outside Outside
	Skipped uint64
	Elapsed time.Duration
}

// ErrNotPostfixLog means a file holds no Postfix log line, or nothing at
// all: it is not imported, and nothing is stored for it.
var ErrNotPostfixLog = errors.New("not a Postfix log")

// ErrUnreadable means a file could not be read to its end (a damaged
// gzip stream, an I/O error): reading it again stops at the same place.
var ErrUnreadable = errors.New("unreadable")

// ImportFormats says what Import reads, for messages to users.
const ImportFormats = "Postfix's log as syslog writes it (\"Nov 25 10:00:00 mx1 postfix/smtp[123]: ...\", or with an RFC 3339 time), " +
	"Postfix's own maillog_file, or journald's export format (journalctl -o export), plain or gzip-compressed"

// Import reads one old log file into the store through p: a syslog or
// maillog_file log, or journald's export format (journalctl -o export),
// plain or gzip-compressed.
// A file already imported adds nothing; a file whose import was cut off
// continues where it stopped. A file without a single Postfix line (empty,
// binary, another program's log) is ErrNotPostfixLog, and nothing is
// stored for it; one that cannot be read to its end is ErrUnreadable.
// Other errors come from the store or ctx: the import was cut off, and
// running it again continues.
func Import(ctx context.Context, p *Pipeline, path string) (ImportResult, error) {
	start := time.Now()
	res := ImportResult{Path: path}
	f, br, closeLog, err := openLog(path)
	if err != nil {
		return res, err
	}
	defer closeLog()
	st, err := f.Stat()
	if err != nil {
		return res, err
	}
	head, err := br.Peek(fingerprintSize)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return res, fmt.Errorf("%s: %w: %w", path, ErrUnreadable, err)
	}
	if len(head) == 0 {
		return res, fmt.Errorf("%s: %w: the file is empty (uncompressed); import reads %s", path, ErrNotPostfixLog, ImportFormats)
	}
	journal := isJournalExport(head)
	if err := checkPostfixLog(path, journal); err != nil {
		return res, err
	}
	fp, ok := fingerprint(head)
	if !ok { // an old file of one line without its newline
		fp = hashHead(head)
	}
	res.Fingerprint = fp
	before := p.Stats.clone()
	offset, err := p.Begin(ctx, "import", res.Fingerprint, fileID(st), st.ModTime())
	if err != nil {
		return res, err
	}
	res.SkippedTo = offset
	if offset > 0 {
		if _, err := io.CopyN(io.Discard, br, int64(offset)); err != nil && !errors.Is(err, io.EOF) {
			return res, fmt.Errorf("%s: skipping the %d bytes already imported: %w: %w", path, offset, ErrUnreadable, err)
		}
	}
	pos := offset
	// The pipeline's errors (the store's, ctx's) are told apart from the
	// file's own.
	var lineErr error
	if journal {
		err = readJournal(br, offset, func(line []byte, end uint64, _ string) error {
			pos = end
			lineErr = p.Line(ctx, line, end)
			return lineErr
		})
	} else {
		err = readLines(br, func(line []byte, n int) error {
			pos += uint64(n)
			lineErr = p.Line(ctx, line, pos)
			return lineErr
		})
	}
	if err != nil && lineErr == nil {
		return res, fmt.Errorf("%s: %w after byte %d: %w", path, ErrUnreadable, pos, err)
	}
	if err != nil {
		return res, fmt.Errorf("%s: %w", path, err)
	}
	if err := p.End(ctx); err != nil {
		return res, fmt.Errorf("%s: %w", path, err)
	}
	res.Size = pos
	d := p.Stats.sub(before)
	res.Lines, res.Events, res.Messages, res.Unknown, res.Outside, res.Skipped = d.Lines, d.Events, d.Messages, d.Unknown, d.Outside, d.Skipped
	res.Elapsed = time.Since(start)
	return res, nil
}

// openLog opens a log file for reading, decompressed if it is gzip.
func openLog(path string) (*os.File, *bufio.Reader, func(), error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, nil, err
	}
	br := bufio.NewReaderSize(f, 1<<20)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, err := gzip.NewReader(br)
		if err != nil {
			f.Close()
			return nil, nil, nil, fmt.Errorf("%s: %w: gzip: %w", path, ErrUnreadable, err)
		}
		return f, bufio.NewReaderSize(gz, 1<<20), func() { gz.Close(); f.Close() }, nil
	}
	return f, br, func() { f.Close() }, nil
}

// errPostfixLine stops checkPostfixLog's reading at the first Postfix line.
var errPostfixLine = errors.New("a Postfix line")

// checkPostfixLog reads the file from its start up to its first Postfix
// line, and is ErrNotPostfixLog when there is none: before anything is
// stored for it. A Postfix log has one within its first lines; a
// syslog of every program may have to be read further.
func checkPostfixLog(path string, journal bool) error {
	_, br, closeLog, err := openLog(path)
	if err != nil {
		return err
	}
	defer closeLog()
	var (
		parser postfixlog.Parser
		rec    postfixlog.Record
		lines  uint64
		size   uint64
		nul    bool
	)
	look := func(line []byte) error {
		lines++
		nul = nul || bytes.IndexByte(line, 0) >= 0
		if parser.Parse(line, &rec); rec.Kind > postfixlog.NotPostfix {
			return errPostfixLine
		}
		return nil
	}
	if journal {
		err = readJournal(br, 0, func(line []byte, end uint64, _ string) error {
			size = end
			return look(line)
		})
	} else {
		err = readLines(br, func(line []byte, n int) error {
			size += uint64(n)
			return look(line)
		})
	}
	switch {
	case errors.Is(err, errPostfixLine):
		return nil
	case err != nil:
		return fmt.Errorf("%s: %w after byte %d: %w", path, ErrUnreadable, size, err)
	}
	what := "lines"
	if journal {
		what = "journal entries"
	}
	binary := ""
	if nul {
		binary = ", binary data"
	}
	return fmt.Errorf("%s: %w: none of its %d %s (%d bytes%s) is a Postfix log line; import reads %s",
		path, ErrNotPostfixLog, lines, what, size, binary, ImportFormats)
}

// readLines calls fn for each line of r without its newline, with the
// number of bytes it took (newline included). A last line without a
// newline is a line. Lines over MaxLine are cut to MaxLine. fn must not
// keep line.
func readLines(r *bufio.Reader, fn func(line []byte, n int) error) error {
	var long []byte // a line longer than the buffer, up to MaxLine
	longN := 0      // its bytes so far
	for {
		chunk, err := r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			longN += len(chunk)
			if room := MaxLine - len(long); room > 0 {
				long = append(long, chunk[:min(len(chunk), room)]...)
			}
			continue
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		if len(chunk) == 0 && longN == 0 {
			return nil
		}
		n := longN + len(chunk)
		line := chunk
		if longN > 0 {
			if room := MaxLine - len(long); room > 0 {
				long = append(long, chunk[:min(len(chunk), room)]...)
			}
			line = long
		}
		if len(line) > 0 && line[len(line)-1] == '\n' {
			line = line[:len(line)-1]
		}
		if len(line) > 0 && line[len(line)-1] == '\r' {
			line = line[:len(line)-1]
		}
		long, longN = long[:0], 0
		if ferr := fn(line, n); ferr != nil {
			return ferr
		}
		if err != nil {
			return nil
		}
	}
}

// fingerprint identifies a log file by its first line (at most
// fingerprintSize bytes of it): it has a time, a host and a process ID, and
// stays the same as the file grows. ok is false while the file's first line
// is not complete yet.
func fingerprint(head []byte) (fp string, ok bool) {
	head = head[:min(len(head), fingerprintSize)]
	if nl := bytes.IndexByte(head, '\n'); nl >= 0 {
		head = head[:nl]
	} else if len(head) < fingerprintSize {
		return "", false
	}
	return hashHead(head), true
}

func hashHead(head []byte) string {
	sum := sha256.Sum256(head)
	return hex.EncodeToString(sum[:12])
}

// fileFingerprint fingerprints an open file from its first bytes.
func fileFingerprint(f *os.File) (string, bool, error) {
	buf := make([]byte, fingerprintSize)
	n, err := f.ReadAt(buf, 0)
	if err != nil && err != io.EOF {
		return "", false, err
	}
	fp, ok := fingerprint(buf[:n])
	return fp, ok, nil
}

// fileID is the file's device and inode, which rotation changes.
func fileID(st os.FileInfo) string {
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		return fmt.Sprintf("%d:%d", s.Dev, s.Ino)
	}
	return ""
}
