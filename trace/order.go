package trace

import (
	"sort"
	"strings"
)

// Event is one fact of a message's timeline.
type Event struct {
	Time Stamp `json:"time"`
	// Clock is whose clock Time is: milter (the milter's accept time),
	// log (Postfix's log line), report (the Date of a report that came
	// back, the sender's clock, or when it was taken in).
	Clock string `json:"clock"`
	// Kind is accepted, attempt, notification (Postfix generated a
	// notice to the sender), notification-attempt (an attempt to deliver
	// that notice) or report (a DSN, complaint or auto-reply came back).
	Kind      string `json:"kind"`
	QueueID   string `json:"queue_id,omitempty"` // a notification's own queue ID
	Recipient string `json:"recipient,omitempty"`
	Status    string `json:"status,omitempty"` // of an attempt; a report's action
	Detail    string `json:"detail,omitempty"` // DSN code and relay, a report's status and diagnostic
}

// Clocks of events.
const (
	ClockMilter = "milter"
	ClockLog    = "log"
	ClockReport = "report"
)

// Kinds of events, in causal order: a fact of a later kind can be caused
// by one of an earlier kind, never the reverse.
const (
	EventAccepted            = "accepted"
	EventAttempt             = "attempt"
	EventNotification        = "notification"
	EventNotificationAttempt = "notification-attempt"
	EventReport              = "report"
)

var causalRank = map[string]int{EventAccepted: 0, EventAttempt: 1, EventNotification: 2, EventNotificationAttempt: 3, EventReport: 4}

// orderEvents puts a timeline in causal order. Times order events where
// they can: by the end of each stamp's interval (a whole-second log time
// t stands for [t, t+1s), so it sorts after a sub-second time within that
// second), then by the stored time, which keeps one log's lines in log
// order. Where two neighbours from different clocks may stand for the
// same moment (their intervals overlap), the cause goes first: acceptance
// before its attempts, a notification before the report that came back
// through it. Events of one clock are never reordered among themselves.
func orderEvents(ev []Event) {
	sort.SliceStable(ev, func(i, j int) bool {
		a, b := ev[i].Time, ev[j].Time
		if !a.End().Equal(b.End()) {
			return a.End().Before(b.End())
		}
		if !a.Time.Equal(b.Time) {
			return a.Time.Before(b.Time)
		}
		return causalRank[ev[i].Kind] < causalRank[ev[j].Kind]
	})
	for i := 1; i < len(ev); i++ {
		for j := i; j > 0; j-- {
			prev, cur := ev[j-1], ev[j]
			if prev.Clock == cur.Clock || !prev.Time.Overlaps(cur.Time) || causalRank[cur.Kind] >= causalRank[prev.Kind] {
				break
			}
			ev[j-1], ev[j] = cur, prev
		}
	}
}

// timeline lists a message's facts in causal order.
func timeline(m *Message) []Event {
	var ev []Event
	if m.Accepted != nil {
		ev = append(ev, Event{Time: *m.Accepted, Clock: ClockMilter, Kind: EventAccepted, Detail: "by the milter"})
	}
	attempts := func(kind, qid string, rs []Recipient) {
		for _, r := range rs {
			for _, a := range r.Attempts {
				ev = append(ev, Event{Time: a.Time, Clock: ClockLog, Kind: kind, QueueID: qid, Recipient: r.Address, Status: string(a.Status),
					Detail: strings.TrimSpace(a.DSN + " " + a.Relay)})
			}
		}
	}
	attempts(EventAttempt, "", m.Recipients)
	for _, n := range m.Notifications {
		ev = append(ev, Event{Time: n.Time, Clock: ClockLog, Kind: EventNotification, QueueID: n.QueueID, Detail: n.Kind})
		attempts(EventNotificationAttempt, n.QueueID, n.Recipients)
	}
	for _, b := range m.Bounces {
		ev = append(ev, Event{Time: b.Time, Clock: ClockReport, Kind: EventReport, Recipient: b.Recipient, Status: string(b.Action),
			Detail: strings.TrimSpace(string(b.Kind) + " " + b.Status)})
	}
	orderEvents(ev)
	return ev
}
