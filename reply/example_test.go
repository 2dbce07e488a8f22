package reply_test

import (
	"fmt"

	"github.com/mailtrace/mailtrace/reply"
)

// Classifying receivers' replies as Postfix logs them: the words decide
// over the codes, a block-list refusal is a block signal (it is about the
// sending IP, not the recipient), and the provider comes from the MX host
// that answered.
func ExampleClassifier_Classify() {
	c := reply.Default()
	for _, r := range []struct{ text, host, domain string }{
		{"550 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org", "mx1.mail.example", "example.org"},
		{"550-5.1.1 The email account that you tried to reach does not exist.", "gmail-smtp-in.l.google.com", "gmail.com"},
		{"452 4.2.2 The email account that you tried to reach is over quota.", "gmail-smtp-in.l.google.com", "gmail.com"},
	} {
		res := c.Classify(r.text, "", r.host, r.domain)
		fmt.Printf("%s block=%t provider=%q by=%s\n", res.Category, res.Block, res.Provider, res.By)
	}
	// Output:
	// blocklisted block=true provider="" by=text
	// bad-mailbox block=false provider="google" by=text
	// quota-issues block=false provider="google" by=text
}
