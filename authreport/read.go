package authreport

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/mail"
	"strings"
	"time"

	"github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // decode the charsets reporters write in

	"github.com/mailtrace/mailtrace/dmarcrpt"
	"github.com/mailtrace/mailtrace/tlsrpt"
)

// Kind is what a report is.
type Kind string

const (
	KindAggregate Kind = "dmarc-aggregate" // RFC 9990 / RFC 7489 appendix C
	KindTLS       Kind = "tlsrpt"          // RFC 8460
	KindFailure   Kind = "dmarc-failure"   // RFC 9991 / RFC 6591
	KindUnknown   Kind = "unknown"         // nothing readable; Err says why
)

// MaxMessage bounds a report message or file as it arrives (compressed).
const MaxMessage = 32 << 20

// maxParts and maxDepth bound the MIME structure walked.
const (
	maxParts = 64
	maxDepth = 8
)

// Errors of reading.
var (
	ErrNoReport     = errors.New("authreport: no DMARC or TLS report found")
	ErrMessageLarge = fmt.Errorf("authreport: larger than %d MiB", MaxMessage>>20)
)

// Report is one report read from a file or message, or the reason none
// could be: Err is set and Kind says what it seemed to be.
type Report struct {
	// Source names where it was read: the file, and the attachment and
	// archive entries within it.
	Source string
	Kind   Kind
	Err    error
	// SHA256 is of the report document itself (after decompression).
	SHA256 [32]byte

	Aggregate *dmarcrpt.Feedback
	Records   []dmarcrpt.Record
	TLS       *tlsrpt.Report
	Failure   *dmarcrpt.Failure

	// The message it came in, when it came in one.
	MessageID string
	From      string
	Date      time.Time
}

// Org is the reporting organisation.
func (r *Report) Org() string {
	switch {
	case r.Aggregate != nil:
		return r.Aggregate.Metadata.OrgName
	case r.TLS != nil:
		return r.TLS.OrganizationName
	case r.Failure != nil:
		if r.From != "" {
			if at := strings.LastIndexByte(r.From, '@'); at >= 0 {
				return strings.ToLower(r.From[at+1:])
			}
		}
		return r.Failure.UserAgent
	}
	return ""
}

// ID is the report's identifier as its reporter gave it (for failure
// reports, the message's Message-ID).
func (r *Report) ID() string {
	switch {
	case r.Aggregate != nil:
		return r.Aggregate.Metadata.ReportID
	case r.TLS != nil:
		return r.TLS.ReportID
	case r.Failure != nil:
		if r.MessageID != "" {
			return r.MessageID
		}
		return fmt.Sprintf("sha256:%x", r.SHA256[:12])
	}
	return ""
}

// Period is the time the report covers.
func (r *Report) Period() (begin, end time.Time) {
	switch {
	case r.Aggregate != nil:
		return r.Aggregate.Metadata.Begin, r.Aggregate.Metadata.End
	case r.TLS != nil:
		return r.TLS.Start, r.TLS.End
	case r.Failure != nil:
		t := r.Failure.ArrivalDate
		if t.IsZero() {
			t = r.Date
		}
		return t, t
	}
	return time.Time{}, time.Time{}
}

// Read finds the reports in one file: a mail message carrying them (as
// attachments, a gzip- or zip-compressed body, or a multipart/report), or
// a report document itself (.xml, .xml.gz, .zip, .json, .json.gz). It
// always returns at least one Report; those that could not be read carry
// Err.
func Read(source string, raw []byte) []Report {
	if len(raw) > MaxMessage {
		return []Report{{Source: source, Kind: KindUnknown, Err: ErrMessageLarge}}
	}
	if looksLikeMessage(raw) {
		return readMessage(source, raw)
	}
	return readDocument(source, raw, "")
}

// looksLikeMessage tells a mail message (a header field first) from a
// report document.
func looksLikeMessage(raw []byte) bool {
	if bytes.HasPrefix(raw, []byte("From ")) { // an mbox separator line
		if i := bytes.IndexByte(raw, '\n'); i >= 0 {
			raw = raw[i+1:]
		}
	}
	line := raw
	if i := bytes.IndexByte(raw, '\n'); i >= 0 {
		line = raw[:i]
	}
	colon := bytes.IndexByte(line, ':')
	if colon <= 0 {
		return false
	}
	for _, c := range line[:colon] {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// readDocument reads a document that may be compressed; hint is its
// declared content type, if any.
func readDocument(source string, data []byte, hint string) []Report {
	var out []Report
	for _, p := range unpack(source, data) {
		if p.err != nil {
			out = append(out, Report{Source: p.name, Kind: kindOfHint(hint, p.name), Err: p.err})
			continue
		}
		out = append(out, parseDocument(p.name, p.data, hint))
	}
	return out
}

// parseDocument parses one uncompressed document by what it holds.
func parseDocument(name string, data []byte, hint string) Report {
	rep := Report{Source: name, SHA256: sha256.Sum256(data)}
	body := bytes.TrimSpace(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")))
	switch {
	case len(body) == 0:
		rep.Kind, rep.Err = kindOfHint(hint, name), fmt.Errorf("%w: the document is empty", ErrNoReport)
	case body[0] == '{':
		rep.Kind = KindTLS
		rep.TLS, rep.Err = tlsrpt.Parse(body)
	case body[0] == '<' || bytes.HasPrefix(data, []byte{0xff, 0xfe}) || bytes.HasPrefix(data, []byte{0xfe, 0xff}):
		if body[0] != '<' {
			body = data // UTF-16: the reader decodes it
		}
		rep.Kind = KindAggregate
		rep.Aggregate, rep.Records, rep.Err = dmarcrpt.ParseAggregate(body)
		if rep.Err != nil {
			rep.Aggregate, rep.Records = nil, nil
			if errors.Is(rep.Err, dmarcrpt.ErrNotAggregate) {
				rep.Kind = KindUnknown
			}
		}
	default:
		rep.Kind = kindOfHint(hint, name)
		rep.Err = fmt.Errorf("%w: the document is neither XML nor JSON (it starts %q)", ErrNoReport, clip(body, 24))
	}
	if rep.Err != nil {
		rep.TLS = nil
	}
	return rep
}

func clip(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "..."
	}
	return string(b)
}

// kindOfHint guesses the kind of an unreadable document from its content
// type or name, so that a broken TLS report is still named one.
func kindOfHint(hint, name string) Kind {
	h, n := strings.ToLower(hint), strings.ToLower(name)
	switch {
	case strings.HasPrefix(h, "application/tlsrpt"), strings.Contains(n, ".json"):
		return KindTLS
	case strings.Contains(n, ".xml"):
		return KindAggregate
	}
	return KindUnknown
}

// readMessage walks a message's MIME parts for reports.
func readMessage(source string, raw []byte) []Report {
	e, err := message.Read(bytes.NewReader(raw))
	if err != nil && e == nil {
		return []Report{{Source: source, Kind: KindUnknown, Err: fmt.Errorf("%w: the message does not read: %v", ErrNoReport, err)}}
	}
	var meta Report
	meta.MessageID = strings.Trim(strings.TrimSpace(e.Header.Get("Message-Id")), "<>")
	if a, err := mail.ParseAddress(e.Header.Get("From")); err == nil {
		meta.From = strings.ToLower(a.Address)
	}
	if d, err := mail.ParseDate(e.Header.Get("Date")); err == nil {
		meta.Date = d.UTC()
	}
	w := walker{source: source}
	w.walk(e, 0)
	if len(w.out) == 0 {
		// Some reporters put the report itself in a text part.
		for _, t := range w.texts {
			if body := bytes.TrimSpace(t.body); bytes.HasPrefix(body, []byte("<?xml")) || bytes.HasPrefix(body, []byte("<feedback")) ||
				bytes.HasPrefix(body, []byte("{")) && bytes.Contains(body, []byte(`"report-id"`)) {
				w.out = append(w.out, parseDocument(t.source, body, ""))
			}
		}
	}
	var found, failed []Report
	for _, r := range w.out {
		r.MessageID, r.From, r.Date = meta.MessageID, meta.From, meta.Date
		if r.Err == nil || r.Kind != KindUnknown {
			found = append(found, r)
		} else {
			failed = append(failed, r)
		}
	}
	if len(found) > 0 {
		return found
	}
	reason := "no part holds one"
	if len(failed) > 0 {
		var why []string
		for _, f := range failed {
			why = append(why, f.Source+": "+strings.TrimPrefix(f.Err.Error(), ErrNoReport.Error()+": "))
		}
		reason = strings.Join(why, "; ")
	} else if len(w.types) > 0 {
		reason = "parts: " + strings.Join(w.types, ", ")
	}
	if w.err != nil {
		reason += "; " + w.err.Error()
	}
	return []Report{{Source: source, Kind: KindUnknown, Err: fmt.Errorf("%w in the message (%s)", ErrNoReport, reason),
		MessageID: meta.MessageID, From: meta.From, Date: meta.Date}}
}

type walker struct {
	source string
	parts  int
	types  []string
	out    []Report
	texts  []textPart // text/plain parts, in case the report is inline
	err    error
}

type textPart struct {
	source string
	body   []byte
}

func (w *walker) walk(e *message.Entity, depth int) {
	w.parts++
	if w.parts > maxParts || depth > maxDepth {
		w.err = fmt.Errorf("more than %d MIME parts or %d levels: the rest was not read", maxParts, maxDepth)
		return
	}
	ct, params, _ := e.Header.ContentType()
	ct = strings.ToLower(ct)
	if mr := e.MultipartReader(); mr != nil {
		for {
			p, err := mr.NextPart()
			if err == io.EOF {
				return
			}
			if err != nil && p == nil {
				if !message.IsUnknownCharset(err) && !message.IsUnknownEncoding(err) {
					w.err = fmt.Errorf("a MIME part does not read: %v", err)
					return
				}
				continue
			}
			w.walk(p, depth+1)
			if w.err != nil && w.parts > maxParts {
				return
			}
		}
	}
	w.types = append(w.types, ct)
	name := partName(e, params)
	source := w.source
	if name != "" {
		source += ": " + name
	}
	switch {
	case ct == "message/feedback-report":
		body, err := readBody(e)
		rep := Report{Source: source, Kind: KindFailure}
		if err == nil {
			rep.SHA256 = sha256.Sum256(body)
			rep.Failure, err = dmarcrpt.ParseFailure(body)
		}
		if err != nil {
			rep.Failure, rep.Err = nil, err
			if errors.Is(err, dmarcrpt.ErrNotFailure) {
				rep.Kind = KindUnknown
			}
		}
		w.out = append(w.out, rep)
	case ct == "text/plain" || ct == "":
		if body, err := readBody(e); err == nil && len(body) > 0 {
			w.texts = append(w.texts, textPart{source: source, body: body})
		}
	case candidate(ct):
		body, err := readBody(e)
		if err != nil {
			w.out = append(w.out, Report{Source: source, Kind: kindOfHint(ct, name), Err: err})
			return
		}
		w.out = append(w.out, readDocument(source, body, ct)...)
	}
}

// candidate tells the content types a report may come as: every
// application/ type (reporters use gzip, zip, x-zip-compressed,
// octet-stream, xml, tlsrpt+gzip...) but signatures, and XML text.
func candidate(ct string) bool {
	switch {
	case ct == "application/pgp-signature", ct == "application/pkcs7-signature", ct == "application/x-pkcs7-signature":
		return false
	case strings.HasPrefix(ct, "application/"), ct == "text/xml", ct == "text/json":
		return true
	}
	return false
}

func partName(e *message.Entity, ctParams map[string]string) string {
	if _, p, err := e.Header.ContentDisposition(); err == nil && p["filename"] != "" {
		return p["filename"]
	}
	if n := ctParams["name"]; n != "" {
		return n
	}
	// An undecodable RFC 2047 name is still a name.
	if _, p, err := mime.ParseMediaType(e.Header.Get("Content-Disposition")); err == nil {
		return p["filename"]
	}
	return ""
}

func readBody(e *message.Entity) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(e.Body, MaxMessage+1))
	if err != nil {
		return nil, fmt.Errorf("authreport: the part does not decode: %v", err)
	}
	if len(body) > MaxMessage {
		return nil, ErrMessageLarge
	}
	return body, nil
}
