package dmarcrpt_test

import (
	"fmt"

	"github.com/mailtrace/mailtrace/dmarcrpt"
)

const aggregate = `<?xml version="1.0" encoding="UTF-8"?>
<feedback xmlns="urn:ietf:params:xml:ns:dmarc-2.0">
  <report_metadata>
    <org_name>receiver.example</org_name>
    <email>dmarc-reports@receiver.example</email>
    <report_id>2026.01.01.example.com</report_id>
    <date_range><begin>1767225600</begin><end>1767311999</end></date_range>
  </report_metadata>
  <policy_published><domain>example.com</domain><p>quarantine</p></policy_published>
  <record>
    <row><source_ip>192.0.2.10</source_ip><count>120</count>
      <policy_evaluated><disposition>none</disposition><dkim>pass</dkim><spf>pass</spf></policy_evaluated></row>
    <identifiers><header_from>example.com</header_from></identifiers>
    <auth_results><dkim><domain>example.com</domain><selector>s1</selector><result>pass</result></dkim>
      <spf><domain>bounces.example.com</domain><result>pass</result></spf></auth_results>
  </record>
  <record>
    <row><source_ip>198.51.100.7</source_ip><count>3</count>
      <policy_evaluated><disposition>quarantine</disposition><dkim>fail</dkim><spf>fail</spf></policy_evaluated></row>
    <identifiers><header_from>example.com</header_from></identifiers>
    <auth_results><spf><domain>example.com</domain><result>softfail</result></spf></auth_results>
  </record>
</feedback>`

// An aggregate report read record by record, as a large one would be: the
// header comes complete at the end.
func ExampleReadAggregate() {
	fb, err := dmarcrpt.ReadAggregate([]byte(aggregate), func(r *dmarcrpt.Record) error {
		fmt.Println(r.SourceIP, r.Count, r.Disposition, "dkim="+r.DKIM, "spf="+r.SPF)
		return nil
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(fb.Metadata.OrgName, fb.Policy.Domain, fb.Metadata.Begin.Format("2006-01-02"), fb.Records, "records")
	// Output:
	// 192.0.2.10 120 none dkim=pass spf=pass
	// 198.51.100.7 3 quarantine dkim=fail spf=fail
	// receiver.example example.com 2026-01-01 2 records
}
