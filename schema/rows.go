package schema

import (
	"github.com/mailtrace/mailtrace/dsn"
	"time"

	"github.com/mailtrace/mailtrace/store"
)

// The row types below write their fields in the order of their table's
// columns; TestRowsMatchTables checks both against the migrated database.

const dt6 = "DateTime64(6, 'UTC')"

// AcceptRecord is what the milter saw of one message as Postfix accepted it.
type AcceptRecord struct {
	Time       time.Time
	TraceID    [16]byte // the X-Mailtrace-ID header and ENVID (UUIDv7)
	Host       string   // Postfix host (first label of myhostname)
	QueueID    string
	MessageID  string
	Sender     string // envelope sender (MAIL FROM)
	Recipients []string
	ClientIP   string
	ClientName string
	Helo       string
	SASLUser   string
	Size       uint64 // as the client declared it (ESMTP SIZE=), 0 if not; Postfix's own is in messages
	Class      string // legal, collections, transactional, marketing...
	Pool       string // dedicated-IP pool the message is routed to
	Subject    string
	FromHeader string
}

// AcceptRecords is the accept_records table.
var AcceptRecords = &store.Table{Name: "accept_records", Columns: []store.Column{
	{Name: "time", Type: dt6}, {Name: "trace_id", Type: "UUID"}, {Name: "host", Type: "LowCardinality(String)"},
	{Name: "queue_id", Type: "String"}, {Name: "message_id", Type: "String"}, {Name: "sender", Type: "String"},
	{Name: "recipients", Type: "Array(String)"}, {Name: "client_ip", Type: "String"}, {Name: "client_name", Type: "String"},
	{Name: "helo", Type: "String"}, {Name: "sasl_user", Type: "LowCardinality(String)"}, {Name: "size", Type: "UInt64"},
	{Name: "class", Type: "LowCardinality(String)"}, {Name: "pool", Type: "LowCardinality(String)"},
	{Name: "subject", Type: "String"}, {Name: "from_header", Type: "String"},
}}

// AppendRow implements store.Row.
func (r *AcceptRecord) AppendRow(e *store.Encoder) {
	e.DateTime64(r.Time, 6)
	e.UUID(r.TraceID)
	e.String(r.Host)
	e.String(r.QueueID)
	e.String(r.MessageID)
	e.String(r.Sender)
	e.StringArray(r.Recipients)
	e.String(r.ClientIP)
	e.String(r.ClientName)
	e.String(r.Helo)
	e.String(r.SASLUser)
	e.UInt64(r.Size)
	e.String(r.Class)
	e.String(r.Pool)
	e.String(r.Subject)
	e.String(r.FromHeader)
}

// DeliveryStatus is what became of one delivery attempt (the status column
// of delivery_events), as the collector writes it from Postfix's status=
// and its own reading of the log.
type DeliveryStatus string

// The statuses of a delivery event.
const (
	StatusSent     DeliveryStatus = "sent"     // the next hop took the message for the recipient
	StatusDeferred DeliveryStatus = "deferred" // a temporary failure: Postfix tries again
	StatusBounced  DeliveryStatus = "bounced"  // a permanent failure: returned to the sender
	StatusExpired  DeliveryStatus = "expired"  // still deferred when the queue lifetime ended (or postsuper -e)
	// StatusRejected: Postfix itself refused the mail (smtpd, postscreen,
	// cleanup's milter or header checks).
	StatusRejected DeliveryStatus = "rejected"
	// StatusHandoff: handed to a content filter, another Postfix instance
	// or a forward on this host, which queued it again as QueuedAs; the
	// recipient's outcome is that of the next queue entry.
	StatusHandoff DeliveryStatus = "handoff"
	// StatusWarning: a restriction would have refused the mail and was
	// only logged (warn_if_reject's reject_warning, a WARN action): not a
	// refusal.
	StatusWarning   DeliveryStatus = "warning"
	StatusDiscarded DeliveryStatus = "discarded" // accepted and dropped by a DISCARD action
	StatusHeld      DeliveryStatus = "held"      // put on hold by a HOLD action
)

// DeliveryStatuses are every status a delivery event may have.
var DeliveryStatuses = []DeliveryStatus{StatusSent, StatusDeferred, StatusBounced, StatusExpired, StatusRejected, StatusHandoff,
	StatusWarning, StatusDiscarded, StatusHeld}

// FromReceiver tells whether an event of this status carries a receiving
// MTA's reply about our mail: not Postfix's own decisions (rejected,
// warning, discarded, held) nor a hand-off to a filter or instance on this
// host.
func FromReceiver(status DeliveryStatus) bool {
	switch status {
	case StatusRejected, StatusWarning, StatusDiscarded, StatusHeld, StatusHandoff:
		return false
	}
	return true
}

// DeliveryEvent is one delivery attempt of one recipient, from the log.
type DeliveryEvent struct {
	Time          time.Time
	EventID       uint64 // derived from the log line: a replay maps onto the same row
	Host          string
	QueueID       string
	TraceID       [16]byte // zero when the message never passed the milter
	MessageID     string
	Sender        string
	Recipient     string
	OrigRecipient string
	Status        DeliveryStatus
	DSN           string // enhanced status code, e.g. 5.1.1
	Service       string // syslog name, e.g. postfix-legal/smtp
	RelayHost     string
	RelayIP       string
	RelayPort     uint16
	Response      string // the receiver's reply, whole
	Delay         float32
	// Postfix's delays=a/b/c/d: before the queue manager, in the queue,
	// connection set-up, transmission.
	DelayBeforeQueue, DelayInQueue, DelayConnect, DelayTransmit float32
	ConnUse                                                     uint32
	TLS                                                         string
	Pool                                                        string
	SourceIP                                                    string
	Provider                                                    string // google, microsoft, yahoo, ...
	Category                                                    string // bounce category of the reply
	IsBlock                                                     bool
	RelayPath                                                   string // a UNIX-domain socket next hop
	// QueuedAs is the queue ID the next queue entry on this host got when
	// this attempt handed the message over (Status handoff).
	QueuedAs string
	// TimeDigits is the log timestamp's digits of a fraction of a second:
	// 0 for whole seconds (maillog_file, BSD syslog), 6 for RFC 3339
	// high precision and journald.
	TimeDigits uint8
	// Line is the log line the attempt was read from, as it was logged,
	// when the collector keeps it (for the evidence ledger; it is not a
	// column of delivery_events).
	Line string `json:",omitempty"`
}

// DeliveryEvents is the delivery_events table.
var DeliveryEvents = &store.Table{Name: "delivery_events", Columns: []store.Column{
	{Name: "time", Type: dt6}, {Name: "event_id", Type: "UInt64"}, {Name: "host", Type: "LowCardinality(String)"},
	{Name: "queue_id", Type: "String"}, {Name: "trace_id", Type: "UUID"}, {Name: "message_id", Type: "String"},
	{Name: "sender", Type: "String"}, {Name: "recipient", Type: "String"}, {Name: "orig_recipient", Type: "String"},
	{Name: "status", Type: "LowCardinality(String)"}, {Name: "dsn", Type: "LowCardinality(String)"},
	{Name: "service", Type: "LowCardinality(String)"}, {Name: "relay_host", Type: "String"},
	{Name: "relay_ip", Type: "String"}, {Name: "relay_port", Type: "UInt16"}, {Name: "response", Type: "String"},
	{Name: "delay", Type: "Float32"}, {Name: "delay_before_queue", Type: "Float32"}, {Name: "delay_in_queue", Type: "Float32"},
	{Name: "delay_connect", Type: "Float32"}, {Name: "delay_transmit", Type: "Float32"}, {Name: "conn_use", Type: "UInt32"},
	{Name: "tls", Type: "String"}, {Name: "pool", Type: "LowCardinality(String)"},
	{Name: "source_ip", Type: "LowCardinality(String)"}, {Name: "provider", Type: "LowCardinality(String)"},
	{Name: "category", Type: "LowCardinality(String)"}, {Name: "is_block", Type: "UInt8"},
	{Name: "relay_path", Type: "String"}, {Name: "queued_as", Type: "String"}, {Name: "time_digits", Type: "UInt8"},
}}

// AppendRow implements store.Row.
func (r *DeliveryEvent) AppendRow(e *store.Encoder) {
	e.DateTime64(r.Time, 6)
	e.UInt64(r.EventID)
	e.String(r.Host)
	e.String(r.QueueID)
	e.UUID(r.TraceID)
	e.String(r.MessageID)
	e.String(r.Sender)
	e.String(r.Recipient)
	e.String(r.OrigRecipient)
	e.String(string(r.Status))
	e.String(r.DSN)
	e.String(r.Service)
	e.String(r.RelayHost)
	e.String(r.RelayIP)
	e.UInt16(r.RelayPort)
	e.String(r.Response)
	e.Float32(r.Delay)
	e.Float32(r.DelayBeforeQueue)
	e.Float32(r.DelayInQueue)
	e.Float32(r.DelayConnect)
	e.Float32(r.DelayTransmit)
	e.UInt32(r.ConnUse)
	e.String(r.TLS)
	e.String(r.Pool)
	e.String(r.SourceIP)
	e.String(r.Provider)
	e.String(r.Category)
	e.Bool(r.IsBlock)
	e.String(r.RelayPath)
	e.String(r.QueuedAs)
	e.UInt8(r.TimeDigits)
}

// MatchedBy is how a report was matched to the message it is about (the
// matched_by column of bounces), from the surest way to none.
type MatchedBy string

// The ways a report is matched, in the order they are tried.
const (
	MatchedVERP      MatchedBy = "verp"       // sent to the message's signed VERP return path
	MatchedEnvelope  MatchedBy = "envid"      // its Original-Envelope-Id is the message's trace ID
	MatchedHeader    MatchedBy = "header"     // it quotes the message's X-Mailtrace-ID header
	MatchedMessageID MatchedBy = "message_id" // it quotes the message's Message-ID
	MatchedNone      MatchedBy = "none"       // no message: kept as evidence, it changes no status
)

// Bounce is one recipient of a returned report: a DSN, an ARF complaint or
// an auto-reply.
type Bounce struct {
	Time               time.Time
	EventID            uint64
	Kind               dsn.Kind
	MatchedBy          MatchedBy
	TraceID            [16]byte
	Host               string
	QueueID            string
	Recipient          string
	Action             dsn.Action
	Status             string // enhanced status code the report states
	InferredStatus     string // the code its words support where it states only a class
	Diagnostic         string
	RemoteMTA          string
	ReportingMTA       string
	Category           string
	Provider           string
	IsBlock            bool
	FeedbackType       string // ARF: abuse, fraud, ...
	Disposition        string // MDN: the Disposition field, e.g. "manual-action/MDN-sent-manually; displayed"
	OriginalMessageID  string
	OriginalEnvelopeID string
	ReportSHA256       [32]byte // of the report as received
	// TimeDigits is 0 when Time is the report's Date header (whole
	// seconds, the sender's clock), 6 when it is when the report was taken in.
	TimeDigits uint8
}

// Bounces is the bounces table.
var Bounces = &store.Table{Name: "bounces", Columns: []store.Column{
	{Name: "time", Type: dt6}, {Name: "event_id", Type: "UInt64"}, {Name: "kind", Type: "LowCardinality(String)"},
	{Name: "matched_by", Type: "LowCardinality(String)"}, {Name: "trace_id", Type: "UUID"},
	{Name: "host", Type: "LowCardinality(String)"}, {Name: "queue_id", Type: "String"}, {Name: "recipient", Type: "String"},
	{Name: "action", Type: "LowCardinality(String)"}, {Name: "status", Type: "LowCardinality(String)"},
	{Name: "inferred_status", Type: "LowCardinality(String)"}, {Name: "diagnostic", Type: "String"}, {Name: "remote_mta", Type: "String"}, {Name: "reporting_mta", Type: "String"},
	{Name: "category", Type: "LowCardinality(String)"}, {Name: "provider", Type: "LowCardinality(String)"},
	{Name: "is_block", Type: "UInt8"}, {Name: "feedback_type", Type: "LowCardinality(String)"},
	{Name: "disposition", Type: "LowCardinality(String)"}, {Name: "original_message_id", Type: "String"}, {Name: "original_envelope_id", Type: "String"},
	{Name: "report_sha256", Type: "FixedString(32)"}, {Name: "time_digits", Type: "UInt8"},
}}

// AppendRow implements store.Row.
func (r *Bounce) AppendRow(e *store.Encoder) {
	e.DateTime64(r.Time, 6)
	e.UInt64(r.EventID)
	e.String(string(r.Kind))
	e.String(string(r.MatchedBy))
	e.UUID(r.TraceID)
	e.String(r.Host)
	e.String(r.QueueID)
	e.String(r.Recipient)
	e.String(string(r.Action))
	e.String(r.Status)
	e.String(r.InferredStatus)
	e.String(r.Diagnostic)
	e.String(r.RemoteMTA)
	e.String(r.ReportingMTA)
	e.String(r.Category)
	e.String(r.Provider)
	e.Bool(r.IsBlock)
	e.String(r.FeedbackType)
	e.String(r.Disposition)
	e.String(r.OriginalMessageID)
	e.String(r.OriginalEnvelopeID)
	e.FixedBytes(r.ReportSHA256[:])
	e.UInt8(r.TimeDigits)
}

// Tables lists the tables rows are written to.
var Tables = []*store.Table{AcceptRecords, DeliveryEvents, Bounces, Messages, Checkpoints, Incidents, UnknownLines,
	AuthReports, DMARCRecords, TLSResults, DMARCFailures, SourceNames, EvidenceRecords, EvidenceCheckpoints, EvidenceAnchors}

// MessageRecord is the collector's view of one message, from the log.
type MessageRecord struct {
	FirstSeen, LastSeen time.Time
	Host                string
	QueueID             string
	TraceID             [16]byte // from the X-Mailtrace-ID header Postfix logged, if any
	MessageID           string
	Sender              string
	Size                uint64
	Nrcpt               uint32
	Origin              string // smtpd, pickup, notification, ...
	ClientHost          string
	ClientIP            string
	SASLUser            string
	Pool                string
	Recipients          []string
	Statuses            []string // each recipient's last status, in Recipients' order
	ParentQueueID       string   // for a notification: the message it reports on
	Notification        string   // non-delivery, delay, delivery status
	Children            []string // notifications sent about this message
	State               string   // queued, removed, expired, rejected
	// QueuedFrom is the queue entry this one was handed over from (a
	// content filter's re-injection, another Postfix instance on the host,
	// postsuper -r); QueuedAs the entries this one was handed over to.
	QueuedFrom string
	QueuedAs   []string
	TimeDigits uint8 // of the log's timestamps, as DeliveryEvent's
}

// Messages is the messages table.
var Messages = &store.Table{Name: "messages", Columns: []store.Column{
	{Name: "first_seen", Type: dt6}, {Name: "last_seen", Type: dt6}, {Name: "host", Type: "LowCardinality(String)"},
	{Name: "queue_id", Type: "String"}, {Name: "trace_id", Type: "UUID"}, {Name: "message_id", Type: "String"},
	{Name: "sender", Type: "String"}, {Name: "size", Type: "UInt64"}, {Name: "nrcpt", Type: "UInt32"},
	{Name: "origin", Type: "LowCardinality(String)"}, {Name: "client_host", Type: "String"}, {Name: "client_ip", Type: "String"},
	{Name: "sasl_user", Type: "LowCardinality(String)"}, {Name: "pool", Type: "LowCardinality(String)"},
	{Name: "recipients", Type: "Array(String)"}, {Name: "statuses", Type: "Array(LowCardinality(String))"},
	{Name: "parent_queue_id", Type: "String"}, {Name: "notification", Type: "LowCardinality(String)"},
	{Name: "children", Type: "Array(String)"}, {Name: "state", Type: "LowCardinality(String)"},
	{Name: "queued_from", Type: "String"}, {Name: "queued_as", Type: "Array(String)"},
	{Name: "time_digits", Type: "UInt8"},
}}

// AppendRow implements store.Row.
func (r *MessageRecord) AppendRow(e *store.Encoder) {
	e.DateTime64(r.FirstSeen, 6)
	e.DateTime64(r.LastSeen, 6)
	e.String(r.Host)
	e.String(r.QueueID)
	e.UUID(r.TraceID)
	e.String(r.MessageID)
	e.String(r.Sender)
	e.UInt64(r.Size)
	e.UInt32(r.Nrcpt)
	e.String(r.Origin)
	e.String(r.ClientHost)
	e.String(r.ClientIP)
	e.String(r.SASLUser)
	e.String(r.Pool)
	e.StringArray(r.Recipients)
	e.StringArray(r.Statuses)
	e.String(r.ParentQueueID)
	e.String(r.Notification)
	e.StringArray(r.Children)
	e.String(r.State)
	e.String(r.QueuedFrom)
	e.StringArray(r.QueuedAs)
	e.UInt8(r.TimeDigits)
}

// UnknownLine is a Postfix line about a message that the collector did not
// understand, kept raw for inspection.
type UnknownLine struct {
	Time    time.Time // the line's
	Seen    time.Time // when it was read: rows leave 90 days after
	Host    string
	Program string
	QueueID string
	Kind    string // the daemon and the line's first word: cleanup/frobnicated
	Line    string
}

// UnknownLines is the unknown_lines table.
var UnknownLines = &store.Table{Name: "unknown_lines", Columns: []store.Column{
	{Name: "time", Type: dt6}, {Name: "seen", Type: dt6}, {Name: "host", Type: "LowCardinality(String)"},
	{Name: "program", Type: "LowCardinality(String)"}, {Name: "queue_id", Type: "String"},
	{Name: "kind", Type: "LowCardinality(String)"}, {Name: "line", Type: "String"},
}}

// AppendRow implements store.Row.
func (r *UnknownLine) AppendRow(e *store.Encoder) {
	e.DateTime64(r.Time, 6)
	e.DateTime64(r.Seen, 6)
	e.String(r.Host)
	e.String(r.Program)
	e.String(r.QueueID)
	e.String(r.Kind)
	e.String(r.Line)
}

// Checkpoint is how far one log source has been read into the store.
type Checkpoint struct {
	Source      string // the log's path, or import:FINGERPRINT
	Updated     time.Time
	Fingerprint string // hash of the file's first bytes: which file this is
	FileID      string // device and inode, to notice rotation
	Offset      uint64 // bytes read and stored
	Lines       uint64
	PendingEnd  uint64 // end of the lines being inserted, if beyond Offset
	Cursor      string // journald: the cursor of the last entry read
	State       string // the collector's open messages at Offset, JSON
}

// Checkpoints is the collector_checkpoints table.
var Checkpoints = &store.Table{Name: "collector_checkpoints", Columns: []store.Column{
	{Name: "source", Type: "String"}, {Name: "updated", Type: dt6}, {Name: "fingerprint", Type: "String"},
	{Name: "file_id", Type: "String"}, {Name: "offset", Type: "UInt64"}, {Name: "lines", Type: "UInt64"},
	{Name: "pending_end", Type: "UInt64"}, {Name: "cursor", Type: "String"}, {Name: "state", Type: "String"},
}}

// AppendRow implements store.Row.
func (r *Checkpoint) AppendRow(e *store.Encoder) {
	e.String(r.Source)
	e.DateTime64(r.Updated, 6)
	e.String(r.Fingerprint)
	e.String(r.FileID)
	e.UInt64(r.Offset)
	e.UInt64(r.Lines)
	e.UInt64(r.PendingEnd)
	e.String(r.Cursor)
	e.String(r.State)
}

// IncidentKind is what a block incident is about (the kind column of
// incidents).
type IncidentKind string

// Kinds of incident.
const (
	IncidentReplies IncidentKind = "replies" // block replies from a provider
	IncidentDNSBL   IncidentKind = "dnsbl"   // a DNS blocklist listing
)

// CloseReason is why a block incident closed (the close_reason column of
// incidents).
type CloseReason string

// Why incidents close.
const (
	ClosedQuiet      CloseReason = "quiet"      // no block reply for the quiet period
	ClosedDeliveries CloseReason = "deliveries" // the provider took enough mail from the IP again
	ClosedDelisted   CloseReason = "delisted"   // the blocklist no longer lists the IP
)

// Incident is a block incident: a provider refusing one of our sending IPs
// (kind replies), or an IP of ours on a DNS blocklist (kind dnsbl; Provider
// is then the list's zone). It is written again whenever it changes.
type Incident struct {
	ID          [16]byte
	Kind        IncidentKind
	Pool        string
	SourceIP    string
	Provider    string
	OpenedAt    time.Time
	ClosedAt    time.Time // zero while open
	LastSignal  time.Time // the latest block reply or listing seen
	Signals     uint64    // block replies counted (replies) or checks that found the listing (dnsbl)
	Attempts    uint64    // attempts to the provider from the IP while open (replies)
	Category    string    // the latest block reply's category, or the listing's answer
	Sample      string    // a block reply's text, or the list's TXT record
	CloseReason CloseReason
	UpdatedAt   time.Time
}

// Incidents is the block_incidents table.
var Incidents = &store.Table{Name: "block_incidents", Columns: []store.Column{
	{Name: "id", Type: "UUID"}, {Name: "kind", Type: "LowCardinality(String)"}, {Name: "pool", Type: "LowCardinality(String)"},
	{Name: "source_ip", Type: "LowCardinality(String)"}, {Name: "provider", Type: "LowCardinality(String)"},
	{Name: "opened_at", Type: dt6}, {Name: "closed_at", Type: dt6}, {Name: "last_signal", Type: dt6},
	{Name: "signals", Type: "UInt64"}, {Name: "attempts", Type: "UInt64"}, {Name: "category", Type: "LowCardinality(String)"},
	{Name: "sample", Type: "String"}, {Name: "close_reason", Type: "LowCardinality(String)"}, {Name: "updated_at", Type: dt6},
}}

// AppendRow implements store.Row.
func (r *Incident) AppendRow(e *store.Encoder) {
	e.UUID(r.ID)
	e.String(string(r.Kind))
	e.String(r.Pool)
	e.String(r.SourceIP)
	e.String(r.Provider)
	e.DateTime64(r.OpenedAt, 6)
	e.DateTime64(r.ClosedAt, 6)
	e.DateTime64(r.LastSignal, 6)
	e.UInt64(r.Signals)
	e.UInt64(r.Attempts)
	e.String(r.Category)
	e.String(r.Sample)
	e.String(string(r.CloseReason))
	e.DateTime64(r.UpdatedAt, 6)
}

// day is a Date value: days since 1970-01-01.
func day(t time.Time) uint16 {
	d := t.UTC().Unix() / 86400
	if d < 0 {
		return 0
	}
	return uint16(d)
}

// seconds is a DateTime value.
func seconds(t time.Time) uint32 {
	s := t.UTC().Unix()
	if s < 0 || s > 1<<32-1 {
		return 0
	}
	return uint32(s)
}

// AuthReport is one report about our sender authentication taken in, or
// refused (Error), in the auth_reports table.
type AuthReport struct {
	ReceivedAt time.Time
	Kind       string // dmarc-aggregate, dmarc-failure, tlsrpt, unknown
	Org        string
	ReportKey  string // the report ID, or sha256:HEX for a refused report
	ReportID   string
	Reporter   string // the reporter's address
	Provider   string
	Domain     string
	Begin, End time.Time
	Records    uint32
	Messages   uint64
	Source     string // file or message, and the attachment within it
	SHA256     string
	Error      string
	Raw        []byte // a refused document, kept aside
}

// AuthReports is the auth_reports table.
var AuthReports = &store.Table{Name: "auth_reports", Columns: []store.Column{
	{Name: "received_at", Type: dt6}, {Name: "kind", Type: "LowCardinality(String)"}, {Name: "org", Type: "String"},
	{Name: "report_key", Type: "String"}, {Name: "report_id", Type: "String"}, {Name: "reporter", Type: "String"},
	{Name: "provider", Type: "LowCardinality(String)"}, {Name: "domain", Type: "String"},
	{Name: "begin", Type: "DateTime('UTC')"}, {Name: "end", Type: "DateTime('UTC')"}, {Name: "records", Type: "UInt32"},
	{Name: "messages", Type: "UInt64"}, {Name: "source", Type: "String"}, {Name: "sha256", Type: "String"},
	{Name: "error", Type: "String"}, {Name: "raw", Type: "String"},
}}

// AppendRow implements store.Row.
func (r *AuthReport) AppendRow(e *store.Encoder) {
	e.DateTime64(r.ReceivedAt, 6)
	e.String(r.Kind)
	e.String(r.Org)
	e.String(r.ReportKey)
	e.String(r.ReportID)
	e.String(r.Reporter)
	e.String(r.Provider)
	e.String(r.Domain)
	e.UInt32(seconds(r.Begin))
	e.UInt32(seconds(r.End))
	e.UInt32(r.Records)
	e.UInt64(r.Messages)
	e.String(r.Source)
	e.String(r.SHA256)
	e.String(r.Error)
	e.String(string(r.Raw))
}

// DMARCRecord is one record of a DMARC aggregate report.
type DMARCRecord struct {
	Day                                     time.Time // of the report's begin
	Org, ReportID                           string
	RecordIndex                             uint32
	Provider, Domain                        string
	Begin, End                              time.Time
	PolicyP, PolicySP, PolicyNP             string
	PolicyTesting                           string
	SourceIP, Pool                          string // Pool is "" for a source in no pool
	Count                                   uint64
	Disposition, DKIMEval, SPFEval          string
	HeaderFrom, EnvelopeFrom, EnvelopeTo    string
	DKIMDomains, DKIMSelectors, DKIMResults []string
	SPFDomains, SPFScopes, SPFResults       []string
	Reasons                                 []string
	DKIMPass, SPFPass                       bool
	DKIMAligned, SPFAligned, DMARCPass      bool
	ReceivedAt                              time.Time
}

// DMARCRecords is the dmarc_records table.
var DMARCRecords = &store.Table{Name: "dmarc_records", Columns: []store.Column{
	{Name: "day", Type: "Date"}, {Name: "org", Type: "String"}, {Name: "report_id", Type: "String"},
	{Name: "record_index", Type: "UInt32"}, {Name: "provider", Type: "LowCardinality(String)"},
	{Name: "domain", Type: "LowCardinality(String)"}, {Name: "begin", Type: "DateTime('UTC')"}, {Name: "end", Type: "DateTime('UTC')"},
	{Name: "policy_p", Type: "LowCardinality(String)"}, {Name: "policy_sp", Type: "LowCardinality(String)"},
	{Name: "policy_np", Type: "LowCardinality(String)"}, {Name: "policy_testing", Type: "LowCardinality(String)"},
	{Name: "source_ip", Type: "String"}, {Name: "pool", Type: "LowCardinality(String)"}, {Name: "count", Type: "UInt64"},
	{Name: "disposition", Type: "LowCardinality(String)"}, {Name: "dkim_eval", Type: "LowCardinality(String)"},
	{Name: "spf_eval", Type: "LowCardinality(String)"}, {Name: "header_from", Type: "LowCardinality(String)"},
	{Name: "envelope_from", Type: "String"}, {Name: "envelope_to", Type: "String"},
	{Name: "dkim_domains", Type: "Array(String)"}, {Name: "dkim_selectors", Type: "Array(String)"},
	{Name: "dkim_results", Type: "Array(String)"}, {Name: "spf_domains", Type: "Array(String)"},
	{Name: "spf_scopes", Type: "Array(String)"}, {Name: "spf_results", Type: "Array(String)"},
	{Name: "reasons", Type: "Array(String)"}, {Name: "dkim_pass", Type: "Bool"}, {Name: "spf_pass", Type: "Bool"},
	{Name: "dkim_aligned", Type: "Bool"}, {Name: "spf_aligned", Type: "Bool"}, {Name: "dmarc_pass", Type: "Bool"},
	{Name: "received_at", Type: dt6},
}}

// AppendRow implements store.Row.
func (r *DMARCRecord) AppendRow(e *store.Encoder) {
	e.UInt16(day(r.Day))
	e.String(r.Org)
	e.String(r.ReportID)
	e.UInt32(r.RecordIndex)
	e.String(r.Provider)
	e.String(r.Domain)
	e.UInt32(seconds(r.Begin))
	e.UInt32(seconds(r.End))
	e.String(r.PolicyP)
	e.String(r.PolicySP)
	e.String(r.PolicyNP)
	e.String(r.PolicyTesting)
	e.String(r.SourceIP)
	e.String(r.Pool)
	e.UInt64(r.Count)
	e.String(r.Disposition)
	e.String(r.DKIMEval)
	e.String(r.SPFEval)
	e.String(r.HeaderFrom)
	e.String(r.EnvelopeFrom)
	e.String(r.EnvelopeTo)
	e.StringArray(r.DKIMDomains)
	e.StringArray(r.DKIMSelectors)
	e.StringArray(r.DKIMResults)
	e.StringArray(r.SPFDomains)
	e.StringArray(r.SPFScopes)
	e.StringArray(r.SPFResults)
	e.StringArray(r.Reasons)
	e.Bool(r.DKIMPass)
	e.Bool(r.SPFPass)
	e.Bool(r.DKIMAligned)
	e.Bool(r.SPFAligned)
	e.Bool(r.DMARCPass)
	e.DateTime64(r.ReceivedAt, 6)
}

// TLSResult is one policy of a TLS report (FailureIndex 0, with its
// summary) or one of its failure-details entries (FailureIndex 1...).
type TLSResult struct {
	Day                       time.Time
	Org, ReportID             string
	PolicyIndex, FailureIndex uint16
	Provider                  string
	Begin, End                time.Time
	PolicyType, PolicyDomain  string
	MXHost                    []string
	Successful, Failed        uint64
	ResultType                string
	SendingMTAIP, Pool        string
	ReceivingMXHostname       string
	ReceivingIP               string
	FailedSessionCount        uint64
	AdditionalInfo            string
	FailureReasonCode         string
	ReceivedAt                time.Time
}

// TLSResults is the tlsrpt_results table.
var TLSResults = &store.Table{Name: "tlsrpt_results", Columns: []store.Column{
	{Name: "day", Type: "Date"}, {Name: "org", Type: "String"}, {Name: "report_id", Type: "String"},
	{Name: "policy_index", Type: "UInt16"}, {Name: "failure_index", Type: "UInt16"}, {Name: "provider", Type: "LowCardinality(String)"},
	{Name: "begin", Type: "DateTime('UTC')"}, {Name: "end", Type: "DateTime('UTC')"},
	{Name: "policy_type", Type: "LowCardinality(String)"}, {Name: "policy_domain", Type: "LowCardinality(String)"},
	{Name: "mx_host", Type: "Array(String)"}, {Name: "successful", Type: "UInt64"}, {Name: "failed", Type: "UInt64"},
	{Name: "result_type", Type: "LowCardinality(String)"}, {Name: "sending_mta_ip", Type: "String"},
	{Name: "pool", Type: "LowCardinality(String)"}, {Name: "receiving_mx_hostname", Type: "String"},
	{Name: "receiving_ip", Type: "String"}, {Name: "failed_session_count", Type: "UInt64"},
	{Name: "additional_info", Type: "String"}, {Name: "failure_reason_code", Type: "String"}, {Name: "received_at", Type: dt6},
}}

// AppendRow implements store.Row.
func (r *TLSResult) AppendRow(e *store.Encoder) {
	e.UInt16(day(r.Day))
	e.String(r.Org)
	e.String(r.ReportID)
	e.UInt16(r.PolicyIndex)
	e.UInt16(r.FailureIndex)
	e.String(r.Provider)
	e.UInt32(seconds(r.Begin))
	e.UInt32(seconds(r.End))
	e.String(r.PolicyType)
	e.String(r.PolicyDomain)
	e.StringArray(r.MXHost)
	e.UInt64(r.Successful)
	e.UInt64(r.Failed)
	e.String(r.ResultType)
	e.String(r.SendingMTAIP)
	e.String(r.Pool)
	e.String(r.ReceivingMXHostname)
	e.String(r.ReceivingIP)
	e.UInt64(r.FailedSessionCount)
	e.String(r.AdditionalInfo)
	e.String(r.FailureReasonCode)
	e.DateTime64(r.ReceivedAt, 6)
}

// DMARCFailure is one DMARC failure report.
type DMARCFailure struct {
	Arrival                          time.Time
	Org, ReportID                    string
	SourceIP, Pool                   string
	ReportedDomain                   string
	AuthFailure, IdentityAlignment   string
	OriginalMailFrom, OriginalRcptTo string
	DKIMDomain, DKIMSelector         string
	DeliveryResult, AuthResults      string
	ReceivedAt                       time.Time
}

// DMARCFailures is the dmarc_failures table.
var DMARCFailures = &store.Table{Name: "dmarc_failures", Columns: []store.Column{
	{Name: "arrival", Type: dt6}, {Name: "org", Type: "String"}, {Name: "report_id", Type: "String"},
	{Name: "source_ip", Type: "String"}, {Name: "pool", Type: "LowCardinality(String)"},
	{Name: "reported_domain", Type: "LowCardinality(String)"}, {Name: "auth_failure", Type: "LowCardinality(String)"},
	{Name: "identity_alignment", Type: "LowCardinality(String)"}, {Name: "original_mail_from", Type: "String"},
	{Name: "original_rcpt_to", Type: "String"}, {Name: "dkim_domain", Type: "String"}, {Name: "dkim_selector", Type: "String"},
	{Name: "delivery_result", Type: "LowCardinality(String)"}, {Name: "auth_results", Type: "String"}, {Name: "received_at", Type: dt6},
}}

// AppendRow implements store.Row.
func (r *DMARCFailure) AppendRow(e *store.Encoder) {
	e.DateTime64(r.Arrival, 6)
	e.String(r.Org)
	e.String(r.ReportID)
	e.String(r.SourceIP)
	e.String(r.Pool)
	e.String(r.ReportedDomain)
	e.String(r.AuthFailure)
	e.String(r.IdentityAlignment)
	e.String(r.OriginalMailFrom)
	e.String(r.OriginalRcptTo)
	e.String(r.DKIMDomain)
	e.String(r.DKIMSelector)
	e.String(r.DeliveryResult)
	e.String(r.AuthResults)
	e.DateTime64(r.ReceivedAt, 6)
}

// SourceName is the reverse DNS of a report source in no pool.
type SourceName struct {
	SourceIP, PTR, Error string
	LookedUpAt           time.Time
}

// SourceNames is the source_names table.
var SourceNames = &store.Table{Name: "source_names", Columns: []store.Column{
	{Name: "source_ip", Type: "String"}, {Name: "ptr", Type: "String"}, {Name: "error", Type: "String"}, {Name: "looked_up_at", Type: dt6},
}}

// AppendRow implements store.Row.
func (r *SourceName) AppendRow(e *store.Encoder) {
	e.String(r.SourceIP)
	e.String(r.PTR)
	e.String(r.Error)
	e.DateTime64(r.LookedUpAt, 6)
}

// EvidenceRecord is one record of the evidence ledger (package evidence).
type EvidenceRecord struct {
	Origin     string
	LogIndex   uint64
	FactID     string
	Message    string
	Event      string
	Time       time.Time
	RecordHash [32]byte
	Record     []byte   // canonical JSON
	TreeHashes []string // 32 bytes each
}

// EvidenceRecords is the evidence_records table.
var EvidenceRecords = &store.Table{Name: "evidence_records", Columns: []store.Column{
	{Name: "origin", Type: "LowCardinality(String)"}, {Name: "log_index", Type: "UInt64"}, {Name: "fact_id", Type: "String"},
	{Name: "message", Type: "String"}, {Name: "event", Type: "LowCardinality(String)"}, {Name: "time", Type: dt6},
	{Name: "record_hash", Type: "FixedString(32)"}, {Name: "record", Type: "String"}, {Name: "tree_hashes", Type: "Array(String)"},
}}

// AppendRow implements store.Row.
func (r *EvidenceRecord) AppendRow(e *store.Encoder) {
	e.String(r.Origin)
	e.UInt64(r.LogIndex)
	e.String(r.FactID)
	e.String(r.Message)
	e.String(r.Event)
	e.DateTime64(r.Time, 6)
	e.FixedBytes(r.RecordHash[:])
	e.Bytes(r.Record)
	e.StringArray(r.TreeHashes)
}

// EvidenceCheckpoint is one signed checkpoint of an evidence log.
type EvidenceCheckpoint struct {
	Origin   string
	Size     uint64
	Root     [32]byte
	SignedAt time.Time
	KeyID    string
	Note     []byte
}

// EvidenceCheckpoints is the evidence_checkpoints table.
var EvidenceCheckpoints = &store.Table{Name: "evidence_checkpoints", Columns: []store.Column{
	{Name: "origin", Type: "LowCardinality(String)"}, {Name: "size", Type: "UInt64"}, {Name: "root", Type: "FixedString(32)"},
	{Name: "signed_at", Type: dt6}, {Name: "key_id", Type: "String"}, {Name: "note", Type: "String"},
}}

// AppendRow implements store.Row.
func (r *EvidenceCheckpoint) AppendRow(e *store.Encoder) {
	e.String(r.Origin)
	e.UInt64(r.Size)
	e.FixedBytes(r.Root[:])
	e.DateTime64(r.SignedAt, 6)
	e.String(r.KeyID)
	e.String(string(r.Note))
}

// EvidenceAnchor is the RFC 3161 time stamp of one checkpoint.
type EvidenceAnchor struct {
	Origin    string
	Size      uint64
	StampedAt time.Time
	TSAURL    string
	Token     []byte
}

// EvidenceAnchors is the evidence_anchors table.
var EvidenceAnchors = &store.Table{Name: "evidence_anchors", Columns: []store.Column{
	{Name: "origin", Type: "LowCardinality(String)"}, {Name: "size", Type: "UInt64"}, {Name: "stamped_at", Type: dt6},
	{Name: "tsa_url", Type: "String"}, {Name: "token", Type: "String"},
}}

// AppendRow implements store.Row.
func (r *EvidenceAnchor) AppendRow(e *store.Encoder) {
	e.String(r.Origin)
	e.UInt64(r.Size)
	e.DateTime64(r.StampedAt, 6)
	e.String(r.TSAURL)
	e.String(string(r.Token))
}
