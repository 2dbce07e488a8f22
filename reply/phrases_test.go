package reply

import "testing"

func TestPhrases(t *testing.T) {
	p := NewPhrases([]string{"Running the Courier mail server", "please do not reply"})
	for _, tc := range []struct {
		name, text string
		want       int
	}{
		{"first phrase, other case", "This is a delivery status notification from mx, RUNNING THE COURIER MAIL SERVER, version 1.1", 0},
		{"second phrase", "This is the MAILER-DAEMON, please DO NOT REPLY to this e-mail.", 1},
		{"the list's order decides", "please do not reply; running the courier mail server", 0},
		{"none", "This is the mail system at host mx.example.com.", -1},
		{"empty", "", -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := p.In([]byte(tc.text)); got != tc.want {
				t.Errorf("In(%q) = %d, want %d", tc.text, got, tc.want)
			}
		})
	}
}
