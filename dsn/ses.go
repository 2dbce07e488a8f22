package dsn

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/mailtrace/mailtrace/header"
	"github.com/mailtrace/mailtrace/reply"
)

// Amazon SES notifications (the SES developer guide, "Amazon SNS
// notification contents" and "event publishing"): one JSON object with
// notificationType (SNS notifications) or eventType (event publishing):
//
//	{"notificationType": "Bounce",
//	 "bounce": {"bounceType": "Permanent", "bounceSubType": "General",
//	            "bouncedRecipients": [{"emailAddress": "a@b", "action": "failed",
//	                                   "status": "5.1.1", "diagnosticCode": "smtp; 550 5.1.1 ..."}],
//	            "reportingMTA": "dsn; a8-70.smtp-out.amazonses.com", "timestamp": "..."},
//	 "mail": {"messageId": "...", "destination": ["a@b"],
//	          "headers": [{"name": "Message-ID", "value": "<...>"}, ...]}}
//
// with complaint (complainedRecipients, complaintFeedbackType), delivery
// (recipients, smtpResponse) and deliveryDelay (delayedRecipients) in the
// same shape. Written from the documentation: the corpus has SES's mailed
// DSNs, read as RFC 3464, but no JSON notification.

type sesNotification struct {
	NotificationType string `json:"notificationType"`
	EventType        string `json:"eventType"`
	Bounce           *struct {
		BounceType        string         `json:"bounceType"`
		BounceSubType     string         `json:"bounceSubType"`
		BouncedRecipients []sesRecipient `json:"bouncedRecipients"`
		ReportingMTA      string         `json:"reportingMTA"`
		RemoteMtaIP       string         `json:"remoteMtaIp"`
		Timestamp         string         `json:"timestamp"`
	} `json:"bounce"`
	Complaint *struct {
		ComplainedRecipients  []sesRecipient `json:"complainedRecipients"`
		ComplaintFeedbackType string         `json:"complaintFeedbackType"`
		Timestamp             string         `json:"timestamp"`
	} `json:"complaint"`
	Delivery *struct {
		Recipients   []string `json:"recipients"`
		SMTPResponse string   `json:"smtpResponse"`
		ReportingMTA string   `json:"reportingMTA"`
		Timestamp    string   `json:"timestamp"`
	} `json:"delivery"`
	DeliveryDelay *struct {
		DelayType         string         `json:"delayType"`
		DelayedRecipients []sesRecipient `json:"delayedRecipients"`
		ReportingMTA      string         `json:"reportingMTA"`
		Timestamp         string         `json:"timestamp"`
	} `json:"deliveryDelay"`
	Mail struct {
		MessageID string `json:"messageId"`
		Headers   []struct {
			Name  string `json:"name"`
			Value string `json:"value"`
		} `json:"headers"`
		CommonHeaders struct {
			MessageID string `json:"messageId"`
		} `json:"commonHeaders"`
	} `json:"mail"`
}

type sesRecipient struct {
	EmailAddress   string `json:"emailAddress"`
	Action         string `json:"action"`
	Status         string `json:"status"`
	DiagnosticCode string `json:"diagnosticCode"`
}

// sesSubtypeStatus is the status an SES bounce subtype states when the
// recipient carries none.
var sesSubtypeStatus = map[string]string{
	"noemail":            "5.1.1",
	"mailboxfull":        "5.2.2",
	"messagetoolarge":    "5.3.4",
	"contentrejected":    "5.6.0",
	"attachmentrejected": "5.6.0",
}

func readSES(rep *Report, raw []byte) error {
	var n sesNotification
	if err := json.Unmarshal(raw, &n); err != nil {
		return fmt.Errorf("dsn: unreadable Amazon SES notification: %w", err)
	}
	kind := strings.ToLower(n.NotificationType + n.EventType)
	if rep.From == "" {
		rep.From = "Amazon SES"
	}
	rep.OriginalMessageID = clip(n.Mail.CommonHeaders.MessageID)
	for _, h := range n.Mail.Headers {
		switch strings.ToLower(h.Name) {
		case "message-id":
			rep.OriginalMessageID = clip(h.Value)
		case header.LowerID:
			rep.OriginalTraceID = clip(strings.TrimSpace(h.Value))
		}
	}
	switch {
	case kind == "bounce" && n.Bounce != nil:
		b := n.Bounce
		jsonKind(rep, KindDSN, "ses")
		rep.ReportingMTA, rep.Date = clip(typed(b.ReportingMTA)), sesTime(b.Timestamp)
		permanent := !strings.EqualFold(b.BounceType, "Transient")
		for _, r := range b.BouncedRecipients {
			diag := clip(typed(r.DiagnosticCode))
			if diag == "" {
				diag = clip("Amazon SES: " + b.BounceType + " bounce, " + b.BounceSubType)
			}
			status := r.Status
			if st := sesSubtypeStatus[strings.ToLower(b.BounceSubType)]; st != "" && genericStatus(reply.EnhancedCode(status+" ")) && reply.EnhancedCode(diag) == "" {
				status = st
				if !permanent {
					status = "4" + st[1:]
				}
			}
			rc := Recipient{Address: address(r.EmailAddress), Action: Action(strings.ToLower(r.Action)), Diagnostic: diag,
				Status: statusFrom(status, diag, permanent), RemoteMTA: clip(b.RemoteMtaIP)}
			if rc.Action == "" {
				rc.Action = map[bool]Action{true: ActionFailed, false: ActionDelayed}[permanent]
			}
			finishRecipient(&rc)
			rep.add(rc)
		}
	case kind == "complaint" && n.Complaint != nil:
		jsonKind(rep, KindARF, "ses")
		rep.FeedbackType, rep.Date = strings.ToLower(clip(n.Complaint.ComplaintFeedbackType)), sesTime(n.Complaint.Timestamp)
		if rep.FeedbackType == "" {
			rep.FeedbackType = "abuse"
		}
		for _, r := range n.Complaint.ComplainedRecipients {
			rep.add(Recipient{Address: address(r.EmailAddress), Action: ActionComplaint, Diagnostic: rep.FeedbackType})
		}
	case kind == "delivery" && n.Delivery != nil:
		jsonKind(rep, KindDSN, "ses")
		rep.ReportingMTA, rep.Date = clip(n.Delivery.ReportingMTA), sesTime(n.Delivery.Timestamp)
		for _, a := range n.Delivery.Recipients {
			rep.add(Recipient{Address: address(a), Action: ActionDelivered, Status: "2.0.0", Diagnostic: clip(n.Delivery.SMTPResponse)})
		}
	case kind == "deliverydelay" && n.DeliveryDelay != nil:
		jsonKind(rep, KindDSN, "ses")
		rep.ReportingMTA, rep.Date = clip(typed(n.DeliveryDelay.ReportingMTA)), sesTime(n.DeliveryDelay.Timestamp)
		for _, r := range n.DeliveryDelay.DelayedRecipients {
			diag := clip(typed(r.DiagnosticCode))
			if diag == "" {
				diag = clip("Amazon SES: delivery delayed, " + n.DeliveryDelay.DelayType)
			}
			rc := Recipient{Address: address(r.EmailAddress), Action: ActionDelayed, Diagnostic: diag, Status: statusFrom(r.Status, diag, false)}
			rep.add(rc)
		}
	default:
		// Sends, opens, clicks, rejects by SES itself: nothing came back.
		if rep.Kind == "" {
			rep.Kind, rep.Format = KindUnknown, "ses"
		}
	}
	return nil
}

// sesTime reads SES's ISO 8601 timestamps.
func sesTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}
