// Package traceid is the trace ID: the identifier mailtrace gives every
// message it sees, written into the message as the X-Mailtrace-ID header and
// into its envelope as the DSN envelope ID (ENVID, RFC 3461 section 4.4), so
// that the message, its log lines and the bounce reports that come back for
// it can be joined.
//
// A trace ID is a UUID version 7 (RFC 9562 section 5.7): 48 bits of Unix
// milliseconds then random bits, so IDs sort by the time they were made and
// never repeat across hosts without coordination.
package traceid

import (
	"encoding/hex"
	"time"

	"github.com/google/uuid"
)

// ID is one trace ID, in the byte order of the UUID's text form.
type ID [16]byte

// New makes a fresh trace ID. IDs made by one process in the same
// millisecond still sort in the order they were made.
func New() ID {
	u, err := uuid.NewV7()
	if err != nil {
		// NewV7 fails only when the system's random source does, and then
		// no process on this machine can make safe IDs: stop loudly.
		panic("traceid: no randomness: " + err.Error())
	}
	return ID(u)
}

// Parse reads the canonical text form, 8-4-4-4-12 hex digits in either
// case, with surrounding spaces ignored. Anything else is refused: IDs come
// from headers, logs and bounce reports, all of which can be forged.
func Parse(s string) (ID, bool) {
	var id ID
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t' || s[len(s)-1] == '\r' || s[len(s)-1] == '\n') {
		s = s[:len(s)-1]
	}
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return id, false
	}
	var h [32]byte
	copy(h[0:8], s[0:8])
	copy(h[8:12], s[9:13])
	copy(h[12:16], s[14:18])
	copy(h[16:20], s[19:23])
	copy(h[20:32], s[24:36])
	if _, err := hex.Decode(id[:], h[:]); err != nil {
		return ID{}, false
	}
	return id, true
}

// String is the canonical lowercase text form.
func (id ID) String() string {
	var b [36]byte
	hex.Encode(b[0:8], id[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], id[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], id[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], id[8:10])
	b[23] = '-'
	hex.Encode(b[24:36], id[10:16])
	return string(b[:])
}

// IsZero tells whether id is unset (a message that never passed the milter).
func (id ID) IsZero() bool { return id == ID{} }

// Time is when a version 7 ID was made, to the millisecond; the zero time
// for other versions.
func (id ID) Time() time.Time {
	if id[6]>>4 != 7 {
		return time.Time{}
	}
	ms := int64(id[0])<<40 | int64(id[1])<<32 | int64(id[2])<<24 | int64(id[3])<<16 | int64(id[4])<<8 | int64(id[5])
	return time.UnixMilli(ms).UTC()
}
