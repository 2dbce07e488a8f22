package dsn

import "strings"

// Yahoo's "Failure Notice" without a recipient line: the failed recipient
// is only in the To of the inline copy that follows.
//
//	From: MAILER-DAEMON@yahoo.com
//	Subject: Failure Notice
//
//	Sorry, we were unable to deliver your message to the following address.
//	I'm afraid I wasn't able to deliver the following message.
//	This is a permanent error; I've given up. Sorry it didn't work out.
//	...
//	To: subscriber@example.com
//
// Its other template, with "<a@b>:" and "Remote host said:", is read as
// prose.
var yahoo = system{
	name: "yahoo",
	is: func(v *view) bool {
		return v.fromDomain("yahoo.com", "yahoo.co.jp", "yahoo.co.uk", "yahoo.fr", "yahoo.de", "yahoo-inc.com", "yahoogroups.com") &&
			strings.Contains(v.low, "wasn't able to deliver the following message")
	},
	read: func(v *view) []Recipient {
		for i := range v.texts {
			if rcpts := v.w.recipientLines(i); len(rcpts) > 0 {
				return rcpts
			}
		}
		reason := sentence(v.low, "this is a permanent error")
		for _, t := range v.texts {
			for _, l := range linesAfter(t, "wasn't able to deliver the following message", 40) {
				if strings.HasPrefix(strings.ToLower(l), "to:") {
					if a := address(l[3:]); strings.Contains(a, "@") {
						return []Recipient{{Address: a, Diagnostic: reason}}
					}
				}
			}
		}
		return nil
	},
}
