package schema

import (
	"strings"
	"time"
)

// Digits of a fraction of a second of the sources the store knows, as the
// time_digits columns keep them.
const (
	DigitsWholeSecond uint8 = 0 // maillog_file, BSD syslog, a report's Date header
	DigitsMicrosecond uint8 = 6 // the milter's clock, RFC 3339 syslog, journald
)

// DigitsUnit is the resolution of a time with digits digits of a
// fraction of a second: 1s for none, 1µs for six.
func DigitsUnit(digits uint8) time.Duration {
	u := time.Second
	for range min(digits, 9) {
		u /= 10
	}
	return u
}

// TimeLayout is the layout of a time with exactly digits digits of a
// fraction of a second (trailing zeros kept), sep between date and time.
func TimeLayout(digits uint8, sep string) string {
	l := "2006-01-02" + sep + "15:04:05"
	if d := min(digits, 9); d > 0 {
		l += "." + strings.Repeat("0", int(d))
	}
	return l
}

// RFC3339Digits writes t in UTC as RFC 3339 with exactly the digits its
// source has, cut (not rounded) to them: the microseconds the store adds
// to keep the lines of one whole second in log order are not written.
func RFC3339Digits(t time.Time, digits uint8) string {
	return t.UTC().Truncate(DigitsUnit(digits)).Format(TimeLayout(digits, "T") + "Z07:00")
}
