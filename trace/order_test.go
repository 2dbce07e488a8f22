package trace

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/mailtrace/mailtrace/schema"
	"github.com/mailtrace/mailtrace/trace/tracetest"
)

func whole(t time.Time) Stamp { return Stamp{Time: t, Digits: DigitsWholeSecond} }
func micro(t time.Time) Stamp { return Stamp{Time: t, Digits: DigitsMicrosecond} }

// TestOrderEvents orders facts from clocks of different precision.
func TestOrderEvents(t *testing.T) {
	us := time.Microsecond
	tests := []struct {
		name string
		in   []Event // as read
		want string  // kinds in order
	}{
		{"a whole-second attempt in the second of a sub-second acceptance comes after it",
			[]Event{{Time: whole(t0.Add(us)), Clock: ClockLog, Kind: EventAttempt}, {Time: micro(t0.Add(412345 * us)), Clock: ClockMilter, Kind: EventAccepted}},
			"accepted attempt"},
		{"an attempt logged in the second before the acceptance stays before it: the clocks disagree, and that is shown",
			[]Event{{Time: whole(t0.Add(-time.Second)), Clock: ClockLog, Kind: EventAttempt}, {Time: micro(t0.Add(412345 * us)), Clock: ClockMilter, Kind: EventAccepted}},
			"attempt accepted"},
		{"a report dated in the second of the notification it came back through comes after it",
			[]Event{{Time: whole(t0.Add(2*time.Second + us)), Clock: ClockLog, Kind: EventNotification},
				{Time: whole(t0.Add(2 * time.Second)), Clock: ClockReport, Kind: EventReport}},
			"notification report"},
		{"a report taken in (sub-second) within the notification's whole second comes after it",
			[]Event{{Time: micro(t0.Add(2*time.Second + 300*time.Millisecond)), Clock: ClockReport, Kind: EventReport},
				{Time: whole(t0.Add(2 * time.Second)), Clock: ClockLog, Kind: EventNotification}},
			"notification report"},
		{"a report dated a second before the attempt that caused it stays before (its sender's clock is off)",
			[]Event{{Time: whole(t0.Add(5 * time.Second)), Clock: ClockLog, Kind: EventAttempt}, {Time: whole(t0.Add(4 * time.Second)), Clock: ClockReport, Kind: EventReport}},
			"report attempt"},
		{"lines of one log keep their log order within a second",
			[]Event{{Time: whole(t0.Add(3 * us)), Clock: ClockLog, Kind: EventAttempt, Recipient: "b"},
				{Time: whole(t0.Add(1 * us)), Clock: ClockLog, Kind: EventNotificationAttempt},
				{Time: whole(t0.Add(2 * us)), Clock: ClockLog, Kind: EventAttempt, Recipient: "a"}},
			"notification-attempt attempt attempt"},
		{"a chain across three clocks in one second",
			[]Event{{Time: whole(t0.Add(2 * time.Second)), Clock: ClockReport, Kind: EventReport},
				{Time: whole(t0.Add(2*time.Second + 2*us)), Clock: ClockLog, Kind: EventNotification},
				{Time: whole(t0.Add(2*time.Second + us)), Clock: ClockLog, Kind: EventAttempt},
				{Time: micro(t0.Add(2*time.Second + 900*time.Millisecond)), Clock: ClockMilter, Kind: EventAccepted}},
			"accepted attempt notification report"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := append([]Event(nil), tt.in...)
			orderEvents(ev)
			var got []string
			for _, e := range ev {
				got = append(got, e.Kind)
			}
			if strings.Join(got, " ") != tt.want {
				t.Errorf("order %v, want %s", got, tt.want)
			}
		})
	}
}

func TestStampJSONAndText(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no time zone database")
	}
	tests := []struct {
		name       string
		s          Stamp
		json, text string
	}{
		{"whole seconds show no fraction, and not the collector's line-order microseconds", whole(t0.Add(3 * time.Microsecond)), `"2026-11-20T09:00:00Z"`, "2026-11-20 10:00:00 CET"},
		{"microseconds keep their trailing zeros", micro(t0.Add(412000 * time.Microsecond)), `"2026-11-20T09:00:00.412000Z"`, "2026-11-20 10:00:00.412000 CET"},
		{"milliseconds", Stamp{Time: t0.Add(412345 * time.Microsecond), Digits: 3}, `"2026-11-20T09:00:00.412Z"`, "2026-11-20 10:00:00.412 CET"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(tt.s)
			if err != nil || string(b) != tt.json {
				t.Errorf("JSON %s (%v), want %s", b, err, tt.json)
			}
			if got := tt.s.Show(berlin); got != tt.text {
				t.Errorf("text %q, want %q", got, tt.text)
			}
			var back Stamp
			if err := json.Unmarshal(b, &back); err != nil || back.Digits != tt.s.Digits || !back.Equal(tt.s.Start()) {
				t.Errorf("read back as %v/%d (%v)", back.Time, back.Digits, err)
			}
		})
	}
}

// TestTracePrecisionAndOrder reads the fixture's legal notice, accepted
// 0.41 s into the second whose whole-second log lines show its first
// attempts, with a report dated in the second its notification was logged.
func TestTracePrecisionAndOrder(t *testing.T) {
	f := tracetest.New(t)
	tracetest.Insert(t, f.Store, schema.Bounces,
		&schema.Bounce{Time: t0.Add(2 * time.Second), EventID: 7, Kind: "dsn", MatchedBy: "verp", TraceID: [16]byte(f.Legal), Host: "mx1",
			QueueID: "4XAA1", Recipient: "bob@outlook.test", Action: "failed", Status: "5.1.1", TimeDigits: 0})
	msgs, err := NewReader(f.Store).Find(context.Background(), Query{ID: f.Legal.String()})
	if err != nil || len(msgs) != 1 {
		t.Fatalf("%d messages, %v", len(msgs), err)
	}
	m := msgs[0]
	b, _ := json.Marshal(m)
	js := string(b)
	var text strings.Builder
	WriteText(&text, msgs, time.UTC)
	tests := []struct {
		name, in, want string
	}{
		{"JSON: the accept time in microseconds", js, `"accepted":"2026-11-20T09:00:00.412345Z"`},
		{"JSON: a whole-second attempt", js, `"time":"2026-11-20T09:00:00Z","status":"sent"`},
		{"JSON: the log's span in whole seconds", js, `"first_seen":"2026-11-20T09:00:00Z","last_seen":"2026-11-20T09:10:00Z"`},
		{"JSON: the report's Date", js, `"time":"2026-11-20T09:00:02Z","kind":"dsn"`},
		{"JSON: the envelope sender", js, `"envelope_sender":"` + tracetest.VERP + `"`},
		{"text: the accept time", text.String(), "2026-11-20 09:00:00.412345 UTC (by the milter)"},
		{"text: an attempt", text.String(), "2026-11-20 09:00:00 UTC  sent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(tt.in, tt.want) {
				t.Errorf("lacks %s in:\n%s", tt.want, tt.in)
			}
		})
	}
	if strings.Contains(js, ".000") || strings.Contains(text.String(), ".000") {
		t.Errorf("a whole-second time is shown with invented digits:\n%s\n%s", js, text.String())
	}
	var order []string
	for _, e := range m.Timeline {
		order = append(order, e.Kind+" "+e.Recipient+" "+e.Status)
	}
	want := []string{"accepted  ", "attempt Anna@gmail.test sent", "attempt bob@outlook.test bounced", "attempt carl@yahoo.test deferred",
		"notification  ", "report bob@outlook.test failed", "notification-attempt clerk@court.example sent", "attempt carl@yahoo.test expired"}
	if strings.Join(order, "|") != strings.Join(want, "|") {
		t.Errorf("timeline:\n got %q\nwant %q", order, want)
	}
	// The search shows the same precision.
	page, err := Search(context.Background(), f.Store, Filter{From: t0.Add(-time.Hour), To: t0.Add(time.Hour), Recipient: "anna@gmail.test"}, "", 0)
	if err != nil || len(page.Rows) != 1 {
		t.Fatalf("search: %+v, %v", page, err)
	}
	rb, _ := json.Marshal(page.Rows[0])
	if !strings.Contains(string(rb), `"time":"2026-11-20T09:00:00Z"`) || page.Rows[0].Values()[0] != "2026-11-20T09:00:00Z" {
		t.Errorf("search row %s, CSV time %s", rb, page.Rows[0].Values()[0])
	}
}
