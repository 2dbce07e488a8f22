package postfixlog

import "time"

// Kind says what a log line is about.
type Kind uint8

// The kinds of line. Lines of other programs are NotPostfix; Postfix lines
// this package does not know are Other.
const (
	Unparsed   Kind = iota // no syslog prefix could be read
	NotPostfix             // a line of another program
	Other                  // a Postfix line of no interest to tracing

	SmtpdConnect    // smtpd: connect from host[ip]
	SmtpdClient     // smtpd: QID: client=host[ip] (a message starts)
	SmtpdDisconnect // smtpd: disconnect from host[ip] (with command counters)
	SmtpdLost       // smtpd: lost connection / timeout after CMD from host[ip]
	Reject          // smtpd, postscreen or cleanup refused mail: NOQUEUE or QID reject, milter-reject
	PostscreenEvent // postscreen: CONNECT, PASS, DNSBL, PREGREET, DISCONNECT...

	Pickup          // pickup: QID: uid=N from=<s> (local submission)
	MessageID       // cleanup: QID: message-id=<...>
	ResentMessageID // cleanup: QID: resent-message-id=<...>
	HeaderCheck     // cleanup: QID: ACTION: header|body ... (header/body checks and milter-header-*)
	QueueActive     // qmgr: QID: from=<s>, size=N, nrcpt=N (queue active)
	Expired         // qmgr: QID: from=<s>, status=expired, returned to sender
	Removed         // qmgr or postsuper: QID: removed
	Delivery        // smtp, lmtp, local, virtual, pipe, error, discard...: QID: to=<r>, ..., status=...
	DeliveryNote    // smtp, lmtp: QID: host X said: ... / lost connection with ... (an attempt's detail)
	ConnectTo       // smtp, lmtp: connect to host[ip]:port: reason (no queue ID)
	TLS             // smtp, smtpd: ... TLS connection established to|from host[ip]... (no queue ID)
	Notification    // bounce: QID: sender non-delivery|delay|delivery status notification: CHILD
	Postsuper       // postsuper: QID: requeued, placed on hold, released from hold, expired
	Warning         // warning: ...
	Fatal           // fatal: ... or panic: ...
	// PolicyAction: smtpd or cleanup acted on mail without refusing it:
	// reject_warning (warn_if_reject: it would have been refused), warn,
	// hold, discard, filter, redirect, milter-hold, milter-discard.
	PolicyAction
	// Unknown: a Postfix line about a message (it names a queue ID, or
	// NOQUEUE) that this package does not understand: a line shape of
	// another Postfix version, kept so that it is seen, not lost.
	Unknown

	NumKinds // how many kinds there are
)

var kindNames = [NumKinds]string{"unparsed", "not-postfix", "other", "smtpd-connect", "smtpd-client", "smtpd-disconnect",
	"smtpd-lost", "reject", "postscreen", "pickup", "message-id", "resent-message-id", "header-check", "queue-active",
	"expired", "removed", "delivery", "delivery-note", "connect-to", "tls", "notification", "postsuper", "warning", "fatal", "policy-action", "unknown"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "unknown"
}

// Kinds lists every kind, for metrics labels.
func Kinds() []Kind {
	out := make([]Kind, len(kindNames))
	for i := range out {
		out[i] = Kind(i)
	}
	return out
}

// Record is one parsed log line. Byte fields point into the line.
type Record struct {
	Time     time.Time // UTC
	Host     []byte    // syslog host (Postfix's maillog_file: first label of myhostname)
	Program  []byte    // syslog name as logged: postfix-legal/smtp, postfix/submission/smtpd
	Instance []byte    // first part of Program: postfix, postfix-legal
	Service  []byte    // master.cf service between instance and daemon, if any: submission
	Daemon   []byte    // last part of Program: smtp, smtpd, qmgr, cleanup...
	PID      uint32
	QueueID  []byte // empty for NOQUEUE and lines about no message
	Kind     Kind
	Text     []byte // what follows "QID: " (or the program tag when there is no queue ID)

	// Addresses, without their angle brackets, as logged (a quoted local
	// part keeps its quotes).
	From, To, OrigTo []byte

	// Delivery: relay=host[ip]:port (or none, local...), delays, status and
	// the reply, whole. Also Response and DSN of Reject and header checks.
	Relay     []byte
	RelayHost []byte
	RelayIP   []byte
	RelayPath []byte // a UNIX-domain socket next hop: host[private/dovecot-lmtp], host[/run/x.sock]
	RelayPort uint16
	ConnUse   uint32
	Delay     float32
	Delays    [4]float32 // a/b/c/d: before qmgr, in qmgr, connection setup, transmission
	DSN       []byte     // enhanced status code, 2.0.0
	Status    []byte     // sent, deferred, bounced, expired, undeliverable...
	Response  []byte     // receiver's reply or Postfix's reason, whole
	// QueuedAs is the queue ID a Postfix that took the message gave it,
	// from a sent attempt's reply ("250 2.0.0 Ok: queued as 3F2A81C0B2"):
	// a content filter's or another instance's re-injection on this host.
	QueuedAs []byte

	// Message: qmgr and cleanup.
	Size      uint64
	Nrcpt     uint32
	MessageID []byte

	// Client side: smtpd, postscreen, cleanup, pickup.
	ClientHost []byte
	ClientIP   []byte
	ClientPort uint16
	SASLMethod []byte
	SASLUser   []byte
	Helo       []byte
	Proto      []byte
	Stage      []byte // Reject: RCPT, DATA, END-OF-MESSAGE, CONNECT...; SmtpdLost: the command
	UID        []byte // Pickup
	// OrigQueueID: the queue ID the message had before, where Postfix logs
	// one: pickup's orig_id= (postsuper -r), smtpd's orig_queue_id= (a
	// content filter passing XFORWARD). OrigClient: smtpd's orig_client=.
	OrigQueueID []byte
	OrigClient  []byte

	// HeaderCheck: action (INFO becomes info, FILTER filter, milter-header-info
	// milter-header-info...), what was matched and the action's text.
	Action      []byte
	HeaderName  []byte
	HeaderValue []byte
	ActionText  []byte

	// Notification: the notification's own queue ID, and which kind
	// (non-delivery, delay, delivery status).
	Child            []byte
	NotificationKind []byte

	// TimeDigits is how many digits of a fraction of a second Time had
	// in the line: 0 for BSD syslog and Postfix's maillog_file (whole
	// seconds: the line was written in [Time, Time+1s)), 6 for RFC 3339
	// high-precision syslog and journald.
	TimeDigits uint8
}
