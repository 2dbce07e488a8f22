package dsn

import (
	"bytes"
	"encoding/base64"
	"net/mail"
	"strings"

	"github.com/emersion/go-message"

	"github.com/mailtrace/mailtrace/reply"
)

// field is one "Name: value" of a delivery-status or feedback-report
// block, with folded lines joined.
type field struct{ name, value string }

// blocks splits a delivery-status body into its blocks (RFC 3464 section
// 2.1: the per-message fields, then one block per recipient), tolerating
// CRLF or LF, stray blank lines and leading whitespace.
func blocks(body []byte) [][]field {
	var out [][]field
	var cur []field
	flush := func() {
		if len(cur) > 0 {
			out = append(out, cur)
			cur = nil
		}
	}
	for line := range bytes.Lines(body) {
		line = bytes.TrimRight(line, "\r\n")
		if len(bytes.TrimSpace(line)) == 0 {
			flush()
			continue
		}
		if (line[0] == ' ' || line[0] == '\t') && len(cur) > 0 {
			last := &cur[len(cur)-1]
			if len(last.value) < maxField {
				last.value += " " + string(bytes.TrimSpace(line))
			}
			continue
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		f := field{strings.ToLower(string(bytes.TrimSpace(name))), string(bytes.TrimSpace(value))}
		if (f.name == "final-recipient" || f.name == "original-recipient") && startsRecipient(cur, f.name) {
			// Recipient blocks run together, without the blank line
			// between them: a recipient's first field starts the next.
			flush()
		}
		cur = append(cur, f)
	}
	flush()
	return out
}

// startsRecipient tells whether a field named name (Final-Recipient or
// Original-Recipient) after the fields of cur starts another recipient:
// cur already has its action or status, or a field of that name. (The
// two come in either order: RFC 3464 puts Original-Recipient first,
// Postfix puts it second.)
func startsRecipient(cur []field, name string) bool {
	for _, f := range cur {
		if f.name == "action" || f.name == "status" || f.name == name {
			return true
		}
	}
	return false
}

// inlineBase64 decodes recipient blocks that a broken gateway encoded in
// base64 inside the delivery-status part, after a Content-Transfer-
// Encoding line among its fields, and appends them to the fields.
func inlineBase64(body []byte) []byte {
	low := bytes.ToLower(body)
	i := bytes.Index(low, []byte("\ncontent-transfer-encoding: base64"))
	if i < 0 {
		return body
	}
	rest := body[i+1:]
	j := bytes.Index(rest, []byte("\n\n"))
	if k := bytes.Index(rest, []byte("\r\n\r\n")); k >= 0 && (j < 0 || k < j) {
		j = k + 1
	}
	if j < 0 {
		return body
	}
	enc := bytes.Map(func(r rune) rune {
		if r == '\r' || r == '\n' || r == ' ' || r == '\t' {
			return -1
		}
		return r
	}, rest[j:])
	dec := make([]byte, base64.StdEncoding.DecodedLen(len(enc)))
	n, err := base64.StdEncoding.Decode(dec, enc)
	if err != nil || n == 0 {
		return body
	}
	out := append(append(append([]byte{}, body[:i+1]...), '\n'), dec[:n]...)
	return out
}

// typed strips the type of a typed field ("rfc822; a@b", "smtp; 550 ...",
// "dns; mx.example.com").
func typed(v string) string {
	if t, rest, ok := strings.Cut(v, ";"); ok && !strings.ContainsAny(t, " <@") {
		return strings.TrimSpace(rest)
	}
	return strings.TrimSpace(v)
}

func parseDeliveryStatus(rep *Report, body []byte) {
	for _, b := range blocks(inlineBase64(body)) {
		var rc Recipient
		var final, original, extra string
		for _, f := range b {
			switch f.name {
			case "reporting-mta":
				rep.ReportingMTA = clip(typed(f.value))
			case "original-envelope-id":
				rep.OriginalEnvelopeID = clip(f.value)
			case "final-recipient":
				final = mailAddress(f.value)
			case "original-recipient":
				original = mailAddress(f.value)
			case "action":
				rc.Action = Action(strings.ToLower(clip(f.value)))
			case "status":
				rc.Status = reply.EnhancedCode(f.value + " ")
			case "diagnostic-code":
				rc.Diagnostic = clip(typed(f.value))
			case "remote-mta":
				rc.RemoteMTA = clip(typed(f.value))
			default:
				if strings.HasPrefix(f.name, "x") && len(extra) < maxField {
					extra += " " + f.value // gateways' supplementary fields
				}
			}
		}
		// The final address may be an alias, a mailbox name or an X.400
		// address: then the original one (what we sent to) stands in.
		rc.Address, rc.OriginalRecipient = final, original
		if rc.Address == "" {
			rc.Address = original
		}
		if rc.Address == "" {
			continue
		}
		if strings.HasSuffix(rc.Status, ".0.0") {
			// Only the class: a code of that class in the diagnostic
			// or a gateway's notes says more.
			for _, text := range []string{rc.Diagnostic, extra} {
				if code := reply.EnhancedCode(text); code != "" && code[0] == rc.Status[0] && !strings.HasSuffix(code, ".0.0") {
					rc.Status = code
					break
				}
			}
		}
		finishRecipient(&rc)
		rep.add(rc)
	}
}

// mailAddress is the address of an rfc822 or utf-8 typed recipient field,
// or "" for other types (x400, unknown) and values that are no address.
func mailAddress(v string) string {
	if t, _, ok := strings.Cut(v, ";"); ok {
		switch strings.ToLower(strings.TrimSpace(t)) {
		case "rfc822", "utf-8", "utf8":
		default:
			return ""
		}
	}
	a := address(typed(v))
	if at := strings.LastIndexByte(a, '@'); at <= 0 || !strings.Contains(a[at:], ".") {
		return ""
	}
	return a
}

// finishRecipient fills a recipient's missing status and action from
// what it has.
func finishRecipient(rc *Recipient) {
	if rc.Status == "" || rc.Status == "5.0.0" || rc.Status == "4.0.0" {
		if code := reply.EnhancedCode(rc.Diagnostic); code != "" && rc.Status == "" {
			rc.Status = code
		}
	}
	if rc.Status == "" {
		switch {
		case strings.HasPrefix(reply.BasicCode(rc.Diagnostic), "4"), rc.Action == ActionDelayed:
			rc.Status = "4.0.0"
		case rc.Action == ActionDelivered || rc.Action == ActionRelayed || rc.Action == ActionExpanded:
			rc.Status = "2.0.0"
		default:
			rc.Status = "5.0.0"
		}
	}
	if rc.Action == "" {
		switch rc.Status[0] {
		case '4':
			rc.Action = ActionDelayed
		case '2':
			rc.Action = ActionDelivered
		default:
			rc.Action = ActionFailed
		}
	}
}

// Address takes the bare address out of a header field or a report's
// field: "<a@b>", "Name <a@b>", "a@b (comment)".
func Address(v string) string { return address(v) }

// address takes the bare address out of a field: "<a@b>", "Name <a@b>",
// "a@b (comment)".
func address(v string) string {
	v = strings.TrimSpace(v)
	if a, err := mail.ParseAddress(v); err == nil {
		return clip(a.Address)
	}
	if i := strings.IndexByte(v, '<'); i >= 0 {
		if j := strings.IndexByte(v[i:], '>'); j > 0 {
			return clip(strings.TrimSpace(v[i+1 : i+j]))
		}
	}
	if f := strings.Fields(v); len(f) > 0 {
		return clip(strings.Trim(f[0], "<>\"'"))
	}
	return ""
}

// parseARF reads an abuse complaint (RFC 5965 section 3.1).
func parseARF(rep *Report, w *walker) {
	rep.Kind, rep.Format = KindARF, "arf"
	var rcpts []string
	for _, b := range blocks(w.feedback) {
		for _, f := range b {
			switch f.name {
			case "feedback-type":
				rep.FeedbackType = strings.ToLower(clip(f.value))
			case "original-rcpt-to", "removal-recipient": // the latter in drafts before RFC 5965
				rcpts = append(rcpts, address(f.value))
			case "source-ip":
				rep.SourceIP = clip(f.value)
			case "reporting-mta":
				rep.ReportingMTA = clip(typed(f.value))
			case "original-envelope-id":
				rep.OriginalEnvelopeID = clip(f.value)
			}
		}
	}
	if len(rcpts) == 0 && w.returned != nil {
		// Most providers redact the recipient; some keep the To header.
		if e, _ := message.Read(bytes.NewReader(w.returned)); e != nil {
			if to := e.Header.Get("To"); to != "" {
				rcpts = append(rcpts, address(to))
			}
		}
	}
	seen := map[string]bool{}
	for _, a := range rcpts {
		if a != "" && !seen[strings.ToLower(a)] {
			seen[strings.ToLower(a)] = true
			rep.add(Recipient{Address: a, Action: ActionComplaint, Diagnostic: rep.FeedbackType})
		}
	}
}

// isAutoReply tells an automatic reply (RFC 3834 and the common
// non-standard markers) from a bounce; DSNs are auto-generated, not
// auto-replied, and are read before this is asked.
func isAutoReply(h message.Header) bool {
	as := strings.ToLower(h.Get("Auto-Submitted"))
	if strings.HasPrefix(as, "auto-replied") {
		return true
	}
	if h.Get("X-Autoreply") != "" || h.Get("X-Autorespond") != "" || h.Get("X-Autoresponder") != "" ||
		strings.EqualFold(h.Get("Precedence"), "auto_reply") || h.Get("X-Ms-Exchange-Inbox-Rules-Loop") != "" {
		return true
	}
	subject := strings.ToLower(headerText(h, "Subject"))
	for _, p := range []string{"auto:", "automatic reply", "autoreply", "auto-reply", "out of office", "out of the office",
		"abwesenheitsnotiz", "réponse automatique", "automatische antwort"} {
		if strings.Contains(subject, p) {
			return true
		}
	}
	return false
}
