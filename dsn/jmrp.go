package dsn

import (
	"bytes"
	"strings"
)

// Microsoft's Junk Mail Reporting Program sent complaints before it sent
// ARF, and some senders still get that form: a message from
// staff@hotmail.com, "complaint about message from 192.0.2.10", with the
// complained-of message attached, its recipient in the
// X-HmXmrOriginalRecipient header Hotmail added. It is a complaint, read
// like an ARF report.
func isJMRP(rep *Report, w *walker) bool {
	d := domainOf(rep.From)
	if w.returned == nil || (d != "hotmail.com" && d != "msn.com" && d != "live.com" && d != "outlook.com") {
		return false
	}
	return bytes.Contains(w.returned[:min(len(w.returned), 16<<10)], []byte("X-HmXmrOriginalRecipient:"))
}

func parseJMRP(rep *Report, w *walker) {
	rep.Kind, rep.Format, rep.FeedbackType = KindARF, "hotmail-jmrp", "abuse"
	if i := strings.LastIndex(strings.ToLower(rep.Subject), "message from "); i >= 0 {
		rep.SourceIP = clip(strings.TrimSpace(rep.Subject[i+len("message from "):]))
	}
	if a := address(headerField(w.returned, "x-hmxmroriginalrecipient:")); a != "" {
		rep.add(Recipient{Address: a, Action: ActionComplaint, Diagnostic: rep.FeedbackType})
	}
}
