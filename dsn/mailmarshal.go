package dsn

import "strings"

// MailMarshal (Trustwave, formerly Marshal and NetIQ) states the reason
// first and the recipients after it:
//
//	Your message:
//
//	   From:    sender@example.org
//	   Subject: Notice
//
//	Could not be delivered because of
//
//	550 5.1.1 User unknown
//
//	The following recipients were affected:
//	    user@example.com
//
//	Additional Information
//	======================
//	Original Sender:    <sender@example.org>
var mailMarshal = system{
	name: "mailmarshal",
	is: func(v *view) bool {
		return strings.Contains(v.low, "could not be delivered because of") && strings.Contains(v.low, "the following recipients were affected")
	},
	read: func(v *view) []Recipient {
		var out []Recipient
		for _, t := range v.texts {
			var reason []string
			for _, l := range linesAfter(t, "could not be delivered because of", 20, "the following recipients were affected") {
				if l != "" {
					reason = append(reason, l)
				}
			}
			for _, l := range linesAfter(t, "the following recipients were affected", MaxRecipient, "additional information") {
				if a := addrRe.FindString(l); a != "" {
					out = append(out, Recipient{Address: a, Diagnostic: clip(strings.Join(reason, " "))})
				}
			}
			if len(out) > 0 {
				break
			}
		}
		return out
	},
}
