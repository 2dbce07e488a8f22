package evidence

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/mailtrace/mailtrace/schema"
)

// The facts mailtrace stores, as evidence facts. Each fact's ID comes
// from what makes its row unique in the store (the row's deterministic
// event ID, the trace ID, the report's hash), so that a replayed row maps
// onto the same fact and is appended once.

// MessageKey names a message's chain: its trace ID, or host and queue ID
// for mail that never passed the milter.
func MessageKey(trace [16]byte, host, queueID string) string {
	if trace != ([16]byte{}) {
		return hex.EncodeToString(trace[:])
	}
	return "queue:" + host + ":" + queueID
}

func traceText(trace [16]byte) string {
	if trace == ([16]byte{}) {
		return ""
	}
	return hex.EncodeToString(trace[:])
}

// AcceptFact is the milter's accept record: SubmissionAcceptance.
func AcceptFact(r *schema.AcceptRecord) Fact {
	return Fact{ID: "accept:" + hex.EncodeToString(r.TraceID[:]), Event: EventSubmissionAcceptance, Time: r.Time,
		// The milter's own clock: its microseconds are true.
		TimeDigits: schema.DigitsMicrosecond, SubmissionDigits: schema.DigitsMicrosecond,
		Message: MessageKey(r.TraceID, r.Host, r.QueueID), MessageIdentifier: r.MessageID, Sender: r.Sender,
		Recipients: r.Recipients, SubmissionTime: r.Time,
		Facts: map[string]any{"table": "accept_records", "traceId": traceText(r.TraceID), "host": r.Host, "queueId": r.QueueID,
			"clientIP": r.ClientIP, "clientName": r.ClientName, "helo": r.Helo, "saslUser": r.SASLUser, "size": r.Size,
			"class": r.Class, "pool": r.Pool, "subject": r.Subject, "fromHeader": r.FromHeader}}
}

// deliveryEvents maps a delivery status to its event.
var deliveryEvents = map[schema.DeliveryStatus]string{
	schema.StatusSent:     EventRelayToNonERDS,
	schema.StatusBounced:  EventRelayToNonERDSFailure,
	schema.StatusExpired:  EventRelayToNonERDSFailure,
	schema.StatusDeferred: EventDeferred,
	schema.StatusRejected: EventSubmissionRejection,
	schema.StatusHandoff:  EventHandoff,
}

// DeliveryFact is one delivery attempt of one recipient, with the log
// line it was read from (when the collector kept it), the whole reply,
// relay, source IP and pool, TLS and delays. Its facts are written
// in canonical form at once (the members in sorted order): attempts are
// most of what the ledger holds.
func DeliveryFact(e *schema.DeliveryEvent) Fact {
	event, ok := deliveryEvents[e.Status]
	if !ok {
		event = "urn:mailtrace:event:" + string(e.Status)
	}
	f := Fact{ID: "delivery:" + e.Host + ":" + strconv.FormatUint(e.EventID, 16), Event: event, Time: e.Time, TimeDigits: e.TimeDigits,
		Message: MessageKey(e.TraceID, e.Host, e.QueueID), MessageIdentifier: e.MessageID, Sender: e.Sender,
		Recipients: []string{e.Recipient}}
	w := newFactsWriter(512 + len(e.Line) + len(e.Response) + len(e.TLS))
	w.str("category", e.Category)
	w.int("connUse", int64(e.ConnUse))
	w.float32s("delay", e.Delay)
	w.float32s("delays", e.DelayBeforeQueue, e.DelayInQueue, e.DelayConnect, e.DelayTransmit)
	w.str("dsn", e.DSN)
	w.str("eventId", strconv.FormatUint(e.EventID, 10))
	w.str("host", e.Host)
	w.bool("isBlock", e.IsBlock)
	w.str("line", e.Line)
	w.str("origRecipient", e.OrigRecipient)
	w.str("pool", e.Pool)
	w.str("provider", e.Provider)
	w.str("queueId", e.QueueID)
	w.str("queuedAs", e.QueuedAs)
	w.str("relayHost", e.RelayHost)
	w.str("relayIP", e.RelayIP)
	w.str("relayPath", e.RelayPath)
	w.int("relayPort", int64(e.RelayPort))
	w.str("response", e.Response)
	w.str("service", e.Service)
	w.str("sourceIP", e.SourceIP)
	w.str("status", string(e.Status))
	w.str("table", "delivery_events")
	w.digits("timeDigits", e.TimeDigits)
	w.str("tls", e.TLS)
	w.str("traceId", traceText(e.TraceID))
	f.FactsJSON, f.factsErr = w.done()
	if e.Status != schema.StatusSent || e.DSN != "" || e.Response != "" {
		f.Reasons = []Reason{{Code: e.DSN, Text: e.Response}}
	}
	return f
}

// MessageFacts are the facts of a message record that reached its final
// state: Postfix's notifications to the sender (one per child) and the
// message leaving the queue, which closes the chain. A record of a message
// still queued is no fact yet.
func MessageFacts(m *schema.MessageRecord) []Fact {
	if m.State != "removed" && m.State != "expired" {
		return nil
	}
	key := MessageKey(m.TraceID, m.Host, m.QueueID)
	id := "message:" + m.Host + ":" + m.QueueID + ":" + strconv.FormatInt(m.FirstSeen.UnixMicro(), 10)
	var out []Fact
	for _, child := range m.Children {
		out = append(out, Fact{ID: id + ":notification:" + child, Event: EventSenderNotification, Time: m.LastSeen, TimeDigits: m.TimeDigits, Message: key,
			Sender: m.Sender, Facts: map[string]any{"table": "messages", "host": m.Host, "queueId": m.QueueID, "notificationQueueId": child}})
	}
	w := newFactsWriter(512)
	w.str("clientHost", m.ClientHost)
	w.str("clientIP", m.ClientIP)
	w.str("host", m.Host)
	w.str("origin", m.Origin)
	w.str("pool", m.Pool)
	w.str("queueId", m.QueueID)
	w.strs("queuedAs", m.QueuedAs)
	w.str("queuedFrom", m.QueuedFrom)
	w.int("size", int64(m.Size))
	w.str("state", m.State)
	w.strs("statuses", m.Statuses)
	w.str("table", "messages")
	w.digits("timeDigits", m.TimeDigits)
	w.str("traceId", traceText(m.TraceID))
	removed := Fact{ID: id + ":" + m.State, Event: "urn:mailtrace:event:QueueRemoved", Time: m.LastSeen, TimeDigits: m.TimeDigits,
		Message: key, MessageIdentifier: m.MessageID, Sender: m.Sender, Recipients: m.Recipients,
		SubmissionTime: m.FirstSeen, SubmissionDigits: m.TimeDigits, Final: true}
	removed.FactsJSON, removed.factsErr = w.done()
	out = append(out, removed)
	return out
}

// bounceEvents maps a report to its event.
func bounceEvent(b *schema.Bounce) string {
	switch b.Kind {
	case "dsn":
		if strings.EqualFold(string(b.Action), "failed") {
			return EventRelayToNonERDSFailure
		}
		return EventDeliveryReport
	case "arf":
		return EventComplaint
	case "autoreply":
		return EventAutoReply
	case "mdn":
		return EventReadReceipt
	}
	return "urn:mailtrace:event:Report"
}

// BounceFact is one recipient of a report that came back (DSN, ARF,
// auto-reply, MDN), with the SHA-256 of the report as received.
func BounceFact(b *schema.Bounce) Fact {
	f := Fact{ID: "report:" + strconv.FormatUint(b.EventID, 16), Event: bounceEvent(b), Time: b.Time, TimeDigits: b.TimeDigits,
		Message: MessageKey(b.TraceID, b.Host, b.QueueID), MessageIdentifier: b.OriginalMessageID,
		Facts: map[string]any{"table": "bounces", "eventId": strconv.FormatUint(b.EventID, 10), "kind": string(b.Kind), "matchedBy": string(b.MatchedBy),
			"traceId": traceText(b.TraceID), "host": b.Host, "queueId": b.QueueID, "action": string(b.Action), "status": b.Status,
			"inferredStatus": b.InferredStatus, "diagnostic": b.Diagnostic, "remoteMTA": b.RemoteMTA, "reportingMTA": b.ReportingMTA,
			"category": b.Category, "provider": b.Provider, "isBlock": b.IsBlock, "feedbackType": b.FeedbackType,
			"disposition": b.Disposition, "originalEnvelopeId": b.OriginalEnvelopeID, "reportSHA256": hex.EncodeToString(b.ReportSHA256[:]),
			"timeDigits": int(b.TimeDigits)}}
	if b.Recipient != "" {
		f.Recipients = []string{b.Recipient}
	}
	if b.Status != "" || b.Diagnostic != "" {
		f.Reasons = []Reason{{Code: b.Status, Text: b.Diagnostic}}
	}
	if b.TraceID == ([16]byte{}) && b.QueueID == "" {
		f.Message = "" // matched to no message: a record of its own
	}
	return f
}

// validFacts makes a fact's text fit JSON (RFC 8785 needs UTF-8): a
// string that is not valid UTF-8 (Postfix logs other programs' bytes as
// they came) is kept with U+FFFD in place of the bad bytes, and its raw
// bytes in base64 beside it under NAME+"Base64", so nothing is lost.
func validFacts(f *Fact) {
	raw := func(name, s string) string {
		if utf8.ValidString(s) {
			return s
		}
		if f.FactsJSON != nil {
			// Rare: a sibling goes in beside pre-written facts.
			var m map[string]any
			if err := json.Unmarshal(f.FactsJSON, &m); err == nil {
				f.Facts, f.FactsJSON = m, nil
			}
		}
		if f.Facts == nil {
			f.Facts = map[string]any{}
		}
		f.Facts[name+"Base64"] = base64.StdEncoding.EncodeToString([]byte(s))
		return strings.ToValidUTF8(s, "\uFFFD")
	}
	for k, v := range f.Facts {
		switch x := v.(type) {
		case string:
			f.Facts[k] = raw(k, x)
		case []string:
			for i, s := range x {
				if !utf8.ValidString(s) {
					y := slices.Clone(x)
					for j := i; j < len(y); j++ {
						y[j] = raw(k+strconv.Itoa(j), y[j])
					}
					f.Facts[k] = y
					break
				}
			}
		}
	}
	f.Sender = raw("sender", f.Sender)
	f.MessageIdentifier = raw("messageIdentifier", f.MessageIdentifier)
	f.Message = raw("message", f.Message)
	for i, r := range f.Recipients {
		if !utf8.ValidString(r) {
			f.Recipients = slices.Clone(f.Recipients)
			f.Recipients[i] = raw("recipient"+strconv.Itoa(i), r)
		}
	}
	for i, r := range f.Reasons {
		if !utf8.ValidString(r.Text) || !utf8.ValidString(r.Code) {
			f.Reasons = slices.Clone(f.Reasons)
			f.Reasons[i] = Reason{Code: raw("reasonCode"+strconv.Itoa(i), r.Code), Text: raw("reasonText"+strconv.Itoa(i), r.Text)}
		}
	}
}
