package dmarcrpt

import (
	"errors"
	"strings"
	"testing"
)

const rfc9991Fields = "Feedback-Type: auth-failure\r\nUser-Agent: Receiver/1.0\r\nVersion: 1\r\n" +
	"Original-Mail-From: <bounce@bounces.example.com>\r\nOriginal-Rcpt-To: <user@receiver.example>\r\n" +
	"Arrival-Date: Thu, 8 Mar 2026 14:00:00 +0100\r\nSource-IP: 198.51.100.7\r\nReported-Domain: Example.com\r\n" +
	"Authentication-Results: receiver.example; dmarc=fail header.from=example.com\r\nAuth-Failure: dmarc\r\n" +
	"Identity-Alignment: none\r\nDKIM-Domain: example.com\r\nDKIM-Selector: s1\r\nDelivery-Result: reject\r\n"

func TestParseFailure(t *testing.T) {
	tests := []struct {
		name    string
		fields  string
		want    Failure
		wantErr string
	}{
		{name: "RFC 9991, CRLF", fields: rfc9991Fields, want: Failure{FeedbackType: "auth-failure", AuthFailure: "dmarc",
			SourceIP: "198.51.100.7", ReportedDomain: "example.com", OriginalMailFrom: "bounce@bounces.example.com",
			OriginalRcptTo: "user@receiver.example", IdentityAlignment: "none", DKIMDomain: "example.com", DKIMSelector: "s1", DeliveryResult: "reject"}},
		{name: "RFC 6591, LF, no Identity-Alignment", fields: "Feedback-Type: Auth-Failure\nAuth-Failure: SPF\nSource-IP: 192.0.2.1\nReported-Domain: example.net\n",
			want: Failure{FeedbackType: "auth-failure", AuthFailure: "spf", SourceIP: "192.0.2.1", ReportedDomain: "example.net"}},
		{name: "an abuse complaint", fields: "Feedback-Type: abuse\r\nUser-Agent: x\r\n", wantErr: "complaint"},
		{name: "no Feedback-Type", fields: "Source-IP: 192.0.2.1\r\n", wantErr: "no Feedback-Type"},
		{name: "not fields", fields: "\x00\x01 junk without colon", wantErr: "not a DMARC failure"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := ParseFailure([]byte(tt.fields))
			if tt.wantErr != "" {
				if !errors.Is(err, ErrNotFailure) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one saying %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := *f
			got.UserAgent, got.Version, got.AuthenticationResults = "", "", ""
			got.ArrivalDate = f.ArrivalDate
			tt.want.ArrivalDate = f.ArrivalDate
			if got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
			if tt.name == "RFC 9991, CRLF" && f.ArrivalDate.Format("2006-01-02T15:04:05Z07:00") != "2026-03-08T13:00:00Z" {
				t.Errorf("arrival %v", f.ArrivalDate)
			}
		})
	}
}

func FuzzParseFailure(f *testing.F) {
	f.Add([]byte(rfc9991Fields))
	f.Add([]byte("Feedback-Type: auth-failure\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ParseFailure(data)
		if err != nil {
			if !errors.Is(err, ErrNotFailure) {
				t.Fatalf("error without a sentinel: %v", err)
			}
			return
		}
		if r.FeedbackType != FeedbackTypeAuthFailure {
			t.Fatalf("accepted feedback type %q", r.FeedbackType)
		}
	})
}
