package dsn

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Mandrill's web hook (Mailchimp Transactional's "Webhook format"): a
// form field mandrill_events holding an array of events:
//
//	mandrill_events=[{"event": "hard_bounce", "ts": 1365109999,
//	  "msg": {"email": "a@b", "state": "bounced", "bounce_description": "bad_mailbox",
//	          "diag": "smtp;550 5.1.1 The email account that you tried to reach does not exist."}}]
//
// hard_bounce is a refusal, soft_bounce and deferral delays, reject
// Mandrill not sending (a rejection-listed address), spam a complaint,
// delivered a delivery. Written from the documentation: the corpus has no
// Mandrill sample.

type mandrillMsg struct {
	Email             string  `json:"email"`
	TS                float64 `json:"ts"`
	BounceDescription string  `json:"bounce_description"`
	Diag              string  `json:"diag"`
	Metadata          struct {
		MessageID string `json:"message_id"`
	} `json:"metadata"`
}

// mandrillDescriptionStatus is the status a bounce description states.
var mandrillDescriptionStatus = map[string]string{
	"bad_mailbox":    "5.1.1",
	"invalid_domain": "5.1.2",
	"mailbox_full":   "5.2.2",
}

func readMandrill(rep *Report, event string, raw []byte) error {
	var m mandrillMsg
	if err := json.Unmarshal(raw, &m); err != nil {
		return fmt.Errorf("dsn: unreadable Mandrill event: %w", err)
	}
	if t := unixTime(m.TS); !t.IsZero() {
		rep.Date = t
	}
	diag := typed(m.Diag)
	if diag == "" && m.BounceDescription != "" {
		diag = "Mandrill: " + strings.ReplaceAll(m.BounceDescription, "_", " ")
	}
	rc := Recipient{Address: address(m.Email), Diagnostic: clip(diag)}
	switch strings.ToLower(event) {
	case "hard_bounce", "reject":
		rc.Action = ActionFailed
		rc.Status = statusFrom(mandrillDescriptionStatus[m.BounceDescription], diag, true)
		jsonKind(rep, KindDSN, "mandrill")
	case "soft_bounce", "deferral":
		rc.Action = ActionDelayed
		rc.Status = statusFrom("", diag, false)
		jsonKind(rep, KindDSN, "mandrill")
	case "delivered":
		rc.Action, rc.Status = ActionDelivered, "2.0.0"
		jsonKind(rep, KindDSN, "mandrill")
	case "spam":
		rc.Action, rc.Diagnostic = ActionComplaint, "abuse"
		rep.FeedbackType = "abuse"
		jsonKind(rep, KindARF, "mandrill")
	default:
		if rep.Kind == "" {
			rep.Kind, rep.Format = KindUnknown, "mandrill"
		}
		return nil
	}
	rep.add(rc)
	return nil
}
