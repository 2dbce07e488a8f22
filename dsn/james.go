package dsn

import "strings"

// Apache James's bounces (its Bounce and DSNBounce mailets):
//
//	Hi. This is the James mail server at mail.example.org.
//	I'm afraid I wasn't able to deliver your message to the following addresses.
//	This is a permanent error; I've given up. Sorry it didn't work out.  Below
//	I include the list of recipients and the reason why I was unable to deliver
//	your message.
//
//	Failed recipient(s):
//	a@example.net
//
//	Error message:
//	550 5.1.1 a@example.net... User unknown
//
// and, in older versions, a "Message details:" block with "RCPT TO: a@b".
var james = system{
	name: "james",
	is: func(v *view) bool {
		return strings.Contains(v.low, "this is the james mail server") || strings.Contains(v.low, "failed recipient(s):")
	},
	read: func(v *view) []Recipient {
		var out []Recipient
		for _, t := range v.texts {
			var addrs []string
			for _, l := range linesAfter(t, "failed recipient(s):", 200, "error message") {
				for _, a := range addrRe.FindAllString(l, -1) {
					addrs = append(addrs, a)
				}
			}
			if len(addrs) == 0 {
				for _, l := range linesAfter(t, "message details:", 20, "error message") {
					if strings.HasPrefix(strings.ToLower(l), "rcpt to:") {
						addrs = append(addrs, addrRe.FindAllString(l, -1)...)
					}
				}
			}
			reason := strings.Join(linesAfter(t, "error message", 10, "message details:"), " ")
			for _, a := range addrs {
				out = append(out, Recipient{Address: a, Diagnostic: clip(strings.TrimSpace(reason))})
			}
			if len(out) > 0 {
				break
			}
		}
		return out
	},
}
