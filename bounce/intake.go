package bounce

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/mailtrace/mailtrace/dsn"
	"github.com/mailtrace/mailtrace/evidence"
	"github.com/mailtrace/mailtrace/reply"
	"github.com/mailtrace/mailtrace/schema"
	"github.com/mailtrace/mailtrace/store"
	"github.com/mailtrace/mailtrace/trace"
	"github.com/mailtrace/mailtrace/traceid"
	"github.com/mailtrace/mailtrace/verp"
)

// ToReports marks mail handed to the reports' intake (DMARC and TLS
// reports), not a bounce: its Result's Report.Kind and MatchedBy. It is
// never stored in bounces.
const ToReports = "auth-reports"

// ReportRouter takes the DMARC and TLS reports that arrive with the
// bounces (the rua=, ruf= and TLS-RPT addresses are routed to the same
// intake as the bounce domain).
type ReportRouter interface {
	// Wants tells mail that is a report.
	Wants(raw []byte, envelopeRcpts []string) bool
	// Take stores it; an error means it is to be offered again.
	Take(ctx context.Context, source string, raw []byte) error
}

// Intake parses, matches and stores reports.
type Intake struct {
	st         store.Store
	traces     *trace.Reader
	recordWait time.Duration
	recent     time.Duration
	signer     *verp.Signer // nil without VERP
	classifier *reply.Classifier
	metrics    *Metrics
	reports    ReportRouter
	evidence   *evidence.Ledgers
	log        *slog.Logger
	now        func() time.Time
}

// Options configure an Intake.
type Options struct {
	Signer     *verp.Signer
	Classifier *reply.Classifier // default: the shipped rules
	Metrics    *Metrics          // optional
	Reports    ReportRouter      // optional: DMARC and TLS reports go there
	Logger     *slog.Logger
	// RecordWait is how long a report for a recent message (one younger
	// than Recent) waits for it to be recorded before it is refused for
	// now (ErrNotRecordedYet): a receiver's immediate bounce can overtake
	// the milter's and the collector's records. Defaults DefaultRecordWait
	// and DefaultRecent.
	RecordWait, Recent time.Duration
	// Evidence, when set, receives every report row once stored, as an
	// evidence fact (a report taken in twice is one fact).
	Evidence *evidence.Ledgers
}

// NewIntake makes an intake storing into st.
func NewIntake(st store.Store, opts Options) *Intake {
	in := &Intake{st: st, traces: trace.NewReader(st), recordWait: opts.RecordWait, recent: opts.Recent, signer: opts.Signer,
		classifier: opts.Classifier, metrics: opts.Metrics, reports: opts.Reports, evidence: opts.Evidence, log: opts.Logger,
		now: time.Now}
	if in.recordWait <= 0 {
		in.recordWait = DefaultRecordWait
	}
	if in.recent <= 0 {
		in.recent = DefaultRecent
	}
	if in.classifier == nil {
		in.classifier = reply.Default()
	}
	if in.log == nil {
		in.log = slog.Default()
	}
	return in
}

// Result is what became of one report.
type Result struct {
	Report    *dsn.Report
	ParseErr  error // the report could not be read; it is stored as unknown
	MatchedBy schema.MatchedBy
	Forged    bool // sent to a VERP address whose signature fails
	Message   *trace.Ref
}

// Ingest parses, matches and stores one report. envelopeRcpts are the
// addresses it was delivered to (LMTP RCPT TO; for files, the
// Delivered-To/X-Original-To/To headers are read). An error means the
// report was not stored and should be offered again.
func (in *Intake) Ingest(ctx context.Context, raw []byte, envelopeRcpts []string) (*Result, error) {
	if in.reports != nil && in.reports.Wants(raw, envelopeRcpts) {
		res := &Result{Report: &dsn.Report{Kind: ToReports, SHA256: sha256.Sum256(raw), Recipients: []dsn.Recipient{}}, MatchedBy: ToReports}
		source := "intake"
		if len(envelopeRcpts) > 0 {
			source = "mail to " + strings.Join(envelopeRcpts, ",")
		}
		return res, in.reports.Take(ctx, source, raw)
	}
	res := in.Parse(raw)
	if len(envelopeRcpts) == 0 {
		envelopeRcpts = res.Report.DeliveredTo
	}
	var err error
	if res.Message, res.MatchedBy, res.Forged, err = in.match(ctx, res.Report, envelopeRcpts); err != nil {
		return res, err
	}
	if err := in.store(ctx, res, envelopeRcpts); err != nil {
		return res, err
	}
	if m := in.metrics; m != nil {
		m.Reports.WithLabelValues(string(res.Report.Kind), string(res.MatchedBy)).Inc()
		if res.Forged {
			m.Forged.Inc()
		}
	}
	in.log.Info("report taken in", "kind", res.Report.Kind, "matched_by", res.MatchedBy, "forged", res.Forged,
		"recipients", len(res.Report.Recipients), "message", messageName(res.Message), "parse_error", errString(res.ParseErr))
	return res, nil
}

// Parse parses and classifies a report, without matching or storing it.
func (in *Intake) Parse(raw []byte) *Result {
	res := &Result{MatchedBy: schema.MatchedNone}
	rep, err := dsn.ParseBytes(raw)
	if err != nil {
		res.ParseErr = err
		rep = &dsn.Report{Kind: dsn.KindUnknown, SHA256: sha256.Sum256(raw), Recipients: []dsn.Recipient{}}
	}
	rep.Classify(in.classifier)
	res.Report = rep
	return res
}

// ErrNotRecordedYet is returned for a report whose signed VERP address
// names a message sent moments ago that the store does not hold yet (a
// receiver's immediate bounce can overtake the milter's and the
// collector's records): it is to be offered again.
var ErrNotRecordedYet = errors.New("the report's message is not in the store yet")

// The defaults of Options.RecordWait and Options.Recent.
const (
	DefaultRecordWait = 20 * time.Second
	DefaultRecent     = 2 * time.Hour
)

// match finds the message a report is about.
func (in *Intake) match(ctx context.Context, rep *dsn.Report, envelopeRcpts []string) (*trace.Ref, schema.MatchedBy, bool, error) {
	if in.signer != nil {
		for _, a := range envelopeRcpts {
			id, err := in.signer.Parse(a)
			switch {
			case err == nil:
				deadline := time.Now().Add(in.recordWait)
				for {
					if ref := in.lookup(ctx, id.String(), nil); ref != nil {
						return ref, schema.MatchedVERP, false, nil
					}
					if time.Since(id.Time()) > in.recent {
						return nil, schema.MatchedNone, false, nil // signed by us, but no longer (or never) stored
					}
					if time.Now().After(deadline) {
						return nil, schema.MatchedNone, false, fmt.Errorf("%w (trace ID %s)", ErrNotRecordedYet, id)
					}
					select {
					case <-ctx.Done():
						return nil, schema.MatchedNone, false, ctx.Err()
					case <-time.After(500 * time.Millisecond):
					}
				}
			case !errors.Is(err, verp.ErrNotVERP) || in.inVERPForm(a):
				in.log.Warn("report sent to a VERP address that is not ours: kept as unmatched", "address", a, "err", err)
				return nil, schema.MatchedNone, true, nil
			}
		}
	}
	var rcpts []string
	for _, r := range rep.Recipients {
		rcpts = append(rcpts, r.Address, r.OriginalRecipient)
	}
	if rep.Kind == dsn.KindMDN {
		// A read receipt comes from the recipient's mailbox, whose
		// Final-Recipient may be another name of it.
		rcpts = append(rcpts, dsn.Address(rep.From))
	}
	if id, ok := traceid.Parse(strings.TrimSpace(rep.OriginalEnvelopeID)); ok {
		if ref := in.lookup(ctx, id.String(), rcpts); ref != nil {
			return ref, schema.MatchedEnvelope, false, nil
		}
	}
	if id, ok := traceid.Parse(rep.OriginalTraceID); ok {
		if ref := in.lookup(ctx, id.String(), rcpts); ref != nil {
			return ref, schema.MatchedHeader, false, nil
		}
	}
	if mid := strings.TrimSpace(rep.OriginalMessageID); strings.Contains(mid, "@") {
		if ref := in.lookup(ctx, mid, rcpts); ref != nil {
			return ref, schema.MatchedMessageID, false, nil
		}
	}
	return nil, schema.MatchedNone, false, nil
}

// inVERPForm tells an address at the bounce domain with the VERP prefix,
// whatever its token: one that does not parse was not made by us.
func (in *Intake) inVERPForm(addr string) bool {
	addr = strings.Trim(strings.TrimSpace(addr), "<>")
	at := strings.LastIndexByte(addr, '@')
	return at > 0 && strings.EqualFold(addr[at+1:], in.signer.Domain()) &&
		strings.HasPrefix(strings.ToLower(addr[:at]), strings.ToLower(in.signer.Prefix())+"-")
}

// lookup resolves an identifier to a message; with rcpts, the message must
// have one of them as a recipient.
func (in *Intake) lookup(ctx context.Context, id string, rcpts []string) *trace.Ref {
	refs, err := trace.Resolve(ctx, in.st, trace.Query{ID: id, Limit: 5})
	if err != nil {
		in.log.Warn("looking up a report's message", "id", id, "err", err)
		return nil
	}
	for i := range refs {
		if rcpts == nil {
			return &refs[i]
		}
		m, err := in.traces.Assemble(ctx, refs[i])
		if err != nil {
			in.log.Warn("reading a report's message", "id", id, "err", err)
			continue
		}
		for _, r := range m.Recipients {
			for _, a := range rcpts {
				if a != "" && strings.EqualFold(r.Address, a) {
					return &refs[i]
				}
			}
		}
	}
	return nil
}

// store writes a report's rows: one per recipient, or one without a
// recipient when it names none (the report is still kept as evidence).
func (in *Intake) store(ctx context.Context, res *Result, envelopeRcpts []string) error {
	rep := res.Report
	at, digits := reportTime(rep.Date, in.now())
	reporting := rep.ReportingMTA
	if rep.Kind == dsn.KindMDN {
		reporting = rep.ReportingUA
	}
	base := schema.Bounce{Time: at, TimeDigits: digits, Kind: rep.Kind, MatchedBy: res.MatchedBy, ReportingMTA: reporting,
		FeedbackType: rep.FeedbackType, OriginalMessageID: rep.OriginalMessageID, OriginalEnvelopeID: rep.OriginalEnvelopeID,
		ReportSHA256: rep.SHA256}
	if res.Message != nil {
		base.TraceID, base.Host, base.QueueID = res.Message.TraceID, res.Message.Host, res.Message.QueueID
	}
	rcpts := rep.Recipients
	if len(rcpts) == 0 {
		d := ""
		if res.ParseErr != nil {
			d = "unreadable report: " + res.ParseErr.Error()
		}
		rcpts = []dsn.Recipient{{Diagnostic: d}}
	}
	enc := store.NewEncoder(schema.Bounces)
	rows := make([]*schema.Bounce, 0, len(rcpts))
	for i, r := range rcpts {
		row := base
		row.EventID = eventID(rep.SHA256, envelopeRcpts, i)
		row.Recipient, row.Action, row.Status, row.Diagnostic, row.RemoteMTA = r.Address, r.Action, r.Status, r.Diagnostic, r.RemoteMTA
		row.Category, row.Provider, row.IsBlock = r.Category, r.Provider, r.Block
		row.InferredStatus, row.Disposition = r.InferredStatus, r.Disposition
		row.AppendRow(enc)
		rows = append(rows, &row)
	}
	if err := store.InsertEncoded(ctx, in.st, enc); err != nil {
		return fmt.Errorf("storing the report: %w", err)
	}
	if in.evidence != nil {
		in.evidence.Bounces(rows)
	}
	return nil
}

// eventID identifies a report's row by the report's hash, where it was
// delivered and the recipient's place in it, so that a report taken in
// twice is one report.
func eventID(sum [32]byte, envelopeRcpts []string, i int) uint64 {
	h := sha256.New()
	h.Write(sum[:])
	for _, a := range envelopeRcpts {
		h.Write([]byte(strings.ToLower(a) + "\n"))
	}
	h.Write(binary.BigEndian.AppendUint32(nil, uint32(i)))
	return binary.BigEndian.Uint64(h.Sum(nil)[:8])
}

// reportTime is when the report was made, its Date when that is plausible
// (within the last 30 days and not ahead of now), so that the same report
// taken in again makes the same rows; else now. digits is the time's
// precision: 0 for a Date header (RFC 5322 has whole seconds), 6 for now
// (the store keeps microseconds).
func reportTime(date, now time.Time) (at time.Time, digits uint8) {
	if date.IsZero() || date.After(now.Add(time.Minute)) || date.Before(now.Add(-30*24*time.Hour)) {
		return now, 6
	}
	return date.UTC().Truncate(time.Second), 0
}

func messageName(ref *trace.Ref) string {
	if ref == nil {
		return ""
	}
	return ref.Host + "/" + ref.QueueID
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
