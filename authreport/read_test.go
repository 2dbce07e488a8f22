package authreport

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
)

const aggXML = `<?xml version="1.0" encoding="UTF-8"?>
<feedback><report_metadata><org_name>google.com</org_name><email>noreply-dmarc-support@google.com</email><report_id>1234</report_id>
<date_range><begin>1767225600</begin><end>1767311999</end></date_range></report_metadata>
<policy_published><domain>example.com</domain><adkim>r</adkim><aspf>r</aspf><p>none</p><sp>none</sp><pct>100</pct></policy_published>
<record><row><source_ip>203.0.113.10</source_ip><count>4</count><policy_evaluated><disposition>none</disposition><dkim>pass</dkim><spf>pass</spf></policy_evaluated></row>
<identifiers><header_from>example.com</header_from></identifiers><auth_results><dkim><domain>example.com</domain><selector>s1</selector><result>pass</result></dkim><spf><domain>bounces.example.com</domain><result>pass</result></spf></auth_results></record>
</feedback>
`

const tlsJSON = `{"organization-name":"Google Inc.","date-range":{"start-datetime":"2026-01-01T00:00:00Z","end-datetime":"2026-01-01T23:59:59Z"},"contact-info":"smtp-tls-reporting@google.com","report-id":"2026-01-01T00:00:00Z_example.com","policies":[{"policy":{"policy-type":"sts","policy-string":["version: STSv1","mode: enforce"],"policy-domain":"example.com","mx-host":"mx.example.com"},"summary":{"total-successful-session-count":3,"total-failure-session-count":1},"failure-details":[{"result-type":"certificate-expired","sending-mta-ip":"209.85.220.41","receiving-mx-hostname":"mx.example.com","failed-session-count":1}]}]}`

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func zipOf(files map[string][]byte) []byte {
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for name, data := range files {
		f, _ := w.Create(name)
		f.Write(data)
	}
	w.Close()
	return buf.Bytes()
}

func b64(b []byte) string {
	s := base64.StdEncoding.EncodeToString(b)
	var out strings.Builder
	for len(s) > 76 {
		out.WriteString(s[:76] + "\r\n")
		s = s[76:]
	}
	return out.String() + s + "\r\n"
}

// message builds a report message: a text part and one attachment.
func reportMessage(ct, name string, body []byte) []byte {
	return []byte("From: noreply-dmarc-support@google.com\r\nTo: dmarc@example.com\r\nMessage-ID: <r1@google.com>\r\n" +
		"Date: Fri, 02 Jan 2026 10:00:00 +0000\r\nSubject: Report domain: example.com\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThis is an aggregate report.\r\n" +
		"--b1\r\nContent-Type: " + ct + "; name=\"" + name + "\"\r\nContent-Disposition: attachment; filename=\"" + name + "\"\r\n" +
		"Content-Transfer-Encoding: base64\r\n\r\n" + b64(body) + "--b1--\r\n")
}

// padded is the aggregate report grown to size bytes with white space.
func padded(size int) []byte {
	return append([]byte(aggXML), bytes.Repeat([]byte(" "), size-len(aggXML))...)
}

func bomb(size int) []byte {
	var buf bytes.Buffer
	w, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	chunk := make([]byte, 1<<20)
	for i := 0; i < size; i += len(chunk) {
		w.Write(chunk)
	}
	w.Close()
	return buf.Bytes()
}

func TestRead(t *testing.T) {
	agg := []byte(aggXML)
	tests := []struct {
		name    string
		raw     []byte
		kinds   []Kind   // of each report read
		errs    []string // "" for a report read, else a text its error holds
		records int      // records of the first report
	}{
		{name: "plain XML", raw: agg, kinds: []Kind{KindAggregate}, errs: []string{""}, records: 1},
		{name: "xml.gz", raw: gz(agg), kinds: []Kind{KindAggregate}, errs: []string{""}, records: 1},
		{name: "gzip in gzip", raw: gz(gz(agg)), kinds: []Kind{KindAggregate}, errs: []string{""}, records: 1},
		{name: "zip", raw: zipOf(map[string][]byte{"a.xml": agg}), kinds: []Kind{KindAggregate}, errs: []string{""}, records: 1},
		{name: "gzip with bytes after it", raw: append(gz(agg), "trailing junk\x00\x01"...), kinds: []Kind{KindAggregate}, errs: []string{""}, records: 1},
		{name: "zip in gzip", raw: gz(zipOf(map[string][]byte{"a.xml": agg})), kinds: []Kind{KindAggregate}, errs: []string{""}, records: 1},
		{name: "four layers deep", raw: gz(gz(gz(gz(agg)))), kinds: []Kind{KindUnknown}, errs: []string{"nested more than"}},
		{name: "gzip bomb", raw: bomb(64 << 20), kinds: []Kind{KindUnknown}, errs: []string{"decompression bomb"}},
		{name: "zip bomb", raw: zipOf(map[string][]byte{"a.xml": make([]byte, 30<<20)}), kinds: []Kind{KindAggregate}, errs: []string{"decompression bomb"}},
		{name: "zip of bombs sharing one budget", raw: zipOf(map[string][]byte{"a.xml": padded(12 << 20), "b.xml": padded(12 << 20)}),
			errs: []string{"", "decompression bomb"}},
		{name: "gzip whose content is the word unused", raw: gz([]byte("unused")), kinds: []Kind{KindUnknown}, errs: []string{`neither XML nor JSON (it starts "unused")`}},
		{name: "gzip cut short", raw: gz(agg)[:60], kinds: []Kind{KindUnknown}, errs: []string{"cut short"}},
		{name: "empty zip", raw: zipOf(nil), kinds: []Kind{KindUnknown}, errs: []string{"empty"}},
		{name: "TLS report JSON", raw: []byte(tlsJSON), kinds: []Kind{KindTLS}, errs: []string{""}},
		{name: "TLS report of the wrong shape", raw: []byte(`{"report-id":"x","policies":"none"}`), kinds: []Kind{KindTLS}, errs: []string{`"policies"`}},
		{name: "message with an xml.gz attachment", raw: reportMessage("application/gzip", "google.com!example.com!1767225600!1767311999.xml.gz", gz(agg)),
			kinds: []Kind{KindAggregate}, errs: []string{""}, records: 1},
		{name: "message with LF line ends", raw: bytes.ReplaceAll(reportMessage("application/zip", "r.zip", zipOf(map[string][]byte{"r.xml": agg})), []byte("\r\n"), []byte("\n")),
			kinds: []Kind{KindAggregate}, errs: []string{""}, records: 1},
		{name: "zip sent as octet-stream", raw: reportMessage("application/octet-stream", "r.zip", zipOf(map[string][]byte{"r.xml": agg})),
			kinds: []Kind{KindAggregate}, errs: []string{""}, records: 1},
		{name: "message whose body is the zip", raw: []byte("From: dmarc@gmx.example\r\nSubject: report\r\nContent-Type: application/x-zip-compressed; name=r.zip\r\nContent-Transfer-Encoding: base64\r\n\r\n" + b64(zipOf(map[string][]byte{"r.xml": agg}))),
			kinds: []Kind{KindAggregate}, errs: []string{""}, records: 1},
		{name: "TLS report message", raw: []byte("From: tls@google.example\r\nSubject: Report\r\nTLS-Report-Domain: example.com\r\nContent-Type: multipart/report; report-type=tlsrpt; boundary=x\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\nhello\r\n--x\r\nContent-Type: application/tlsrpt+gzip\r\nContent-Transfer-Encoding: base64\r\n\r\n" + b64(gz([]byte(tlsJSON))) + "--x--\r\n"),
			kinds: []Kind{KindTLS}, errs: []string{""}},
		{name: "failure report message", raw: []byte("From: dmarc@receiver.example\r\nMessage-ID: <f1@receiver.example>\r\nSubject: failure\r\nContent-Type: multipart/report; report-type=feedback-report; boundary=x\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\nA message failed.\r\n--x\r\nContent-Type: message/feedback-report\r\n\r\nFeedback-Type: auth-failure\r\nAuth-Failure: dmarc\r\nSource-IP: 198.51.100.7\r\nReported-Domain: example.com\r\nIdentity-Alignment: none\r\n\r\n--x\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: a@example.com\r\n\r\n--x--\r\n"),
			kinds: []Kind{KindFailure}, errs: []string{""}},
		{name: "an abuse complaint is not ours", raw: []byte("From: fbl@receiver.example\r\nContent-Type: multipart/report; report-type=feedback-report; boundary=x\r\n\r\n--x\r\nContent-Type: message/feedback-report\r\n\r\nFeedback-Type: abuse\r\n\r\n--x--\r\n"),
			kinds: []Kind{KindUnknown}, errs: []string{"complaint"}},
		{name: "message without a report", raw: []byte("From: someone@example.net\r\nSubject: hello\r\nContent-Type: text/plain\r\n\r\nhi\r\n"),
			kinds: []Kind{KindUnknown}, errs: []string{"parts: text/plain"}},
		{name: "message with a broken attachment", raw: reportMessage("application/gzip", "r.xml.gz", []byte("\x1f\x8bnot really")),
			kinds: []Kind{KindAggregate}, errs: []string{"gzip"}},
		{name: "binary junk", raw: []byte{0, 1, 2, 3, 0xff}, kinds: []Kind{KindUnknown}, errs: []string{"neither XML nor JSON"}},
		{name: "invalid XML", raw: []byte("<feedback><report_metadata></feedback>"), kinds: []Kind{KindAggregate}, errs: []string{"closed by"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reps := Read("f", tt.raw)
			if len(reps) != len(tt.errs) {
				t.Fatalf("%d reports, want %d: %+v", len(reps), len(tt.errs), reps)
			}
			for i, r := range reps {
				if tt.kinds != nil && r.Kind != tt.kinds[i] {
					t.Errorf("report %d: kind %s, want %s (err %v)", i, r.Kind, tt.kinds[i], r.Err)
				}
				switch {
				case tt.errs[i] == "" && r.Err != nil:
					t.Errorf("report %d refused: %v", i, r.Err)
				case tt.errs[i] != "" && (r.Err == nil || !strings.Contains(r.Err.Error(), tt.errs[i])):
					t.Errorf("report %d: err %v, want one saying %q", i, r.Err, tt.errs[i])
				}
			}
			if tt.records > 0 && len(reps[0].Records) != tt.records {
				t.Errorf("%d records, want %d", len(reps[0].Records), tt.records)
			}
		})
	}
}

// The JSON form follows the documented shape: a string mx-host becomes a
// list, an absent policy tag is "", counts are numbers.
func TestJSON(t *testing.T) {
	r := Read("t.json", []byte(tlsJSON))[0]
	j := r.JSON()
	if j.Kind != KindTLS || j.Org != "Google Inc." || j.Begin != "2026-01-01T00:00:00Z" || j.Policies == nil {
		t.Fatalf("json %+v", j)
	}
	if p := (*j.Policies)[0]; len(p.MXHost) != 1 || p.MXHost[0] != "mx.example.com" || p.Failures[0].FailedSessionCount != 1 {
		t.Errorf("policy %+v", p)
	}
	a := Read("a.xml", []byte(strings.Replace(aggXML, "<sp>none</sp>", "", 1)))[0].JSON()
	if a.Policy == nil || a.Policy.SP != "" || a.Policy.Pct != "100" || a.Policy.NP != "" || a.Domain != "example.com" {
		t.Errorf("policy %+v", a.Policy)
	}
	if recs := *a.Records; len(recs) != 1 || recs[0].Count != 4 || recs[0].DKIMResults[0].Selector != "s1" {
		t.Errorf("records %+v", recs)
	}
	f := Read("f", []byte("From: x\r\nContent-Type: message/feedback-report\r\n\r\nFeedback-Type: auth-failure\r\nAuth-Failure: spf\r\n"))[0].JSON()
	if f.Kind != KindFailure || f.AuthFailure == nil || *f.AuthFailure != "spf" || f.Records != nil {
		t.Errorf("failure %+v", f)
	}
	bad := Read("b", []byte("junk"))[0].JSON()
	if bad.Error == "" || bad.Kind != KindUnknown {
		t.Errorf("refused %+v", bad)
	}
}

func FuzzRead(f *testing.F) {
	f.Add([]byte(aggXML))
	f.Add(gz([]byte(aggXML)))
	f.Add(zipOf(map[string][]byte{"a": []byte(tlsJSON)}))
	f.Add(reportMessage("application/gzip", "r.xml.gz", gz([]byte(aggXML))))
	f.Fuzz(func(t *testing.T, data []byte) {
		reps := Read("fuzz", data)
		if len(reps) == 0 {
			t.Fatal("no report, not even a refusal")
		}
		for _, r := range reps {
			if r.Err == nil && r.Kind == KindUnknown {
				t.Fatalf("an unknown report without a reason: %+v", r)
			}
			if r.Err == nil && r.ID() == "" {
				t.Fatalf("a report without an ID: %+v", r)
			}
			_ = fmt.Sprint(r.JSON())
		}
	})
}

func TestErrorsAreSentinels(t *testing.T) {
	r := Read("b", bomb(30<<20))[0]
	if !errors.Is(r.Err, ErrTooLarge) {
		t.Errorf("bomb: %v", r.Err)
	}
	r = Read("n", gz(gz(gz(gz([]byte(aggXML))))))[0]
	if !errors.Is(r.Err, ErrNested) {
		t.Errorf("nested: %v", r.Err)
	}
}

// Tolerated oddities: the report inline in a text part, UTF-16, fractional
// seconds, NUL padding after a TLS report.
func TestReadOddities(t *testing.T) {
	utf16 := []byte{0xff, 0xfe}
	for _, r := range strings.Replace(aggXML, `encoding="UTF-8"`, `encoding="UTF-16"`, 1) {
		utf16 = append(utf16, byte(r), byte(r>>8))
	}
	tests := []struct {
		name string
		raw  []byte
		kind Kind
	}{
		{"inline in the text", []byte("From: dmarc@small.example\r\nSubject: Report Domain: example.com\r\nContent-Type: text/plain\r\n\r\n" + aggXML), KindAggregate},
		{"UTF-16 with its mark", utf16, KindAggregate},
		{"fractional seconds", []byte(strings.Replace(aggXML, "<begin>1767225600</begin>", "<begin>1767225600.0</begin>", 1)), KindAggregate},
		{"NUL padding", append([]byte(tlsJSON), 0, 0, 0), KindTLS},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reps := Read("f", tt.raw)
			if len(reps) != 1 || reps[0].Err != nil || reps[0].Kind != tt.kind || reps[0].ID() == "" {
				t.Fatalf("%+v", reps)
			}
		})
	}
}
