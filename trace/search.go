package trace

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mailtrace/mailtrace/schema"
	"github.com/mailtrace/mailtrace/store"
	"github.com/mailtrace/mailtrace/traceid"
)

// Find resolves an identifier and assembles every message it names.
func (rd *Reader) Find(ctx context.Context, q Query) ([]*Message, error) {
	refs, err := Resolve(ctx, rd.st, q)
	if err != nil {
		return nil, err
	}
	out := make([]*Message, 0, len(refs))
	seen := map[[2]string]bool{}
	for _, r := range refs {
		m, err := rd.Assemble(ctx, r)
		if err != nil {
			return nil, err
		}
		// The entries of one message of several hops (a trace ID names
		// them all) make one message.
		if len(m.Hops) > 0 {
			k := [2]string{m.Host, m.QueueID}
			if seen[k] {
				continue
			}
			seen[k] = true
		}
		out = append(out, m)
	}
	return out, nil
}

// ParseTime reads a time as users give it: RFC 3339, or a date meaning
// its midnight in UTC. An empty string is the zero time.
func ParseTime(v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse("2006-01-02", v); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is not an RFC 3339 time (2026-11-20T09:00:00Z) or a date (2026-11-20)", v)
}

// Filter selects delivery attempts. From and To are required; the other
// fields match when set.
type Filter struct {
	From, To time.Time
	// Sender (an address, or @domain) matches the envelope sender the
	// application gave (the accept record's) or the one Postfix logged
	// (from=, the VERP return path for classes with VERP): a search for
	// @court.example finds the legal notices sent with
	// mt-...@bounces.court.example, and one for the bounce domain finds
	// every VERP message.
	Sender    string
	Recipient string // address, or @domain
	// Subject matches the accept record's Subject containing it, in any
	// case (messages that did not pass the milter have none).
	Subject  string
	Class    string
	Pool     string
	SourceIP string
	Provider string
	Status   schema.DeliveryStatus // one of schema.DeliveryStatuses
	// DSN matches enhanced status codes by prefix: "5" all permanent
	// failures, "5.7" all policy ones, "5.7.1" exactly.
	DSN string
}

// Limits on what one request may read.
const (
	MaxSearchSpan = 92 * 24 * time.Hour  // a search's time range
	MaxExportSpan = 366 * 24 * time.Hour // an export's time range
	MaxPage       = 1000
	DefaultPage   = 50
)

// ErrBadFilter wraps every error in a filter a user gave.
var ErrBadFilter = errors.New("bad filter")

// Check validates a filter for a range of at most maxSpan.
func (f *Filter) Check(maxSpan time.Duration) error {
	if f.From.IsZero() || f.To.IsZero() {
		return fmt.Errorf("%w: from and to are required (RFC 3339 times)", ErrBadFilter)
	}
	if !f.To.After(f.From) {
		return fmt.Errorf("%w: to (%s) must be after from (%s)", ErrBadFilter, f.To.Format(time.RFC3339), f.From.Format(time.RFC3339))
	}
	if f.To.Sub(f.From) > maxSpan {
		return fmt.Errorf("%w: the range %s to %s is longer than %d days; narrow it", ErrBadFilter,
			f.From.Format(time.RFC3339), f.To.Format(time.RFC3339), int(maxSpan.Hours()/24))
	}
	if f.Status != "" && !slices.Contains(schema.DeliveryStatuses, f.Status) {
		return fmt.Errorf("%w: status %q: use sent, deferred, bounced, expired, rejected, handoff (to a content filter or another instance), "+
			"warning (reject_warning), discarded or held", ErrBadFilter, f.Status)
	}
	if f.DSN != "" {
		parts := strings.Split(f.DSN, ".")
		ok := len(parts) <= 3 && (parts[0] == "2" || parts[0] == "4" || parts[0] == "5")
		for _, p := range parts[1:] {
			if _, err := strconv.ParseUint(p, 10, 16); err != nil {
				ok = false
			}
		}
		if !ok {
			return fmt.Errorf("%w: dsn %q: give a class (5), a class and subject (5.7) or a whole code (5.7.1)", ErrBadFilter, f.DSN)
		}
	}
	for name, v := range map[string]string{"sender": f.Sender, "recipient": f.Recipient, "subject": f.Subject, "class": f.Class, "pool": f.Pool,
		"source_ip": f.SourceIP, "provider": f.Provider} {
		if len(v) > 998 || strings.ContainsAny(v, "\x00\r\n") {
			return fmt.Errorf("%w: %s is not a plausible value", ErrBadFilter, name)
		}
	}
	return nil
}

// acceptWindow is the range of accept_records a search of attempts in
// {from}..{to} reads: a message is accepted at most 7 days before its
// attempts (Postfix's maximal_queue_lifetime is 5 days by default), and
// its accept record, stamped by the milter's finer clock, may be later
// than an attempt's whole-second log time (an hour leaves room for clocks
// that disagree).
const acceptWindow = "time >= {from:DateTime64(6, 'UTC')} - INTERVAL 7 DAY AND time < {to:DateTime64(6, 'UTC')} + INTERVAL 1 HOUR"

// where renders the filter as a WHERE clause over delivery_events, with
// every value a parameter. What only the accept record knows (class,
// Subject, the application's sender) is matched by trace ID against the
// accept records of the range, so that a record the milter stored after
// the log lines counts as soon as it is there.
func (f *Filter) where() (string, store.Params) {
	conds := []string{"time >= {from:DateTime64(6, 'UTC')}", "time < {to:DateTime64(6, 'UTC')}"}
	p := store.Params{"from": f.From, "to": f.To}
	match := func(col, name, v string) string {
		p[name] = strings.ToLower(v)
		if strings.HasPrefix(v, "@") {
			return "endsWith(lower(" + col + "), {" + name + ":String})"
		}
		return "lower(" + col + ") = {" + name + ":String}"
	}
	if f.Sender != "" {
		m := match("sender", "sender", f.Sender)
		conds = append(conds, "("+m+" OR trace_id IN (SELECT trace_id FROM accept_records WHERE "+m+" AND "+acceptWindow+"))")
	}
	if f.Recipient != "" {
		conds = append(conds, match("recipient", "recipient", f.Recipient))
	}
	for _, c := range [][2]string{{"pool", f.Pool}, {"source_ip", f.SourceIP}, {"provider", f.Provider}, {"status", string(f.Status)}} {
		if c[1] != "" {
			conds = append(conds, c[0]+" = {"+c[0]+":String}")
			p[c[0]] = c[1]
		}
	}
	if f.DSN != "" {
		conds = append(conds, "(dsn = {dsn:String} OR startsWith(dsn, {dsnp:String}))")
		p["dsn"], p["dsnp"] = f.DSN, f.DSN+"."
	}
	var accepted []string
	if f.Class != "" {
		accepted = append(accepted, "class = {class:String}")
		p["class"] = f.Class
	}
	if f.Subject != "" {
		accepted = append(accepted, "positionCaseInsensitiveUTF8(subject, {subject:String}) > 0")
		p["subject"] = f.Subject
	}
	if len(accepted) > 0 {
		conds = append(conds, "trace_id IN (SELECT trace_id FROM accept_records WHERE "+strings.Join(accepted, " AND ")+" AND "+acceptWindow+")")
	}
	return strings.Join(conds, " AND "), p
}

// Row is one delivery attempt in search results and exports.
type Row struct {
	// Time is the log line's, with the digits it had (see Stamp).
	Time      Stamp  `json:"time"`
	TraceID   string `json:"trace_id,omitempty"`
	Host      string `json:"host"`
	QueueID   string `json:"queue_id"`
	MessageID string `json:"message_id"`
	// Sender is the envelope sender the application gave (the accept
	// record's), else the log's; EnvelopeSender is the log's from=, the
	// VERP return path for classes with VERP.
	Sender    string                `json:"sender"`
	Recipient string                `json:"recipient"`
	Status    schema.DeliveryStatus `json:"status"`
	DSN       string                `json:"dsn"`
	Pool      string                `json:"pool"`
	SourceIP  string                `json:"source_ip"`
	Provider  string                `json:"provider"`
	Category  string                `json:"category"`
	Relay     string                `json:"relay"`
	Response  string                `json:"response"`
	// EnvelopeSender and Subject come last in exports: columns added
	// later go at the end.
	EnvelopeSender string `json:"envelope_sender"`
	Subject        string `json:"subject"` // the accept record's, if any
	eventID        uint64
}

// Columns are Row's fields in export order.
var Columns = []string{"time", "trace_id", "host", "queue_id", "message_id", "sender", "recipient", "status", "dsn",
	"pool", "source_ip", "provider", "category", "relay", "response", "envelope_sender", "subject"}

// Values are a row's fields as text, in Columns' order.
func (r *Row) Values() []string {
	return []string{r.Time.RFC3339(), r.TraceID, r.Host, r.QueueID, r.MessageID, r.Sender, r.Recipient,
		string(r.Status), r.DSN, r.Pool, r.SourceIP, r.Provider, r.Category, r.Relay, r.Response, r.EnvelopeSender, r.Subject}
}

// rowColumns are what a row is read from, in scanRow's order; trace_id
// last, for joining.
const rowColumns = `time, time_digits, event_id, if(trace_id = toUUID('00000000-0000-0000-0000-000000000000'), '', toString(trace_id)) AS trace_text,
       host, queue_id, message_id, sender, recipient, status, dsn, pool, source_ip, provider, category, relay_host, response, trace_id`

const rowSelect = "SELECT " + rowColumns + "\nFROM delivery_events WHERE "

// exportSQL reads the attempts matching where with their accept records'
// sender and Subject, oldest first, in one streamed query (the embedded
// store runs one query at a time, so they cannot be looked up while the
// rows stream). The join's right side holds only the accept records of
// the messages exported.
func exportSQL(where string) string {
	return `SELECT time, time_digits, event_id, trace_text, host, queue_id, message_id, sender, recipient, status, dsn, pool, source_ip,
       provider, category, relay_host, response, app_sender, app_subject
FROM (` + rowSelect + where + `) AS d
LEFT JOIN (SELECT trace_id, any(sender) AS app_sender, any(subject) AS app_subject FROM accept_records
    WHERE ` + acceptWindow + ` AND trace_id IN (SELECT trace_id FROM delivery_events WHERE ` + where + `)
    GROUP BY trace_id) AS a USING (trace_id)
ORDER BY time, event_id`
}

// scanRow reads a row; extra are the columns after response (trace_id,
// or the accept record's sender and Subject).
func scanRow(rows *store.Rows, extra ...any) (Row, error) {
	var r Row
	err := rows.Scan(append([]any{&r.Time.Time, &r.Time.Digits, &r.eventID, &r.TraceID, &r.Host, &r.QueueID, &r.MessageID, &r.EnvelopeSender,
		&r.Recipient, &r.Status, &r.DSN, &r.Pool, &r.SourceIP, &r.Provider, &r.Category, &r.Relay, &r.Response}, extra...)...)
	r.Sender = r.EnvelopeSender
	return r, err
}

// fillAccepted gives rows the application's sender and the Subject from
// their messages' accept records, read in one query by the table's key
// (host, queue ID) and only in the partitions that can hold them: a trace
// ID is a UUIDv7, made by the milter moments before it wrote the accept
// record, so its time bounds the record's. Records not found so (another
// kind of ID, a clock set wrong) are looked for in the attempts' window.
func fillAccepted(ctx context.Context, st store.Store, rows []Row) error {
	var hosts, qids []string
	var from, to time.Time
	seenHost, seenQID := map[string]bool{}, map[string]bool{}
	widen := func(t time.Time) {
		if from.IsZero() || t.Before(from) {
			from = t
		}
		if t.After(to) {
			to = t
		}
	}
	for _, r := range rows {
		id, ok := traceid.Parse(r.TraceID)
		if !ok {
			continue
		}
		if !seenHost[r.Host] {
			seenHost[r.Host] = true
			hosts = append(hosts, r.Host)
		}
		if !seenQID[r.QueueID] {
			seenQID[r.QueueID] = true
			qids = append(qids, r.QueueID)
		}
		if made := id.Time(); !made.IsZero() { // else not a version 7 ID: looked for below
			widen(made.Add(-acceptAfterID))
			widen(made.Add(acceptAfterID))
		}
	}
	if len(qids) == 0 {
		return nil
	}
	byTrace := map[string]accepted{}
	if !from.IsZero() {
		if err := readAccepted(ctx, st, hosts, qids, from, to, byTrace); err != nil {
			return err
		}
	}
	// A record stamped far from its trace ID's time (a clock set wrong)
	// is looked for in the attempts' whole window.
	var missing []string
	from, to = time.Time{}, time.Time{}
	for _, r := range rows {
		if _, ok := byTrace[r.TraceID]; !ok && r.TraceID != "" {
			missing = append(missing, r.QueueID)
			widen(r.Time.Time.Add(-7 * 24 * time.Hour))
			widen(r.Time.Time.Add(time.Hour))
		}
	}
	if len(missing) > 0 {
		if err := readAccepted(ctx, st, hosts, missing, from, to, byTrace); err != nil {
			return err
		}
	}
	for i := range rows {
		if a, ok := byTrace[rows[i].TraceID]; ok {
			rows[i].Sender, rows[i].Subject = a.sender, a.subject
		}
	}
	return nil
}

type accepted struct{ sender, subject string }

// readAccepted reads the sender and Subject of accept records by host and
// queue ID within a window, by trace ID into out.
func readAccepted(ctx context.Context, st store.Store, hosts, qids []string, from, to time.Time, out map[string]accepted) error {
	res, err := st.Query(ctx, `SELECT toString(trace_id), sender, subject FROM accept_records
WHERE host IN {hosts:Array(String)} AND queue_id IN {qids:Array(String)}
  AND time >= {from:DateTime64(6, 'UTC')} AND time <= {to:DateTime64(6, 'UTC')}`,
		store.Params{"hosts": hosts, "qids": qids, "from": from, "to": to})
	if err != nil {
		return fmt.Errorf("reading the senders: %w", err)
	}
	defer res.Close()
	for res.Next() {
		var id string
		var a accepted
		if err := res.Scan(&id, &a.sender, &a.subject); err != nil {
			return err
		}
		out[id] = a
	}
	if err := res.Err(); err != nil {
		return fmt.Errorf("reading the senders: %w", err)
	}
	return nil
}

// acceptAfterID bounds how far an accept record's time is from its trace
// ID's: the milter makes both in one session, and its queue may hold the
// record a while when the store is slow (the spool keeps the time).
const acceptAfterID = time.Hour

// Page is one page of search results, newest first. Next is the cursor of
// the following page, empty on the last.
type Page struct {
	Rows []Row  `json:"rows"`
	Next string `json:"next,omitempty"`
}

// Search returns one page of attempts matching f, newest first, after the
// cursor of the previous page ("" for the first).
func Search(ctx context.Context, st store.Store, f Filter, cursor string, limit int) (*Page, error) {
	if err := f.Check(MaxSearchSpan); err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = DefaultPage
	}
	if limit > MaxPage {
		return nil, fmt.Errorf("%w: limit %d is over %d", ErrBadFilter, limit, MaxPage)
	}
	where, p := f.where()
	if cursor != "" {
		t, id, err := decodeCursor(cursor)
		if err != nil {
			return nil, err
		}
		where += " AND (time, event_id) < ({ct:DateTime64(6, 'UTC')}, {ce:UInt64})"
		p["ct"], p["ce"] = t, id
	}
	p["limit"] = uint32(limit + 1)
	rows, err := st.Query(ctx, rowSelect+where+"\nORDER BY time DESC, event_id DESC LIMIT {limit:UInt32}", p)
	if err != nil {
		return nil, fmt.Errorf("searching: %w", err)
	}
	defer rows.Close()
	page := &Page{Rows: []Row{}}
	var tid string
	for rows.Next() {
		r, err := scanRow(rows, &tid)
		if err != nil {
			return nil, err
		}
		page.Rows = append(page.Rows, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("searching: %w", err)
	}
	rows.Close() // the embedded store runs one query at a time
	if len(page.Rows) > limit {
		page.Rows = page.Rows[:limit]
		last := page.Rows[limit-1]
		page.Next = encodeCursor(last.Time.Time, last.eventID)
	}
	if err := fillAccepted(ctx, st, page.Rows); err != nil {
		return nil, err
	}
	return page, nil
}

// Export streams every attempt matching f, oldest first, to emit; it stops
// at emit's first error.
func Export(ctx context.Context, st store.Store, f Filter, emit func(*Row) error) error {
	if err := f.Check(MaxExportSpan); err != nil {
		return err
	}
	where, p := f.where()
	rows, err := st.Query(ctx, exportSQL(where), p)
	if err != nil {
		return fmt.Errorf("exporting: %w", err)
	}
	defer rows.Close()
	var sender, subject string
	for rows.Next() {
		r, err := scanRow(rows, &sender, &subject)
		if err != nil {
			return err
		}
		if sender != "" {
			r.Sender, r.Subject = sender, subject
		}
		if err := emit(&r); err != nil {
			return err
		}
	}
	return rows.Err()
}

// A cursor is the last row's time and event ID, opaque to clients.
func encodeCursor(t time.Time, id uint64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(t.UnixMicro(), 10) + "." + strconv.FormatUint(id, 10)))
}

func decodeCursor(c string) (time.Time, uint64, error) {
	bad := fmt.Errorf("%w: cursor %q is not one this server gave", ErrBadFilter, c)
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return time.Time{}, 0, bad
	}
	ts, id, ok := strings.Cut(string(raw), ".")
	us, err1 := strconv.ParseInt(ts, 10, 64)
	n, err2 := strconv.ParseUint(id, 10, 64)
	if !ok || err1 != nil || err2 != nil {
		return time.Time{}, 0, bad
	}
	return time.UnixMicro(us).UTC(), n, nil
}
