package evidence

import (
	"strings"
	"testing"
)

func TestConfigCertificateSettings(t *testing.T) {
	tests := []struct {
		name       string
		lang, zone string
		want       string // "" when valid
	}{
		{"the defaults", "es", "America/Bogota", ""},
		{"English in Madrid", "en", "Europe/Madrid", ""},
		{"unset: the defaults apply where used", "", "", ""},
		{"a language not offered", "fr", "", "evidence.certificate_lang"},
		{"a zone that does not exist", "", "Mars/Olympus", "evidence.certificate_zone"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			c.CertificateLang, c.CertificateZone = tt.lang, tt.zone
			err := c.Validate()
			if (err == nil) != (tt.want == "") || err != nil && !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate: %v, want %q", err, tt.want)
			}
		})
	}
}
