package dsn

import "strings"

// Oracle Communications (once Sun Java System, iPlanet and Netscape)
// Messaging Server, of the PMDF family, labels each recipient's fields in
// its human-readable part:
//
//	This report relates to a message you sent with the following header fields:
//	  ...
//	Your message cannot be delivered to the following recipients:
//
//	  Recipient address: a@example.net
//	  Original address: a@example.net
//	  Reason: Remote SMTP server has rejected address
//	  Diagnostic code: smtp;550 5.1.1 <a@example.net>... User unknown
//	  Remote system: dns;mx.example.net (TCP|...)
//
// Its delivery-status part, when there is one, is read as RFC 3464 and
// this part gives the words.
var messagingServer = system{
	name: "messaging-server",
	is: func(v *view) bool {
		return strings.Contains(v.low, "recipient address:") && (strings.Contains(v.low, "reason:") || strings.Contains(v.low, "diagnostic code:"))
	},
	read: func(v *view) []Recipient {
		var out []Recipient
		for _, t := range v.texts {
			var cur *Recipient
			for _, l := range strings.Split(string(t), "\n") {
				l = strings.TrimSpace(l)
				name, value, ok := strings.Cut(l, ":")
				if !ok {
					continue
				}
				value = strings.TrimSpace(value)
				switch strings.ToLower(name) {
				case "recipient address":
					if a := address(value); strings.Contains(a, "@") {
						out = append(out, Recipient{Address: a})
						cur = &out[len(out)-1]
					}
				case "original address":
					if cur != nil {
						cur.OriginalRecipient = address(value)
					}
				case "reason":
					if cur != nil {
						cur.Diagnostic = clip(strings.TrimSpace(value + " " + cur.Diagnostic))
					}
				case "diagnostic code":
					if cur != nil {
						cur.Diagnostic = clip(strings.TrimSpace(typed(value) + " " + cur.Diagnostic))
					}
				case "remote system":
					if cur != nil {
						cur.RemoteMTA = clip(strings.Fields(typed(value) + " ")[0])
					}
				}
			}
			if len(out) > 0 {
				break
			}
		}
		return out
	},
}
