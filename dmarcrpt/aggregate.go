package dmarcrpt

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/encoding/htmlindex"
)

// Namespaces of the aggregate report schemas.
const (
	// NamespaceDMARC2 is RFC 9990's.
	NamespaceDMARC2 = "urn:ietf:params:xml:ns:dmarc-2.0"
)

// Disposition is what the receiver did with the messages of a record
// (RFC 9990 section 3.1.1.6): none, quarantine or reject.
type Disposition string

const (
	DispositionNone       Disposition = "none"
	DispositionQuarantine Disposition = "quarantine"
	DispositionReject     Disposition = "reject"
)

// Verdict is DMARC's evaluation of one mechanism for a record (the
// policy_evaluated dkim and spf elements): pass means the mechanism passed
// and was aligned with the From domain.
type Verdict string

const (
	VerdictPass Verdict = "pass"
	VerdictFail Verdict = "fail"
)

// AuthResult is the raw result of a DKIM or SPF check (auth_results): the
// words of RFC 8601 section 2.7.
type AuthResult string

const (
	AuthNone      AuthResult = "none"
	AuthPass      AuthResult = "pass"
	AuthFail      AuthResult = "fail"
	AuthSoftfail  AuthResult = "softfail"
	AuthNeutral   AuthResult = "neutral"
	AuthPolicy    AuthResult = "policy"
	AuthTempError AuthResult = "temperror"
	AuthPermError AuthResult = "permerror"
)

// Feedback is an aggregate report's header: who reports, on what period,
// about which domain's policy.
type Feedback struct {
	// Namespace is the XML namespace of the root: NamespaceDMARC2, "" for
	// RFC 7489 and the draft schema.
	Namespace string
	Version   string
	Metadata  Metadata
	Policy    PolicyPublished
	// Records is the number of records read.
	Records int
}

// Metadata is report_metadata.
type Metadata struct {
	OrgName          string
	Email            string
	ExtraContactInfo string
	ReportID         string
	Begin, End       time.Time
	Errors           []string
	Generator        string // RFC 9990
}

// PolicyPublished is the DMARC record the reporter found, each tag as the
// report gives it ("" when absent, not its default).
type PolicyPublished struct {
	Domain          string
	DiscoveryMethod string // RFC 9990: psl or treewalk
	ADKIM, ASPF     string
	P, SP, NP       string
	Pct             string // RFC 7489 only
	Testing         string // RFC 9990 t=: y or n
	FO              string
}

// Record is one row of a report: messages from one source IP with the same
// identifiers and results.
type Record struct {
	SourceIP     string
	Count        uint64
	Disposition  Disposition
	DKIM, SPF    Verdict // policy_evaluated
	Reasons      []Reason
	HeaderFrom   string
	EnvelopeFrom string
	EnvelopeTo   string
	DKIMResults  []DKIMResult
	SPFResults   []SPFResult
}

// Reason is a policy override the receiver applied (forwarded,
// mailing_list, local_policy, policy_test_mode...).
type Reason struct {
	Type, Comment string
}

// DKIMResult is one DKIM signature's check.
type DKIMResult struct {
	Domain, Selector string
	Result           AuthResult
	HumanResult      string
}

// SPFResult is one SPF check: scope mfrom or helo.
type SPFResult struct {
	Domain, Scope string
	Result        AuthResult
	HumanResult   string
}

// Errors of aggregate reports, each with its reason in the message.
var (
	ErrNotAggregate = errors.New("dmarcrpt: not a DMARC aggregate report")
	ErrInvalid      = errors.New("dmarcrpt: invalid DMARC aggregate report")
	ErrTooMany      = errors.New("dmarcrpt: too many records")
)

// MaxRecords bounds the records of one report. Compressed reports are
// already bounded in size by their reader; this bounds plain ones.
const MaxRecords = 2_000_000

// raw shapes, matched by local name in any namespace.
type rawMetadata struct {
	OrgName          string   `xml:"org_name"`
	Email            string   `xml:"email"`
	ExtraContactInfo string   `xml:"extra_contact_info"`
	ReportID         string   `xml:"report_id"`
	Begin            string   `xml:"date_range>begin"`
	End              string   `xml:"date_range>end"`
	Errors           []string `xml:"error"`
	Generator        string   `xml:"generator"`
}

type rawPolicy struct {
	Domain          string `xml:"domain"`
	DiscoveryMethod string `xml:"discovery_method"`
	ADKIM           string `xml:"adkim"`
	ASPF            string `xml:"aspf"`
	P               string `xml:"p"`
	SP              string `xml:"sp"`
	NP              string `xml:"np"`
	Pct             string `xml:"pct"`
	Testing         string `xml:"testing"`
	FO              string `xml:"fo"`
}

type rawRecord struct {
	SourceIP    string      `xml:"row>source_ip"`
	Count       string      `xml:"row>count"`
	Disposition string      `xml:"row>policy_evaluated>disposition"`
	DKIM        string      `xml:"row>policy_evaluated>dkim"`
	SPF         string      `xml:"row>policy_evaluated>spf"`
	Reasons     []rawReason `xml:"row>policy_evaluated>reason"`
	HeaderFrom  string      `xml:"identifiers>header_from"`
	EnvFrom     string      `xml:"identifiers>envelope_from"`
	EnvTo       string      `xml:"identifiers>envelope_to"`
	DKIMResults []rawAuth   `xml:"auth_results>dkim"`
	SPFResults  []rawAuth   `xml:"auth_results>spf"`
}

type rawReason struct {
	Type    string `xml:"type"`
	Comment string `xml:"comment"`
}

type rawAuth struct {
	Domain      string `xml:"domain"`
	Selector    string `xml:"selector"`
	Scope       string `xml:"scope"`
	Result      string `xml:"result"`
	HumanResult string `xml:"human_result"`
}

// ReadAggregate reads an aggregate report (uncompressed XML) from r,
// calling onRecord for each record in order; an error from onRecord stops
// the reading and is returned. The Feedback is complete once it returns
// without error.
func ReadAggregate(r io.Reader, onRecord func(*Record) error) (*Feedback, error) {
	d := xml.NewDecoder(r)
	d.CharsetReader = charsetReader
	d.Strict = true
	fb := &Feedback{}
	// Find the root: XSD text or other elements may come before or around it.
	var root xml.StartElement
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return nil, fmt.Errorf("%w: no <feedback> element", ErrNotAggregate)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: the XML does not parse: %v", ErrNotAggregate, err)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "feedback" {
			root = se
			break
		}
	}
	fb.Namespace = root.Name.Space
	var seenMetadata, seenPolicy bool
	var rec Record
	var raw rawRecord
	for {
		tok, err := d.Token()
		if err != nil {
			if err == io.EOF {
				err = errors.New("the document ends inside <feedback>")
			}
			return nil, fmt.Errorf("%w: the XML does not parse: %v", ErrInvalid, err)
		}
		switch t := tok.(type) {
		case xml.EndElement:
			if t.Name.Local == "feedback" {
				return fb, finish(fb, seenMetadata, seenPolicy)
			}
		case xml.StartElement:
			switch t.Name.Local {
			case "version":
				var v string
				if err := d.DecodeElement(&v, &t); err != nil {
					return nil, fmt.Errorf("%w: <version>: %v", ErrInvalid, err)
				}
				fb.Version = strings.TrimSpace(v)
			case "report_metadata":
				var m rawMetadata
				if err := d.DecodeElement(&m, &t); err != nil {
					return nil, fmt.Errorf("%w: <report_metadata>: %v", ErrInvalid, err)
				}
				if fb.Metadata, err = m.metadata(); err != nil {
					return nil, err
				}
				seenMetadata = true
			case "policy_published":
				var p rawPolicy
				if err := d.DecodeElement(&p, &t); err != nil {
					return nil, fmt.Errorf("%w: <policy_published>: %v", ErrInvalid, err)
				}
				fb.Policy = p.policy()
				seenPolicy = true
			case "record":
				raw = rawRecord{}
				if err := d.DecodeElement(&raw, &t); err != nil {
					return nil, fmt.Errorf("%w: record %d: %v", ErrInvalid, fb.Records+1, err)
				}
				if fb.Records >= MaxRecords {
					return nil, fmt.Errorf("%w: more than %d in one report", ErrTooMany, MaxRecords)
				}
				fb.Records++
				if err := raw.record(&rec); err != nil {
					return nil, fmt.Errorf("%w: record %d: %v", ErrInvalid, fb.Records, err)
				}
				if onRecord != nil {
					if err := onRecord(&rec); err != nil {
						return nil, err
					}
				}
			default:
				if err := d.Skip(); err != nil { // extension, or elements of no schema
					return nil, fmt.Errorf("%w: <%s>: %v", ErrInvalid, t.Name.Local, err)
				}
			}
		}
	}
}

// ParseAggregate reads a whole report into memory: its header and records.
func ParseAggregate(data []byte) (*Feedback, []Record, error) {
	var recs []Record
	fb, err := ReadAggregate(bytes.NewReader(data), func(r *Record) error {
		c := *r
		c.Reasons = append([]Reason(nil), r.Reasons...)
		c.DKIMResults = append([]DKIMResult(nil), r.DKIMResults...)
		c.SPFResults = append([]SPFResult(nil), r.SPFResults...)
		recs = append(recs, c)
		return nil
	})
	return fb, recs, err
}

func finish(fb *Feedback, seenMetadata, seenPolicy bool) error {
	switch {
	case !seenMetadata:
		return fmt.Errorf("%w: no <report_metadata>", ErrInvalid)
	case fb.Metadata.ReportID == "":
		return fmt.Errorf("%w: no <report_id> in <report_metadata>: the report cannot be told from others", ErrInvalid)
	case !seenPolicy || fb.Policy.Domain == "":
		return fmt.Errorf("%w: no <domain> in <policy_published>: the report names no domain", ErrInvalid)
	}
	return nil
}

func (m *rawMetadata) metadata() (Metadata, error) {
	out := Metadata{OrgName: clean(m.OrgName), Email: clean(m.Email), ExtraContactInfo: clean(m.ExtraContactInfo),
		ReportID: clean(m.ReportID), Generator: clean(m.Generator)}
	for _, e := range m.Errors {
		if e = clean(e); e != "" {
			out.Errors = append(out.Errors, e)
		}
	}
	var err error
	if out.Begin, err = unixTime(m.Begin); err != nil {
		return out, fmt.Errorf("%w: <date_range><begin>: %v", ErrInvalid, err)
	}
	if out.End, err = unixTime(m.End); err != nil {
		return out, fmt.Errorf("%w: <date_range><end>: %v", ErrInvalid, err)
	}
	if out.End.Before(out.Begin) {
		return out, fmt.Errorf("%w: <date_range> ends (%s) before it begins (%s)", ErrInvalid,
			out.End.Format(time.RFC3339), out.Begin.Format(time.RFC3339))
	}
	return out, nil
}

// unixTime reads seconds since the epoch, as the schema gives them.
func unixTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, errors.New("missing")
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not a number of seconds since 1970", s)
	}
	if n < 0 || n > 1<<40 {
		return time.Time{}, fmt.Errorf("%d is out of range", n)
	}
	return time.Unix(n, 0).UTC(), nil
}

func (p *rawPolicy) policy() PolicyPublished {
	return PolicyPublished{Domain: lowerDomain(p.Domain), DiscoveryMethod: lower(p.DiscoveryMethod),
		ADKIM: lower(p.ADKIM), ASPF: lower(p.ASPF), P: lower(p.P), SP: lower(p.SP), NP: lower(p.NP),
		Pct: clean(p.Pct), Testing: lower(p.Testing), FO: clean(p.FO)}
}

// record fills rec from the raw record, reusing its slices.
func (r *rawRecord) record(rec *Record) error {
	count := uint64(0)
	if c := strings.TrimSpace(r.Count); c != "" {
		n, err := strconv.ParseUint(c, 10, 64)
		if err != nil {
			return fmt.Errorf("<count> %q is not a number of messages", clip(c))
		}
		count = n
	}
	*rec = Record{SourceIP: clean(r.SourceIP), Count: count, Disposition: Disposition(lower(r.Disposition)),
		DKIM: Verdict(lower(r.DKIM)), SPF: Verdict(lower(r.SPF)),
		HeaderFrom: lowerDomain(r.HeaderFrom), EnvelopeFrom: clean(r.EnvFrom), EnvelopeTo: clean(r.EnvTo),
		Reasons: rec.Reasons[:0], DKIMResults: rec.DKIMResults[:0], SPFResults: rec.SPFResults[:0]}
	for _, x := range r.Reasons {
		rec.Reasons = append(rec.Reasons, Reason{Type: lower(x.Type), Comment: clean(x.Comment)})
	}
	for _, a := range r.DKIMResults {
		rec.DKIMResults = append(rec.DKIMResults, DKIMResult{Domain: lowerDomain(a.Domain), Selector: clean(a.Selector),
			Result: AuthResult(lower(a.Result)), HumanResult: clean(a.HumanResult)})
	}
	for _, a := range r.SPFResults {
		rec.SPFResults = append(rec.SPFResults, SPFResult{Domain: lowerDomain(a.Domain), Scope: lower(a.Scope),
			Result: AuthResult(lower(a.Result)), HumanResult: clean(a.HumanResult)})
	}
	return nil
}

// maxValue bounds every text kept from a report.
const maxValue = 1024

func clean(s string) string { return clip(strings.TrimSpace(s)) }

func clip(s string) string {
	if len(s) > maxValue {
		s = s[:maxValue]
	}
	return s
}

func lower(s string) string {
	s = clean(s)
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' || c >= 0x80 {
			return strings.ToLower(s)
		}
	}
	return s
}

func lowerDomain(s string) string { return strings.TrimSuffix(lower(s), ".") }

// charsetReader decodes the charsets reporters declare besides UTF-8
// (ISO-8859-1, windows-1252, ...).
func charsetReader(label string, input io.Reader) (io.Reader, error) {
	enc, err := htmlindex.Get(label)
	if err != nil {
		return nil, fmt.Errorf("unknown charset %q", clip(label))
	}
	return enc.NewDecoder().Reader(input), nil
}
