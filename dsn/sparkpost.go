package dsn

import (
	"encoding/json"
	"fmt"
	"strings"
)

// SparkPost's web hook (SparkPost's "Webhooks: event types" and "Bounce
// classification codes"): an array of {"msys": {CLASS_event: {...}}}:
//
//	[{"msys": {"message_event": {"type": "bounce", "rcpt_to": "a@b",
//	   "bounce_class": "10", "error_code": "550",
//	   "raw_reason": "550 5.1.1 <a@b>: Recipient address rejected: User unknown",
//	   "message_id": "...", "timestamp": "1454442600"}}}]
//
// bounce and out_of_band are refusals, delay a delay, delivery a delivery,
// policy_rejection SparkPost not sending, spam_complaint a complaint.
// SparkPost's bounce class states the reason when the reply does not.
// Written from the documentation: the corpus has no SparkPost sample.

type sparkPostEvent struct {
	Type        string          `json:"type"`
	RcptTo      string          `json:"rcpt_to"`
	BounceClass string          `json:"bounce_class"`
	ErrorCode   string          `json:"error_code"`
	RawReason   string          `json:"raw_reason"`
	Reason      string          `json:"reason"`
	Timestamp   json.RawMessage `json:"timestamp"`
	FBType      string          `json:"fbtype"`
}

// sparkPostClass names SparkPost's bounce classes in words the classifier
// reads, for replies that say nothing themselves.
var sparkPostClass = map[string]string{
	"1": "undetermined", "10": "invalid recipient", "20": "soft bounce", "21": "DNS failure: domain not found",
	"22": "mailbox full", "23": "message too large", "24": "timed out", "25": "admin failure",
	"30": "no recipient", "40": "generic bounce", "50": "mail block", "51": "spam block: blocklisted",
	"52": "spam content", "53": "prohibited attachment", "54": "relaying denied", "60": "auto-reply",
	"70": "transient failure", "80": "subscribe", "90": "unsubscribe", "100": "challenge-response",
}

func readSparkPost(rep *Report, raw []byte) error {
	var classes map[string]json.RawMessage
	if err := json.Unmarshal(raw, &classes); err != nil {
		return fmt.Errorf("dsn: unreadable SparkPost event: %w", err)
	}
	for _, body := range classes {
		var e sparkPostEvent
		if err := json.Unmarshal(body, &e); err != nil {
			return fmt.Errorf("dsn: unreadable SparkPost event: %w", err)
		}
		reason := e.RawReason
		if reason == "" {
			reason = e.Reason
		}
		if w := sparkPostClass[e.BounceClass]; w != "" {
			reason = strings.TrimSpace(reason + " (SparkPost bounce class " + e.BounceClass + ": " + w + ")")
		}
		rc := Recipient{Address: address(e.RcptTo), Diagnostic: clip(reason)}
		switch e.Type {
		case "bounce", "out_of_band", "policy_rejection", "generation_rejection":
			rc.Action = ActionFailed
			rc.Status = statusFrom("", reason, true)
			if e.BounceClass == "20" || e.BounceClass == "70" {
				rc.Status = statusFrom("", reason, false)
			}
			jsonKind(rep, KindDSN, "sparkpost")
		case "delay":
			rc.Action, rc.Status = ActionDelayed, statusFrom("", reason, false)
			jsonKind(rep, KindDSN, "sparkpost")
		case "delivery":
			rc.Action, rc.Status = ActionDelivered, "2.0.0"
			jsonKind(rep, KindDSN, "sparkpost")
		case "spam_complaint":
			rc.Action, rc.Diagnostic = ActionComplaint, orDefault(e.FBType, "abuse")
			rep.FeedbackType = rc.Diagnostic
			jsonKind(rep, KindARF, "sparkpost")
		default:
			if rep.Kind == "" {
				rep.Kind, rep.Format = KindUnknown, "sparkpost"
			}
			continue
		}
		rep.add(rc)
	}
	return nil
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
