package collector

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/mailtrace/mailtrace/header"
	"github.com/mailtrace/mailtrace/pool"
	"github.com/mailtrace/mailtrace/postfixlog"
	"github.com/mailtrace/mailtrace/schema"
	"github.com/mailtrace/mailtrace/traceid"
)

// Sink receives what the correlator makes of the log.
type Sink interface {
	Delivery(e *schema.DeliveryEvent) error
	Message(m *schema.MessageRecord) error
	// Unknown gets every line about a message that was not understood;
	// keep says whether to store it (a few per kind of line and day).
	Unknown(u *schema.UnknownLine, keep bool) error
}

// UnknownPerDay bounds the unknown lines of one kind stored per day of log
// time: enough to see a new line shape, not a copy of the log.
const UnknownPerDay = 20

// maxUnknownKinds bounds the kinds of unknown line told apart; past it
// they are of kind "other".
const maxUnknownKinds = 200

// Correlator groups log records into messages. A message is known by its
// host and queue ID from its first line until Postfix removes it; short
// queue IDs are reused later, so a line that starts a message after the
// old one was removed starts a new one. Lines of several processes can
// arrive slightly out of order: a removed message is kept for Grace (in
// log time) before its record is written.
//
// One message may pass through several queue entries of the same host: a
// content filter (amavis on 127.0.0.1:10024, any content_filter) or
// another Postfix instance takes it and queues it again under a new queue
// ID, which its reply names ("250 2.0.0 Ok: queued as 3F2A81C0B2"); local
// forwards it ("forwarded as ..."); postsuper -r requeues it (pickup's
// orig_id=). The correlator links the entries: the hand-off attempt is
// kept with status handoff and the new ID (queued_as), and the new entry
// inherits the original's trace ID, client, sender and pool, so that its
// attempts, the real deliveries, carry them. The new entry's lines usually
// come before the hand-off's (the filter queues the message before it
// answers), but not always: the attempts of a new entry that a local
// client (a filter) handed in are held back for Grace until it is known
// whether it continues another entry, and a hand-off to a local next hop
// waits as long for its new entry to appear. Only queue IDs that appear in
// this host's log are linked: a smarthost on localhost that does not
// re-inject into it keeps a plain sent attempt.
type Correlator struct {
	Grace time.Duration
	Pools []pool.Pool // a pool's syslog name tells its deliveries
	// Announce writes a provisional record of each message when the queue
	// manager first takes it, so that a message still in the queue can be
	// found (live logs). Imports leave it off: their messages get one
	// record, when they leave the queue or when the file ends.
	Announce bool
	// KeepLines puts each attempt's log line in its event (Line), for
	// the evidence ledger's records.
	KeepLines bool

	sink     Sink
	messages map[msgKey]*message
	tls      map[procKey]string // last TLS line per delivery process, for its next attempt
	clock    time.Time          // latest log time seen
	second   time.Time          // the whole second of the last line without a fraction
	inSecond int64              // lines seen in that second before the last one
	removed  []removal          // removed messages, oldest first, to write after Grace
	waits    []removal          // messages holding attempts back, by the time they stop waiting
	// awaiting maps a queue ID that a hand-off named but whose entry has
	// not appeared yet to the entry that handed the message over.
	awaiting map[msgKey]msgKey
	// unknown counts the unknown lines stored per kind on unknownDay.
	unknown    map[string]int
	unknownDay time.Time
}

type removal struct {
	key msgKey
	at  time.Time
}

type msgKey struct{ host, qid string }

type procKey struct {
	host string
	pid  uint32
}

// message is one message instance being followed.
type message struct {
	Host, QueueID string
	FirstSeen     time.Time
	LastSeen      time.Time
	TimeDigits    uint8 // of its log's timestamps (postfixlog.Record.TimeDigits)
	TraceID       [16]byte
	MessageID     string
	Sender        string
	Size          uint64
	Nrcpt         uint32
	Origin        string
	ClientHost    string
	ClientIP      string
	SASLUser      string
	Pool          string
	Recipients    []string
	Statuses      []schema.DeliveryStatus
	LastDSN       []string
	LastResponse  []string
	Parent        string
	Notification  string
	Children      []string
	State         string // queued, removed, expired, requeued
	RemovedAt     time.Time
	Announced     bool // its provisional record was written
	// QueuedFrom is the entry this one continues; QueuedAs the entries
	// that continue this one.
	QueuedFrom string   `json:",omitempty"`
	QueuedAs   []string `json:",omitempty"`
	// HoldUntil: while the log time is before it, this entry may turn out
	// to continue another one (a local client handed it in), and its
	// attempts wait in Held to inherit what the other knows.
	HoldUntil time.Time               `json:",omitzero"`
	Held      []*schema.DeliveryEvent `json:",omitempty"`
	// Pending are hand-offs to a local next hop whose new entry has not
	// appeared yet (until PendingUntil): handoff if it does, sent if not.
	Pending      []*schema.DeliveryEvent `json:",omitempty"`
	PendingUntil time.Time               `json:",omitzero"`
}

// NewCorrelator writes to sink.
func NewCorrelator(sink Sink, pools []pool.Pool, grace time.Duration) *Correlator {
	if grace <= 0 {
		grace = 30 * time.Second
	}
	return &Correlator{Grace: grace, Pools: pools, sink: sink, messages: map[msgKey]*message{}, tls: map[procKey]string{},
		awaiting: map[msgKey]msgKey{}}
}

// Open is how many messages are being followed.
func (c *Correlator) Open() int { return len(c.messages) }

// EventID derives a delivery event's ID from its host and log line, so that
// reading the same line again makes the same event.
func EventID(host string, line []byte, extra string) uint64 {
	// FNV-1a, inline: hash/fnv's hasher would be one allocation per event.
	const offset, prime = 14695981039346656037, 1099511628211
	h := uint64(offset)
	for i := 0; i < len(host); i++ {
		h = (h ^ uint64(host[i])) * prime
	}
	h *= prime // the 0 separator
	for _, c := range line {
		h = (h ^ uint64(c)) * prime
	}
	h *= prime
	for i := 0; i < len(extra); i++ {
		h = (h ^ uint64(extra[i])) * prime
	}
	return h
}

// starts tells whether a record begins a message's life in the queue.
func starts(r *postfixlog.Record) bool {
	switch r.Kind {
	case postfixlog.SmtpdClient, postfixlog.Pickup:
		return true
	}
	return false
}

// get finds or opens the message a queued record is about.
func (c *Correlator) get(r *postfixlog.Record) *message {
	k := msgKey{string(r.Host), string(r.QueueID)}
	m := c.messages[k]
	if m != nil && m.State != "queued" && starts(r) {
		// The queue ID was reused: the old message is done.
		c.finish(k, m)
		m = nil
	}
	if m == nil {
		m = &message{Host: k.host, QueueID: k.qid, FirstSeen: r.Time, TimeDigits: r.TimeDigits, State: "queued"}
		c.messages[k] = m
	}
	if r.Time.After(m.LastSeen) {
		m.LastSeen = r.Time
	}
	return m
}

// Add takes one parsed line. line is the raw line, which event IDs derive
// from.
func (c *Correlator) Add(r *postfixlog.Record, line []byte) error {
	c.tick(r)
	switch r.Kind {
	case postfixlog.TLS:
		if len(r.RelayHost) > 0 { // outbound: belongs to this process's next attempt
			c.tls[procKey{string(r.Host), r.PID}] = string(r.Response)
		}
		return nil
	case postfixlog.Reject:
		return c.reject(r, line)
	case postfixlog.PolicyAction:
		return c.policy(r, line)
	case postfixlog.Unknown:
		return c.unknownLine(r, line)
	}
	if len(r.QueueID) == 0 {
		return nil
	}
	switch r.Kind {
	case postfixlog.SmtpdClient:
		m := c.get(r)
		if m.QueuedFrom == "" {
			m.Origin, m.ClientHost, m.ClientIP, m.SASLUser = "smtpd", string(r.ClientHost), string(r.ClientIP), string(r.SASLUser)
		}
		if err := c.continues(r, m); err != nil {
			return err
		}
	case postfixlog.Pickup:
		m := c.get(r)
		if m.QueuedFrom == "" {
			m.Origin = "pickup"
		}
		if m.Sender == "" {
			m.Sender = string(r.From)
		}
		if err := c.continues(r, m); err != nil {
			return err
		}
	case postfixlog.MessageID:
		c.get(r).MessageID = string(r.MessageID)
	case postfixlog.HeaderCheck:
		if err := c.headerCheck(r, line); err != nil {
			return err
		}
	case postfixlog.QueueActive:
		m := c.get(r)
		if m.QueuedFrom == "" || m.Sender == "" {
			m.Sender = string(r.From)
		}
		m.Size, m.Nrcpt = r.Size, r.Nrcpt
		if m.Origin == "" && m.Parent == "" && len(r.From) == 0 {
			m.Origin = "notification"
		}
		if c.Announce && !m.Announced {
			m.Announced = true
			return c.sink.Message(m.record())
		}
	case postfixlog.Delivery:
		return c.delivery(r, line)
	case postfixlog.Notification:
		if err := c.notification(r); err != nil {
			return err
		}
	case postfixlog.Expired:
		return c.expire(r, line)
	case postfixlog.Removed:
		m := c.get(r)
		if m.State == "queued" {
			m.State = "removed"
		}
		m.RemovedAt = r.Time
		c.removed = append(c.removed, removal{key: msgKey{m.Host, m.QueueID}, at: r.Time})
	}
	return c.sweep()
}

// tick advances the log clock to r. BSD timestamps and maillog_file have
// whole seconds: lines of one second get a microsecond each, in log order,
// so that a deferral and the expiry logged after it in the same second
// stay in that order.
func (c *Correlator) tick(r *postfixlog.Record) {
	if r.Time.Nanosecond() == 0 && !r.Time.IsZero() {
		if r.Time.Equal(c.second) {
			c.inSecond++
		} else {
			c.second, c.inSecond = r.Time, 0
		}
		r.Time = r.Time.Add(time.Duration(c.inSecond) * time.Microsecond)
	}
	if r.Time.After(c.clock) {
		c.clock = r.Time
	}
}

// headerCheck reads a milter_header_checks line: the trace ID and pool the
// milter stamped, and what the rule did.
func (c *Correlator) headerCheck(r *postfixlog.Record, line []byte) error {
	m := c.get(r)
	switch strings.ToLower(string(r.HeaderName)) {
	case header.LowerID:
		if id, ok := traceid.Parse(string(r.HeaderValue)); ok {
			m.TraceID = id
			// The milter stamped it as it came in: a message of its
			// own, not one a filter hands back.
			if err := c.release(m); err != nil {
				return err
			}
		}
	case header.LowerPool:
		m.Pool = string(r.HeaderValue)
	}
	return c.checkAction(r, m, line)
}

// notification links a non-delivery notification to the message it is
// about; its own lines may have come first, or belong to an earlier
// message of the same (reused) queue ID, which is finished first.
func (c *Correlator) notification(r *postfixlog.Record) error {
	parent := c.get(r)
	child := string(r.Child)
	parent.Children = append(parent.Children, child)
	ck := msgKey{parent.Host, child}
	cm := c.messages[ck]
	if cm != nil && cm.State != "queued" {
		if err := c.finish(ck, cm); err != nil {
			return err
		}
		cm = nil
	}
	if cm == nil {
		cm = &message{Host: parent.Host, QueueID: child, FirstSeen: r.Time, LastSeen: r.Time, TimeDigits: r.TimeDigits, State: "queued"}
		c.messages[ck] = cm
	}
	cm.Parent, cm.Notification, cm.Origin = parent.QueueID, string(r.NotificationKind), "notification"
	return nil
}

// unknownLine hands a line about a message that was not understood to the
// sink, to be counted, and to be kept while its kind has fewer than
// UnknownPerDay lines kept that day.
func (c *Correlator) unknownLine(r *postfixlog.Record, line []byte) error {
	kind := UnknownKind(r)
	day := r.Time.Truncate(24 * time.Hour)
	if !day.Equal(c.unknownDay) {
		c.unknownDay, c.unknown = day, map[string]int{}
	}
	if c.unknown == nil {
		c.unknown = map[string]int{}
	}
	if _, ok := c.unknown[kind]; !ok && len(c.unknown) >= maxUnknownKinds {
		kind = "other"
	}
	n := c.unknown[kind]
	keep := n < UnknownPerDay
	if keep {
		c.unknown[kind] = n + 1
	}
	return c.sink.Unknown(&schema.UnknownLine{Time: r.Time, Seen: time.Now().UTC().Truncate(24 * time.Hour), Host: string(r.Host),
		Program: string(r.Program), QueueID: string(r.QueueID), Kind: kind, Line: string(line)}, keep)
}

// UnknownKind names the shape of a line not understood: its daemon and the
// first word of what it says about the message ("cleanup/frobnicated",
// "smtpd/NOQUEUE something").
func UnknownKind(r *postfixlog.Record) string {
	text := r.Text
	end := 0
	for end < len(text) && end < 32 {
		ch := text[end]
		if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '-' || ch == '_') {
			break
		}
		end++
	}
	word := string(text[:end])
	if len(r.QueueID) == 0 {
		word = "NOQUEUE " + word
	}
	return string(r.Daemon) + "/" + word
}

// recipient returns the index of addr in m's recipients, adding it.
func (m *message) recipient(addr string) int {
	for i, a := range m.Recipients {
		if a == addr {
			return i
		}
	}
	m.Recipients = append(m.Recipients, addr)
	m.Statuses = append(m.Statuses, "")
	m.LastDSN = append(m.LastDSN, "")
	m.LastResponse = append(m.LastResponse, "")
	return len(m.Recipients) - 1
}

func (c *Correlator) delivery(r *postfixlog.Record, line []byte) error {
	m := c.get(r)
	i := m.recipient(string(r.To))
	status := schema.DeliveryStatus(r.Status)
	m.Statuses[i], m.LastDSN[i], m.LastResponse[i] = status, string(r.DSN), string(r.Response)
	pk := procKey{m.Host, r.PID}
	tls := c.tls[pk]
	delete(c.tls, pk)
	pool, sourceIP := c.pool(r)
	e := &schema.DeliveryEvent{
		Time: r.Time, EventID: EventID(m.Host, line, ""), Host: m.Host, QueueID: m.QueueID, TraceID: m.TraceID,
		MessageID: m.MessageID, Sender: m.Sender, Recipient: string(r.To), OrigRecipient: string(r.OrigTo),
		Status: status, DSN: string(r.DSN), Service: string(r.Program), RelayHost: string(r.RelayHost),
		RelayIP: string(r.RelayIP), RelayPath: string(r.RelayPath), RelayPort: r.RelayPort, Response: string(r.Response),
		Delay: r.Delay, DelayBeforeQueue: r.Delays[0], DelayInQueue: r.Delays[1], DelayConnect: r.Delays[2],
		DelayTransmit: r.Delays[3], ConnUse: r.ConnUse, TLS: tls, Pool: pool, SourceIP: sourceIP, TimeDigits: r.TimeDigits,
		Line: c.line(line),
	}
	if len(r.QueuedAs) > 0 {
		next := msgKey{m.Host, string(r.QueuedAs)}
		if n := c.messages[next]; n != nil && c.handedTo(m, n, e) {
			e.Status, e.QueuedAs, m.Statuses[i] = schema.StatusHandoff, next.qid, schema.StatusHandoff
			c.link(m, n)
			if err := c.write(m, e); err != nil {
				return err
			}
			if err := c.flush(n); err != nil {
				return err
			}
			return c.sweep()
		}
		if localHop(r) {
			// Its new entry may still be logged: wait for it.
			e.QueuedAs = next.qid
			m.Pending = append(m.Pending, e)
			if m.PendingUntil.IsZero() {
				m.PendingUntil = r.Time.Add(c.Grace)
				c.waits = append(c.waits, removal{key: msgKey{m.Host, m.QueueID}, at: m.PendingUntil})
			}
			c.awaiting[next] = msgKey{m.Host, m.QueueID}
			return c.sweep()
		}
	}
	if err := c.write(m, e); err != nil {
		return err
	}
	return c.sweep()
}

// line is an attempt's log line for its event, when lines are kept.
func (c *Correlator) line(line []byte) string {
	if !c.KeepLines {
		return ""
	}
	return string(line)
}

// write writes an attempt of m, or holds it back while m may still turn
// out to continue another entry.
func (c *Correlator) write(m *message, e *schema.DeliveryEvent) error {
	if !m.HoldUntil.IsZero() {
		m.Held = append(m.Held, e)
		return nil
	}
	return c.sink.Delivery(e)
}

// localHop tells whether an attempt went to a next hop on this host: a
// loopback address or a UNIX-domain socket (a content filter, another
// instance), or local(8) forwarding.
func localHop(r *postfixlog.Record) bool {
	return len(r.RelayPath) > 0 || isLoopback(r.RelayIP) || string(r.Relay) == "local"
}

func isLoopback[T []byte | string](ip T) bool {
	s := string(ip)
	return strings.HasPrefix(s, "127.") || s == "::1" || strings.EqualFold(s, "::ffff:127.0.0.1")
}

// handedTo tells whether entry n, known in this log under the queue ID the
// hand-off e of m named, is where m went: it started after m and no later
// than a moment after the hand-off, handed in by a local client (or by the
// hand-off's own next hop, or with no client at all: local's forwards).
func (c *Correlator) handedTo(m, n *message, e *schema.DeliveryEvent) bool {
	if n == m || n.QueuedFrom != "" && n.QueuedFrom != m.QueueID || n.FirstSeen.Before(m.FirstSeen) || n.FirstSeen.After(e.Time.Add(c.Grace)) {
		return false
	}
	return n.Origin == "" || isLoopback(n.ClientIP) || n.ClientIP != "" && n.ClientIP == e.RelayIP || n.QueuedFrom == m.QueueID
}

// continues links an entry that just started to the one it continues,
// when the log says which: XFORWARD's orig_queue_id=, pickup's orig_id=
// (postsuper -r), or an earlier hand-off that named this queue ID.
// Otherwise an entry a local client handed in holds its attempts back for
// Grace, in case a hand-off names it later.
func (c *Correlator) continues(r *postfixlog.Record, m *message) error {
	k := msgKey{m.Host, m.QueueID}
	if len(r.OrigQueueID) > 0 {
		if prev := c.messages[msgKey{m.Host, string(r.OrigQueueID)}]; prev != nil && prev != m {
			c.link(prev, m)
			if r.Kind == postfixlog.Pickup && prev.State == "queued" {
				// postsuper -r moved the old entry's file away: it
				// leaves the queue without a "removed" line.
				prev.State, prev.RemovedAt = "requeued", r.Time
				c.removed = append(c.removed, removal{key: msgKey{prev.Host, prev.QueueID}, at: r.Time})
			}
			return c.flush(m)
		}
	}
	if from, ok := c.awaiting[k]; ok {
		if prev := c.messages[from]; prev != nil && prev != m {
			c.link(prev, m)
			if err := c.flushPending(prev, m.QueueID, true); err != nil {
				return err
			}
		}
		delete(c.awaiting, k)
		return nil
	}
	if r.Kind == postfixlog.SmtpdClient && m.QueuedFrom == "" && m.HoldUntil.IsZero() && (isLoopback(r.ClientIP) || string(r.ClientHost) == "localhost") {
		m.HoldUntil = r.Time.Add(c.Grace)
		c.waits = append(c.waits, removal{key: k, at: m.HoldUntil})
	}
	return nil
}

// link records that n continues m, and gives n what m knows of the
// message's origin.
func (c *Correlator) link(m, n *message) {
	n.QueuedFrom = m.QueueID
	if !slices.Contains(m.QueuedAs, n.QueueID) {
		m.QueuedAs = append(m.QueuedAs, n.QueueID)
	}
	if m.TraceID != ([16]byte{}) {
		n.TraceID = m.TraceID
	}
	if m.Origin != "" {
		n.Origin = m.Origin
	}
	if m.ClientIP != "" || m.ClientHost != "" {
		n.ClientHost, n.ClientIP, n.SASLUser = m.ClientHost, m.ClientIP, m.SASLUser
	}
	if m.Sender != "" || n.Sender == "" {
		n.Sender = m.Sender
	}
	if n.Pool == "" {
		n.Pool = m.Pool
	}
	if n.MessageID == "" {
		n.MessageID = m.MessageID
	}
	n.HoldUntil = time.Time{}
}

// flush writes the attempts n held back, with what n knows now.
func (c *Correlator) flush(n *message) error {
	n.HoldUntil = time.Time{}
	held := n.Held
	n.Held = nil
	for _, e := range held {
		if n.QueuedFrom != "" {
			e.TraceID, e.Sender = n.TraceID, n.Sender
			if e.MessageID == "" {
				e.MessageID = n.MessageID
			}
		}
		if err := c.sink.Delivery(e); err != nil {
			return err
		}
	}
	return nil
}

// flushPending writes m's hand-offs to qid (all when qid is empty): as
// handoff when their new entry appeared, else as the sent attempts they
// are.
func (c *Correlator) flushPending(m *message, qid string, linked bool) error {
	keep := m.Pending[:0]
	var out []*schema.DeliveryEvent
	for _, e := range m.Pending {
		if qid != "" && e.QueuedAs != qid {
			keep = append(keep, e)
			continue
		}
		if linked {
			e.Status = schema.StatusHandoff
			if i := slices.Index(m.Recipients, e.Recipient); i >= 0 && m.Statuses[i] == schema.StatusSent {
				m.Statuses[i] = schema.StatusHandoff
			}
		} else {
			delete(c.awaiting, msgKey{m.Host, e.QueuedAs})
			e.QueuedAs = ""
		}
		out = append(out, e)
	}
	m.Pending = keep
	if len(keep) == 0 {
		m.PendingUntil = time.Time{}
		m.Pending = nil
	}
	for _, e := range out {
		if err := c.write(m, e); err != nil {
			return err
		}
	}
	return nil
}

// release ends m's waiting: its held attempts and its pending hand-offs
// are written as they are.
func (c *Correlator) release(m *message) error {
	if len(m.Pending) > 0 {
		for _, e := range m.Pending {
			delete(c.awaiting, msgKey{m.Host, e.QueuedAs})
		}
		if err := c.flushPending(m, "", false); err != nil {
			return err
		}
	}
	m.PendingUntil = time.Time{}
	if !m.HoldUntil.IsZero() || len(m.Held) > 0 {
		return c.flush(m)
	}
	return nil
}

// pool names the pool and source IP of an attempt from the syslog name of
// the transport that made it: a configured pool's, else one of the form
// postfix-POOL. The pool the message was meant for says nothing about an
// attempt: Postfix sends only what it would give its default transport
// through the pool's, and its local, virtual, relay and transport_maps
// deliveries of the same message leave through no pool.
func (c *Correlator) pool(r *postfixlog.Record) (string, string) {
	inst := string(r.Instance)
	for _, p := range c.Pools {
		if p.SyslogName == inst {
			return p.Name, p.SourceIP
		}
	}
	name, found := strings.CutPrefix(inst, "postfix-")
	if !found {
		return "", ""
	}
	return c.poolNamed(name)
}

// poolNamed is a pool's name and source IP, by name.
func (c *Correlator) poolNamed(name string) (string, string) {
	for _, p := range c.Pools {
		if p.Name == name {
			return p.Name, p.SourceIP
		}
	}
	return name, ""
}

// expire marks the recipients still deferred as expired: qmgr says so once
// for the message, and their own last lines still say deferred.
func (c *Correlator) expire(r *postfixlog.Record, line []byte) error {
	m := c.get(r)
	if m.Sender == "" {
		m.Sender = string(r.From) // a message seen only as it expires
	}
	m.State = "expired"
	m.RemovedAt = r.Time
	c.removed = append(c.removed, removal{key: msgKey{m.Host, m.QueueID}, at: r.Time})
	for i, st := range m.Statuses {
		if st != schema.StatusDeferred && st != "" {
			continue
		}
		m.Statuses[i] = schema.StatusExpired
		pool, sourceIP := c.pool(r)
		e := &schema.DeliveryEvent{
			Time: r.Time, EventID: EventID(m.Host, line, m.Recipients[i]), Host: m.Host, QueueID: m.QueueID,
			TraceID: m.TraceID, MessageID: m.MessageID, Sender: m.Sender, Recipient: m.Recipients[i],
			Status: schema.StatusExpired, DSN: m.LastDSN[i], Service: string(r.Program), Response: m.LastResponse[i],
			Pool: pool, SourceIP: sourceIP, TimeDigits: r.TimeDigits, Line: c.line(line),
		}
		if err := c.write(m, e); err != nil {
			return err
		}
	}
	return c.sweep()
}

// reject records mail refused at the door (NOQUEUE) or one recipient of a
// queued message refused, as an attempt with status rejected.
func (c *Correlator) reject(r *postfixlog.Record, line []byte) error {
	return c.decision(r, line, schema.StatusRejected, r.Response, r.DSN)
}

// policy records what smtpd or cleanup did to mail without refusing it:
// reject_warning and warn (warn_if_reject: it would have been refused, and
// was not) as a warning, discard as discarded, hold as held. FILTER and
// REDIRECT only change where mail goes: their lines are known, and the
// attempts that follow say the rest.
func (c *Correlator) policy(r *postfixlog.Record, line []byte) error {
	var status schema.DeliveryStatus
	switch string(r.Action) {
	case "reject_warning", "warn":
		status = schema.StatusWarning
	case "discard", "milter-discard":
		status = schema.StatusDiscarded
	case "hold", "milter-hold":
		status = schema.StatusHeld
	default:
		return nil
	}
	return c.decision(r, line, status, r.Response, r.DSN)
}

// checkAction records a header or body check that refused, discarded or
// held the message (cleanup's REJECT, DISCARD, HOLD), for the recipient
// the line names.
func (c *Correlator) checkAction(r *postfixlog.Record, m *message, line []byte) error {
	var status schema.DeliveryStatus
	switch string(r.Action) {
	case "reject":
		status = schema.StatusRejected
	case "discard":
		status = schema.StatusDiscarded
	case "hold":
		status = schema.StatusHeld
	default:
		return nil
	}
	return c.decision(r, line, status, r.ActionText, postfixlog.EnhancedCode(r.ActionText))
}

// decision writes one policy decision of Postfix about mail as an event
// with the given status. Only a refusal or a discard is the recipient's
// outcome; a warning or a hold is not.
func (c *Correlator) decision(r *postfixlog.Record, line []byte, status schema.DeliveryStatus, response, dsn []byte) error {
	host := string(r.Host)
	e := &schema.DeliveryEvent{
		Time: r.Time, EventID: EventID(host, line, ""), Host: host, QueueID: string(r.QueueID),
		Sender: string(r.From), Recipient: string(r.To), Status: status, DSN: string(dsn),
		Service: string(r.Program), RelayHost: string(r.ClientHost), RelayIP: string(r.ClientIP),
		Response: string(response), TimeDigits: r.TimeDigits, Line: c.line(line),
	}
	if len(r.QueueID) == 0 {
		return c.sink.Delivery(e)
	}
	m := c.get(r)
	e.TraceID, e.MessageID = m.TraceID, m.MessageID
	if e.Sender == "" {
		e.Sender = m.Sender
	}
	if len(r.To) > 0 {
		i := m.recipient(string(r.To))
		if status == schema.StatusRejected || status == schema.StatusDiscarded {
			m.Statuses[i], m.LastDSN[i], m.LastResponse[i] = status, e.DSN, e.Response
		}
	}
	return c.write(m, e)
}

// Tick tells the correlator the time now, when the log is quiet: messages
// removed more than Grace before it are written, as if a later line had
// come. (Imports never tick: there, only the log's own time counts.)
func (c *Correlator) Tick(now time.Time) error {
	if now.After(c.clock) {
		c.clock = now
	}
	return c.sweep()
}

// sweep ends the waits that are over and writes the messages removed more
// than Grace ago (in log time).
func (c *Correlator) sweep() error {
	w := 0
	for ; w < len(c.waits) && !c.clock.Before(c.waits[w].at); w++ {
		m := c.messages[c.waits[w].key]
		if m == nil {
			continue
		}
		if !m.HoldUntil.IsZero() && !c.clock.Before(m.HoldUntil) {
			if err := c.flush(m); err != nil {
				c.waits = c.waits[w:]
				return err
			}
		}
		if !m.PendingUntil.IsZero() && !c.clock.Before(m.PendingUntil) {
			if err := c.release(m); err != nil {
				c.waits = c.waits[w:]
				return err
			}
		}
	}
	c.waits = c.waits[w:]
	n := 0
	for ; n < len(c.removed) && c.clock.Sub(c.removed[n].at) > c.Grace; n++ {
		rm := c.removed[n]
		m := c.messages[rm.key]
		// Skip entries whose message was already written, or reused since.
		if m == nil || m.State == "queued" || !m.RemovedAt.Equal(rm.at) {
			continue
		}
		if err := c.finish(rm.key, m); err != nil {
			c.removed = c.removed[n:]
			return err
		}
	}
	c.removed = c.removed[n:]
	return nil
}

// finish writes a message's final record and forgets it.
func (c *Correlator) finish(k msgKey, m *message) error {
	if err := c.release(m); err != nil {
		return err
	}
	delete(c.messages, k)
	return c.sink.Message(m.record())
}

// Drain writes every removed message now, without waiting for the grace
// window, and a record of each message still queued that has none yet: at
// the end of an import.
func (c *Correlator) Drain() error {
	keys := make([]msgKey, 0, len(c.messages))
	for k := range c.messages {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].qid < keys[j].qid })
	// Every line has been read: whatever waits for a link has none.
	for _, k := range keys {
		if err := c.release(c.messages[k]); err != nil {
			return err
		}
	}
	c.waits = nil
	for _, k := range keys {
		m := c.messages[k]
		switch {
		case m.State != "queued":
			if err := c.finish(k, m); err != nil {
				return err
			}
		case !m.Announced:
			m.Announced = true
			if err := c.sink.Message(m.record()); err != nil {
				return err
			}
		}
	}
	c.removed = nil
	return nil
}

// Snapshot is the state a checkpoint keeps: the messages still followed,
// which a restarted collector continues from.
func (c *Correlator) Snapshot() ([]byte, error) {
	open := make([]*message, 0, len(c.messages))
	for _, m := range c.messages {
		open = append(open, m)
	}
	sort.Slice(open, func(i, j int) bool { return open[i].QueueID < open[j].QueueID })
	tls := make([]pendingTLS, 0, len(c.tls))
	for k, v := range c.tls {
		tls = append(tls, pendingTLS{Host: k.host, PID: k.pid, TLS: v})
	}
	sort.Slice(tls, func(i, j int) bool {
		return tls[i].Host < tls[j].Host || tls[i].Host == tls[j].Host && tls[i].PID < tls[j].PID
	})
	return json.Marshal(snapshot{Clock: c.clock, Second: c.second, InSecond: c.inSecond, Messages: open, TLS: tls,
		UnknownDay: c.unknownDay, Unknown: c.unknown})
}

// snapshot is everything a correlator knows that later lines depend on.
type snapshot struct {
	Clock    time.Time
	Second   time.Time
	InSecond int64
	Messages []*message
	TLS      []pendingTLS
	// The unknown lines kept per kind that day, so that a replayed chunk
	// keeps the same ones.
	UnknownDay time.Time      `json:",omitzero"`
	Unknown    map[string]int `json:",omitempty"`
}

type pendingTLS struct {
	Host string
	PID  uint32
	TLS  string
}

// Reset forgets everything and continues from a Snapshot.
func (c *Correlator) Reset(state string) error {
	c.messages, c.tls, c.removed, c.clock = map[msgKey]*message{}, map[procKey]string{}, nil, time.Time{}
	c.waits, c.awaiting, c.unknown, c.unknownDay = nil, map[msgKey]msgKey{}, nil, time.Time{}
	c.second, c.inSecond = time.Time{}, 0
	return c.Restore([]byte(state))
}

// Restore continues from a Snapshot.
func (c *Correlator) Restore(data []byte) error {
	if len(data) == 0 {
		return nil
	}
	var s snapshot
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("collector state: %w", err)
	}
	c.clock, c.second, c.inSecond = s.Clock, s.Second, s.InSecond
	c.unknownDay, c.unknown = s.UnknownDay, s.Unknown
	for _, t := range s.TLS {
		c.tls[procKey{t.Host, t.PID}] = t.TLS
	}
	for _, m := range s.Messages {
		k := msgKey{m.Host, m.QueueID}
		c.messages[k] = m
		if m.State != "queued" {
			c.removed = append(c.removed, removal{key: k, at: m.RemovedAt})
		}
		if !m.HoldUntil.IsZero() {
			c.waits = append(c.waits, removal{key: k, at: m.HoldUntil})
		}
		if !m.PendingUntil.IsZero() {
			c.waits = append(c.waits, removal{key: k, at: m.PendingUntil})
			for _, e := range m.Pending {
				c.awaiting[msgKey{m.Host, e.QueuedAs}] = k
			}
		}
	}
	sort.Slice(c.removed, func(i, j int) bool { return c.removed[i].at.Before(c.removed[j].at) })
	sort.Slice(c.waits, func(i, j int) bool { return c.waits[i].at.Before(c.waits[j].at) })
	return nil
}

func (m *message) record() *schema.MessageRecord {
	return &schema.MessageRecord{
		FirstSeen: m.FirstSeen, LastSeen: m.LastSeen, Host: m.Host, QueueID: m.QueueID, TraceID: m.TraceID,
		MessageID: m.MessageID, Sender: m.Sender, Size: m.Size, Nrcpt: m.Nrcpt, Origin: m.Origin,
		ClientHost: m.ClientHost, ClientIP: m.ClientIP, SASLUser: m.SASLUser, Pool: m.Pool,
		Recipients: append([]string(nil), m.Recipients...), Statuses: statusStrings(m.Statuses),
		ParentQueueID: m.Parent, Notification: m.Notification, Children: append([]string(nil), m.Children...),
		State: m.State, QueuedFrom: m.QueuedFrom, QueuedAs: append([]string(nil), m.QueuedAs...), TimeDigits: m.TimeDigits,
	}
}

// statusStrings are statuses as the messages table's statuses column holds
// them.
func statusStrings(st []schema.DeliveryStatus) []string {
	out := make([]string, len(st))
	for i, s := range st {
		out[i] = string(s)
	}
	return out
}
