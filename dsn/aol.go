package dsn

import "strings"

// AOL's own bounces name recipients by screen name, without a domain:
//
//	From: Mail Delivery Subsystem <MAILER-DAEMON@aol.com>
//	Subject: Mail Delivery Problem
//
//	Your mail to the following recipients could not be delivered because
//	they are not accepting mail from sender@example.com:
//		screenname
var aol = system{
	name: "aol",
	is: func(v *view) bool {
		return v.fromDomain("aol.com") && strings.Contains(v.low, "could not be delivered")
	},
	read: func(v *view) []Recipient {
		var out []Recipient
		reason := sentence(v.low, "could not be delivered")
		for _, t := range v.texts {
			for _, l := range linesAfter(t, "could not be delivered", 50) {
				switch {
				case l == "":
					if len(out) > 0 {
						return out
					}
				case strings.ContainsAny(l, " :<>"):
				default:
					a := l
					if !strings.Contains(a, "@") {
						a += "@aol.com"
					}
					out = append(out, Recipient{Address: address(a), Diagnostic: reason})
				}
			}
		}
		return out
	},
}
