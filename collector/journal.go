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
		realtime              int64
		host, ident, pid, msg []byte
		cursor                string
		hasMsg                bool
		line                  []byte
	)
	reset := func() {
		realtime, host, ident, pid, msg, hasMsg = 0, host[:0], ident[:0], pid[:0], msg[:0], false
	}
	emit := func() error {
		if !hasMsg {
			return nil
		}
		t := time.UnixMicro(realtime).UTC()
		line = t.AppendFormat(line[:0], "2006-01-02T15:04:05.000000Z07:00")
		line = append(line, ' ')
		if len(host) == 0 {
			line = append(line, "localhost"...)
		}
		line = append(line, host...)
		line = append(line, ' ')
		if len(ident) == 0 {
			line = append(line, "unknown"...)
		}
		line = append(line, ident...)
		if len(pid) > 0 {
			line = append(append(append(line, '['), pid...), ']')
		}
		line = append(append(line, ": "...), msg...)
		return fn(line, pos, cursor)
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
			reset()
			continue
		}
		var name, value []byte
		if eq := bytes.IndexByte(field, '='); eq >= 0 {
			name, value = field[:eq], field[eq+1:]
		} else {
			// Binary-safe form: NAME\n, length, data, \n.
			name = append([]byte(nil), field...)
			var size [8]byte
			if _, err := io.ReadFull(r, size[:]); err != nil {
				return fmt.Errorf("journal export: field %s at offset %d: %w", name, pos, err)
			}
			n := binary.LittleEndian.Uint64(size[:])
			if n > 1<<24 {
				return fmt.Errorf("journal export: field %s of %d bytes at offset %d", name, n, pos)
			}
			value = make([]byte, n+1)
			if _, err := io.ReadFull(r, value); err != nil {
				return fmt.Errorf("journal export: field %s at offset %d: %w", name, pos, err)
			}
			pos += 8 + n + 1
			value = value[:n]
		}
		switch string(name) {
		case "__CURSOR":
			cursor = string(value)
		case "__REALTIME_TIMESTAMP":
			realtime, _ = strconv.ParseInt(string(value), 10, 64)
		case "_HOSTNAME":
			host = append(host[:0], value...)
		case "SYSLOG_IDENTIFIER":
			ident = append(ident[:0], value...)
		case "SYSLOG_PID":
			pid = append(pid[:0], value...)
		case "_PID":
			if len(pid) == 0 {
				pid = append(pid[:0], value...)
			}
		case "MESSAGE":
			// A message with newlines is cut at the first one: Postfix
			// writes one line per entry.
			if nl := bytes.IndexByte(value, '\n'); nl >= 0 {
				value = value[:nl]
			}
			msg, hasMsg = append(msg[:0], value...), true
		}
		if errors.Is(err, io.EOF) {
			return emit()
		}
	}
}
