package dsn

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Mailgun's web hook and events API (Mailgun's "Events" and "Webhooks"
// documentation): an object with event-data, or items of the same:
//
//	{"signature": {...},
//	 "event-data": {"event": "failed", "severity": "permanent", "reason": "bounce",
//	                "recipient": "a@b", "timestamp": 1521233123.501324,
//	                "delivery-status": {"code": 550, "enhanced-code": "5.1.1",
//	                                    "message": "5.1.1 The email account ... does not exist",
//	                                    "description": "", "mx-host": "mx.b"},
//	                "message": {"headers": {"message-id": "2013...@example.org"}}}}
//
// failed is a refusal (severity permanent) or a delay (temporary);
// delivered a delivery; complained a complaint. Written from the
// documentation: the corpus has no Mailgun sample.

type mailgunEvent struct {
	Event          string  `json:"event"`
	Severity       string  `json:"severity"`
	Reason         string  `json:"reason"`
	Recipient      string  `json:"recipient"`
	Timestamp      float64 `json:"timestamp"`
	DeliveryStatus struct {
		Code         json.Number `json:"code"`
		EnhancedCode string      `json:"enhanced-code"`
		Message      string      `json:"message"`
		Description  string      `json:"description"`
		MXHost       string      `json:"mx-host"`
	} `json:"delivery-status"`
	Message struct {
		Headers struct {
			MessageID string `json:"message-id"`
		} `json:"headers"`
	} `json:"message"`
}

func readMailgun(rep *Report, raw []byte) error {
	var e mailgunEvent
	if err := json.Unmarshal(raw, &e); err != nil {
		return fmt.Errorf("dsn: unreadable Mailgun event: %w", err)
	}
	if id := strings.TrimSpace(e.Message.Headers.MessageID); id != "" && rep.OriginalMessageID == "" {
		if !strings.HasPrefix(id, "<") {
			id = "<" + id + ">"
		}
		rep.OriginalMessageID = clip(id)
	}
	if t := unixTime(e.Timestamp); !t.IsZero() {
		rep.Date = t
	}
	ds := e.DeliveryStatus
	diag := strings.TrimSpace(ds.Message)
	if ds.Description != "" && !strings.Contains(diag, ds.Description) {
		diag = strings.TrimSpace(diag + " " + ds.Description)
	}
	if code := ds.Code.String(); code != "" && reply3(code) && !strings.HasPrefix(diag, code) {
		diag = code + " " + diag
	}
	rc := Recipient{Address: address(e.Recipient), Diagnostic: clip(diag), RemoteMTA: clip(ds.MXHost)}
	switch strings.ToLower(e.Event) {
	case "failed", "rejected":
		permanent := !strings.EqualFold(e.Severity, "temporary")
		rc.Action = map[bool]Action{true: ActionFailed, false: ActionDelayed}[permanent]
		if rc.Diagnostic == "" {
			rc.Diagnostic = clip("Mailgun: " + e.Reason)
		}
		rc.Status = statusFrom(ds.EnhancedCode, diag, permanent)
		jsonKind(rep, KindDSN, "mailgun")
	case "delivered":
		rc.Action, rc.Status = ActionDelivered, "2.0.0"
		jsonKind(rep, KindDSN, "mailgun")
	case "complained":
		rc.Action, rc.Diagnostic = ActionComplaint, "abuse"
		rep.FeedbackType = "abuse"
		jsonKind(rep, KindARF, "mailgun")
	default:
		if rep.Kind == "" {
			rep.Kind, rep.Format = KindUnknown, "mailgun"
		}
		return nil
	}
	rep.add(rc)
	return nil
}

// reply3 tells an SMTP reply code (Mailgun's own codes, such as 605 for a
// suppressed address, are not).
func reply3(code string) bool {
	n, err := strconv.Atoi(code)
	return err == nil && n >= 200 && n < 600
}
