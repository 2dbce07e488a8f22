package milter

import (
	"net/netip"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	gomilter "github.com/d--j/go-milter"

	"github.com/mailtrace/mailtrace/header"
	"github.com/mailtrace/mailtrace/schema"
	"github.com/mailtrace/mailtrace/traceid"
)

// The headers the milter writes, for people and for the log
// (milter_header_checks INFO-logs X-Mailtrace-ID). They route nothing:
// the pool is named in the VERP envelope sender, which Postfix's
// sender_dependent_default_transport_maps reads.
const (
	HeaderID    = header.ID
	HeaderClass = header.Class
	HeaderPool  = header.Pool
	// HeaderReadReceipt asks for read receipts (RFC 8098), for classes
	// with read_receipt: true.
	HeaderReadReceipt = "Disposition-Notification-To"
)

// Bounds on what one session keeps in memory, whatever the client sends.
const (
	maxRecipients  = 5000     // more are delivered, just not listed in the record
	maxHeaderValue = 4 << 10  // bytes kept of one header value
	maxValuesKept  = 8        // values kept of one header name
	maxKeptBytes   = 64 << 10 // bytes kept of all header values together
)

// session is one Postfix connection to the milter. go-milter calls its
// methods one at a time; Postfix may run several messages (and, with
// connection reuse, several SMTP sessions) through it.
type session struct {
	f *Filter

	// Connection data.
	clientName, clientIP, helo string

	// Message data, reset by MailFrom and Abort.
	busy           time.Duration // spent deciding and stamping
	sender         string
	envID, ret     string // the client's ENVID and RET
	recipients     []string
	moreRecipients int
	queueID        string
	saslUser       string
	headers        map[string][]string
	keptBytes      int
	ownHeaders     map[string]int // X-Mailtrace-* headers the message came with, by lowercase name
	size           uint64         // as the client declared it (ESMTP SIZE, RFC 1870)
	class          *Class
	rule           string // the rule that chose the class, "header" or "default"
}

func (s *session) NewConnection(m gomilter.Modifier) error {
	s.f.metrics.Sessions.Inc()
	return nil
}

func (s *session) Connect(host, family string, port uint16, addr string, m gomilter.Modifier) (*gomilter.Response, error) {
	s.clientName, s.clientIP = host, addr
	return gomilter.RespContinue, nil
}

func (s *session) Helo(name string, m gomilter.Modifier) (*gomilter.Response, error) {
	s.helo = name
	return gomilter.RespContinue, nil
}

func (s *session) reset() {
	s.busy, s.sender, s.envID, s.ret = 0, "", "", ""
	s.recipients, s.moreRecipients, s.queueID, s.saslUser = s.recipients[:0], 0, "", ""
	s.headers, s.keptBytes, s.ownHeaders, s.size = nil, 0, nil, 0
	s.class, s.rule = nil, ""
}

func (s *session) MailFrom(from, esmtpArgs string, m gomilter.Modifier) (*gomilter.Response, error) {
	s.reset()
	// Postfix sends addresses in angle brackets.
	s.sender = gomilter.RemoveAngle(from)
	s.saslUser = m.Get(gomilter.MacroAuthAuthen)
	for _, arg := range strings.Fields(esmtpArgs) {
		k, v, _ := strings.Cut(arg, "=")
		switch strings.ToUpper(k) {
		case "ENVID":
			s.envID = v
		case "RET":
			s.ret = strings.ToUpper(v)
		case "SIZE":
			s.size, _ = strconv.ParseUint(v, 10, 64)
		}
	}
	return gomilter.RespContinue, nil
}

func (s *session) RcptTo(rcpt, esmtpArgs string, m gomilter.Modifier) (*gomilter.Response, error) {
	if len(s.recipients) < maxRecipients {
		s.recipients = append(s.recipients, gomilter.RemoveAngle(rcpt))
	} else {
		s.moreRecipients++
	}
	return gomilter.RespContinue, nil
}

func (s *session) Data(m gomilter.Modifier) (*gomilter.Response, error) {
	s.queueID = m.Get(gomilter.MacroQueueId)
	return gomilter.RespContinue, nil
}

func (s *session) Header(name, value string, m gomilter.Modifier) (*gomilter.Response, error) {
	lname := strings.ToLower(name)
	switch lname {
	case header.LowerID, header.LowerPool, header.LowerClass:
		if s.ownHeaders == nil {
			s.ownHeaders = map[string]int{}
		}
		s.ownHeaders[lname]++
		if lname != header.LowerClass {
			return gomilter.RespContinue, nil
		}
	case "message-id", "subject", "from", "disposition-notification-to", "list-unsubscribe", "list-unsubscribe-post":
	default:
		if !s.f.classifier.headers[lname] {
			return gomilter.RespContinue, nil
		}
	}
	if s.headers == nil {
		s.headers = map[string][]string{}
	}
	if len(s.headers[lname]) >= maxValuesKept || s.keptBytes >= maxKeptBytes {
		return gomilter.RespContinue, nil
	}
	value = strings.TrimSpace(value)
	if len(value) > maxHeaderValue {
		value = value[:maxHeaderValue]
	}
	s.keptBytes += len(value)
	s.headers[lname] = append(s.headers[lname], value)
	return gomilter.RespContinue, nil
}

// Headers is the end of the headers: the class and pool are decided here,
// from memory only.
func (s *session) Headers(m gomilter.Modifier) (resp *gomilter.Response, err error) {
	start := time.Now()
	s.decide()
	s.busy += time.Since(start)
	return gomilter.RespContinue, nil
}

// decide picks the class. A panic in a rule falls back to the default
// class: a bug must not change what happens to mail.
func (s *session) decide() {
	defer func() {
		if p := recover(); p != nil {
			s.class, s.rule = s.f.classifier.fallback, "default (rule failed)"
			s.f.metrics.Errors.WithLabelValues("classify").Inc()
			s.f.logger.Error("classification failed; using the default class", "panic", p, "stack", string(debug.Stack()))
		}
	}()
	if s.f.trustsClassHeader(s.clientIP, s.saslUser) {
		if v := s.headers[header.LowerClass]; len(v) > 0 {
			if c := s.f.classifier.classes[v[0]]; c != nil {
				s.class, s.rule = c, "header"
				return
			}
			s.f.logger.Warn("X-Mailtrace-Class names no configured class; classifying by the rules", "value", v[0], "client", s.clientIP)
		}
	}
	ip, _ := netip.ParseAddr(s.clientIP)
	s.class, s.rule = s.f.classifier.classify(&envelope{sender: s.sender, saslUser: s.saslUser, clientIP: ip,
		recipients: s.recipients, headers: s.headers})
}

// BodyChunk is not called: the milter asks Postfix not to send the body.
func (s *session) BodyChunk(chunk []byte, m gomilter.Modifier) (*gomilter.Response, error) {
	return gomilter.RespContinue, nil
}

// EndOfMessage stamps the message and hands its accept record over. Only
// here may a milter change a message.
func (s *session) EndOfMessage(m gomilter.Modifier) (resp *gomilter.Response, err error) {
	start := time.Now()
	defer func() {
		if p := recover(); p != nil {
			s.f.metrics.Errors.WithLabelValues("end_of_message").Inc()
			s.f.logger.Error("milter failed at end of message; answering with the on_error policy",
				"policy", s.f.cfg.OnError, "queue_id", s.queueID, "panic", p, "stack", string(debug.Stack()))
			resp, err = s.f.onError(), nil
		}
		s.reset()
	}()
	if q := m.Get(gomilter.MacroQueueId); q != "" {
		s.queueID = q
	}
	if s.class == nil { // no end-of-headers event (a message without headers)
		s.decide()
	}
	id := traceid.New()
	st := s.stamp(id)
	if err := st.apply(m); err != nil {
		return nil, err
	}
	if st.Unstamped {
		s.f.logger.Debug("report to the bounce domain passed through", "queue_id", s.queueID)
		return gomilter.RespAccept, nil
	}
	if st.OwnReadReceipt {
		s.f.logger.Debug("message asks for read receipts itself; its Disposition-Notification-To is kept", "queue_id", s.queueID)
	}
	pool := st.Pool
	first := func(name string) string {
		if v := s.headers[name]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	rec := &schema.AcceptRecord{Time: time.Now().UTC(), TraceID: id, Host: s.f.host(m), QueueID: s.queueID,
		MessageID: first("message-id"), Sender: s.sender, Recipients: append([]string(nil), s.recipients...),
		ClientIP: s.clientIP, ClientName: s.clientName, Helo: s.helo, SASLUser: s.saslUser, Size: s.size,
		Class: s.class.Name, Pool: pool, Subject: first("subject"), FromHeader: first("from")}
	s.f.recorder.Record(rec)
	s.f.metrics.Messages.WithLabelValues(s.class.Name, pool).Inc()
	if s.class.Bulk && !oneClickUnsubscribe(s.headers) {
		s.f.metrics.UnsubscribeMissing.WithLabelValues(s.class.Name, pool).Inc()
	}
	if s.moreRecipients > 0 {
		s.f.logger.Warn("message has more recipients than an accept record lists", "queue_id", s.queueID,
			"listed", len(s.recipients), "more", s.moreRecipients)
	}
	s.f.metrics.Decision.Observe((s.busy + time.Since(start)).Seconds())
	s.f.logger.Debug("stamped", "queue_id", s.queueID, "trace_id", id, "class", s.class.Name, "pool", pool,
		"rule", s.rule, "verp", st.Sender != s.sender)
	return gomilter.RespAccept, nil
}

func (s *session) Abort(m gomilter.Modifier) error {
	s.reset()
	return nil
}

func (s *session) Unknown(cmd string, m gomilter.Modifier) (*gomilter.Response, error) {
	return gomilter.RespContinue, nil
}

func (s *session) Cleanup(m gomilter.Modifier) {
	s.f.metrics.Sessions.Dec()
}

// oneClickUnsubscribe tells a message that offers one-click unsubscribe
// (RFC 8058 section 3.1): a List-Unsubscribe header with an https URI and
// List-Unsubscribe-Post: List-Unsubscribe=One-Click.
func oneClickUnsubscribe(headers map[string][]string) bool {
	https := false
	for _, v := range headers["list-unsubscribe"] {
		https = https || strings.Contains(strings.ToLower(v), "<https://")
	}
	post := false
	for _, v := range headers["list-unsubscribe-post"] {
		post = post || strings.EqualFold(strings.Join(strings.Fields(v), ""), "List-Unsubscribe=One-Click")
	}
	return https && post
}
