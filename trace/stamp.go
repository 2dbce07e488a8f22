package trace

import (
	"bytes"
	"fmt"
	"time"

	"github.com/mailtrace/mailtrace/schema"
)

// Stamp is a time with the precision its source has. Each fact of a trace
// comes from a clock of its own: the milter's accept time (microseconds),
// a Postfix log line (whole seconds from maillog_file and BSD syslog,
// microseconds from RFC 3339 high-precision syslog and journald), a
// report's Date header (whole seconds, the sender's clock).
//
// A whole-second stamp t means a moment in [t, t+1s). Stamps are shown,
// and written in JSON as RFC 3339 in UTC, with exactly Digits digits of a
// fraction: "2026-11-20T09:00:01Z" for a whole second,
// "2026-11-20T09:00:00.412345Z" for microseconds (trailing zeros kept).
// Digits never claims more than the source had: the collector keeps the
// lines of one whole second in log order by a microsecond each, and those
// microseconds are not shown.
type Stamp struct {
	time.Time
	Digits uint8 // of a fraction of a second: 0 (whole seconds) to 9
}

// Precisions of the sources the store knows.
const (
	DigitsWholeSecond = schema.DigitsWholeSecond // maillog_file, BSD syslog, a report's Date header
	DigitsMicrosecond = schema.DigitsMicrosecond // the milter's clock, RFC 3339 syslog, journald
)

// unit is the stamp's resolution: 1s for whole seconds, 1µs for six digits.
func (s Stamp) unit() time.Duration { return schema.DigitsUnit(s.Digits) }

// Start is the stamp as known: its time cut to its digits.
func (s Stamp) Start() time.Time { return s.Time.UTC().Truncate(s.unit()) }

// End is the first moment after the stamp's interval [Start, End).
func (s Stamp) End() time.Time { return s.Start().Add(s.unit()) }

// Overlaps tells whether the two stamps may stand for the same moment:
// then their times alone cannot order them.
func (s Stamp) Overlaps(o Stamp) bool { return s.Start().Before(o.End()) && o.Start().Before(s.End()) }

// layout is the time layout with the stamp's digits and sep between date
// and time.
func (s Stamp) layout(sep string) string { return schema.TimeLayout(s.Digits, sep) }

// Show writes the stamp in loc with its zone's abbreviation, with only
// the digits it has: "2026-11-20 10:00:01 CET".
func (s Stamp) Show(loc *time.Location) string {
	if s.IsZero() {
		return "-"
	}
	return s.Start().In(loc).Format(s.layout(" ") + " MST")
}

// RFC3339 is the stamp in UTC with only the digits it has.
func (s Stamp) RFC3339() string { return schema.RFC3339Digits(s.Time, s.Digits) }

// MarshalJSON writes RFC3339.
func (s Stamp) MarshalJSON() ([]byte, error) { return []byte(`"` + s.RFC3339() + `"`), nil }

// UnmarshalJSON reads an RFC 3339 time, its digits from its fraction.
func (s *Stamp) UnmarshalJSON(b []byte) error {
	var t time.Time
	if err := t.UnmarshalJSON(b); err != nil {
		return err
	}
	s.Time, s.Digits = t.UTC(), 0
	v := bytes.Trim(b, `"`)
	if i := bytes.IndexByte(v, '.'); i >= 0 {
		for _, c := range v[i+1:] {
			if c < '0' || c > '9' {
				break
			}
			s.Digits++
		}
	}
	if s.Digits > 9 {
		return fmt.Errorf("trace: time %s has more than 9 digits of a second", v)
	}
	return nil
}

// stampOf is a stored time with its digits.
func stampOf(t time.Time, digits uint8) Stamp { return Stamp{Time: t.UTC(), Digits: digits} }
