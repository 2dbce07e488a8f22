// Command genreports writes DMARC aggregate reports for benchmarks, as
// receivers send them: each a message with a gzip-compressed XML report of
// -records records (sources from the pools and elsewhere, mixed results),
// one file per report in -dir, every report with its own ID.
package main

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
)

func main() {
	dir := flag.String("dir", "", "directory to write the reports in")
	files := flag.Int("files", 100, "how many reports")
	records := flag.Int("records", 2000, "records per report")
	flag.Parse()
	if *dir == "" {
		fmt.Fprintln(os.Stderr, "genreports: give -dir")
		os.Exit(2)
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	results := []string{"pass", "pass", "pass", "fail", "softfail", "none"}
	for f := range *files {
		var x bytes.Buffer
		begin := 1767225600 + f*86400
		fmt.Fprintf(&x, `<?xml version="1.0" encoding="UTF-8"?>
<feedback xmlns="urn:ietf:params:xml:ns:dmarc-2.0"><version>1.0</version>
<report_metadata><org_name>google.com</org_name><email>noreply-dmarc-support@google.com</email><report_id>bench-%d</report_id>
<date_range><begin>%d</begin><end>%d</end></date_range></report_metadata>
<policy_published><domain>example.com</domain><adkim>r</adkim><aspf>r</aspf><p>none</p><sp>none</sp><np>none</np></policy_published>
`, f, begin, begin+86399)
		for i := range *records {
			d, s := results[rnd.IntN(len(results))], results[rnd.IntN(len(results))]
			ev := func(r string) string {
				if r == "pass" {
					return "pass"
				}
				return "fail"
			}
			fmt.Fprintf(&x, `<record><row><source_ip>203.0.%d.%d</source_ip><count>%d</count><policy_evaluated><disposition>none</disposition><dkim>%s</dkim><spf>%s</spf></policy_evaluated></row>
<identifiers><envelope_from>bounces.example.com</envelope_from><header_from>example.com</header_from></identifiers>
<auth_results><dkim><domain>example.com</domain><selector>s1</selector><result>%s</result></dkim><spf><domain>bounces.example.com</domain><scope>mfrom</scope><result>%s</result></spf></auth_results></record>
`, i/250%250, i%250, rnd.IntN(50)+1, ev(d), ev(s), d, s)
		}
		x.WriteString("</feedback>\n")
		var gz bytes.Buffer
		w := gzip.NewWriter(&gz)
		w.Write(x.Bytes())
		w.Close()
		b64 := base64.StdEncoding.EncodeToString(gz.Bytes())
		var m bytes.Buffer
		fmt.Fprintf(&m, "From: noreply-dmarc-support@google.com\r\nTo: dmarc@example.com\r\nSubject: Report domain: example.com Submitter: google.com Report-ID: bench-%d\r\nMessage-ID: <bench-%d@google.com>\r\nMIME-Version: 1.0\r\nContent-Type: application/gzip; name=\"google.com!example.com!%d!%d.xml.gz\"\r\nContent-Transfer-Encoding: base64\r\n\r\n", f, f, begin, begin+86399)
		for len(b64) > 76 {
			m.WriteString(b64[:76] + "\r\n")
			b64 = b64[76:]
		}
		m.WriteString(b64 + "\r\n")
		if err := os.WriteFile(filepath.Join(*dir, fmt.Sprintf("report-%05d.eml", f)), m.Bytes(), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "genreports:", err)
			os.Exit(1)
		}
	}
}
