package tlsrpt_test

import (
	"fmt"

	"github.com/mailtrace/mailtrace/tlsrpt"
)

// A TLS report (RFC 8460) on one day of sessions with the domain's MX
// under its MTA-STS policy: the summary counts, then each kind of failure.
func ExampleParse() {
	r, err := tlsrpt.Parse([]byte(`{
  "organization-name": "Receiver Example",
  "date-range": {"start-datetime": "2026-01-01T00:00:00Z", "end-datetime": "2026-01-01T23:59:59Z"},
  "contact-info": "tlsrpt@receiver.example",
  "report-id": "2026-01-01T00:00:00Z_example.com",
  "policies": [{
    "policy": {"policy-type": "sts", "policy-string": ["version: STSv1", "mode: enforce", "mx: mx.example.com", "max_age: 86400"],
      "policy-domain": "example.com", "mx-host": ["mx.example.com"]},
    "summary": {"total-successful-session-count": 5326, "total-failure-session-count": 3},
    "failure-details": [{"result-type": "certificate-expired", "sending-mta-ip": "203.0.113.5",
      "receiving-mx-hostname": "mx.example.com", "failed-session-count": 3}]
  }]
}`))
	if err != nil {
		panic(err)
	}
	fmt.Println(r.OrganizationName, r.ReportID, r.Start.Format("2006-01-02"))
	for _, p := range r.Policies {
		fmt.Println(p.Type, p.Domain, p.Successful, "successful", p.Failed, "failed")
		for _, f := range p.Failures {
			fmt.Println(" ", f.ResultType, f.ReceivingMXHostname, f.FailedSessionCount)
		}
	}
	// Output:
	// Receiver Example 2026-01-01T00:00:00Z_example.com 2026-01-01
	// sts example.com 5326 successful 3 failed
	//   certificate-expired mx.example.com 3
}
