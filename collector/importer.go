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
	Events      uint64
	Messages    uint64
	Elapsed     time.Duration
}

// Import reads one old log file into the store through p: a syslog or
// maillog_file log, or journald's export format (journalctl -o export),
// plain or gzip-compressed.
// A file already imported adds nothing; a file whose import was cut off
// continues where it stopped.
func Import(ctx context.Context, p *Pipeline, path string) (ImportResult, error) {
	start := time.Now()
	res := ImportResult{Path: path}
	f, err := os.Open(path)
	if err != nil {
		return res, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return res, err
	}
	br := bufio.NewReaderSize(f, 1<<20)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return res, fmt.Errorf("%s: %w", path, err)
		}
		defer gz.Close()
		br = bufio.NewReaderSize(gz, 1<<20)
	}
	head, err := br.Peek(fingerprintSize)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return res, fmt.Errorf("%s: %w", path, err)
	}
	if len(head) == 0 {
		return res, nil // empty file: nothing to import
	}
	fp, ok := fingerprint(head)
	if !ok { // an old file of one line without its newline
		fp = hashHead(head)
	}
	res.Fingerprint = fp
	before := p.Stats
	offset, err := p.Begin(ctx, "import", res.Fingerprint, fileID(st), st.ModTime())
	if err != nil {
		return res, err
	}
	res.SkippedTo = offset
	if offset > 0 {
		if _, err := io.CopyN(io.Discard, br, int64(offset)); err != nil && !errors.Is(err, io.EOF) {
			return res, fmt.Errorf("%s: skipping the %d bytes already imported: %w", path, offset, err)
		}
	}
	pos := offset
	if isJournalExport(head) {
		err = readJournal(br, offset, func(line []byte, end uint64, _ string) error {
			pos = end
			return p.Line(ctx, line, end)
		})
	} else {
		err = readLines(br, func(line []byte, n int) error {
			pos += uint64(n)
			return p.Line(ctx, line, pos)
		})
	}
	if err != nil {
		return res, fmt.Errorf("%s: %w", path, err)
	}
	if err := p.End(ctx); err != nil {
		return res, fmt.Errorf("%s: %w", path, err)
	}
	res.Size = pos
	res.Lines = p.Stats.Lines - before.Lines
	res.Events = p.Stats.Events - before.Events
	res.Messages = p.Stats.Messages - before.Messages
	res.Elapsed = time.Since(start)
	return res, nil
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
