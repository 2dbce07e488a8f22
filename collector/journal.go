package collector

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"
)

// journald's export format (`journalctl -o export`, see systemd's "Journal
// Export Format") holds one entry per block of FIELD=value lines ended by
// an empty line; a value with a newline or binary data is written as the
// field name, a newline, its length as 64-bit little endian, the data, and
// a newline. Each Postfix entry is turned into the syslog line it stands
// for, with an RFC 3339 timestamp, so that it is parsed like any other:
//
//	2026-11-25T10:00:00.123456Z mx1 postfix/smtp[51]: 4dK9Fq1MpkzB3: to=<...>, ...

// journalMagic starts every export stream: its first field is the cursor.
var journalMagic = []byte("__CURSOR=")

// isJournalExport tells whether a stream starts like journald's export format.
func isJournalExport(head []byte) bool { return bytes.HasPrefix(head, journalMagic) }

// readJournal calls fn with each entry as a syslog line and the stream
// offset just after the entry (the stream starts at offset start). Entries
// without a MESSAGE are skipped.
func readJournal(r *bufio.Reader, start uint64, fn func(line []byte, end uint64, cursor string) error) error {
	pos := start
	var (
		e    journalEntry
		line []byte
	)
	emit := func() error {
		if !e.hasMsg {
			return nil
		}
		line = e.appendLine(line[:0])
		return fn(line, pos, e.cursor)
	}
	for {
		raw, err := r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			return fmt.Errorf("journal export: field longer than %d bytes at offset %d", r.Size(), pos)
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		if len(raw) == 0 && errors.Is(err, io.EOF) {
			return emit()
		}
		pos += uint64(len(raw))
		field := bytes.TrimSuffix(raw, []byte("\n"))
		if len(field) == 0 { // end of entry
			if err := emit(); err != nil {
				return err
			}
			e.reset()
			continue
		}
		var name, value []byte
		if eq := bytes.IndexByte(field, '='); eq >= 0 {
			name, value = field[:eq], field[eq+1:]
		} else {
			name = append([]byte(nil), field...)
			v, n, ferr := readBinaryField(r, name, pos)
			if ferr != nil {
				return ferr
			}
			value, pos = v, pos+n
		}
		e.set(name, value)
		if errors.Is(err, io.EOF) {
			return emit()
		}
	}
}

// journalEntry holds the fields of one journal export entry that make its
// syslog line.
type journalEntry struct {
	realtime              int64
	host, ident, pid, msg []byte
	cursor                string
	hasMsg                bool
}

// reset empties the entry for the next one, keeping its memory (and the
// cursor, which every entry sets).
func (e *journalEntry) reset() {
	e.realtime, e.host, e.ident, e.pid, e.msg, e.hasMsg = 0, e.host[:0], e.ident[:0], e.pid[:0], e.msg[:0], false
}

// set keeps one field of the entry, if the line needs it.
func (e *journalEntry) set(name, value []byte) {
	switch string(name) {
	case "__CURSOR":
		e.cursor = string(value)
	case "__REALTIME_TIMESTAMP":
		e.realtime, _ = strconv.ParseInt(string(value), 10, 64)
	case "_HOSTNAME":
		e.host = append(e.host[:0], value...)
	case "SYSLOG_IDENTIFIER":
		e.ident = append(e.ident[:0], value...)
	case "SYSLOG_PID":
		e.pid = append(e.pid[:0], value...)
	case "_PID":
		if len(e.pid) == 0 {
			e.pid = append(e.pid[:0], value...)
		}
	case "MESSAGE":
		// A message with newlines is cut at the first one: Postfix
		// writes one line per entry.
		if nl := bytes.IndexByte(value, '\n'); nl >= 0 {
			value = value[:nl]
		}
		e.msg, e.hasMsg = append(e.msg[:0], value...), true
	}
}

// appendLine appends the entry as the syslog line the parser reads:
// RFC 3339 time with microseconds, host, ident[pid]: message.
func (e *journalEntry) appendLine(line []byte) []byte {
	t := time.UnixMicro(e.realtime).UTC()
	line = t.AppendFormat(line, "2006-01-02T15:04:05.000000Z07:00")
	line = append(line, ' ')
	if len(e.host) == 0 {
		line = append(line, "localhost"...)
	}
	line = append(line, e.host...)
	line = append(line, ' ')
	if len(e.ident) == 0 {
		line = append(line, "unknown"...)
	}
	line = append(line, e.ident...)
	if len(e.pid) > 0 {
		line = append(append(append(line, '['), e.pid...), ']')
	}
	return append(append(line, ": "...), e.msg...)
}

// readBinaryField reads the value of a field in the export format's
// binary-safe form (NAME\n, its length as 8 little-endian bytes, the
// data, \n), the name already read; it returns the value and how many
// bytes it read.
func readBinaryField(r *bufio.Reader, name []byte, pos uint64) ([]byte, uint64, error) {
	var size [8]byte
	if _, err := io.ReadFull(r, size[:]); err != nil {
		return nil, 0, fmt.Errorf("journal export: field %s at offset %d: %w", name, pos, err)
	}
	n := binary.LittleEndian.Uint64(size[:])
	if n > 1<<24 {
		return nil, 0, fmt.Errorf("journal export: field %s of %d bytes at offset %d", name, n, pos)
	}
	value := make([]byte, n+1)
	if _, err := io.ReadFull(r, value); err != nil {
		return nil, 0, fmt.Errorf("journal export: field %s at offset %d: %w", name, pos, err)
	}
	return value[:n], 8 + n + 1, nil
}
