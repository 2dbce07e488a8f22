package trace

import (
	"context"
	"fmt"
	"sort"
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
	s      [13]string
	a0, a1 []string
	f      [5]float64
	order  uint64 // event ID of an attempt
}

func (r *storyRow) attempt() rcptAttempt {
	return rcptAttempt{recipient: r.s[1], Attempt: Attempt{Time: r.t1, Status: r.s[2], DSN: r.s[3], Pool: r.s[4], SourceIP: r.s[5],
		Relay: r.s[6], RelayIP: r.s[7], Provider: r.s[8], Category: r.s[9], Response: r.s[10], Delay: round3(r.f[0]),
		Delays: [4]float64{round3(r.f[1]), round3(r.f[2]), round3(r.f[3]), round3(r.f[4])}, TLS: r.s[11], Service: r.s[12]}}
}

// round3 shows a Float32 delay as Postfix logged it, not as its binary
// approximation.
func round3(f float64) float64 { return float64(int64(f*1000+0.5)) / 1000 }

// storyPart reads one table. Its query selects plain columns (expressions
// cost the embedded engine planning time on every query: a version that
// unioned all four tables with converted columns took 44 ms where these
// take about 5 ms each); dest maps them into a storyRow.
type storyPart struct {
	kind  string
	query string
	dest  func(r *storyRow) []any
}

const keyAndWindow = ` WHERE host = {host:String} AND queue_id IN {qids:Array(String)} AND `

var storyParts = []storyPart{
	{"accept", `SELECT queue_id, time, toString(trace_id), message_id, sender, client_ip, client_name, helo, sasl_user, class, pool, subject, from_header, recipients
FROM accept_records` + keyAndWindow + `time BETWEEN {from:DateTime64(6, 'UTC')} AND {to:DateTime64(6, 'UTC')} LIMIT 10`,
		func(r *storyRow) []any {
			return []any{&r.qid, &r.t1, &r.s[0], &r.s[1], &r.s[2], &r.s[3], &r.s[4], &r.s[5], &r.s[6], &r.s[7], &r.s[8], &r.s[9], &r.s[10], &r.a0}
		}},
	// A message's record is written again as it changes: the latest
	// (greatest last_seen) is the one read.
	{"message", `SELECT queue_id, first_seen, last_seen, toString(trace_id), message_id, sender, origin, client_host, client_ip, sasl_user, pool,
       parent_queue_id, state, notification, recipients, children
FROM messages` + keyAndWindow + `first_seen BETWEEN {from:DateTime64(6, 'UTC')} AND {to:DateTime64(6, 'UTC')} LIMIT 1000`,
		func(r *storyRow) []any {
			return []any{&r.qid, &r.t1, &r.t2, &r.s[0], &r.s[1], &r.s[2], &r.s[3], &r.s[4], &r.s[5], &r.s[6], &r.s[7], &r.s[8], &r.s[9], &r.s[10], &r.a0, &r.a1}
		}},
	{"attempt", `SELECT queue_id, time, event_id, recipient, status, dsn, pool, source_ip, relay_host, relay_ip, provider, category, response,
       delay, delay_before_queue, delay_in_queue, delay_connect, delay_transmit, tls, service
FROM delivery_events` + keyAndWindow + `time BETWEEN {from:DateTime64(6, 'UTC')} AND {to:DateTime64(6, 'UTC')} LIMIT 100000`,
		func(r *storyRow) []any {
			return []any{&r.qid, &r.t1, &r.order, &r.s[1], &r.s[2], &r.s[3], &r.s[4], &r.s[5], &r.s[6], &r.s[7], &r.s[8], &r.s[9], &r.s[10],
				&r.f[0], &r.f[1], &r.f[2], &r.f[3], &r.f[4], &r.s[11], &r.s[12]}
		}},
	{"bounce", `SELECT queue_id, time, event_id, kind, matched_by, recipient, action, status, diagnostic, remote_mta, category
FROM bounces` + keyAndWindow + `time BETWEEN {from:DateTime64(6, 'UTC')} AND {later:DateTime64(6, 'UTC')} LIMIT 1000`,
		func(r *storyRow) []any {
			return []any{&r.qid, &r.t1, &r.order, &r.s[0], &r.s[1], &r.s[2], &r.s[3], &r.s[4], &r.s[5], &r.s[6], &r.s[7]}
		}},
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
	for _, p := range storyParts {
		if !parts[p.kind] {
			continue
		}
		rows, err := st.Query(ctx, p.query, params)
		if err != nil {
			return nil, fmt.Errorf("reading the message (%s): %w", p.kind, err)
		}
		for rows.Next() {
			r := storyRow{kind: p.kind}
			if err := rows.Scan(p.dest(&r)...); err != nil {
				rows.Close()
				return nil, err
			}
			switch p.kind {
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
			return nil, fmt.Errorf("reading the message (%s): %w", p.kind, err)
		}
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
