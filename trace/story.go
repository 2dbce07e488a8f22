package trace

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/mailtrace/mailtrace/dsn"
	"github.com/mailtrace/mailtrace/schema"
	"github.com/mailtrace/mailtrace/store"
)

// part is one kind of row of a message's story, from one table.
type part string

const (
	partAccept  part = "accept"  // the milter's accept record (accept_records)
	partMessage part = "message" // the log's record of a queue entry (messages)
	partAttempt part = "attempt" // a delivery attempt (delivery_events)
	partBounce  part = "bounce"  // a report that came back (bounces)
)

// storyHead are the columns every part of the story has: what Assemble
// orders and deduplicates by.
type storyHead struct {
	Part    part      `ch:"part"`
	QueueID string    `ch:"queue_id"`
	Time    time.Time `ch:"time"`        // a message record's first_seen
	Order   uint64    `ch:"event_id"`    // of an attempt or a report
	Digits  uint8     `ch:"time_digits"` // the source's precision of the times
}

// acceptRow is the milter's accept record.
type acceptRow struct {
	TraceID    string   `ch:"trace_id"`
	MessageID  string   `ch:"message_id"`
	Sender     string   `ch:"sender"`
	ClientIP   string   `ch:"client_ip"`
	ClientName string   `ch:"client_name"`
	Helo       string   `ch:"helo"`
	SASLUser   string   `ch:"sasl_user"`
	Class      string   `ch:"class"`
	Pool       string   `ch:"pool"`
	Subject    string   `ch:"subject"`
	FromHeader string   `ch:"from_header"`
	Recipients []string `ch:"recipients"`
}

// messageRow is the log's record of one queue entry.
type messageRow struct {
	LastSeen      time.Time `ch:"last_seen"`
	TraceID       string    `ch:"trace_id"`
	MessageID     string    `ch:"message_id"`
	Sender        string    `ch:"sender"`
	Origin        string    `ch:"origin"`
	ClientHost    string    `ch:"client_host"`
	ClientIP      string    `ch:"client_ip"`
	SASLUser      string    `ch:"sasl_user"`
	Pool          string    `ch:"pool"`
	ParentQueueID string    `ch:"parent_queue_id"`
	State         string    `ch:"state"`
	Notification  string    `ch:"notification"`
	QueuedFrom    string    `ch:"queued_from"`
	QueuedAs      string    `ch:"queued_as"` // the entries it was queued again as, space-separated
	Recipients    []string  `ch:"recipients"`
	Children      []string  `ch:"children"`
}

// attemptRow is one delivery attempt.
type attemptRow struct {
	Sender           string                `ch:"sender"` // the log's envelope sender
	Recipient        string                `ch:"recipient"`
	Status           schema.DeliveryStatus `ch:"status"`
	DSN              string                `ch:"dsn"`
	Pool             string                `ch:"pool"`
	SourceIP         string                `ch:"source_ip"`
	RelayHost        string                `ch:"relay_host"`
	RelayIP          string                `ch:"relay_ip"`
	Provider         string                `ch:"provider"`
	Category         string                `ch:"category"`
	Response         string                `ch:"response"`
	TLS              string                `ch:"tls"`
	Service          string                `ch:"service"`
	QueuedAs         string                `ch:"queued_as"`
	RelayPath        string                `ch:"relay_path"`
	Delay            float64               `ch:"delay"`
	DelayBeforeQueue float64               `ch:"delay_before_queue"`
	DelayInQueue     float64               `ch:"delay_in_queue"`
	DelayConnect     float64               `ch:"delay_connect"`
	DelayTransmit    float64               `ch:"delay_transmit"`
}

// bounceRow is one recipient's part of a report that came back.
type bounceRow struct {
	Kind           dsn.Kind         `ch:"kind"`
	MatchedBy      schema.MatchedBy `ch:"matched_by"`
	Recipient      string           `ch:"recipient"`
	Action         dsn.Action       `ch:"action"`
	Status         string           `ch:"status"`
	Diagnostic     string           `ch:"diagnostic"`
	RemoteMTA      string           `ch:"remote_mta"`
	Category       string           `ch:"category"`
	Disposition    string           `ch:"disposition"`
	InferredStatus string           `ch:"inferred_status"`
}

// storyRow is one row of a message's story: its head and the row of its
// part (the others nil).
type storyRow struct {
	storyHead
	accept  *acceptRow
	message *messageRow
	attempt *attemptRow
	bounce  *bounceRow
}

func (r *storyRow) rcptAttempt() rcptAttempt {
	a := r.attempt
	return rcptAttempt{recipient: a.Recipient, Attempt: Attempt{Time: stampOf(r.Time, r.Digits), Status: a.Status, DSN: a.DSN, Pool: a.Pool,
		SourceIP: a.SourceIP, Relay: a.RelayHost, RelayIP: a.RelayIP, Provider: a.Provider, Category: a.Category, Response: a.Response,
		Delay:  round3(a.Delay),
		Delays: [4]float64{round3(a.DelayBeforeQueue), round3(a.DelayInQueue), round3(a.DelayConnect), round3(a.DelayTransmit)},
		TLS:    a.TLS, Service: a.Service, QueueID: r.QueueID, QueuedAs: a.QueuedAs, RelayPath: a.RelayPath}}
}

// round3 shows a Float32 delay as Postfix logged it, not as its binary
// approximation.
func round3(f float64) float64 { return float64(int64(f*1000+0.5)) / 1000 }

// storyPart is one table's branch of the story query. The branches are
// one UNION ALL query (one query costs the embedded store less than four),
// whose rows share columns: storyHead's by name, then typed slots (s0, s1...
// for strings, a0... for arrays, f0... for floats, t0... for times) that
// each part fills with its row type's columns, in field order, and the
// others with typed empty values. Each row is then scanned into its part's
// type by column name, through the part's slots (see store.ScanStructAs):
// no position is written by hand. Slots keep the query as narrow as its
// widest part: a query with a column of its own for each part's column
// (constants for every other part's) was twice as wide and took about 15%
// more CPU per lookup (BenchmarkFind).
// Plain columns where the table has them, constants where it has not:
// expressions cost the embedded engine planning time on every query (one
// version converting every column of four tables took 44 ms where plain
// per-table queries took 5 ms each).
type storyPart struct {
	part         part
	row          any // a pointer to the part's row type
	table, until string
	exprs        map[string]string // a column's expression, where it is not the plain column
	limit        int
	slots        map[string]string // a column's slot in the query
}

var storyParts = []*storyPart{
	{part: partAccept, row: &acceptRow{}, table: "accept_records", until: "to", exprs: map[string]string{"trace_id": "toString(trace_id)",
		"event_id": "toUInt64(0)", "time_digits": "toUInt8(6)"}, limit: 10},
	// A message's record is written again as it changes: the latest
	// (greatest last_seen) is the one kept.
	{part: partMessage, row: &messageRow{}, table: "messages", until: "to", exprs: map[string]string{"time": "first_seen",
		"trace_id": "toString(trace_id)", "event_id": "toUInt64(0)", "queued_as": "arrayStringConcat(queued_as, ' ')"}, limit: 1000},
	{part: partAttempt, row: &attemptRow{}, table: "delivery_events", until: "to", limit: 100000},
	// Reports may come back weeks after the message left.
	{part: partBounce, row: &bounceRow{}, table: "bounces", until: "later", limit: 1000},
}

// A slot's kind: its name's letter and its typed empty value.
var slotKinds = []struct{ letter, empty string }{
	{"t", "toDateTime64(0, 6, 'UTC')"},
	{"s", "''"},
	{"a", "CAST([], 'Array(String)')"},
	{"f", "toFloat32(0)"},
}

// slotKind is the letter of the slots a column of Go type t goes in.
func slotKind(t reflect.Type) string {
	switch {
	case t.Kind() == reflect.String:
		return "s"
	case t == reflect.TypeFor[[]string]():
		return "a"
	case t == reflect.TypeFor[float64]():
		return "f"
	case t == reflect.TypeFor[time.Time]():
		return "t"
	}
	panic("trace: no slot for a story column of type " + t.String())
}

// storyColumns are the story query's columns: storyHead's, then every
// slot.
var storyColumns = func() []string {
	used := map[string]int{} // slots of each kind the widest part needs
	for _, p := range storyParts {
		p.slots = map[string]string{}
		n := map[string]int{}
		t := reflect.TypeOf(p.row).Elem()
		for i := range t.NumField() {
			k := slotKind(t.Field(i).Type)
			p.slots[t.Field(i).Tag.Get("ch")] = fmt.Sprintf("%s%d", k, n[k])
			n[k]++
			used[k] = max(used[k], n[k])
		}
	}
	var cols []string
	t := reflect.TypeFor[storyHead]()
	for i := range t.NumField() {
		cols = append(cols, t.Field(i).Tag.Get("ch"))
	}
	for _, k := range slotKinds {
		for i := range used[k.letter] {
			cols = append(cols, fmt.Sprintf("%s%d", k.letter, i))
		}
	}
	return cols
}()

// branch is the part's SELECT.
func (p *storyPart) branch() string {
	column := map[string]string{} // the query's column: what the part puts there
	t := reflect.TypeFor[storyHead]()
	for i := range t.NumField() {
		name := t.Field(i).Tag.Get("ch")
		column[name] = name
	}
	for name, slot := range p.slots {
		column[slot] = name
	}
	column["part"] = "'" + string(p.part) + "'"
	cols := make([]string, len(storyColumns))
	for i, c := range storyColumns {
		v, ok := column[c]
		switch {
		case !ok:
			for _, k := range slotKinds {
				if strings.HasPrefix(c, k.letter) {
					v = k.empty
				}
			}
		case p.exprs[v] != "":
			v = p.exprs[v]
		}
		if v != c {
			v += " AS " + c
		}
		cols[i] = v
	}
	timeCol := "time"
	if e := p.exprs["time"]; e != "" {
		timeCol = e
	}
	return fmt.Sprintf("SELECT %s FROM %s WHERE host = {host:String} AND queue_id IN {qids:Array(String)} AND %s BETWEEN {from:DateTime64(6, 'UTC')} AND {%s:DateTime64(6, 'UTC')} LIMIT %d",
		strings.Join(cols, ", "), p.table, timeCol, p.until, p.limit)
}

// storyBranches are the parts' SELECTs and storySlots their slots, made
// once (after storyColumns, which assigns the slots).
var storyBranches, storySlots = func() (map[part]string, map[part]map[string]string) {
	_ = storyColumns
	branches, slots := map[part]string{}, map[part]map[string]string{}
	for _, p := range storyParts {
		branches[p.part], slots[p.part] = p.branch(), p.slots
	}
	return branches, slots
}()

// storySQL is the query for a set of parts.
func storySQL(parts partSet) string {
	var branches []string
	for _, p := range storyParts {
		if parts[p.part] {
			branches = append(branches, storyBranches[p.part])
		}
	}
	return strings.Join(branches, "\nUNION ALL\n")
}

// partSet names the parts of a story to read: each costs the embedded
// store a query of about 5 ms, so parts known to be empty are skipped.
type partSet map[part]bool

// readStory reads the rows of some queue entries of one host, in time
// order. The window from-to bounds the accept record, the log's record and
// the attempts: it comes from the lookup table, which saw every attempt, and
// keeps each query to the day partitions that hold the message (a query
// over every partition reads a granule of each). Reports may come back
// weeks later: they are read up to 30 days after. Without the accept and
// bounce parts only the log's records and attempts are read (for
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
		if err := rows.ScanStruct(&r.storyHead); err != nil {
			return nil, fmt.Errorf("reading the message: %w", err)
		}
		var row any
		switch r.Part {
		case partAccept:
			r.accept = &acceptRow{}
			row = r.accept
		case partMessage:
			r.message = &messageRow{}
			row = r.message
		case partAttempt:
			r.attempt = &attemptRow{}
			row = r.attempt
		case partBounce:
			r.bounce = &bounceRow{}
			row = r.bounce
		default:
			return nil, fmt.Errorf("reading the message: a row of unknown part %q", r.Part)
		}
		if err := rows.ScanStructAs(row, storySlots[r.Part]); err != nil {
			return nil, fmt.Errorf("reading the message: %w", err)
		}
		switch r.Part {
		case partMessage:
			if i, ok := latest[r.QueueID]; ok {
				if r.message.LastSeen.After(out[i].message.LastSeen) {
					out[i] = r
				}
				continue
			}
			latest[r.QueueID] = len(out)
		case partAttempt, partBounce:
			k := [2]uint64{uint64(r.Time.UnixMicro()), r.Order}
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
	sortStory(out)
	return out, nil
}

// sortStory puts rows in log order: by time, then by event ID.
func sortStory(rows []storyRow) {
	sort.SliceStable(rows, func(i, j int) bool {
		if !rows[i].Time.Equal(rows[j].Time) {
			return rows[i].Time.Before(rows[j].Time)
		}
		return rows[i].Order < rows[j].Order
	})
}

// Reader reads messages' stories from a store. It remembers that the store
// holds reports: once some are, they stay (for the retention period), so
// only "none yet" is asked again, at most every reportsRecheck. One Reader
// serves many lookups at once.
type Reader struct {
	st      store.Store
	mu      sync.Mutex
	reports bool      // the bounces table held a report when last asked
	checked time.Time // when it was last asked
}

// NewReader makes a Reader of st.
func NewReader(st store.Store) *Reader { return &Reader{st: st} }

const reportsRecheck = 10 * time.Second

// anyReports tells whether the bounces table holds any report.
func (rd *Reader) anyReports(ctx context.Context) (bool, error) {
	rd.mu.Lock()
	defer rd.mu.Unlock()
	if rd.reports || (!rd.checked.IsZero() && time.Since(rd.checked) < reportsRecheck) {
		return rd.reports, nil
	}
	rows, err := rd.st.Query(ctx, "SELECT 1 FROM bounces LIMIT 1", nil)
	if err != nil {
		return false, fmt.Errorf("reading the message (reports): %w", err)
	}
	all, err := rows.All()
	if err != nil {
		return false, fmt.Errorf("reading the message (reports): %w", err)
	}
	rd.reports, rd.checked = len(all) > 0, time.Now()
	return rd.reports, nil
}
