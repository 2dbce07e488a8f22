package dsn

import "strings"

// Verizon Wireless's gateways (vtext.com for SMS, vzwpix.com for MMS)
// answer mail to a phone with a short notice from their own domain: the
// reason on an "Error:" line, the phone's address on an "Addresses:" line.
//
//	Error: No valid recipients for this MM
//	Message could not be delivered to mobile.
//	Addresses: 2125550123@vtext.com
var verizon = system{
	name: "verizon",
	is: func(v *view) bool {
		return v.fromDomain("vtext.com", "vzwpix.com", "vzwpix.net") && strings.Contains(v.low, "addresses:")
	},
	read: func(v *view) []Recipient {
		var out []Recipient
		for _, t := range v.texts {
			var reason []string
			var addrs []string
			for _, l := range strings.Split(string(t), "\n") {
				l = strings.TrimSpace(l)
				low := strings.ToLower(l)
				if quoted(low) {
					break
				}
				switch {
				case strings.HasPrefix(low, "addresses:"):
					addrs = append(addrs, addrRe.FindAllString(l, MaxRecipient+1)...)
				case strings.HasPrefix(low, "error:"):
					reason = append(reason, strings.TrimSpace(l[len("error:"):]))
				case strings.Contains(low, "could not be delivered"):
					reason = append(reason, l)
				}
			}
			for _, a := range addrs {
				out = append(out, Recipient{Address: a, Diagnostic: clip(strings.Join(reason, " "))})
			}
			if len(out) > 0 {
				break
			}
		}
		return out
	},
}
