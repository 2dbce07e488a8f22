package reply

import "testing"

// Authentication refusals are marked with what failed, in Gmail's,
// Microsoft's and Yahoo's words.
func TestAuthRefusals(t *testing.T) {
	c := Default()
	tests := []struct {
		name, text, host string
		auth             AuthRequirement
		category         string
	}{
		{"gmail PTR deferral", "421-4.7.23 The sending IP does not have a PTR record setup, or the corresponding forward DNS entry does not point to the sending IP. 421 4.7.23 gsmtp", "gmail-smtp-in.l.google.com", AuthPTR, "bad-configuration"},
		{"gmail PTR refusal", "550-5.7.25 [203.0.113.10] The IP address sending this message does not have a PTR record setup 550 5.7.25 gsmtp", "gmail-smtp-in.l.google.com", AuthPTR, "bad-configuration"},
		{"gmail SPF", "421-4.7.27 Your email has been rate limited because SPF authentication didn't pass for this message. 421 4.7.27 gsmtp", "gmail-smtp-in.l.google.com", AuthSPF, "policy-related"},
		{"gmail SPF refusal", "550-5.7.27 The sender does not meet basic SPF requirements. 550 5.7.27 gsmtp", "gmail-smtp-in.l.google.com", AuthSPF, "policy-related"},
		{"gmail TLS", "421-4.7.29 Your email has been rate limited because this message wasn't sent over a TLS connection. 421 4.7.29 gsmtp", "gmail-smtp-in.l.google.com", AuthTLS, "bad-configuration"},
		{"gmail DKIM", "421-4.7.30 Your email has been rate limited because DKIM authentication didn't pass for this message. 421 4.7.30 gsmtp", "gmail-smtp-in.l.google.com", AuthDKIM, "policy-related"},
		{"gmail DMARC", "421-4.7.31 Your email has been rate limited because DMARC policy is not set for the sending domain. 421 4.7.31 gsmtp", "gmail-smtp-in.l.google.com", AuthDMARC, "policy-related"},
		{"gmail alignment", "550-5.7.32 Your email has been blocked because the sender's From: header isn't aligned with either the authenticated SPF or DKIM organizational domain. 550 5.7.32 gsmtp", "gmail-smtp-in.l.google.com", AuthAlignment, "policy-related"},
		{"gmail unauthenticated", "550-5.7.26 This mail has been blocked because the sender is unauthenticated. Gmail requires all senders to authenticate with either SPF or DKIM. 550 5.7.26 gsmtp", "gmail-smtp-in.l.google.com", AuthUnauthenticated, "policy-related"},
		{"gmail DMARC policy refusal", "550-5.7.26 Unauthenticated email from example.com is not accepted due to domain's DMARC policy. 550 5.7.26 gsmtp", "gmail-smtp-in.l.google.com", AuthDMARC, "policy-related"},
		{"microsoft 5.7.515", "550 5.7.515 Access denied, sending domain [EXAMPLE.COM] does not meet the required authentication level.", "example-com.mail.protection.outlook.com", AuthLevel, "policy-related"},
		{"yahoo unauthenticated", "550 5.7.26 This mail has been blocked because the sender is unauthenticated. Yahoo requires all senders to authenticate with either SPF or DKIM.", "mta5.am0.yahoodns.net", AuthUnauthenticated, "policy-related"},
		{"postfix reverse hostname", "450 4.7.25 Client host rejected: cannot find your reverse hostname, [203.0.113.10]", "mx.example.net", AuthPTR, "bad-configuration"},
		{"a blocklist is not an authentication refusal", "554 5.7.1 Service unavailable; Client host [203.0.113.10] blocked using zen.spamhaus.org", "mx.example.net", "", "blocklisted"},
		{"a full mailbox neither", "552 5.2.2 Mailbox full", "mx.example.net", "", "quota-issues"},
		{"a code inside another number is not the code", "550 5.7.1 ticket 14.7.270 refused", "mx.example.net", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := c.Classify(tt.text, "", tt.host, "")
			if r.Auth != tt.auth || tt.category != "" && r.Category != tt.category {
				t.Errorf("auth %q category %q (pattern %q), want %q %q", r.Auth, r.Category, r.Pattern, tt.auth, tt.category)
			}
		})
	}
}

func TestAuthRequirementChecked(t *testing.T) {
	r := &Rules{Categories: []CategoryDef{{Name: "other"}}, Text: []TextRule{{Category: "other", Auth: "spff", Patterns: []string{"x"}}}}
	if err := r.check(); err == nil {
		t.Error("an unknown auth requirement was accepted")
	}
}
