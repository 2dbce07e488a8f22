package dmarcrpt

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
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

// ReadAggregate reads an aggregate report (uncompressed XML), calling
// onRecord for each record in order; an error from onRecord stops the
// reading and is returned. The record passed is reused for the next one:
// copy what is kept. The Feedback is complete once it returns without
// error.
func ReadAggregate(data []byte, onRecord func(*Record) error) (*Feedback, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	data, err := toUTF8(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotAggregate, err)
	}
	s := &xmlScanner{data: data}
	// Find the root: XSD text or other elements may come before or around it.
	for {
		tok, err := s.next()
		if err != nil {
			return nil, fmt.Errorf("%w: the XML does not parse: %v", ErrNotAggregate, err)
		}
		if tok == tokEOF {
			return nil, fmt.Errorf("%w: no <feedback> element", ErrNotAggregate)
		}
		if tok == tokStart && string(s.name) == "feedback" {
			break
		}
	}
	fb := &Feedback{Namespace: rootNamespace(s.data, s.pos)}
	r := aggReader{s: s, fb: fb, rootDepth: len(s.stack), onRecord: onRecord}
	if err := r.run(); err != nil {
		return nil, err
	}
	return fb, finish(fb, r.seenMetadata, r.seenPolicy)
}

// ParseAggregate reads a whole report into memory: its header and records.
func ParseAggregate(data []byte) (*Feedback, []Record, error) {
	var recs []Record
	fb, err := ReadAggregate(data, func(r *Record) error {
		c := *r
		c.Reasons = append([]Reason(nil), r.Reasons...)
		c.DKIMResults = append([]DKIMResult(nil), r.DKIMResults...)
		c.SPFResults = append([]SPFResult(nil), r.SPFResults...)
		recs = append(recs, c)
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return fb, recs, nil
}

// rootNamespace is the default namespace the <feedback> start tag ending
// before pos declares (xmlns="..." or xmlns:PREFIX="..." for a prefixed
// root).
func rootNamespace(data []byte, pos int) string {
	start := bytes.LastIndexByte(data[:pos], '<')
	if start < 0 {
		return ""
	}
	tag := data[start:pos]
	prefix := ""
	if name := bytes.Fields(tag[1:]); len(name) > 0 {
		if i := bytes.IndexByte(name[0], ':'); i >= 0 {
			prefix = ":" + string(name[0][:i])
		}
	}
	attr := []byte("xmlns" + prefix + "=")
	for i := 0; ; {
		j := bytes.Index(tag[i:], attr)
		if j < 0 {
			return ""
		}
		i += j
		if c := tag[i-1]; isSpace(c) {
			v := tag[i+len(attr):]
			if len(v) > 1 && (v[0] == '"' || v[0] == '\'') {
				if end := bytes.IndexByte(v[1:], v[0]); end >= 0 {
					return string(v[1 : 1+end])
				}
			}
			return ""
		}
		i += len(attr)
	}
}

// aggReader walks the elements under <feedback>, by their path.
type aggReader struct {
	s            *xmlScanner
	fb           *Feedback
	rootDepth    int
	onRecord     func(*Record) error
	path         []string // local names below the root
	text         []byte
	meta         rawMetadata
	seenMetadata bool
	seenPolicy   bool
	rec          Record
	inRecord     bool
	count        string
}

type rawMetadata struct {
	OrgName, Email, ExtraContactInfo, ReportID, Begin, End, Generator string
	Errors                                                            []string
}

func (r *aggReader) run() error {
	s := r.s
	for {
		tok, err := s.next()
		if err != nil {
			return fmt.Errorf("%w: the XML does not parse: %v", ErrInvalid, err)
		}
		switch tok {
		case tokEOF:
			return fmt.Errorf("%w: the document ends inside <feedback>", ErrInvalid)
		case tokText:
			r.text = append(r.text, s.text...)
		case tokStart:
			r.path = append(r.path, internName(s.name))
			r.text = r.text[:0]
			r.start()
		case tokEnd:
			if len(s.stack) < r.rootDepth {
				return nil // </feedback>
			}
			if err := r.end(); err != nil {
				return err
			}
			r.path = r.path[:len(r.path)-1]
			r.text = r.text[:0]
		}
	}
}

// names interns the element names of the schemas, so that paths cost no
// allocation.
var names = map[string]string{}

func init() {
	for _, n := range []string{"version", "report_metadata", "org_name", "email", "extra_contact_info", "report_id",
		"date_range", "begin", "end", "error", "generator", "policy_published", "domain", "discovery_method", "adkim",
		"aspf", "p", "sp", "np", "pct", "testing", "fo", "record", "row", "source_ip", "count", "policy_evaluated",
		"disposition", "dkim", "spf", "reason", "type", "comment", "identifiers", "envelope_to", "envelope_from",
		"header_from", "auth_results", "selector", "scope", "result", "human_result", "extension"} {
		names[n] = n
	}
}

func internName(b []byte) string {
	if n, ok := names[string(b)]; ok {
		return n
	}
	return "?" // an element of no schema: nothing under it is read
}

func (r *aggReader) start() {
	p := r.path
	switch {
	case len(p) == 1 && p[0] == "record":
		r.inRecord = true
		r.count = ""
		r.rec = Record{Reasons: r.rec.Reasons[:0], DKIMResults: r.rec.DKIMResults[:0], SPFResults: r.rec.SPFResults[:0]}
	case len(p) == 1 && p[0] == "report_metadata":
		r.meta = rawMetadata{}
	case len(p) == 3 && p[0] == "record" && p[1] == "auth_results" && p[2] == "dkim":
		r.rec.DKIMResults = append(r.rec.DKIMResults, DKIMResult{})
	case len(p) == 3 && p[0] == "record" && p[1] == "auth_results" && p[2] == "spf":
		r.rec.SPFResults = append(r.rec.SPFResults, SPFResult{})
	case len(p) == 4 && p[0] == "record" && p[2] == "policy_evaluated" && p[3] == "reason":
		r.rec.Reasons = append(r.rec.Reasons, Reason{})
	}
}

func (r *aggReader) end() error {
	p := r.path
	t := r.text
	switch p[0] {
	case "version":
		if len(p) == 1 {
			r.fb.Version = cleanB(t)
		}
	case "report_metadata":
		m := &r.meta
		switch {
		case len(p) == 1:
			var err error
			if r.fb.Metadata, err = m.metadata(); err != nil {
				return err
			}
			r.seenMetadata = true
		case len(p) == 2:
			switch p[1] {
			case "org_name":
				m.OrgName = cleanB(t)
			case "email":
				m.Email = cleanB(t)
			case "extra_contact_info":
				m.ExtraContactInfo = cleanB(t)
			case "report_id":
				m.ReportID = cleanB(t)
			case "error":
				if e := cleanB(t); e != "" && len(m.Errors) < 100 {
					m.Errors = append(m.Errors, e)
				}
			case "generator":
				m.Generator = cleanB(t)
			}
		case len(p) == 3 && p[1] == "date_range":
			switch p[2] {
			case "begin":
				m.Begin = string(t)
			case "end":
				m.End = string(t)
			}
		}
	case "policy_published":
		pp := &r.fb.Policy
		if len(p) == 1 {
			r.seenPolicy = true
			return nil
		}
		if len(p) != 2 {
			return nil
		}
		switch p[1] {
		case "domain":
			pp.Domain = lowerDomainB(t)
		case "discovery_method":
			pp.DiscoveryMethod = lowerB(t)
		case "adkim":
			pp.ADKIM = lowerB(t)
		case "aspf":
			pp.ASPF = lowerB(t)
		case "p":
			pp.P = lowerB(t)
		case "sp":
			pp.SP = lowerB(t)
		case "np":
			pp.NP = lowerB(t)
		case "pct":
			pp.Pct = cleanB(t)
		case "testing":
			pp.Testing = lowerB(t)
		case "fo":
			pp.FO = cleanB(t)
		}
	case "record":
		return r.endRecord(p, t)
	}
	return nil
}

func (r *aggReader) endRecord(p []string, t []byte) error {
	rec := &r.rec
	switch len(p) {
	case 1:
		r.fb.Records++
		if r.fb.Records > MaxRecords {
			return fmt.Errorf("%w: more than %d in one report", ErrTooMany, MaxRecords)
		}
		if cs := strings.TrimSpace(r.count); cs != "" {
			n, err := strconv.ParseUint(cs, 10, 64)
			if err != nil {
				return fmt.Errorf("%w: record %d: <count> %q is not a number of messages", ErrInvalid, r.fb.Records, clip(cs))
			}
			rec.Count = n
		}
		r.inRecord = false
		if r.onRecord != nil {
			return r.onRecord(rec)
		}
	case 3:
		switch p[1] {
		case "row":
			switch p[2] {
			case "source_ip":
				rec.SourceIP = cleanB(t)
			case "count":
				r.count = string(t)
			}
		case "identifiers":
			switch p[2] {
			case "header_from":
				rec.HeaderFrom = lowerDomainB(t)
			case "envelope_from":
				rec.EnvelopeFrom = cleanB(t)
			case "envelope_to":
				rec.EnvelopeTo = cleanB(t)
			}
		}
	case 4:
		switch {
		case p[1] == "row" && p[2] == "policy_evaluated":
			switch p[3] {
			case "disposition":
				rec.Disposition = Disposition(lowerB(t))
			case "dkim":
				rec.DKIM = Verdict(lowerB(t))
			case "spf":
				rec.SPF = Verdict(lowerB(t))
			}
		case p[1] == "auth_results" && p[2] == "dkim" && len(rec.DKIMResults) > 0:
			d := &rec.DKIMResults[len(rec.DKIMResults)-1]
			switch p[3] {
			case "domain":
				d.Domain = lowerDomainB(t)
			case "selector":
				d.Selector = cleanB(t)
			case "result":
				d.Result = AuthResult(lowerB(t))
			case "human_result":
				d.HumanResult = cleanB(t)
			}
		case p[1] == "auth_results" && p[2] == "spf" && len(rec.SPFResults) > 0:
			sr := &rec.SPFResults[len(rec.SPFResults)-1]
			switch p[3] {
			case "domain":
				sr.Domain = lowerDomainB(t)
			case "scope":
				sr.Scope = lowerB(t)
			case "result":
				sr.Result = AuthResult(lowerB(t))
			case "human_result":
				sr.HumanResult = cleanB(t)
			}
		}
	case 5:
		if p[1] == "row" && p[2] == "policy_evaluated" && p[3] == "reason" && len(rec.Reasons) > 0 {
			x := &rec.Reasons[len(rec.Reasons)-1]
			switch p[4] {
			case "type":
				x.Type = lowerB(t)
			case "comment":
				x.Comment = cleanB(t)
			}
		}
	}
	return nil
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
	out := Metadata{OrgName: m.OrgName, Email: m.Email, ExtraContactInfo: m.ExtraContactInfo,
		ReportID: m.ReportID, Generator: m.Generator, Errors: m.Errors}
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
		// A few reporters write fractional seconds.
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil || f != f || f < 0 || f > 1<<40 {
			return time.Time{}, fmt.Errorf("%q is not a number of seconds since 1970", clip(s))
		}
		n = int64(f)
	}
	if n < 0 || n > 1<<40 {
		return time.Time{}, fmt.Errorf("%d is out of range", n)
	}
	return time.Unix(n, 0).UTC(), nil
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

// The same on bytes, allocating only the string kept.
func trimB(b []byte) []byte { return bytes.TrimSpace(b) }

func cleanB(b []byte) string {
	b = trimB(b)
	if len(b) > maxValue {
		b = b[:maxValue]
	}
	return string(b)
}

// common words, so that the usual results cost no allocation
var words = map[string]string{}

func init() {
	for _, w := range []string{"none", "pass", "fail", "softfail", "neutral", "policy", "temperror", "permerror",
		"quarantine", "reject", "r", "s", "y", "n", "mfrom", "helo", "psl", "treewalk", "forwarded", "local_policy",
		"mailing_list", "trusted_forwarder", "sampled_out", "policy_test_mode", "other"} {
		words[w] = w
	}
}

func lowerB(b []byte) string {
	b = trimB(b)
	if w, ok := words[string(b)]; ok {
		return w
	}
	return lower(string(b))
}

func lowerDomainB(b []byte) string {
	b = bytes.TrimSuffix(trimB(b), []byte("."))
	for _, c := range b {
		if c >= 'A' && c <= 'Z' || c >= 0x80 {
			return lowerDomain(string(b))
		}
	}
	if len(b) > maxValue {
		b = b[:maxValue]
	}
	return string(b)
}
