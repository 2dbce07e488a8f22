package dsn

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
)

// ErrNotMessage means the input is not a mail message (RFC 5322): it does
// not start with a header section, or the header holds binary data.
var ErrNotMessage = errors.New("not a mail message")

// commonFields are header fields nearly every message has, one of which a
// saved report must carry: RFC 5322 requires From and Date, and what
// Postfix, receivers and mailbox programs add carries the others.
var commonFields = []string{"from", "date", "message-id", "subject", "to", "received", "return-path",
	"content-type", "mime-version", "delivered-to", "x-failed-recipients", "auto-submitted", "sender"}

// CheckMessage tells whether raw is a mail message as saved from a
// mailbox or a Maildir: a header section first (RFC 5322 section 2.2:
// "Name: value" fields, continued on lines that start with a space or a
// tab) up to an empty line or the end, without NUL bytes, with at least one
// field every message has (From, Date, Message-ID, Subject, Received...).
// What real saved messages carry before it is allowed: an mbox "From "
// separator line, a byte-order mark, blank lines. So are broken lines
// within the header (a long value some program cut without folding it),
// as the parser reads past them. Anything else — a binary file, a text
// without a header, a report's body saved without its message — is
// ErrNotMessage, with what is wrong.
func CheckMessage(raw []byte) error {
	rest := bytes.TrimPrefix(raw, []byte("\xef\xbb\xbf"))
	if bytes.HasPrefix(rest, []byte("From ")) { // mbox separator
		rest = afterLine(rest)
	}
	for len(rest) > 0 && len(bytes.TrimSpace(firstLine(rest))) == 0 {
		rest = afterLine(rest)
	}
	if len(rest) == 0 {
		return fmt.Errorf("%w: the file is empty", ErrNotMessage)
	}
	known := false
	fields := 0
	for line := 1; len(rest) > 0; line++ {
		text := bytes.TrimSuffix(firstLine(rest), []byte("\r"))
		rest = afterLine(rest)
		if len(text) == 0 {
			break // the end of the header
		}
		if i := bytes.IndexByte(text, 0); i >= 0 {
			return fmt.Errorf("%w: header line %d holds a NUL byte: binary data", ErrNotMessage, line)
		}
		if text[0] == ' ' || text[0] == '\t' {
			if fields == 0 {
				return fmt.Errorf("%w: it does not start with a header (its first line %q is indented)", ErrNotMessage, clipLine(text))
			}
			continue
		}
		name, ok := fieldName(text)
		if !ok {
			if fields == 0 {
				return fmt.Errorf("%w: it does not start with a header (%q is not a \"Name: value\" field)", ErrNotMessage, clipLine(text))
			}
			continue // a value cut without folding
		}
		fields++
		for _, f := range commonFields {
			if strings.EqualFold(name, f) {
				known = true
			}
		}
	}
	if !known {
		return fmt.Errorf("%w: its header of %d field(s) has none of From, Date, Message-ID, Subject, To, Received", ErrNotMessage, fields)
	}
	return nil
}

// fieldName is the name of the header field on line: printable US-ASCII
// other than a colon (RFC 5322 section 3.6.8), then a colon, with blanks
// allowed before it (the obsolete syntax of section 4.5).
func fieldName(line []byte) (string, bool) {
	colon := bytes.IndexByte(line, ':')
	if colon <= 0 {
		return "", false
	}
	name := bytes.TrimRight(line[:colon], " \t")
	if len(name) == 0 {
		return "", false
	}
	for _, c := range name {
		if c < 33 || c > 126 {
			return "", false
		}
	}
	return string(name), true
}

func firstLine(b []byte) []byte {
	if nl := bytes.IndexByte(b, '\n'); nl >= 0 {
		return b[:nl]
	}
	return b
}

func afterLine(b []byte) []byte {
	if nl := bytes.IndexByte(b, '\n'); nl >= 0 {
		return b[nl+1:]
	}
	return nil
}

// clipLine shortens a line quoted in an error.
func clipLine(b []byte) string {
	if len(b) > 60 {
		b = b[:60]
	}
	return string(b)
}
