package dsn

import (
	"strings"
)

// Read receipts: message disposition notifications (RFC 8098; RFC 6533
// for message/global-disposition-notification). A recipient's mail client
// sends one when asked (Disposition-Notification-To) and allowed: its
// message/disposition-notification part says
//
//	Reporting-UA: mail.example.net; Dovecot Mail Delivery Agent
//	Final-Recipient: rfc822; user@example.net
//	Original-Message-ID: <m1@court.example>
//	Disposition: manual-action/MDN-sent-manually; displayed
//
// The disposition type (displayed, deleted, dispatched, processed) tells
// what the client did with the message; none of them proves that a person
// read it, and mailtrace never says so.
//
// Sieve's reject action (RFC 5429 section 2.1) may refuse a delivered
// message with an MDN instead of a DSN: automatic-action, type deleted, and
// the refusal's text in the human-readable part. That is a refusal of the
// message and is read as a failed delivery (format sieve-reject).

// Disposition types (RFC 8098 section 3.2.6.2): a read receipt's Action.
const (
	Displayed  Action = "displayed"
	Deleted    Action = "deleted"
	Dispatched Action = "dispatched"
	Processed  Action = "processed"
	Denied     Action = "denied" // obsolete (RFC 3798), as is failed (ActionFailed)
)

func parseMDN(rep *Report, w *walker) {
	rep.Kind, rep.Format = KindMDN, "rfc8098"
	var rc Recipient
	var final, original string
	for _, b := range blocks(w.mdn) {
		for _, f := range b {
			switch f.name {
			case "reporting-ua":
				rep.ReportingUA = clip(f.value) // "host; product": both say who made it
			case "final-recipient":
				final = mailAddress(f.value)
			case "original-recipient":
				original = mailAddress(f.value)
			case "original-message-id":
				rep.OriginalMessageID = clip(strings.TrimSpace(f.value))
			case "disposition":
				rc.Disposition = clip(f.value)
			case "error", "failure", "warning": // RFC 3798's extension fields
				if rc.Diagnostic == "" {
					rc.Diagnostic = clip(f.value)
				}
			}
		}
	}
	rc.Address, rc.OriginalRecipient = final, original
	if rc.Address == "" {
		rc.Address = original
	}
	if rc.Address == "" {
		rc.Address = address(rep.From) // the receipt comes from the recipient's mailbox
	}
	mode, kind := dispositionParts(rc.Disposition)
	rc.Action = kind
	if rc.Action == "" {
		rc.Action = ActionUnknown
	}
	if kind == Deleted && strings.HasPrefix(mode, "automatic-action") {
		if text := rejection(w); text != "" {
			// A Sieve reject: the message was refused after delivery.
			rep.Kind, rep.Format = KindDSN, "sieve-reject"
			rc.Action, rc.Status, rc.Diagnostic = ActionFailed, "5.0.0", text
		}
	}
	if rc.Address != "" {
		rep.Recipients = append(rep.Recipients, rc)
	}
}

// dispositionParts splits a Disposition field into its action mode
// ("manual-action/mdn-sent-manually") and its type ("displayed"), both
// lowercased; modifiers after "/" of the type are dropped.
func dispositionParts(v string) (mode string, kind Action) {
	mode, k, _ := strings.Cut(strings.ToLower(v), ";")
	k, _, _ = strings.Cut(strings.TrimSpace(k), "/")
	switch kind = Action(strings.TrimSpace(k)); kind {
	case Displayed, Deleted, Dispatched, Processed, Denied, ActionFailed:
	default:
		kind = ""
	}
	return strings.TrimSpace(mode), kind
}

// rejection is a receipt's human-readable text when it says the message
// was rejected, bounded; else "".
func rejection(w *walker) string {
	for _, t := range w.humanTexts() {
		low := strings.ToLower(string(t))
		if strings.Contains(low, "reject") || strings.Contains(low, "refused") {
			text := strings.TrimSpace(string(t))
			if len(text) > maxField {
				text = text[:maxField]
			}
			return clip(text)
		}
	}
	return ""
}
