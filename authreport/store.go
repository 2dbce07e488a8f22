package authreport

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mailtrace/mailtrace/dmarcrpt"
	"github.com/mailtrace/mailtrace/pool"
	"github.com/mailtrace/mailtrace/reply"
	"github.com/mailtrace/mailtrace/resolver"
	"github.com/mailtrace/mailtrace/schema"
	"github.com/mailtrace/mailtrace/store"
)

// Outcome is what became of one report offered to the store.
type Outcome string

const (
	Stored    Outcome = "stored"    // new, its rows written
	Duplicate Outcome = "duplicate" // the same reporter's same report ID was stored before
	Refused   Outcome = "refused"   // unreadable: kept aside in auth_reports with the reason
)

// Options configure an Intake.
type Options struct {
	Pools      []pool.Pool        // their source IPs tell which report sources are ours
	Classifier *reply.Classifier  // names the reporter's provider; default: the shipped rules
	Resolver   *resolver.Resolver // looks up unknown sources' PTR; nil: none looked up
	Metrics    *Metrics           // optional
	Logger     *slog.Logger
}

// Intake stores reports.
type Intake struct {
	st         store.Store
	pools      map[netip.Addr]string
	classifier *reply.Classifier
	resolver   *resolver.Resolver
	metrics    *Metrics
	log        *slog.Logger
	now        func() time.Time
	// lookups run one at a time, after the report is stored and
	// acknowledged: a slow resolver never holds up the intake.
	lookups sync.WaitGroup
	lookMu  sync.Mutex
}

// NewIntake makes an intake storing into st.
func NewIntake(st store.Store, opts Options) *Intake {
	in := &Intake{st: st, pools: map[netip.Addr]string{}, classifier: opts.Classifier, resolver: opts.Resolver,
		metrics: opts.Metrics, log: opts.Logger, now: time.Now}
	for _, p := range opts.Pools {
		if a, err := netip.ParseAddr(p.SourceIP); err == nil {
			in.pools[a.Unmap()] = p.Name
		}
	}
	if in.classifier == nil {
		in.classifier = reply.Default()
	}
	if in.log == nil {
		in.log = slog.Default()
	}
	return in
}

// PoolOf names the pool an IP belongs to, or "".
func (in *Intake) PoolOf(ip string) string {
	a, err := netip.ParseAddr(strings.TrimSpace(ip))
	if err != nil {
		return ""
	}
	return in.pools[a.Unmap()]
}

// Result is what became of one report.
type Result struct {
	Report  Report
	Outcome Outcome
}

// Ingest reads every report in raw (a message or a report file) and stores
// each. An error means some report was not stored and the whole is to be
// offered again (what was stored is not stored twice).
func (in *Intake) Ingest(ctx context.Context, source string, raw []byte) ([]Result, error) {
	reps := Read(source, raw)
	out := make([]Result, 0, len(reps))
	for i := range reps {
		oc, err := in.Put(ctx, &reps[i], raw)
		if err != nil {
			return out, err
		}
		out = append(out, Result{Report: reps[i], Outcome: oc})
	}
	return out, nil
}

// maxKept bounds the bytes of a refused report kept aside.
const maxKept = 1 << 20

// recordBlock is how many records go in one insert.
const recordBlock = 10000

// Put stores one report read from raw.
func (in *Intake) Put(ctx context.Context, rep *Report, raw []byte) (Outcome, error) {
	now := in.now().UTC()
	row := schema.AuthReport{ReceivedAt: now, Kind: string(rep.Kind), Org: rep.Org(), ReportID: rep.ID(),
		Reporter: rep.Reporter(), Source: rep.Source}
	row.Provider = in.provider(rep)
	if rep.SHA256 == ([32]byte{}) {
		rep.SHA256 = sha256.Sum256(raw)
	}
	row.SHA256 = hex.EncodeToString(rep.SHA256[:])
	row.Begin, row.End = rep.Period()
	row.ReportKey = row.ReportID
	if rep.Err != nil {
		row.Error = rep.Err.Error()
		row.ReportKey = "sha256:" + row.SHA256
		row.Raw = raw
		if len(row.Raw) > maxKept {
			row.Raw = row.Raw[:maxKept]
		}
	}
	if dup, err := in.seen(ctx, row); err != nil {
		return "", err
	} else if dup {
		in.count(rep.Kind, Duplicate)
		return Duplicate, nil
	}
	var unknown []string
	if rep.Err == nil {
		var err error
		switch {
		case rep.Aggregate != nil:
			unknown, err = in.putAggregate(ctx, rep, &row, now)
		case rep.TLS != nil:
			err = in.putTLS(ctx, rep, &row, now)
		case rep.Failure != nil:
			err = in.putFailure(ctx, rep, &row, now)
		}
		if err != nil {
			return "", err
		}
	}
	// The report's own row goes last: until it is there, the report counts
	// as not stored and is stored again (its rows replace themselves).
	enc := store.NewEncoder(schema.AuthReports)
	row.AppendRow(enc)
	if err := in.insert(ctx, enc); err != nil {
		return "", err
	}
	oc := Stored
	if rep.Err != nil {
		oc = Refused
		in.log.Warn("report refused, kept aside in auth_reports", "source", rep.Source, "kind", rep.Kind, "err", rep.Err)
	} else {
		in.log.Info("report stored", "kind", rep.Kind, "org", row.Org, "report_id", row.ReportID, "records", row.Records)
	}
	in.count(rep.Kind, oc)
	if len(unknown) > 0 {
		in.lookups.Add(1)
		go func() {
			defer in.lookups.Done()
			in.lookMu.Lock()
			defer in.lookMu.Unlock()
			lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
			defer cancel()
			in.lookUpSources(lctx, unknown)
		}()
	}
	return oc, nil
}

// Wait waits for the reverse DNS lookups of the reports stored so far.
func (in *Intake) Wait() { in.lookups.Wait() }

// Reporter is the address the report names as its sender's contact.
func (r *Report) Reporter() string {
	switch {
	case r.Aggregate != nil:
		return r.Aggregate.Metadata.Email
	case r.TLS != nil:
		return r.TLS.ContactInfo
	}
	return r.From
}

// provider names the receiving provider behind a reporter: by the
// domain of its address, else its organisation name taken as a domain.
func (in *Intake) provider(rep *Report) string {
	for _, s := range []string{rep.Reporter(), rep.From, rep.Org()} {
		s = strings.ToLower(strings.TrimSpace(s))
		if at := strings.LastIndexByte(s, '@'); at >= 0 {
			s = s[at+1:]
		}
		s = strings.Trim(s, "<>")
		if s == "" || !strings.Contains(s, ".") {
			continue
		}
		if p := in.classifier.Provider(s, s); p != "" {
			return p
		}
	}
	return ""
}

func (in *Intake) seen(ctx context.Context, row schema.AuthReport) (bool, error) {
	rows, err := in.st.Query(ctx, "SELECT count() FROM auth_reports WHERE kind = {kind:String} AND org = {org:String} AND report_key = {key:String}",
		store.Params{"kind": row.Kind, "org": row.Org, "key": row.ReportKey})
	if err != nil {
		return false, fmt.Errorf("authreport: looking for the report in the store: %w", err)
	}
	all, err := rows.All()
	if err != nil {
		return false, fmt.Errorf("authreport: looking for the report in the store: %w", err)
	}
	var n uint64
	if len(all) == 1 {
		switch v := all[0][0].(type) {
		case uint64:
			n = v
		}
	}
	return n > 0, nil
}

func (in *Intake) insert(ctx context.Context, enc *store.Encoder) error {
	if err := store.InsertEncoded(ctx, in.st, enc); err != nil {
		return fmt.Errorf("authreport: storing the report: %w", err)
	}
	return nil
}

func (in *Intake) putAggregate(ctx context.Context, rep *Report, row *schema.AuthReport, now time.Time) ([]string, error) {
	fb := rep.Aggregate
	row.Domain = fb.Policy.Domain
	base := schema.DMARCRecord{Day: fb.Metadata.Begin, Org: row.Org, ReportID: row.ReportID, Provider: row.Provider,
		Domain: fb.Policy.Domain, Begin: fb.Metadata.Begin, End: fb.Metadata.End, PolicyP: fb.Policy.P,
		PolicySP: fb.Policy.SP, PolicyNP: fb.Policy.NP, PolicyTesting: fb.Policy.Testing, ReceivedAt: now}
	enc := store.NewEncoder(schema.DMARCRecords)
	unknown := map[string]bool{}
	var unknownList []string
	for i := range rep.Records {
		r := &rep.Records[i]
		d := recordRow(base, uint32(i), r)
		d.Pool = in.PoolOf(r.SourceIP)
		if d.Pool == "" && r.SourceIP != "" && !unknown[r.SourceIP] {
			unknown[r.SourceIP] = true
			unknownList = append(unknownList, r.SourceIP)
		}
		d.AppendRow(enc)
		row.Records++
		row.Messages += r.Count
		if m := in.metrics; m != nil {
			pool := d.Pool
			if pool == "" {
				pool = "none"
			}
			m.Messages.WithLabelValues(pool, passFail(d.DMARCPass)).Add(float64(r.Count))
		}
		if enc.Rows() >= recordBlock {
			if err := in.insert(ctx, enc); err != nil {
				return nil, err
			}
			enc = store.NewEncoder(schema.DMARCRecords)
		}
	}
	return unknownList, in.insert(ctx, enc)
}

func passFail(ok bool) string {
	if ok {
		return "pass"
	}
	return "fail"
}

// recordRow is an aggregate record's row. DKIM and SPF are aligned when
// the receiver's DMARC evaluation of them passed (policy_evaluated), which
// RFC 9989 defines as passed and aligned with the From domain.
func recordRow(base schema.DMARCRecord, i uint32, r *dmarcrpt.Record) schema.DMARCRecord {
	d := base
	d.RecordIndex = i
	d.SourceIP, d.Count, d.Disposition = r.SourceIP, r.Count, string(r.Disposition)
	d.DKIMEval, d.SPFEval = string(r.DKIM), string(r.SPF)
	d.HeaderFrom, d.EnvelopeFrom, d.EnvelopeTo = r.HeaderFrom, r.EnvelopeFrom, r.EnvelopeTo
	for _, k := range r.DKIMResults {
		d.DKIMDomains = append(d.DKIMDomains, k.Domain)
		d.DKIMSelectors = append(d.DKIMSelectors, k.Selector)
		d.DKIMResults = append(d.DKIMResults, string(k.Result))
		d.DKIMPass = d.DKIMPass || k.Result == dmarcrpt.AuthPass
	}
	for _, s := range r.SPFResults {
		d.SPFDomains = append(d.SPFDomains, s.Domain)
		d.SPFScopes = append(d.SPFScopes, s.Scope)
		d.SPFResults = append(d.SPFResults, string(s.Result))
		d.SPFPass = d.SPFPass || s.Result == dmarcrpt.AuthPass
	}
	for _, x := range r.Reasons {
		d.Reasons = append(d.Reasons, x.Type)
	}
	d.DKIMAligned = r.DKIM == dmarcrpt.VerdictPass
	d.SPFAligned = r.SPF == dmarcrpt.VerdictPass
	d.DMARCPass = d.DKIMAligned || d.SPFAligned
	return d
}

func (in *Intake) putTLS(ctx context.Context, rep *Report, row *schema.AuthReport, now time.Time) error {
	t := rep.TLS
	enc := store.NewEncoder(schema.TLSResults)
	domains := map[string]bool{}
	for pi, p := range t.Policies {
		if !domains[p.Domain] {
			domains[p.Domain] = true
			row.Domain = strings.TrimPrefix(row.Domain+","+p.Domain, ",")
		}
		base := schema.TLSResult{Day: t.Start, Org: row.Org, ReportID: row.ReportID, PolicyIndex: uint16(pi), Provider: row.Provider,
			Begin: t.Start, End: t.End, PolicyType: string(p.Type), PolicyDomain: p.Domain, MXHost: p.MXHost, ReceivedAt: now}
		sum := base
		sum.Successful, sum.Failed = p.Successful, p.Failed
		sum.AppendRow(enc)
		row.Records++
		row.Messages += p.Successful + p.Failed
		for fi, f := range p.Failures {
			r := base
			r.FailureIndex = uint16(fi + 1)
			r.ResultType, r.SendingMTAIP, r.Pool = string(f.ResultType), f.SendingMTAIP, in.PoolOf(f.SendingMTAIP)
			r.ReceivingMXHostname, r.ReceivingIP, r.FailedSessionCount = f.ReceivingMXHostname, f.ReceivingIP, f.FailedSessionCount
			r.AdditionalInfo, r.FailureReasonCode = f.AdditionalInformation, f.FailureReasonCode
			r.AppendRow(enc)
			if m := in.metrics; m != nil {
				m.TLSFailures.WithLabelValues(orNone(r.Pool), r.ResultType).Add(float64(f.FailedSessionCount))
			}
		}
	}
	return in.insert(ctx, enc)
}

func orNone(pool string) string {
	if pool == "" {
		return "none"
	}
	return pool
}

func (in *Intake) putFailure(ctx context.Context, rep *Report, row *schema.AuthReport, now time.Time) error {
	f := rep.Failure
	row.Domain, row.Records, row.Messages = f.ReportedDomain, 1, 1
	arrival, _ := rep.Period()
	if arrival.IsZero() {
		arrival = now
	}
	r := schema.DMARCFailure{Arrival: arrival, Org: row.Org, ReportID: row.ReportID, SourceIP: f.SourceIP, Pool: in.PoolOf(f.SourceIP),
		ReportedDomain: f.ReportedDomain, AuthFailure: f.AuthFailure, IdentityAlignment: f.IdentityAlignment,
		OriginalMailFrom: f.OriginalMailFrom, OriginalRcptTo: f.OriginalRcptTo, DKIMDomain: f.DKIMDomain,
		DKIMSelector: f.DKIMSelector, DeliveryResult: f.DeliveryResult, AuthResults: f.AuthenticationResults, ReceivedAt: now}
	enc := store.NewEncoder(schema.DMARCFailures)
	r.AppendRow(enc)
	return in.insert(ctx, enc)
}

func (in *Intake) count(kind Kind, oc Outcome) {
	if in.metrics != nil {
		in.metrics.Reports.WithLabelValues(string(kind), string(oc)).Inc()
	}
}

// maxLookups bounds the PTR lookups after one report.
const maxLookups = 50

// lookUpSources looks up, after the report is stored and outside any
// parse, the reverse DNS of sources in no pool that the store has no name
// for yet, and keeps it. A source without a PTR record is kept as such; a
// lookup that failed (timeout, SERVFAIL) is not kept, so that a later
// report tries again.
func (in *Intake) lookUpSources(ctx context.Context, ips []string) {
	if len(ips) == 0 {
		return
	}
	known := map[string]bool{}
	rows, err := in.st.Query(ctx, "SELECT DISTINCT source_ip FROM source_names WHERE has({ips:Array(String)}, source_ip)", store.Params{"ips": ips})
	if err == nil {
		all, _ := rows.All()
		for _, r := range all {
			if s, ok := r[0].(string); ok {
				known[s] = true
			}
		}
	} else {
		in.log.Warn("reading known report sources", "err", err)
		return
	}
	enc := store.NewEncoder(schema.SourceNames)
	looked := 0
	for _, ip := range ips {
		if known[ip] {
			continue
		}
		if looked >= maxLookups {
			continue // looked up with a later report that names it
		}
		looked++
		n := schema.SourceName{SourceIP: ip, LookedUpAt: in.now().UTC()}
		if in.resolver == nil {
			n.Error = "no resolver configured"
		} else {
			lctx, cancel := context.WithTimeout(ctx, 3*time.Second)
			names, err := in.resolver.LookupAddr(lctx, ip)
			cancel()
			switch {
			case err != nil && resolver.IsNotFound(err):
				n.Error = "no PTR record"
			case err != nil:
				in.log.Debug("reverse DNS of a report source", "ip", ip, "err", err)
				continue
			default:
				n.PTR = strings.TrimSuffix(strings.Join(names, ","), ".")
			}
		}
		if in.metrics != nil {
			in.metrics.UnknownSources.Inc()
		}
		n.AppendRow(enc)
	}
	if err := in.insert(ctx, enc); err != nil {
		in.log.Warn("keeping report sources' names", "err", err)
	}
}

// Metrics count reports and what they say.
type Metrics struct {
	Reports        *prometheus.CounterVec // by kind and outcome
	Messages       *prometheus.CounterVec // aggregate-reported messages by pool and DMARC result
	TLSFailures    *prometheus.CounterVec // failed TLS sessions by pool and result type
	UnknownSources prometheus.Counter
}

// NewMetrics creates the report metrics and registers them with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Reports: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mailtrace_auth_reports_total",
			Help: "DMARC aggregate, DMARC failure and SMTP TLS reports offered, by kind and outcome (stored, duplicate, refused)."},
			[]string{"kind", "outcome"}),
		Messages: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mailtrace_dmarc_reported_messages_total",
			Help: "Messages DMARC aggregate reports counted, by the pool of their source IP (none: a source in no pool) and DMARC result (pass: DKIM or SPF passed aligned)."},
			[]string{"pool", "dmarc"}),
		TLSFailures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mailtrace_tlsrpt_failed_sessions_total",
			Help: "Failed TLS sessions SMTP TLS reports counted, by the pool of the sending IP and result type."},
			[]string{"pool", "result_type"}),
		UnknownSources: prometheus.NewCounter(prometheus.CounterOpts{Name: "mailtrace_dmarc_unknown_sources_total",
			Help: "Source IPs in no pool, sending as our domains, seen in a DMARC report for the first time."}),
	}
	reg.MustRegister(m.Reports, m.Messages, m.TLSFailures, m.UnknownSources)
	return m
}
