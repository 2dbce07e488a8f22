package dsn

import (
	"bytes"
	"regexp"
	"strings"

	"github.com/emersion/go-message"

	"github.com/mailtrace/mailtrace/reply"
)

// Non-standard bounces say in prose which recipients failed and why. They
// follow a few shapes, which parsePlain reads in one way:
//
//	Exim:      X-Failed-Recipients: a@b, then "  a@b\n    host ... said: 550 ..."
//	qmail:     "<a@b>:\n1.2.3.4 does not like recipient.\nRemote host said: 550 ..."
//	Exchange:  "a@b on DATE\n  The e-mail account does not exist ...\n  <host #5.1.1>"
//	Gmail:     "Delivery to the following recipient failed permanently:\n\n     a@b\n\nTechnical details ..."
//	Yahoo:     "Unable to deliver message to the following address(es).\n\n<a@b>:\nRemote host said: ..."
//	others:    "Delivery failed 20 attempts: a@b", "a@b: user unknown"
//
// A recipient line holds one address at its start (bare or in angle
// brackets, maybe followed by ":" and the reason), or at its end after a
// failure phrase; the lines after it, up to a blank line or the next
// recipient, are its diagnostic. Reading stops where the original message
// is quoted.

var (
	addrRe = regexp.MustCompile(`[A-Za-z0-9!#$%&'*+/=?^_{|}~.-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+`)
	// original-message markers, lowercased
	quoteMarkers = []string{
		"--- original message follows", "original message follows", "------ this is a copy of the message",
		"--- below this line is a copy of the message", "----- original message -----", "-----original message-----",
		"--- the header of the original message is following",
		"------ original message ------", "original message headers:", "--- below this line is the original message",
		"below is a copy of the original message", "content-type: message/rfc822",
		"received: from", "return-path: <",
	}
	failureWords = []string{"fail", "unknown", "undeliver", "could not", "couldn't", "unable", "error", "reject",
		"not delivered", "does not exist", "no such", "invalid", "not found", "permanent", "attempts", "did not reach",
		"quota", "mailbox is full", "mailbox full", "following recipient", "following address", "delivered to",
		"n'a pas pu", "konnte nicht", "nicht zugestellt", "originally addressed to", "delivery problem",
		"problem delivering", "delivering your message", "not be delivered", "delivery to", "rejected by", "invalid final delivery"}
	bounceSubjects = []string{"undeliver", "delivery status notification", "mail delivery failed", "failure notice",
		"returned mail", "undelivered mail", "delivery failure", "nondeliverable", "non-deliverable", "delivery notification",
		"failed delivery", "failure delivery", "delivery has failed", "could not be delivered", "mail system error",
		"delivery problem", "rejected", "unzustellbar", "non remis", "user unknown", "nicht zustellbar", "warning: could not send", "delayed mail",
		"mail delivery problem", "delivery report", "bounce"}
	bounceSenders = []string{"mailer-daemon", "postmaster", "mail-daemon", "maildaemon", "mail delivery", "mailerdaemon", "mail administrator", "mmdf", "mdaemon"}
)

func parsePlain(rep *Report, h message.Header, w *walker, isReport bool) {
	texts := w.humanTexts()
	// Exim names the failed recipients in a header.
	var failed []string
	for _, v := range h.Values("X-Failed-Recipients") {
		for _, a := range strings.Split(v, ",") {
			if a = address(a); a != "" {
				failed = append(failed, a)
			}
		}
	}
	var rcpts []Recipient
	for i := range texts {
		rcpts = append(rcpts, w.recipientLines(i)...)
		if len(rcpts) > 0 {
			break
		}
	}
	if len(failed) > 0 {
		// Keep the prose's recipients Exim names, in its order, then the
		// ones the prose left out.
		named := map[string]bool{}
		for _, a := range failed {
			named[strings.ToLower(a)] = true
		}
		kept := rcpts[:0]
		seen := map[string]bool{}
		for _, r := range rcpts {
			if k := strings.ToLower(r.Address); named[k] && !seen[k] {
				seen[k] = true
				kept = append(kept, r)
			}
		}
		rcpts = kept
		for _, a := range failed {
			if k := strings.ToLower(a); !seen[k] {
				seen[k] = true
				rcpts = append(rcpts, Recipient{Address: a})
			}
		}
		rep.Format = "exim"
	} else if !isReport && !looksLikeBounce(rep, h) {
		return
	}
	if len(rcpts) == 0 {
		rcpts = returnedRecipient(w)
	}
	if len(rcpts) == 0 {
		return
	}
	rep.Kind = KindDSN
	temporary := false
	for _, low := range w.lowTexts() {
		switch {
		case rep.Format != "" && rep.Format != "text":
		case strings.Contains(low, "qmail-send program") || strings.Contains(low, "remote host said:"):
			rep.Format = "qmail"
		case strings.Contains(low, "did not reach the following recipient") || strings.Contains(low, "could not be reached"):
			rep.Format = "exchange"
		default:
			rep.Format = "text"
		}
		if delayWords(low) {
			temporary = true
		}
	}
	for i := range rcpts {
		if temporary && rcpts[i].Action == "" && !strings.HasPrefix(reply.BasicCode(rcpts[i].Diagnostic), "5") {
			rcpts[i].Action = ActionDelayed
		}
		finishRecipient(&rcpts[i])
		rep.add(rcpts[i])
	}
}

// delayPhrases say that delivery goes on: the report is a warning.
var delayPhrases = []string{"will retry", "will continue trying", "still trying", "has not yet been delivered", "will keep trying",
	"will be retried", "continue to be made", "continue to try", "postponed", "advisory-only", "delivery incomplete",
	"temporary problem", "retry for", "not yet been delivered", "will try again"}

// delayWords tells whether a lowercased text says delivery goes on.
func delayWords(low string) bool {
	if strings.Contains(low, "giving up") || strings.Contains(low, "given up") || strings.Contains(low, "gave up") {
		return false
	}
	for _, p := range delayPhrases {
		if strings.Contains(low, p) {
			return true
		}
	}
	return strings.Contains(low, "delayed")
}

// returnedRecipient is, for a bounce whose prose names no recipient but
// says that delivery failed, the one recipient of the returned message
// (its To, when it names exactly one address); its reason is the prose.
func returnedRecipient(w *walker) []Recipient {
	if w.returned == nil {
		return nil
	}
	prose := ""
	for _, low := range w.lowTexts() {
		if hasFailureWord(low) {
			prose = low
			break
		}
	}
	if prose == "" {
		return nil
	}
	head := w.returned
	if i := bytes.Index(head, []byte("\n\n")); i >= 0 {
		head = head[:i]
	}
	to := addrRe.FindAllString(headerField(head, "to:"), 2)
	if len(to) != 1 {
		return nil
	}
	var diag []string
	for _, line := range strings.Split(prose, "\n") {
		if line = strings.TrimSpace(line); line != "" && strings.Trim(line, "*-=_ ") != "" && len(diag) < 5 && !quoted(line) {
			diag = append(diag, line)
		}
	}
	return []Recipient{{Address: to[0], Diagnostic: clip(strings.Join(diag, " "))}}
}

// looksLikeBounce tells a non-standard bounce from other mail by its
// sender and subject: an address in the prose of an ordinary message is
// not a failed recipient.
func looksLikeBounce(rep *Report, h message.Header) bool {
	from, subject := strings.ToLower(rep.From), strings.ToLower(rep.Subject)
	for _, s := range bounceSenders {
		if strings.Contains(from, s) {
			return true
		}
	}
	for _, s := range bounceSubjects {
		if strings.Contains(subject, s) {
			return true
		}
	}
	return strings.HasPrefix(strings.ToLower(h.Get("Auto-Submitted")), "auto-generated")
}

// recipientLines finds the recipient lines of a text and the diagnostic
// after each.
func recipientLines(text []byte) []Recipient {
	var out []Recipient
	var cur *Recipient
	var diag []string
	seen := map[string]int{} // lowercased address -> its place in out
	var listed []int         // places in out of a list's addresses but its last: they share its reason
	end := func() {
		if cur == nil {
			return
		}
		text := strings.TrimSpace(strings.Join(append([]string{cur.Diagnostic}, diag...), " "))
		for _, i := range listed {
			if out[i].Diagnostic == "" {
				out[i].Diagnostic = clip(text)
			}
		}
		listed = nil
		if i, ok := seen[strings.ToLower(cur.Address)]; ok {
			// Named again (Exchange repeats each recipient with its code
			// under "Diagnostic information for administrators"): the
			// reason goes on.
			if text != "" && !strings.Contains(out[i].Diagnostic, text) {
				out[i].Diagnostic = clip(strings.TrimSpace(out[i].Diagnostic + " " + text))
			}
		} else {
			seen[strings.ToLower(cur.Address)] = len(out)
			cur.Diagnostic = clip(text)
			out = append(out, *cur)
		}
		cur, diag = nil, nil
	}
	prevFailure := false // the last line with words said something failed
	for line := range bytes.Lines(text) {
		trimmed := strings.TrimSpace(strings.TrimRight(string(line), "\r\n"))
		low := strings.ToLower(trimmed)
		if quoted(low) || len(out) > MaxRecipient {
			break
		}
		// While a recipient's reason is being read, only a line that
		// starts with an address starts the next recipient: the reason
		// itself may name addresses.
		if cur != nil && strings.HasPrefix(low, "(generated from") {
			// Exim: the address we sent to, of the one that failed.
			if a := addrRe.FindString(trimmed); a != "" && cur.OriginalRecipient == "" {
				cur.OriginalRecipient = a
				continue
			}
		}
		if addr, rest, ok := recipientLine(trimmed, low, cur == nil && prevFailure, cur == nil); ok {
			end()
			// "a@b, c@d; e@f": a list of failed recipients on one line,
			// the reason (if any) on the lines after.
			if list := addressList(trimmed, addr); len(list) > 1 {
				var members []int
				for _, a := range list[:len(list)-1] {
					if _, dup := seen[strings.ToLower(a)]; !dup {
						members = append(members, len(out))
					}
					cur = &Recipient{Address: a}
					end()
				}
				listed = members
				addr, rest = list[len(list)-1], ""
			}
			cur = &Recipient{Address: addr, Diagnostic: rest}
			continue
		}
		if trimmed != "" && strings.Trim(trimmed, "*-=_ ") != "" {
			prevFailure = hasFailureWord(low)
		}
		if cur == nil && len(out) > 0 {
			// Office 365 and Exchange 2013+: "<addr>\n<words>\n\n<server>
			// gave this error:\n<reply>": the paragraph is the last
			// recipient's reply.
			if i := strings.Index(low, "gave this error:"); i >= 0 {
				cur = &Recipient{Address: out[len(out)-1].Address, Diagnostic: strings.TrimSpace(trimmed[i+len("gave this error:"):])}
				continue
			}
		}
		if cur == nil {
			continue
		}
		if trimmed == "" {
			// A blank line ends the reason, unless the reason so far is
			// a heading ("Technical details of permanent failure:").
			if (len(diag) > 0 && !strings.HasSuffix(diag[len(diag)-1], ":")) || (len(diag) == 0 && cur.Diagnostic != "") {
				end()
			}
			continue
		}
		if len(diag) < 20 && strings.Trim(trimmed, "*-=_ ") != "" {
			diag = append(diag, trimmed)
		}
	}
	end()
	return out
}

// addressList returns the addresses of a line from first on when what
// follows first is only more addresses, separated by commas, semicolons,
// spaces or "and" (bare or in angle brackets); else nil.
func addressList(line, first string) []string {
	i := strings.Index(line, first)
	if i < 0 {
		return nil
	}
	rest := line[i:]
	all := addrRe.FindAllStringIndex(rest, MaxRecipient+1)
	if len(all) < 2 {
		return nil
	}
	var out []string
	prev := 0
	for _, loc := range all {
		between := strings.TrimSpace(strings.Trim(rest[prev:loc[0]], " ,;<>\"'\t"))
		if between != "" && !strings.EqualFold(between, "and") {
			return nil
		}
		out = append(out, strings.TrimRight(rest[loc[0]:loc[1]], "."))
		prev = loc[1]
	}
	if strings.Trim(rest[prev:], " ,;<>\"'.\t") != "" {
		return nil
	}
	return out
}

// undeliveredPhrases say, after an address, that mail to it failed.
var undeliveredPhrases = []string{"couldn't be delivered", "could not be delivered", "cannot be delivered", "can't be delivered",
	"was undeliverable", "is undeliverable", "was not delivered", "wasn't delivered", "has not been delivered", "failed permanently"}

func undelivered(low string) bool {
	for _, p := range undeliveredPhrases {
		if strings.Contains(low, p) {
			return true
		}
	}
	return false
}

func hasFailureWord(low string) bool {
	for _, w := range failureWords {
		if strings.Contains(low, w) {
			return true
		}
	}
	return false
}

// trimmedMarkers are quoteMarkers without their leading dashes.
var trimmedMarkers = func() []string {
	out := make([]string, len(quoteMarkers))
	for i, m := range quoteMarkers {
		out[i] = strings.TrimLeft(m, "- ")
	}
	return out
}()

func quoted(low string) bool {
	if low == "" {
		return false
	}
	bare := strings.TrimLeft(low, "- ")
	for i, m := range quoteMarkers {
		if strings.HasPrefix(low, m) || strings.HasPrefix(bare, trimmedMarkers[i]) {
			return true
		}
	}
	return false
}

// headerLead matches a quoted header's name before an address: those
// lines name the original message's parties, not failed recipients.
var headerLead = regexp.MustCompile(`(?i)^(to|from|cc|bcc|reply-to|sender|delivered-to|return-path|envelope-to|x-[a-z-]+|errors-to|resent-[a-z]+|message-id|in-reply-to|references)\s*:`)

// recipientLine tells whether a line names a recipient, and returns the
// address and the rest of the line as the start of its reason. An address
// counts when it starts the line ("<a@b>:", "a@b on DATE", "Failed
// recipient: a@b"); when anywhere is true, also after a failure phrase on
// the line ("Delivery failed 20 attempts: a@b", "mailbox is full: <a@b>")
// or anywhere on a line that follows one ("could not be delivered to\n
// a@b").
func recipientLine(trimmed, low string, afterFailure, anywhere bool) (addr, rest string, ok bool) {
	if len(trimmed) > 300 || strings.IndexByte(trimmed, '@') < 0 {
		return "", "", false
	}
	loc := addrRe.FindStringIndex(trimmed)
	if loc == nil {
		return "", "", false
	}
	addr = strings.TrimRight(trimmed[loc[0]:loc[1]], ".")
	if i := strings.LastIndexByte(addr, '='); i >= 0 && i < strings.IndexByte(addr, '@') {
		addr = addr[i+1:] // X.400 gateways: "dda:SMTP=a@b"
	}
	before, after := trimmed[:loc[0]], trimmed[loc[1]:]
	lead := strings.TrimSpace(strings.Trim(before, "<\"'( *-•\t"))
	lowLead := strings.ToLower(lead)
	if headerLead.MatchString(strings.TrimLeft(lead, "> ")) {
		return "", "", false
	}
	if transcriptLead.MatchString(lead) && strings.HasPrefix(strings.TrimLeft(after, ">"), "...") {
		// Sendmail's transcript: "550 5.1.1 <a@b>... User unknown".
		return addr, trimmed, true
	}
	if lead == "" || lowLead == "rcpt to:" || strings.HasSuffix(lowLead, "recipient:") || strings.HasSuffix(lowLead, "address:") ||
		lowLead == "generated from" || strings.HasSuffix(lowLead, "userid:") || strings.HasSuffix(lowLead, "user:") {
		rest = strings.TrimLeft(after, ">\"') ")
		rest = strings.TrimLeft(rest, ":;,. ")
		if strings.HasPrefix(strings.ToLower(rest), "on ") || strings.HasPrefix(strings.ToLower(rest), "(generated from") {
			rest = ""
		}
		return addr, rest, true
	}
	// "For further assistance, please contact <postmaster@b>": whom to
	// ask, not who failed.
	for _, w := range contactWords {
		if strings.Contains(lowLead, w) {
			return "", "", false
		}
	}
	// "Your message to a@b couldn't be delivered": a failure said after
	// the address sent to.
	sentTo := (strings.HasSuffix(lowLead, " to") || lowLead == "to") && undelivered(low[min(len(low), loc[1]):])
	if anywhere && (afterFailure || hasFailureWord(lowLead) || sentTo) {
		return addr, trimmed, true
	}
	return "", "", false
}

// contactWords, before an address, say whom to ask for help.
var contactWords = []string{"contact", "assistance", "send mail to", "write to", "reply to", "questions"}

// transcriptLead is the reply code before an address in Sendmail's
// session transcript.
var transcriptLead = regexp.MustCompile(`^(<<< )?[45][0-9][0-9]([ -][45]\.[0-9]{1,3}\.[0-9]{1,3})?$`)

var tagRe = regexp.MustCompile(`(?s)<[^>]*>`)

// stripHTML turns an HTML body into lines of text, for bounces that come
// only as HTML.
func stripHTML(b []byte) []byte {
	s := strings.NewReplacer("<br>", "\n", "<br/>", "\n", "<br />", "\n", "</p>", "\n", "</div>", "\n", "</tr>", "\n", "&nbsp;", " ", "&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(string(b))
	return []byte(tagRe.ReplaceAllString(s, ""))
}
