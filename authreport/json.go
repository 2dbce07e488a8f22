package authreport

import (
	"time"

	"github.com/mailtrace/mailtrace/dmarcrpt"
)

// JSON is a report as `mailtrace reports parse --json` prints it and the
// API returns it: one object per report. Texts are as the report gives them,
// trimmed; result and disposition words lower-cased; a policy tag the
// report leaves out is "" (not its default); counts are integers; a report
// that was refused keeps its object, with Error.
type JSON struct {
	File     string `json:"file"`
	Kind     Kind   `json:"kind"`
	Error    string `json:"error"`
	Org      string `json:"org"`
	ReportID string `json:"report_id"`
	Begin    string `json:"begin"`
	End      string `json:"end"`

	// Aggregate reports.
	Domain  string        `json:"domain,omitempty"`
	Policy  *JSONPolicy   `json:"policy,omitempty"`
	Records *[]JSONRecord `json:"records,omitempty"`
	// TLS reports.
	Policies *[]JSONTLSPolicy `json:"policies,omitempty"`
	// Failure reports.
	FeedbackType      *string `json:"feedback_type,omitempty"`
	AuthFailure       *string `json:"auth_failure,omitempty"`
	SourceIP          *string `json:"source_ip,omitempty"`
	ReportedDomain    *string `json:"reported_domain,omitempty"`
	OriginalMailFrom  *string `json:"original_mail_from,omitempty"`
	OriginalRcptTo    *string `json:"original_rcpt_to,omitempty"`
	IdentityAlignment *string `json:"identity_alignment,omitempty"`
}

// JSONPolicy is an aggregate report's policy_published.
type JSONPolicy struct {
	P       string `json:"p"`
	SP      string `json:"sp"`
	ADKIM   string `json:"adkim"`
	ASPF    string `json:"aspf"`
	Pct     string `json:"pct"`
	NP      string `json:"np"`
	Testing string `json:"testing"`
}

// JSONRecord is one aggregate record.
type JSONRecord struct {
	SourceIP     string           `json:"source_ip"`
	Count        uint64           `json:"count"`
	Disposition  string           `json:"disposition"`
	DKIM         string           `json:"dkim"`
	SPF          string           `json:"spf"`
	HeaderFrom   string           `json:"header_from"`
	EnvelopeFrom string           `json:"envelope_from"`
	EnvelopeTo   string           `json:"envelope_to"`
	DKIMResults  []JSONDKIMResult `json:"dkim_results"`
	SPFResults   []JSONSPFResult  `json:"spf_results"`
}

// JSONDKIMResult is one DKIM auth result.
type JSONDKIMResult struct {
	Domain   string `json:"domain"`
	Selector string `json:"selector"`
	Result   string `json:"result"`
}

// JSONSPFResult is one SPF auth result.
type JSONSPFResult struct {
	Domain string `json:"domain"`
	Scope  string `json:"scope"`
	Result string `json:"result"`
}

// JSONTLSPolicy is one policy of a TLS report.
type JSONTLSPolicy struct {
	PolicyType   string           `json:"policy_type"`
	PolicyDomain string           `json:"policy_domain"`
	MXHost       []string         `json:"mx_host"`
	Successful   uint64           `json:"successful"`
	Failed       uint64           `json:"failed"`
	Failures     []JSONTLSFailure `json:"failures"`
}

// JSONTLSFailure is one failure-details entry.
type JSONTLSFailure struct {
	ResultType          string `json:"result_type"`
	SendingMTAIP        string `json:"sending_mta_ip"`
	ReceivingMXHostname string `json:"receiving_mx_hostname"`
	FailedSessionCount  uint64 `json:"failed_session_count"`
}

func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// JSON is the report's JSON form.
func (r *Report) JSON() JSON {
	out := JSON{File: r.Source, Kind: r.Kind, Org: r.Org(), ReportID: r.ID()}
	if r.Err != nil {
		out.Error = r.Err.Error()
	}
	b, e := r.Period()
	out.Begin, out.End = rfc3339(b), rfc3339(e)
	switch {
	case r.Aggregate != nil:
		p := r.Aggregate.Policy
		out.Domain = p.Domain
		out.Policy = &JSONPolicy{P: p.P, SP: p.SP, ADKIM: p.ADKIM, ASPF: p.ASPF, Pct: p.Pct, NP: p.NP, Testing: p.Testing}
		recs := make([]JSONRecord, 0, len(r.Records))
		for i := range r.Records {
			recs = append(recs, recordJSON(&r.Records[i]))
		}
		out.Records = &recs
	case r.TLS != nil:
		pols := make([]JSONTLSPolicy, 0, len(r.TLS.Policies))
		for _, p := range r.TLS.Policies {
			jp := JSONTLSPolicy{PolicyType: string(p.Type), PolicyDomain: p.Domain, MXHost: p.MXHost,
				Successful: p.Successful, Failed: p.Failed, Failures: []JSONTLSFailure{}}
			if jp.MXHost == nil {
				jp.MXHost = []string{}
			}
			for _, f := range p.Failures {
				jp.Failures = append(jp.Failures, JSONTLSFailure{ResultType: string(f.ResultType), SendingMTAIP: f.SendingMTAIP,
					ReceivingMXHostname: f.ReceivingMXHostname, FailedSessionCount: f.FailedSessionCount})
			}
			pols = append(pols, jp)
		}
		out.Policies = &pols
	case r.Failure != nil:
		f := r.Failure
		out.FeedbackType, out.AuthFailure, out.SourceIP = &f.FeedbackType, &f.AuthFailure, &f.SourceIP
		out.ReportedDomain, out.OriginalMailFrom, out.OriginalRcptTo = &f.ReportedDomain, &f.OriginalMailFrom, &f.OriginalRcptTo
		out.IdentityAlignment = &f.IdentityAlignment
	}
	return out
}

func recordJSON(rec *dmarcrpt.Record) JSONRecord {
	j := JSONRecord{SourceIP: rec.SourceIP, Count: rec.Count, Disposition: string(rec.Disposition),
		DKIM: string(rec.DKIM), SPF: string(rec.SPF), HeaderFrom: rec.HeaderFrom, EnvelopeFrom: rec.EnvelopeFrom,
		EnvelopeTo: rec.EnvelopeTo, DKIMResults: []JSONDKIMResult{}, SPFResults: []JSONSPFResult{}}
	for _, d := range rec.DKIMResults {
		j.DKIMResults = append(j.DKIMResults, JSONDKIMResult{Domain: d.Domain, Selector: d.Selector, Result: string(d.Result)})
	}
	for _, s := range rec.SPFResults {
		j.SPFResults = append(j.SPFResults, JSONSPFResult{Domain: s.Domain, Scope: s.Scope, Result: string(s.Result)})
	}
	return j
}
