package postfixlog

import (
	"bytes"
	"time"
)

// Parser reads lines. Its zero value reads BSD timestamps as UTC in the
// current year; set Location and Reference for real logs.
type Parser struct {
	// Location is the time zone of timestamps that carry none (BSD style).
	Location *time.Location
	// Reference is a time at or after the line was written (the file's
	// modification time, or now when following a live log). BSD timestamps
	// have no year: the year is Reference's, or the one before when that
	// would put the line more than a day after Reference (December lines
	// read in January).
	Reference time.Time

	yearOf  time.Time // the Reference year was computed for
	yearLoc *time.Location
	year    int
}

var months = [...]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

// Parse reads one line (without its newline) into r and reports whether it
// had a syslog prefix. r's byte fields point into line.
func (p *Parser) Parse(line []byte, r *Record) bool {
	*r = Record{}
	rest, ok := p.timestamp(line, r)
	if !ok {
		return false
	}
	// host
	sp := bytes.IndexByte(rest, ' ')
	if sp <= 0 {
		return false
	}
	r.Host, rest = rest[:sp], rest[sp+1:]
	// program[pid]: or program:
	end := 0
	for end < len(rest) && rest[end] != '[' && rest[end] != ':' && rest[end] != ' ' {
		end++
	}
	if end == 0 || end == len(rest) || rest[end] == ' ' {
		r.Kind = NotPostfix
		r.Text = rest
		return true
	}
	r.Program = rest[:end]
	rest = rest[end:]
	if rest[0] == '[' {
		close := bytes.IndexByte(rest, ']')
		if close < 0 {
			r.Kind = NotPostfix
			return true
		}
		r.PID = uint32(atoi(rest[1:close]))
		rest = rest[close+1:]
	}
	if len(rest) == 0 || rest[0] != ':' {
		r.Kind = NotPostfix
		return true
	}
	rest = rest[1:]
	if len(rest) > 0 && rest[0] == ' ' {
		rest = rest[1:]
	}
	r.Text = rest
	if !splitProgram(r) {
		r.Kind = NotPostfix
		return true
	}
	parseMessage(r, rest)
	return true
}

// splitProgram splits the syslog name into instance, service and daemon,
// and tells whether it names a Postfix daemon.
func splitProgram(r *Record) bool {
	prog := r.Program
	first := bytes.IndexByte(prog, '/')
	if first <= 0 {
		return false
	}
	last := bytes.LastIndexByte(prog, '/')
	r.Instance = prog[:first]
	r.Daemon = prog[last+1:]
	if last > first {
		r.Service = prog[first+1 : last]
	}
	return isDaemon(r.Daemon)
}

// isDaemon tells whether b names a Postfix daemon or command.
func isDaemon(b []byte) bool {
	switch string(b) {
	case "smtp", "smtpd", "lmtp", "qmgr", "oqmgr", "cleanup", "pickup", "bounce", "defer", "trace", "local",
		"virtual", "pipe", "error", "retry", "discard", "postscreen", "postsuper", "master", "anvil", "scache",
		"tlsmgr", "tlsproxy", "dnsblog", "verify", "trivial-rewrite", "rewrite", "postfix-script", "sendmail",
		"postdrop", "postlogd", "flush", "showq", "proxymap", "proxywrite", "spawn", "postqueue", "postmap",
		"postalias", "postconf", "postlog", "qmqpd", "relay", "policy-spf":
		return true
	}
	return false
}

// timestamp reads an RFC 3339 or BSD timestamp and the space after it.
func (p *Parser) timestamp(line []byte, r *Record) ([]byte, bool) {
	if len(line) >= 20 && isDigit(line[0]) && line[4] == '-' {
		return p.rfc3339(line, r)
	}
	return p.bsd(line, r)
}

// rfc3339 reads 2026-11-25T10:00:00[.ffffff](Z|+01:00), as rsyslog writes
// it, and the shapes near it: journalctl -o short-iso's +0100 offset, and
// "2026-11-25 10:00:00" with a space and no offset (local time, in
// Location).
func (p *Parser) rfc3339(line []byte, r *Record) ([]byte, bool) {
	if line[7] != '-' || line[10] != 'T' && line[10] != ' ' || line[13] != ':' || line[16] != ':' {
		return nil, false
	}
	year, ok1 := digits(line[0:4])
	month, ok2 := digits(line[5:7])
	day, ok3 := digits(line[8:10])
	hour, ok4 := digits(line[11:13])
	min, ok5 := digits(line[14:16])
	sec, ok6 := digits(line[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || month < 1 || month > 12 {
		return nil, false
	}
	i := 19
	nsec := 0
	if i < len(line) && line[i] == '.' {
		i++
		scale := 100_000_000
		for ; i < len(line) && isDigit(line[i]); i++ {
			nsec += int(line[i]-'0') * scale
			scale /= 10
			if r.TimeDigits < 9 { // digits past the nanosecond add nothing
				r.TimeDigits++
			}
		}
	}
	if i >= len(line) {
		return nil, false
	}
	offset := 0
	switch line[i] {
	case 'Z', 'z':
		i++
	case '+', '-':
		mm := i + 3 // the minutes: after a colon (+01:00) or not (+0100)
		if mm < len(line) && line[mm] == ':' {
			mm++
		}
		if mm+2 > len(line) {
			return nil, false
		}
		oh, ok1 := digits(line[i+1 : i+3])
		om, ok2 := digits(line[mm : mm+2])
		if !ok1 || !ok2 {
			return nil, false
		}
		offset = oh*3600 + om*60
		if line[i] == '-' {
			offset = -offset
		}
		i = mm + 2
	case ' ':
		if line[10] != ' ' {
			return nil, false
		}
		// No offset: local time.
		loc := p.Location
		if loc == nil {
			loc = time.UTC
		}
		r.Time = time.Date(year, time.Month(month), day, hour, min, sec, nsec, loc).UTC()
		return line[i+1:], true
	default:
		return nil, false
	}
	if i >= len(line) || line[i] != ' ' {
		return nil, false
	}
	r.Time = time.Date(year, time.Month(month), day, hour, min, sec, nsec, time.UTC).Add(-time.Duration(offset) * time.Second)
	return line[i+1:], true
}

// bsd reads "Nov  5 03:04:05" (optionally with a fraction of a second),
// and "Nov 5 03:04:05", the day unpadded, as some syslog daemons write it.
func (p *Parser) bsd(line []byte, r *Record) ([]byte, bool) {
	if len(line) < 15 || line[3] != ' ' {
		return nil, false
	}
	month := 0
	for i, m := range months {
		if line[0] == m[0] && line[1] == m[1] && line[2] == m[2] {
			month = i + 1
			break
		}
	}
	if month == 0 {
		return nil, false
	}
	var day int
	t := line[7:] // the time, after "Nov  5 " or "Nov 25 "
	switch {
	case line[4] == ' ' && isDigit(line[5]) && line[6] == ' ':
		day = int(line[5] - '0')
	case isDigit(line[4]) && isDigit(line[5]) && line[6] == ' ':
		day = int(line[4]-'0')*10 + int(line[5]-'0')
	case isDigit(line[4]) && line[5] == ' ':
		day, t = int(line[4]-'0'), line[6:]
	default:
		return nil, false
	}
	if len(t) < 9 || t[2] != ':' || t[5] != ':' {
		return nil, false
	}
	hour, ok1 := digits(t[0:2])
	min, ok2 := digits(t[3:5])
	sec, ok3 := digits(t[6:8])
	if !ok1 || !ok2 || !ok3 {
		return nil, false
	}
	i := 8
	nsec := 0
	if t[i] == '.' {
		i++
		scale := 100_000_000
		for ; i < len(t) && isDigit(t[i]); i++ {
			nsec += int(t[i]-'0') * scale
			scale /= 10
			if r.TimeDigits < 9 { // digits past the nanosecond add nothing
				r.TimeDigits++
			}
		}
	}
	if i >= len(t) || t[i] != ' ' {
		return nil, false
	}
	loc := p.Location
	if loc == nil {
		loc = time.UTC
	}
	ref := p.Reference
	if ref.IsZero() {
		ref = time.Now()
	}
	if !ref.Equal(p.yearOf) || loc != p.yearLoc {
		p.yearOf, p.yearLoc, p.year = ref, loc, ref.In(loc).Year()
	}
	ts := time.Date(p.year, time.Month(month), day, hour, min, sec, nsec, loc)
	if ts.Sub(ref) > 24*time.Hour {
		ts = time.Date(p.year-1, time.Month(month), day, hour, min, sec, nsec, loc)
	}
	r.Time = ts.UTC()
	return t[i+1:], true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// digits reads a fixed-width decimal number.
func digits(b []byte) (int, bool) {
	n := 0
	for _, c := range b {
		if !isDigit(c) {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, len(b) > 0
}

// atoi reads a decimal prefix, saturating rather than overflowing.
func atoi(b []byte) uint64 {
	var n uint64
	for _, c := range b {
		if !isDigit(c) {
			break
		}
		if n > (1<<64-1)/10-10 {
			return 1<<64 - 1
		}
		n = n*10 + uint64(c-'0')
	}
	return n
}
