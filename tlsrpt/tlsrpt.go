// Package tlsrpt reads SMTP TLS reports (RFC 8460): the JSON documents
// receivers send to a domain's TLS-RPT address (_smtp._tls TXT record,
// rua=) about the TLS sessions they tried with its MX hosts, under its
// MTA-STS or DANE policy, or with none.
//
// Reporters differ from the schema: "mx-host" is a list in the schema but a
// string in the RFC's own example (erratum 6241), so both are read and kept
// as a list; "policy-string" is sometimes one JSON-encoded string; dates come
// without a time zone (read as UTC); counts come as numbers or numeric
// strings. Anything else of the wrong shape is refused with the field that
// was wrong. Decompression (application/tlsrpt+gzip) is the caller's job.
package tlsrpt

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// PolicyType is the kind of policy a session was tried under.
type PolicyType string

const (
	PolicySTS      PolicyType = "sts"             // MTA-STS (RFC 8461)
	PolicyTLSA     PolicyType = "tlsa"            // DANE (RFC 7672)
	PolicyNotFound PolicyType = "no-policy-found" // opportunistic TLS
)

// ResultType is why sessions failed (RFC 8460 section 4.3).
type ResultType string

const (
	ResultStartTLSNotSupported    ResultType = "starttls-not-supported"
	ResultCertificateHostMismatch ResultType = "certificate-host-mismatch"
	ResultCertificateExpired      ResultType = "certificate-expired"
	ResultCertificateNotTrusted   ResultType = "certificate-not-trusted"
	ResultValidationFailure       ResultType = "validation-failure"
	ResultTLSAInvalid             ResultType = "tlsa-invalid"
	ResultDNSSECInvalid           ResultType = "dnssec-invalid"
	ResultDANERequired            ResultType = "dane-required"
	ResultSTSPolicyFetchError     ResultType = "sts-policy-fetch-error"
	ResultSTSPolicyInvalid        ResultType = "sts-policy-invalid"
	ResultSTSWebPKIInvalid        ResultType = "sts-webpki-invalid"
)

// Report is one TLS report.
type Report struct {
	OrganizationName string
	ContactInfo      string
	ReportID         string
	Start, End       time.Time
	Policies         []Policy
}

// Policy is the sessions tried under one policy, with their failures.
type Policy struct {
	Type       PolicyType
	String     []string
	Domain     string
	MXHost     []string
	Successful uint64
	Failed     uint64
	Failures   []Failure
}

// Failure is a count of sessions that failed the same way.
type Failure struct {
	ResultType            ResultType
	SendingMTAIP          string
	ReceivingMXHostname   string
	ReceivingMXHelo       string
	ReceivingIP           string
	FailedSessionCount    uint64
	AdditionalInformation string
	FailureReasonCode     string
}

// Errors, with the reason in their message.
var (
	ErrNotReport = errors.New("tlsrpt: not an SMTP TLS report")
	ErrInvalid   = errors.New("tlsrpt: invalid SMTP TLS report")
)

// MaxSize bounds the JSON of one report.
const MaxSize = 20 << 20

type rawReport struct {
	OrganizationName *string        `json:"organization-name"`
	DateRange        *rawDateRange  `json:"date-range"`
	ContactInfo      *string        `json:"contact-info"`
	ReportID         *string        `json:"report-id"`
	Policies         []rawPolicySet `json:"policies"`
}

type rawDateRange struct {
	Start string `json:"start-datetime"`
	End   string `json:"end-datetime"`
}

type rawPolicySet struct {
	Policy struct {
		Type   string       `json:"policy-type"`
		String stringsOrOne `json:"policy-string"`
		Domain string       `json:"policy-domain"`
		MXHost stringsOrOne `json:"mx-host"`
	} `json:"policy"`
	Summary struct {
		Successful count `json:"total-successful-session-count"`
		Failed     count `json:"total-failure-session-count"`
	} `json:"summary"`
	Failures []struct {
		ResultType            string `json:"result-type"`
		SendingMTAIP          string `json:"sending-mta-ip"`
		ReceivingMXHostname   string `json:"receiving-mx-hostname"`
		ReceivingMXHelo       string `json:"receiving-mx-helo"`
		ReceivingIP           string `json:"receiving-ip"`
		FailedSessionCount    count  `json:"failed-session-count"`
		AdditionalInformation string `json:"additional-information"`
		FailureReasonCode     string `json:"failure-reason-code"`
	} `json:"failure-details"`
}

// stringsOrOne is a JSON list of strings, or one string (RFC 8460's own
// example writes "mx-host" so).
type stringsOrOne []string

func (s *stringsOrOne) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*s = nil
		return nil
	case len(b) > 0 && b[0] == '"':
		var one string
		if err := json.Unmarshal(b, &one); err != nil {
			return err
		}
		*s = []string{one}
		return nil
	}
	var list []string
	if err := json.Unmarshal(b, &list); err != nil {
		return errors.New("want a string or a list of strings")
	}
	*s = list
	return nil
}

// count is a session count: a JSON number or a numeric string.
type count uint64

func (c *count) UnmarshalJSON(b []byte) error {
	s := strings.Trim(strings.TrimSpace(string(b)), `"`)
	if s == "null" || s == "" {
		*c = 0
		return nil
	}
	n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
	if err != nil {
		if f, ferr := strconv.ParseFloat(s, 64); ferr == nil && f >= 0 && f == float64(uint64(f)) {
			*c = count(f)
			return nil
		}
		return fmt.Errorf("%q is not a count of sessions", clip(string(b)))
	}
	*c = count(n)
	return nil
}

// Parse reads one report from its JSON.
func Parse(data []byte) (*Report, error) {
	if len(data) > MaxSize {
		return nil, fmt.Errorf("%w: %d bytes of JSON, more than %d", ErrInvalid, len(data), MaxSize)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // a byte-order mark
	// NUL bytes after the document (padding some reporters leave) are not part of it.
	trimmed := bytes.TrimSpace(bytes.TrimRight(data, "\x00"))
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, fmt.Errorf("%w: not a JSON object", ErrNotReport)
	}
	var raw rawReport
	if err := json.Unmarshal(trimmed, &raw); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, fmt.Errorf("%w: field %q: a JSON %s where the schema wants %s", ErrInvalid, te.Field, te.Value, kindName(te.Type.String()))
		}
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if raw.ReportID == nil && raw.Policies == nil && raw.DateRange == nil {
		return nil, fmt.Errorf("%w: a JSON object without report-id, date-range or policies", ErrNotReport)
	}
	r := &Report{}
	if raw.OrganizationName != nil {
		r.OrganizationName = clean(*raw.OrganizationName)
	}
	if raw.ContactInfo != nil {
		r.ContactInfo = clean(*raw.ContactInfo)
	}
	if raw.ReportID == nil || clean(*raw.ReportID) == "" {
		return nil, fmt.Errorf("%w: no report-id: the report cannot be told from others", ErrInvalid)
	}
	r.ReportID = clean(*raw.ReportID)
	if raw.DateRange == nil {
		return nil, fmt.Errorf("%w: no date-range", ErrInvalid)
	}
	var err error
	if r.Start, err = parseTime(raw.DateRange.Start); err != nil {
		return nil, fmt.Errorf("%w: date-range start-datetime: %v", ErrInvalid, err)
	}
	if r.End, err = parseTime(raw.DateRange.End); err != nil {
		return nil, fmt.Errorf("%w: date-range end-datetime: %v", ErrInvalid, err)
	}
	if r.End.Before(r.Start) {
		return nil, fmt.Errorf("%w: date-range ends before it starts", ErrInvalid)
	}
	if raw.Policies == nil {
		return nil, fmt.Errorf("%w: no policies", ErrInvalid)
	}
	for i, ps := range raw.Policies {
		p := Policy{Type: PolicyType(lower(ps.Policy.Type)), Domain: strings.TrimSuffix(lower(ps.Policy.Domain), "."),
			String: cleanAll(ps.Policy.String), MXHost: cleanAll(ps.Policy.MXHost),
			Successful: uint64(ps.Summary.Successful), Failed: uint64(ps.Summary.Failed)}
		if p.MXHost == nil {
			p.MXHost = []string{}
		}
		if p.Type == "" {
			return nil, fmt.Errorf("%w: policies[%d] has no policy-type", ErrInvalid, i)
		}
		for _, f := range ps.Failures {
			p.Failures = append(p.Failures, Failure{ResultType: ResultType(lower(f.ResultType)),
				SendingMTAIP: clean(f.SendingMTAIP), ReceivingMXHostname: strings.TrimSuffix(lower(f.ReceivingMXHostname), "."),
				ReceivingMXHelo: clean(f.ReceivingMXHelo), ReceivingIP: clean(f.ReceivingIP),
				FailedSessionCount: uint64(f.FailedSessionCount), AdditionalInformation: clean(f.AdditionalInformation),
				FailureReasonCode: clean(f.FailureReasonCode)})
		}
		r.Policies = append(r.Policies, p)
	}
	return r, nil
}

// parseTime reads an RFC 3339 date-time; one without a zone is UTC.
func parseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, errors.New("missing")
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05Z07:00", "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not an RFC 3339 date-time", clip(s))
}

func kindName(goType string) string {
	switch {
	case strings.HasPrefix(goType, "[]"):
		return "a list"
	case strings.Contains(goType, "string"):
		return "a string"
	case strings.Contains(goType, "struct"), strings.HasPrefix(goType, "tlsrpt.raw"):
		return "an object"
	}
	return goType
}

const maxValue = 1024

func clean(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > maxValue {
		s = s[:maxValue]
	}
	return s
}

func clip(s string) string { return clean(s) }

func lower(s string) string { return strings.ToLower(clean(s)) }

func cleanAll(ss []string) []string {
	if ss == nil {
		return nil
	}
	out := make([]string, 0, len(ss))
	for _, s := range ss {
		out = append(out, clean(s))
	}
	return out
}
