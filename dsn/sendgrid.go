package dsn

import (
	"encoding/json"
	"fmt"
	"strings"
)

// SendGrid's event web hook (SendGrid's "Event Webhook reference"): an
// array of events, one per recipient and event:
//
//	[{"email": "a@b", "timestamp": 1513299569, "event": "bounce", "type": "bounce",
//	  "status": "5.0.0", "reason": "550 5.1.1 The email account ... does not exist",
//	  "bounce_classification": "Invalid Address", "smtp-id": "<...>", "sg_message_id": "..."},
//	 {"email": "c@d", "event": "deferred", "response": "400 try again later", "attempt": "5"},
//	 {"email": "e@f", "event": "dropped", "reason": "Bounced Address", "status": "5.0.0"}]
//
// bounce (type bounce or blocked) is a refusal; dropped is SendGrid not
// sending at all (a suppressed address); deferred a delay; delivered a
// delivery; spamreport a complaint; other events (open, click,
// processed...) report nothing that came back. Written from the
// documentation: the corpus has no SendGrid sample.

type sendGridEvent struct {
	Email          string  `json:"email"`
	Timestamp      float64 `json:"timestamp"`
	Event          string  `json:"event"`
	Type           string  `json:"type"`
	Status         string  `json:"status"`
	Reason         string  `json:"reason"`
	Response       string  `json:"response"`
	Classification string  `json:"bounce_classification"`
	SMTPID         string  `json:"smtp-id"`
}

func readSendGrid(rep *Report, raw []byte) error {
	var e sendGridEvent
	if err := json.Unmarshal(raw, &e); err != nil {
		return fmt.Errorf("dsn: unreadable SendGrid event: %w", err)
	}
	if rep.OriginalMessageID == "" {
		rep.OriginalMessageID = clip(e.SMTPID)
	}
	if t := unixTime(e.Timestamp); !t.IsZero() {
		rep.Date = t
	}
	rc := Recipient{Address: address(e.Email)}
	switch strings.ToLower(e.Event) {
	case "bounce", "dropped":
		rc.Action, rc.Diagnostic = ActionFailed, clip(e.Reason)
		if e.Classification != "" {
			rc.Diagnostic = clip(rc.Diagnostic + " (SendGrid: " + e.Classification + ")")
		}
		rc.Status = statusFrom(e.Status, e.Reason, true)
		if rc.Status[0] == '4' {
			rc.Status = "5" + rc.Status[1:] // SendGrid gave up: a bounce event is final
		}
		jsonKind(rep, KindDSN, "sendgrid")
	case "deferred":
		rc.Action, rc.Diagnostic = ActionDelayed, clip(e.Response)
		rc.Status = statusFrom(e.Status, e.Response, false)
		jsonKind(rep, KindDSN, "sendgrid")
	case "delivered":
		rc.Action, rc.Status, rc.Diagnostic = ActionDelivered, "2.0.0", clip(e.Response)
		jsonKind(rep, KindDSN, "sendgrid")
	case "spamreport":
		rc.Action, rc.Diagnostic = ActionComplaint, "abuse"
		rep.FeedbackType = "abuse"
		jsonKind(rep, KindARF, "sendgrid")
	default:
		if rep.Kind == "" {
			rep.Kind, rep.Format = KindUnknown, "sendgrid"
		}
		return nil
	}
	rep.add(rc)
	return nil
}
