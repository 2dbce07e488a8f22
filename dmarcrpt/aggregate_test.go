package dmarcrpt

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"syscall"
	"testing"
	"time"
)

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

const rfc9990 = `<?xml version="1.0" encoding="UTF-8"?>
<feedback xmlns="urn:ietf:params:xml:ns:dmarc-2.0">
  <version>1.0</version>
  <report_metadata>
    <org_name>Receiver Example</org_name>
    <email>dmarc@receiver.example</email>
    <report_id>r-2026-1</report_id>
    <date_range><begin>1767225600</begin><end>1767311999</end></date_range>
    <generator>receiver-dmarc 2.1</generator>
  </report_metadata>
  <policy_published>
    <domain>Example.COM</domain>
    <discovery_method>treewalk</discovery_method>
    <adkim>r</adkim><aspf>s</aspf><p>quarantine</p><sp>reject</sp><np>reject</np><testing>y</testing>
  </policy_published>
  <extension><x:thing xmlns:x="urn:x">ignored</x:thing></extension>
  <record>
    <row><source_ip>203.0.113.10</source_ip><count>12</count>
      <policy_evaluated><disposition>none</disposition><dkim>pass</dkim><spf>fail</spf>
        <reason><type>policy_test_mode</type><comment>t=y</comment></reason></policy_evaluated></row>
    <identifiers><envelope_to>receiver.example</envelope_to><envelope_from>bounces.example.com</envelope_from><header_from>example.com</header_from></identifiers>
    <auth_results>
      <dkim><domain>example.com</domain><selector>s2026</selector><result>pass</result><human_result>good</human_result></dkim>
      <spf><domain>bounces.example.com</domain><scope>mfrom</scope><result>softfail</result></spf>
    </auth_results>
  </record>
</feedback>
`

const draft = `<?xml version="1.0"?>
<feedback><version>0.1</version>
<report_metadata><org_name>Old Reporter</org_name><email>x@old.example</email><report_id>old-1</report_id>
<date_range><begin>1559520000 </begin><end>1559606399	
</end></date_range></report_metadata>
<policy_published><domain>example.com</domain><adkim>r</adkim><aspf>r</aspf><p>none</p><pct>100</pct></policy_published>
<record><row><source_ip>198.51.100.7</source_ip><count> 3 </count><policy_evaluated><disposition>None</disposition><dkim>PASS</dkim><spf>Fail</spf></policy_evaluated></row>
<identifiers><header_from>example.com</header_from></identifiers>
<auth_results><dkim><domain>example.com</domain><result>Pass</result></dkim><spf><domain>example.com</domain><result>HardFail</result></spf></auth_results></record>
</feedback>`

func TestReadAggregate(t *testing.T) {
	tests := []struct {
		name    string
		doc     string
		check   func(t *testing.T, fb *Feedback, recs []Record)
		wantErr error
		errText string
	}{
		{name: "rfc9990", doc: rfc9990, check: func(t *testing.T, fb *Feedback, recs []Record) {
			if fb.Namespace != NamespaceDMARC2 || fb.Version != "1.0" {
				t.Errorf("namespace %q version %q", fb.Namespace, fb.Version)
			}
			m := fb.Metadata
			if m.OrgName != "Receiver Example" || m.ReportID != "r-2026-1" || m.Generator != "receiver-dmarc 2.1" ||
				!m.Begin.Equal(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) || m.End.Unix() != 1767311999 {
				t.Errorf("metadata %+v", m)
			}
			want := PolicyPublished{Domain: "example.com", DiscoveryMethod: "treewalk", ADKIM: "r", ASPF: "s", P: "quarantine", SP: "reject", NP: "reject", Testing: "y"}
			if fb.Policy != want {
				t.Errorf("policy %+v, want %+v", fb.Policy, want)
			}
			if len(recs) != 1 {
				t.Fatalf("%d records", len(recs))
			}
			r := recs[0]
			if r.SourceIP != "203.0.113.10" || r.Count != 12 || r.Disposition != DispositionNone || r.DKIM != VerdictPass || r.SPF != VerdictFail ||
				r.HeaderFrom != "example.com" || r.EnvelopeFrom != "bounces.example.com" || r.EnvelopeTo != "receiver.example" {
				t.Errorf("record %+v", r)
			}
			if len(r.Reasons) != 1 || r.Reasons[0].Type != "policy_test_mode" {
				t.Errorf("reasons %+v", r.Reasons)
			}
			if len(r.DKIMResults) != 1 || r.DKIMResults[0] != (DKIMResult{Domain: "example.com", Selector: "s2026", Result: AuthPass, HumanResult: "good"}) {
				t.Errorf("dkim %+v", r.DKIMResults)
			}
			if len(r.SPFResults) != 1 || r.SPFResults[0] != (SPFResult{Domain: "bounces.example.com", Scope: "mfrom", Result: AuthSoftfail}) {
				t.Errorf("spf %+v", r.SPFResults)
			}
		}},
		{name: "draft schema, mixed case, spaces and tabs in numbers", doc: draft, check: func(t *testing.T, fb *Feedback, recs []Record) {
			if fb.Namespace != "" || fb.Version != "0.1" || fb.Policy.Pct != "100" || fb.Policy.SP != "" || fb.Policy.NP != "" {
				t.Errorf("feedback %+v", fb)
			}
			if fb.Metadata.End.Unix() != 1559606399 {
				t.Errorf("end %v", fb.Metadata.End)
			}
			r := recs[0]
			if r.Count != 3 || r.Disposition != DispositionNone || r.DKIM != VerdictPass || r.SPF != VerdictFail ||
				r.DKIMResults[0].Result != AuthPass || r.SPFResults[0].Result != "hardfail" {
				t.Errorf("record %+v", r)
			}
		}},
		{name: "XSD text before and around the root", doc: `<?xml version="1.0"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"><xs:element name="feedback"/></xs:schema>
` + strings.TrimPrefix(draft, `<?xml version="1.0"?>`), check: func(t *testing.T, fb *Feedback, recs []Record) {
			if fb.Metadata.ReportID != "old-1" || len(recs) != 1 {
				t.Errorf("feedback %+v, %d records", fb, len(recs))
			}
		}},
		{name: "prefixed namespace", doc: strings.ReplaceAll(strings.ReplaceAll(rfc9990, "<feedback xmlns=", "<d:feedback xmlns:d="), "</feedback>", "</d:feedback>"),
			check: func(t *testing.T, fb *Feedback, recs []Record) {
				if fb.Namespace != NamespaceDMARC2 || len(recs) != 1 {
					t.Errorf("feedback %+v", fb)
				}
			}},
		{name: "ISO-8859-1", doc: "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>" + strings.Replace(strings.TrimPrefix(draft, `<?xml version="1.0"?>`), "Old Reporter", "M\xfcller", 1),
			check: func(t *testing.T, fb *Feedback, recs []Record) {
				if fb.Metadata.OrgName != "Müller" {
					t.Errorf("org %q", fb.Metadata.OrgName)
				}
			}},
		{name: "empty elements and zero count", doc: strings.Replace(draft, `<row><source_ip>198.51.100.7</source_ip><count> 3 </count>`, `<row><source_ip/><count/>`, 1),
			check: func(t *testing.T, fb *Feedback, recs []Record) {
				if recs[0].SourceIP != "" || recs[0].Count != 0 {
					t.Errorf("record %+v", recs[0])
				}
			}},
		{name: "no records", doc: strings.Split(draft, "<record>")[0] + "</feedback>", check: func(t *testing.T, fb *Feedback, recs []Record) {
			if fb.Records != 0 || len(recs) != 0 {
				t.Errorf("%d records", fb.Records)
			}
		}},
		{name: "not XML", doc: "unused", wantErr: ErrNotAggregate, errText: "no <feedback>"},
		{name: "another XML document", doc: `<?xml version="1.0"?><html><body/></html>`, wantErr: ErrNotAggregate, errText: "no <feedback>"},
		{name: "broken XML", doc: strings.Replace(draft, "</policy_published>", "</policy>", 1), wantErr: ErrInvalid, errText: "policy_published"},
		{name: "cut short", doc: draft[:len(draft)/2], wantErr: ErrInvalid, errText: "does not parse"},
		{name: "no report id", doc: strings.Replace(draft, "<report_id>old-1</report_id>", "", 1), wantErr: ErrInvalid, errText: "report_id"},
		{name: "no domain", doc: strings.Replace(draft, "<domain>example.com</domain><adkim>", "<adkim>", 1), wantErr: ErrInvalid, errText: "no <domain>"},
		{name: "no metadata", doc: strings.Replace(draft, "<report_metadata>", "<report_meta>", 1), wantErr: ErrInvalid},
		{name: "count not a number", doc: strings.Replace(draft, "<count> 3 </count>", "<count>three</count>", 1), wantErr: ErrInvalid, errText: `"three" is not a number`},
		{name: "negative count", doc: strings.Replace(draft, "<count> 3 </count>", "<count>-3</count>", 1), wantErr: ErrInvalid, errText: "record 1"},
		{name: "begin not a number", doc: strings.Replace(draft, "1559520000 ", "yesterday", 1), wantErr: ErrInvalid, errText: "begin"},
		{name: "ends before it begins", doc: strings.Replace(draft, "1559606399", "1559000000", 1), wantErr: ErrInvalid, errText: "ends"},
		{name: "unknown charset", doc: `<?xml version="1.0" encoding="x-klingon"?><feedback/>`, wantErr: ErrNotAggregate, errText: "klingon"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fb, recs, err := ParseAggregate([]byte(tt.doc))
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), tt.errText) {
					t.Fatalf("err = %v, want %v containing %q", err, tt.wantErr, tt.errText)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, fb, recs)
		})
	}
}

// genReport writes an aggregate report of n records.
func genReport(w io.Writer, n int) {
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>
<feedback xmlns="urn:ietf:params:xml:ns:dmarc-2.0"><version>1.0</version>
<report_metadata><org_name>google.com</org_name><email>noreply-dmarc-support@google.com</email><report_id>%d</report_id>
<date_range><begin>1767225600</begin><end>1767311999</end></date_range></report_metadata>
<policy_published><domain>example.com</domain><adkim>r</adkim><aspf>r</aspf><p>reject</p><sp>reject</sp><np>reject</np></policy_published>
`, n)
	for i := range n {
		fmt.Fprintf(w, `<record><row><source_ip>203.0.%d.%d</source_ip><count>%d</count><policy_evaluated><disposition>none</disposition><dkim>pass</dkim><spf>pass</spf></policy_evaluated></row>
<identifiers><envelope_from>bounces.example.com</envelope_from><header_from>example.com</header_from></identifiers>
<auth_results><dkim><domain>example.com</domain><selector>s1</selector><result>pass</result></dkim><spf><domain>bounces.example.com</domain><scope>mfrom</scope><result>pass</result></spf></auth_results></record>
`, i/256%256, i%256, i%7+1)
	}
	io.WriteString(w, "</feedback>\n")
}

// A report of 100,000 records is read in full, one record at a time.
func TestReadAggregateLarge(t *testing.T) {
	var buf bytes.Buffer
	genReport(&buf, 100_000)
	var n int
	var total uint64
	fb, err := ReadAggregate(buf.Bytes(), func(r *Record) error {
		n++
		total += r.Count
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != 100_000 || fb.Records != n {
		t.Fatalf("%d records read, %d counted", n, fb.Records)
	}
	want := uint64(0)
	for i := range 100_000 {
		want += uint64(i%7 + 1)
	}
	if total != want {
		t.Errorf("messages %d, want %d", total, want)
	}
}

// A callback error stops the reading.
func TestReadAggregateStops(t *testing.T) {
	var buf bytes.Buffer
	genReport(&buf, 10)
	stop := errors.New("stop")
	n := 0
	_, err := ReadAggregate(buf.Bytes(), func(*Record) error {
		n++
		if n == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 3 {
		t.Fatalf("err %v after %d records", err, n)
	}
}

// BenchmarkReadAggregate reads a 2,000-record report; records/s is the
// figure to compare (mox's parser: about 65,000 per core).
func BenchmarkReadAggregate(b *testing.B) {
	var buf bytes.Buffer
	genReport(&buf, 2000)
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		if _, err := ReadAggregate(data, func(*Record) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(2000*b.N)/b.Elapsed().Seconds(), "records/s")
	// On a shared machine wall time counts the others' work too: records
	// per second of this process's CPU time (GC included) is one core's rate.
	b.ReportMetric(float64(2000*b.N)/(cpuTime()-cpu0).Seconds(), "records/cpu-s")
}

func FuzzReadAggregate(f *testing.F) {
	f.Add([]byte(rfc9990))
	f.Add([]byte(draft))
	f.Add([]byte("<feedback><record><row><count>1</count></row></record></feedback>"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fb, recs, err := ParseAggregate(data)
		if err != nil {
			if !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrNotAggregate) && !errors.Is(err, ErrTooMany) {
				t.Fatalf("error without a sentinel: %v", err)
			}
			return
		}
		if fb.Metadata.ReportID == "" || fb.Policy.Domain == "" || fb.Records != len(recs) {
			t.Fatalf("accepted without report ID or domain, or records miscounted: %+v", fb)
		}
		for _, r := range recs {
			if strings.ToLower(string(r.DKIM)) != string(r.DKIM) || strings.ToLower(string(r.Disposition)) != string(r.Disposition) {
				t.Fatalf("result words not lower-cased: %+v", r)
			}
		}
	})
}
