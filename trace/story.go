package trace

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/mailtrace/mailtrace/store"
)

// storyRow is one row of a message's story, from any of four tables, in
// one shape so that Assemble can walk them in time order.
type storyRow struct {
	kind   string // accept, message, attempt, bounce
	qid    string
	t1, t2 time.Time
	s      [15]string
	a0, a1 []string
	f      [5]float64
	order  uint64 // event ID of an attempt
	digits uint8  // of t1 and t2: the source's precision (time_digits)
}

func (r *storyRow) attempt() rcptAttempt {
	// s0 is the log's envelope sender (an attempt has no trace ID of its own).
	return rcptAttempt{recipient: r.s[1], Attempt: Attempt{Time: stampOf(r.t1, r.digits), Status: r.s[2], DSN: r.s[3], Pool: r.s[4], SourceIP: r.s[5],
		Relay: r.s[6], RelayIP: r.s[7], Provider: r.s[8], Category: r.s[9], Response: r.s[10], Delay: round3(r.f[0]),
		Delays: [4]float64{round3(r.f[1]), round3(r.f[2]), round3(r.f[3]), round3(r.f[4])}, TLS: r.s[11], Service: r.s[12],
		QueueID: r.qid, QueuedAs: r.s[13], RelayPath: r.s[14]}}
}

// round3 shows a Float32 delay as Postfix logged it, not as its binary
// approximation.
func round3(f float64) float64 { return float64(int64(f*1000+0.5)) / 1000 }

// storyPart is one table's branch of the story query. Its columns are in
// storyRow's order: queue ID, t1, t2, order, s0..s14, a0, a1, f0..f4,
// digits.
// Plain columns where the table has them, typed empty values where it has
// not: expressions cost the embedded engine planning time on every query
// (one version converting every column of four tables took 44 ms where
// plain per-table queries took 5 ms each).
type storyPart struct {
	kind, table, timeCol, until string
	cols                        []string
	limit                       int
}

const (
	noTime  = "toDateTime64(0, 6, 'UTC')"
	noArray = "CAST([], 'Array(String)')"
	noFloat = "toFloat32(0)"
)

var storyParts = []storyPart{
	{"accept", "accept_records", "time", "to", []string{"queue_id", "time", noTime, "toUInt64(0)",
		"toString(trace_id)", "message_id", "sender", "client_ip", "client_name", "helo", "sasl_user", "class", "pool", "subject", "from_header", "''", "''", "''", "''",
		"recipients", noArray, noFloat, noFloat, noFloat, noFloat, noFloat, "toUInt8(6)"}, 10},
	// A message's record is written again as it changes: the latest
	// (greatest last_seen) is the one kept.
	{"message", "messages", "first_seen", "to", []string{"queue_id", "first_seen", "last_seen", "toUInt64(0)",
		"toString(trace_id)", "message_id", "sender", "origin", "client_host", "client_ip", "sasl_user", "pool", "parent_queue_id", "state", "notification", "''", "''",
		"queued_from", "arrayStringConcat(queued_as, ' ')", "recipients", "children", noFloat, noFloat, noFloat, noFloat, noFloat, "time_digits"}, 1000},
	{"attempt", "delivery_events", "time", "to", []string{"queue_id", "time", noTime, "event_id",
		"sender", "recipient", "status", "dsn", "pool", "source_ip", "relay_host", "relay_ip", "provider", "category", "response", "tls", "service",
		"queued_as", "relay_path", noArray, noArray, "delay", "delay_before_queue", "delay_in_queue", "delay_connect", "delay_transmit", "time_digits"}, 100000},
	// Reports may come back weeks after the message left.
	{"bounce", "bounces", "time", "later", []string{"queue_id", "time", noTime, "event_id",
		"kind", "matched_by", "recipient", "action", "status", "diagnostic", "remote_mta", "category", "disposition", "inferred_status", "''", "''", "''", "''", "''",
		noArray, noArray, noFloat, noFloat, noFloat, noFloat, noFloat, "time_digits"}, 1000},
}

// storySQL is the query for a set of parts.
func storySQL(parts partSet) string {
	var branches []string
	for _, p := range storyParts {
		if !parts[p.kind] {
			continue
		}
		branches = append(branches, fmt.Sprintf("SELECT '%s', %s FROM %s WHERE host = {host:String} AND queue_id IN {qids:Array(String)} AND %s BETWEEN {from:DateTime64(6, 'UTC')} AND {%s:DateTime64(6, 'UTC')} LIMIT %d",
			p.kind, strings.Join(p.cols, ", "), p.table, p.timeCol, p.until, p.limit))
	}
	return strings.Join(branches, "\nUNION ALL\n")
}

// partSet names the parts of a story to read: each costs the embedded
// store a query of about 5 ms, so parts known to be empty are skipped.
type partSet map[string]bool

// readStory reads the rows of some queue entries of one host, in time
// order. The window from-to bounds the accept record, the log's record and
// the attempts: it comes from the lookup table, which saw every attempt, and
// keeps each query to the day partitions that hold the message (a query
// over every partition reads a granule of each). Reports may come back
// weeks later: they are read up to 30 days after. all false reads only the log's records and attempts (for
// notifications, which have no accept record and no reports).
func readStory(ctx context.Context, st store.Store, host string, qids []string, from, to time.Time, parts partSet) ([]storyRow, error) {
	params := store.Params{"host": host, "qids": qids, "from": from, "to": to, "later": to.Add(30 * 24 * time.Hour)}
	var out []storyRow
	latest := map[string]int{} // message records: index of the latest per queue ID
	// Attempts and bounces: one per event ID (their tables collapse a
	// replayed row only when they merge parts).
	seen := map[[2]uint64]bool{}
	rows, err := st.Query(ctx, storySQL(parts), params)
	if err != nil {
		return nil, fmt.Errorf("reading the message: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r storyRow
		dst := []any{&r.kind, &r.qid, &r.t1, &r.t2, &r.order}
		for i := range r.s {
			dst = append(dst, &r.s[i])
		}
		dst = append(dst, &r.a0, &r.a1)
		for i := range r.f {
			dst = append(dst, &r.f[i])
		}
		dst = append(dst, &r.digits)
		if err := rows.Scan(dst...); err != nil {
			return nil, err
		}
		switch r.kind {
		case "message":
			if i, ok := latest[r.qid]; ok {
				if r.t2.After(out[i].t2) {
					out[i] = r
				}
				continue
			}
			latest[r.qid] = len(out)
		case "attempt", "bounce":
			k := [2]uint64{uint64(r.t1.UnixMicro()), r.order}
			if seen[k] {
				continue
			}
			seen[k] = true
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading the message: %w", err)
	}
	// Attempts in log order: by time, then by event ID.
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].t1.Equal(out[j].t1) {
			return out[i].t1.Before(out[j].t1)
		}
		return out[i].order < out[j].order
	})
	return out, nil
}

// reports remembers, per store, that reports were stored: once some are,
// they stay (for the retention period), so only "none yet" is asked again,
// at most every reportsRecheck.
var reports struct {
	sync.Mutex
	seen    map[store.Store]bool
	checked map[store.Store]time.Time
}

const reportsRecheck = 10 * time.Second

// anyReports tells whether the bounces table holds any report.
func anyReports(ctx context.Context, st store.Store) (bool, error) {
	reports.Lock()
	defer reports.Unlock()
	if reports.seen == nil {
		reports.seen, reports.checked = map[store.Store]bool{}, map[store.Store]time.Time{}
	}
	if reports.seen[st] || time.Since(reports.checked[st]) < reportsRecheck {
		return reports.seen[st], nil
	}
	rows, err := st.Query(ctx, "SELECT 1 FROM bounces LIMIT 1", nil)
	if err != nil {
		return false, fmt.Errorf("reading the message (reports): %w", err)
	}
	all, err := rows.All()
	if err != nil {
		return false, fmt.Errorf("reading the message (reports): %w", err)
	}
	reports.seen[st], reports.checked[st] = len(all) > 0, time.Now()
	return reports.seen[st], nil
}
