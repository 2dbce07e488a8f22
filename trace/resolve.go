package trace

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/mailtrace/mailtrace/store"
	"github.com/mailtrace/mailtrace/traceid"
)

// Ref is one message an identifier led to: a Postfix queue entry on one
// host, with the trace ID the milter gave it (zero if none), and when it
// was seen first and last.
type Ref struct {
	Host      string     `json:"host"`
	QueueID   string     `json:"queue_id"`
	TraceID   traceid.ID `json:"-"`
	FirstSeen time.Time  `json:"first_seen"`
	LastSeen  time.Time  `json:"last_seen"`
	// MatchedBy lists the kinds of identifier that matched: trace_id,
	// message_id, queue_id, recipient.
	MatchedBy []string `json:"matched_by"`
}

// Query is what Resolve looks for.
type Query struct {
	ID string
	// From and To bound when the message was seen. They are required for
	// recipient lookups (a recipient receives many messages); zero means
	// unbounded for the other kinds.
	From, To time.Time
	// Limit caps the messages returned (default 20, at most 1000).
	Limit int
}

// NotFoundHint says why an identifier may have found nothing and what to
// try instead.
func NotFoundHint(q Query) string {
	msg := fmt.Sprintf("no message is known by %q", q.ID)
	if strings.Contains(q.ID, "@") && (q.From.IsZero() || q.To.IsZero()) {
		msg += "; it was looked up as a Message-ID: to find mail sent to this address, give a time range (from and to)"
	}
	return msg
}

// ErrBadID is returned for identifiers that cannot name a message.
var ErrBadID = errors.New("not a trace ID, Message-ID, queue ID or address")

// Resolve finds the messages an identifier names. The identifier's kind is
// recognised from its shape: a UUID is a trace ID; anything with an @ is a
// Message-ID (with or without angle brackets) or a recipient; anything else
// a queue ID.
func Resolve(ctx context.Context, st store.Store, q Query) ([]Ref, error) {
	id := strings.TrimSpace(q.ID)
	if id == "" || len(id) > 998 || strings.ContainsAny(id, "\x00\r\n") {
		return nil, fmt.Errorf("%q: %w", q.ID, ErrBadID)
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 20
	}
	limit = min(limit, 1000)
	var ids, kinds []string
	switch {
	case isTraceID(id):
		t, _ := traceid.Parse(id)
		ids, kinds = []string{t.String()}, []string{"trace_id"}
	case strings.Contains(id, "@"):
		bare := strings.TrimSuffix(strings.TrimPrefix(id, "<"), ">")
		ids, kinds = []string{"<" + bare + ">", bare, strings.ToLower(bare)}, []string{"message_id", "recipient"}
		if q.From.IsZero() || q.To.IsZero() {
			// A recipient receives mail for years: without bounds only
			// the Message-ID is looked up.
			kinds = []string{"message_id"}
		}
	default:
		ids, kinds = []string{id}, []string{"queue_id"}
	}
	from, to := q.From, q.To
	if from.IsZero() {
		from = time.Unix(0, 0)
	}
	if to.IsZero() {
		to = time.Now().Add(24 * time.Hour)
	}
	// Plain rows, grouped here: an aggregating query costs the embedded
	// engine more to plan than these few rows cost to merge.
	rows, err := st.Query(ctx, `
SELECT host, queue_id, toString(trace_id), first_seen, last_seen, id_kind
FROM id_lookup
WHERE id IN {ids:Array(String)} AND id_kind IN {kinds:Array(String)}
  AND first_seen <= {to:DateTime64(6, 'UTC')} AND last_seen >= {from:DateTime64(6, 'UTC')}
LIMIT {limit:UInt32}`, store.Params{"ids": ids, "kinds": kinds, "from": from, "to": to, "limit": uint32(limit * 50)})
	if err != nil {
		return nil, fmt.Errorf("looking up %q: %w", id, err)
	}
	var refs []Ref
	for rows.Next() {
		var r Ref
		var tid, kind string
		if err := rows.Scan(&r.Host, &r.QueueID, &tid, &r.FirstSeen, &r.LastSeen, &kind); err != nil {
			rows.Close()
			return nil, err
		}
		r.TraceID, _ = traceid.Parse(tid)
		r.MatchedBy = []string{kind}
		refs = append(refs, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("looking up %q: %w", id, err)
	}
	refs = mergeSides(refs)
	if len(refs) > limit {
		refs = refs[:limit]
	}
	return refs, nil
}

func isTraceID(s string) bool {
	_, ok := traceid.Parse(s)
	return ok
}

// sameMessageWindow is how far apart the log's and the milter's sightings
// of one queue entry may be and still be the same message (a queue ID is
// reused only after the message left the queue).
const sameMessageWindow = time.Hour

// mergeSides joins the lookup rows of one message: rows not yet collapsed
// by the table's merges, and the log's rows of a queue entry without its
// trace ID (the INFO line missing) with the milter's, which have both.
func mergeSides(refs []Ref) []Ref {
	var out []Ref
	for _, r := range refs {
		merged := false
		for i := range out {
			o := &out[i]
			if o.Host != r.Host || o.QueueID != r.QueueID || (!o.TraceID.IsZero() && !r.TraceID.IsZero() && o.TraceID != r.TraceID) {
				continue
			}
			if r.FirstSeen.After(o.LastSeen.Add(sameMessageWindow)) || o.FirstSeen.After(r.LastSeen.Add(sameMessageWindow)) {
				continue
			}
			if o.TraceID.IsZero() {
				o.TraceID = r.TraceID
			}
			if r.FirstSeen.Before(o.FirstSeen) {
				o.FirstSeen = r.FirstSeen
			}
			if r.LastSeen.After(o.LastSeen) {
				o.LastSeen = r.LastSeen
			}
			o.MatchedBy = union(o.MatchedBy, r.MatchedBy)
			merged = true
			break
		}
		if !merged {
			out = append(out, r)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].FirstSeen.After(out[j].FirstSeen) })
	return out
}

func union(a, b []string) []string {
	out := append([]string(nil), a...)
	for _, s := range b {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}
