package tlsrpt

import (
	"errors"
	"strings"
	"testing"
	"time"
)

const rfcList = `{
  "organization-name": "Company-X",
  "date-range": {"start-datetime": "2016-04-01T00:00:00Z", "end-datetime": "2016-04-01T23:59:59Z"},
  "contact-info": "sts-reporting@company-x.example",
  "report-id": "5065427c-23d3-47ca-b6e0-946ea0e8c4be",
  "policies": [{
    "policy": {"policy-type": "sts", "policy-string": ["version: STSv1", "mode: testing"], "policy-domain": "company-y.example", "mx-host": ["*.mail.company-y.example"]},
    "summary": {"total-successful-session-count": 5326, "total-failure-session-count": 303},
    "failure-details": [{"result-type": "certificate-expired", "sending-mta-ip": "2001:db8:abcd:0012::1", "receiving-mx-hostname": "mx1.mail.company-y.example", "failed-session-count": 100},
      {"result-type": "starttls-not-supported", "sending-mta-ip": "2001:db8:abcd:0013::1", "receiving-mx-hostname": "mx2.mail.company-y.example", "receiving-ip": "203.0.113.56", "failed-session-count": 200, "additional-information": "https://reports.company-x.example/report_info?id=5065427c-23d3#StarttlsNotSupported"},
      {"result-type": "validation-failure", "sending-mta-ip": "198.51.100.62", "receiving-ip": "203.0.113.58", "receiving-mx-hostname": "mx-backup.mail.company-y.example", "failed-session-count": 3, "failure-reason-code": "X509_V_ERR_PROXY_PATH_LENGTH_EXCEEDED"}]
  }]
}`

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		doc     string
		check   func(t *testing.T, r *Report)
		wantErr error
		errText string
	}{
		{name: "RFC 8460 with mx-host as a list", doc: rfcList, check: func(t *testing.T, r *Report) {
			if r.OrganizationName != "Company-X" || r.ReportID != "5065427c-23d3-47ca-b6e0-946ea0e8c4be" ||
				!r.Start.Equal(time.Date(2016, 4, 1, 0, 0, 0, 0, time.UTC)) || len(r.Policies) != 1 {
				t.Fatalf("report %+v", r)
			}
			p := r.Policies[0]
			if p.Type != PolicySTS || p.Domain != "company-y.example" || len(p.MXHost) != 1 || p.MXHost[0] != "*.mail.company-y.example" ||
				p.Successful != 5326 || p.Failed != 303 || len(p.Failures) != 3 || len(p.String) != 2 {
				t.Fatalf("policy %+v", p)
			}
			if f := p.Failures[1]; f.ResultType != ResultStartTLSNotSupported || f.FailedSessionCount != 200 || f.ReceivingIP != "203.0.113.56" {
				t.Errorf("failure %+v", f)
			}
		}},
		{name: "mx-host as a string (the RFC's example, erratum 6241)", doc: strings.Replace(rfcList, `"mx-host": ["*.mail.company-y.example"]`, `"mx-host": "*.mail.company-y.example"`, 1),
			check: func(t *testing.T, r *Report) {
				if mx := r.Policies[0].MXHost; len(mx) != 1 || mx[0] != "*.mail.company-y.example" {
					t.Errorf("mx-host %q", mx)
				}
			}},
		{name: "no mx-host", doc: strings.Replace(rfcList, `, "mx-host": ["*.mail.company-y.example"]`, ``, 1), check: func(t *testing.T, r *Report) {
			if mx := r.Policies[0].MXHost; mx == nil || len(mx) != 0 {
				t.Errorf("mx-host %#v, want an empty list", mx)
			}
		}},
		{name: "policy-string as one string, dates without zone, counts as strings, upper case", doc: `{"organization-name":"Microsoft Corporation","date-range":{"start-datetime":"2023-01-10T00:00:00","end-datetime":"2023-01-10T23:59:59"},"contact-info":null,"report-id":"133198585438131172+test.example","policies":[{"policy":{"policy-type":"TLSA","policy-string":"[\"3 1 1 abc\"]","policy-domain":"Example.COM."},"summary":{"total-successful-session-count":"2","total-failure-session-count":0},"failure-details":[{"result-type":"STS-Policy-Fetch-Error","failed-session-count":"1"}]}]}`,
			check: func(t *testing.T, r *Report) {
				p := r.Policies[0]
				if !r.Start.Equal(time.Date(2023, 1, 10, 0, 0, 0, 0, time.UTC)) || p.Type != PolicyTLSA || p.Domain != "example.com" ||
					p.Successful != 2 || len(p.String) != 1 || p.Failures[0].ResultType != ResultSTSPolicyFetchError || p.Failures[0].FailedSessionCount != 1 {
					t.Errorf("report %+v policy %+v", r, p)
				}
			}},
		{name: "policies not a list", doc: `{"report-id":"x","date-range":{"start-datetime":"2023-01-10T00:00:00Z","end-datetime":"2023-01-10T00:00:00Z"},"policies":{"policy":{}}}`,
			wantErr: ErrInvalid, errText: `"policies"`},
		{name: "count not a number", doc: strings.Replace(rfcList, `"failed-session-count": 3`, `"failed-session-count": "three"`, 1), wantErr: ErrInvalid, errText: "three"},
		{name: "negative count", doc: strings.Replace(rfcList, `"failed-session-count": 3`, `"failed-session-count": -3`, 1), wantErr: ErrInvalid, errText: "-3"},
		{name: "mx-host a number", doc: strings.Replace(rfcList, `"mx-host": ["*.mail.company-y.example"]`, `"mx-host": 7`, 1), wantErr: ErrInvalid, errText: "string or a list"},
		{name: "no report-id", doc: strings.Replace(rfcList, `"report-id"`, `"report_id"`, 1), wantErr: ErrInvalid, errText: "report-id"},
		{name: "no date-range", doc: strings.Replace(rfcList, `"date-range"`, `"date_range"`, 1), wantErr: ErrInvalid, errText: "date-range"},
		{name: "bad date", doc: strings.Replace(rfcList, `2016-04-01T00:00:00Z`, `April 1st`, 1), wantErr: ErrInvalid, errText: "start-datetime"},
		{name: "no policy-type", doc: strings.Replace(rfcList, `"policy-type": "sts", `, ``, 1), wantErr: ErrInvalid, errText: "policy-type"},
		{name: "a JSON list", doc: `[1,2]`, wantErr: ErrNotReport},
		{name: "another JSON object", doc: `{"name":"package.json"}`, wantErr: ErrNotReport},
		{name: "cut short", doc: rfcList[:200], wantErr: ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Parse([]byte(tt.doc))
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), tt.errText) {
					t.Fatalf("err = %v, want %v containing %q", err, tt.wantErr, tt.errText)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, r)
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(rfcList))
	f.Add([]byte(`{"report-id":"a","date-range":{"start-datetime":"2023-01-10T00:00:00","end-datetime":"2023-01-10T00:00:00"},"policies":[{"policy":{"policy-type":"sts","mx-host":"a"}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Parse(data)
		if err != nil {
			if !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrNotReport) {
				t.Fatalf("error without a sentinel: %v", err)
			}
			return
		}
		if r.ReportID == "" || r.End.Before(r.Start) {
			t.Fatalf("accepted without a report ID or with a reversed range: %+v", r)
		}
		for _, p := range r.Policies {
			if p.MXHost == nil || p.Type == "" {
				t.Fatalf("policy without mx-host list or type: %+v", p)
			}
		}
	})
}
