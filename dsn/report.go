package dsn

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	_ "github.com/emersion/go-message/charset" // decode the charsets receivers write in

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/mail"

	"github.com/mailtrace/mailtrace/header"
	"github.com/mailtrace/mailtrace/reply"
)

// Kind is what a report is (the kind column of bounces).
type Kind string

// Action is what a report says became of the message for one recipient
// (the action column of bounces).
type Action string

// Actions. A read receipt's is the disposition type the recipient's mail
// client reported (RFC 8098 section 3.2.6.2: displayed, deleted,
// dispatched, processed, or another it names): what the client did with
// the message, never proof that a person read it.
const (
	// DSNs (RFC 3464 section 2.3.3).
	ActionFailed    Action = "failed"
	ActionDelayed   Action = "delayed"
	ActionDelivered Action = "delivered"
	ActionRelayed   Action = "relayed"
	ActionExpanded  Action = "expanded"
	ActionComplaint Action = "complaint" // an abuse complaint (ARF)
	ActionAutoReply Action = "autoreply" // an automatic reply
	ActionUnknown   Action = "unknown"   // a read receipt of no disposition type we know
	// The read receipts' (Displayed, Deleted...) are beside parseMDN.
)

// Kinds of report.
const (
	KindDSN       Kind = "dsn"       // a delivery status notification, standard or not
	KindARF       Kind = "arf"       // an abuse complaint (RFC 5965)
	KindAutoReply Kind = "autoreply" // an automatic reply (RFC 3834): not a bounce
	KindMDN       Kind = "mdn"       // a read receipt (RFC 8098): the recipient's mail client acknowledged the message
	KindUnknown   Kind = "unknown"   // a message that reports nothing we can read
)

// Limits on what Parse reads.
const (
	MaxSize      = 10 << 20 // a whole report
	MaxDepth     = 8        // nested multiparts
	MaxParts     = 256      // MIME parts in all
	MaxRecipient = 10000    // recipients per report: a report naming more is refused whole
	maxPartBody  = 2 << 20  // one part's decoded text
	maxField     = 4096     // one kept field (a diagnostic)
)

// ErrTooLarge is returned for reports over MaxSize.
var ErrTooLarge = fmt.Errorf("dsn: report larger than %d bytes: refused whole; a real report is far smaller (see dsn.MaxSize)", MaxSize)

// ErrTooManyRecipients is returned for a report that names more than
// MaxRecipient recipients: it is refused whole rather than read in part.
var ErrTooManyRecipients = fmt.Errorf("dsn: report names more than %d recipients: refused whole rather than read in part", MaxRecipient)

// Report is one report as read.
type Report struct {
	Kind Kind `json:"kind"`
	// Format names the convention the report followed: rfc3464, exim,
	// qmail, exchange, text (recipient lines in prose), arf, rfc3834.
	Format string `json:"format"`
	// System names the mail system that wrote the report, told by its
	// signature (signatures.go, and the systems with readers of their
	// own), or is empty: mimecast, proofpoint, courier, x400, ...
	System string `json:"system,omitempty"`
	// From, Subject and Date of the report itself.
	From    string    `json:"from,omitempty"`
	Subject string    `json:"subject,omitempty"`
	Date    time.Time `json:"date,omitzero"`
	// DeliveredTo are the addresses the report was delivered to, as the
	// headers delivery agents add say (Delivered-To, X-Original-To,
	// Envelope-To), and its To.
	DeliveredTo []string `json:"delivered_to,omitempty"`
	// Per-message fields of a DSN.
	ReportingMTA       string `json:"reporting_mta,omitempty"`
	OriginalEnvelopeID string `json:"original_envelope_id,omitempty"`
	// From the headers of the original message, when returned.
	OriginalMessageID string `json:"original_message_id,omitempty"`
	OriginalTraceID   string `json:"original_trace_id,omitempty"` // its X-Mailtrace-ID
	// MDN: the mail client that made the receipt.
	ReportingUA string `json:"reporting_ua,omitempty"`
	// ARF.
	FeedbackType string `json:"feedback_type,omitempty"`
	SourceIP     string `json:"source_ip,omitempty"`

	Recipients []Recipient `json:"recipients"`
	// SHA256 is the hash of the report as received: its identity.
	SHA256 [32]byte `json:"-"`
	// prose is the report's human-readable text before the quoted
	// original, bounded: it tells an expired message.
	prose string
	// tooMany is set when the report named more than MaxRecipient.
	tooMany bool
}

// repairHeader indents the lines of a header block that are neither a
// field ("Name: value") nor a continuation, so that they continue the
// field before them.
func repairHeader(b []byte) []byte {
	var out bytes.Buffer
	out.Grow(len(b) + 256)
	rest := b
	first := true
	for len(rest) > 0 {
		line := rest
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line, rest = rest[:i+1], rest[i+1:]
		} else {
			rest = nil
		}
		if len(bytes.TrimRight(line, "\r\n")) == 0 {
			out.Write(line)
			out.Write(rest)
			break
		}
		if !first && line[0] != ' ' && line[0] != '\t' && !isFieldLine(line) {
			out.WriteByte(' ')
		}
		out.Write(line)
		first = false
	}
	return out.Bytes()
}

// isFieldLine tells a header line that starts a field: printable
// characters other than space up to a colon.
func isFieldLine(line []byte) bool {
	for i, c := range line {
		switch {
		case c == ':':
			return i > 0
		case c <= ' ' || c > '~':
			return false
		}
	}
	return false
}

// add appends a recipient, or marks the report as naming too many.
func (r *Report) add(rc Recipient) {
	if len(r.Recipients) >= MaxRecipient {
		r.tooMany = true
		return
	}
	r.Recipients = append(r.Recipients, rc)
}

// Recipient is what a report says about one recipient.
type Recipient struct {
	// Address is the final recipient (or the original one when the
	// final one is no mail address).
	Address string `json:"address"`
	// OriginalRecipient is the address as the sender gave it (RFC 3464
	// Original-Recipient), when the report says.
	OriginalRecipient string `json:"original_recipient,omitempty"`
	// Action is what the report says became of the message for the
	// recipient (see the Action constants).
	Action Action `json:"action"`
	// Disposition is a read receipt's Disposition field whole
	// ("manual-action/MDN-sent-manually; displayed").
	Disposition string `json:"disposition,omitempty"`
	// Status is the enhanced status code (RFC 3463) the report states,
	// e.g. 5.1.1: its Status field, or where that gives only a class, a
	// code of that class its diagnostic or its words about the recipient
	// state; when the report gives none, the class alone (5.0.0 or
	// 4.0.0).
	Status string `json:"status"`
	// InferredStatus is the enhanced status code the report's words
	// support where Status is only a class (x.0.0), or contradicts the
	// action: "5.0.0" with "user unknown" infers 5.1.1; a failed
	// recipient whose status is a 4.x.x deferral was given up on and
	// infers 5.4.7 (delivery time expired). It never replaces Status, the
	// report's own evidence; it is empty when it would say nothing more.
	InferredStatus string `json:"inferred_status,omitempty"`
	Diagnostic     string `json:"diagnostic"`
	RemoteMTA      string `json:"remote_mta"`
	// Category, Provider and Block are set by Classify.
	Category string `json:"category"`
	Provider string `json:"provider,omitempty"`
	Block    bool   `json:"block,omitempty"`
	// context is what the report's human-readable part says about this
	// recipient: its own paragraph, or the whole prose when it reports
	// on one recipient only.
	context string
}

// EffectiveStatus is the inferred status where there is one, else the
// status the report states.
func (r *Recipient) EffectiveStatus() string {
	if r.InferredStatus != "" {
		return r.InferredStatus
	}
	return r.Status
}

// Parse reads one report. It returns an error only for a message it
// cannot read at all (too large, no header); a readable message that
// reports nothing is of KindUnknown.
func Parse(r io.Reader) (*Report, error) {
	raw, err := io.ReadAll(io.LimitReader(r, MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading the report: %w", err)
	}
	if len(raw) > MaxSize {
		return nil, ErrTooLarge
	}
	return ParseBytes(raw)
}

// ParseBytes is Parse on a report in memory.
func ParseBytes(raw []byte) (*Report, error) { return parseBytes(raw, false) }

// parseBytes reads a report; nested is set when reading a report that
// came forwarded inside another, which is not unwrapped again.
func parseBytes(raw []byte, nested bool) (*Report, error) {
	if len(raw) > MaxSize {
		return nil, ErrTooLarge
	}
	if isJSON(raw) {
		return parseJSON(raw)
	}
	body := bytes.TrimPrefix(raw, []byte("\xef\xbb\xbf")) // a byte-order mark left by the tool that saved it
	if bytes.HasPrefix(body, []byte("From ")) {
		// An mbox postmark line ("From sender date"), as saved by mail
		// readers: not a header.
		if i := bytes.IndexByte(body, '\n'); i >= 0 {
			body = body[i+1:]
		}
	}
	// Blank lines before the header (left by tools that saved the
	// report) would end it at once.
	for len(body) > 0 {
		i := bytes.IndexByte(body, '\n')
		if i < 0 || len(bytes.TrimSpace(body[:i])) != 0 {
			break
		}
		body = body[i+1:]
	}
	e, err := message.Read(bytes.NewReader(body))
	if e == nil {
		// Reports pass through systems that break header folding: a
		// continuation line that lost its leading space is joined again.
		if e, _ = message.Read(bytes.NewReader(repairHeader(body))); e == nil {
			return nil, fmt.Errorf("dsn: not a mail message: %w", err)
		}
	}
	rep := &Report{SHA256: sha256.Sum256(raw), Recipients: []Recipient{}}
	rep.From = clip(headerText(e.Header, "From"))
	rep.Subject = clip(headerText(e.Header, "Subject"))
	mh := mail.Header{Header: e.Header}
	rep.Date, _ = mh.Date()
	rep.DeliveredTo = deliveredTo(e.Header)
	var w walker
	if err := w.walk(e, 0); err != nil {
		return nil, err
	}
	switch {
	case w.feedback != nil:
		parseARF(rep, &w)
	case isJMRP(rep, &w):
		parseJMRP(rep, &w)
	case !nested && w.status == nil && w.mdn == nil && w.forwardedReport(rep):
		// A gateway forwarded the report as an attachment.
		return rep, nil
	case w.mdn != nil:
		parseMDN(rep, &w)
	case w.status != nil:
		parseDeliveryStatus(rep, w.status)
		rep.Kind, rep.Format = KindDSN, "rfc3464"
		if len(rep.Recipients) == 0 { // a report part with no recipient block: read the prose
			parsePlain(rep, e.Header, &w, true)
		}
	case isAutoReply(e.Header) && e.Header.Get("X-Failed-Recipients") == "" && !looksLikeBounce(rep, e.Header):
		// Postfix and Exim mark their bounces auto-replied too.
		rep.Kind, rep.Format = KindAutoReply, "rfc3834"
		rep.Recipients = append(rep.Recipients, Recipient{Address: address(headerText(e.Header, "From")), Action: ActionAutoReply, Diagnostic: rep.Subject})
	case w.readJSONBody(rep):
		// An SNS e-mail subscription mails the notification as its body.
	case readSystem(rep, e.Header, &w):
		// A system whose bounces the prose reader cannot read alone.
	default:
		parsePlain(rep, e.Header, &w, false)
	}
	if rep.Kind == "" {
		rep.Kind = KindUnknown
	}
	if rep.tooMany {
		return nil, ErrTooManyRecipients
	}
	if rep.Kind == KindDSN {
		w.context(rep)
		if rep.System == "" {
			rep.System = identify(rep, e.Header, &w)
		}
	}
	w.originalHeaders(rep)
	return rep, nil
}

// Classify gives every recipient the category, provider and block signal
// of its diagnostic read with the words around it, and the status those
// support where the report states only a class.
func (r *Report) Classify(c *reply.Classifier) {
	proseExpired, proseRead := false, false
	for i := range r.Recipients {
		rc := &r.Recipients[i]
		domain := reply.Domain(rc.Address)
		if r.Kind != KindDSN || rc.Action == ActionDelivered || rc.Action == ActionRelayed || rc.Action == ActionExpanded {
			rc.Provider = c.Provider(rc.RemoteMTA, domain)
			rc.Category, rc.Block, rc.InferredStatus = "", false, ""
			continue
		}
		if rc.Action == ActionDelayed && r.Format != "rfc3464" && (c.Expired(rc.Diagnostic) || c.Expired(rc.context)) {
			// A prose report states no action: one that says it gave up
			// on a message after its deferrals failed it.
			rc.Action = ActionFailed
		}
		in := reply.Reply{Text: rc.Diagnostic, Host: rc.RemoteMTA, RcptDomain: domain, Context: rc.context}
		generic := genericStatus(rc.Status)
		if generic {
			in.Class = rc.Status[0] // only the class: let the words decide
		} else {
			in.Enhanced = rc.Status
		}
		// A failure whose status is a deferral's, or that states only a
		// class while its diagnostic is a deferral, was given up on.
		in.Expired = rc.Action == ActionFailed && (rc.Status[0] == '4' || strings.HasSuffix(rc.Status, ".4.7") ||
			(generic && temporaryReply(rc.Diagnostic)) ||
			c.Expired(rc.Diagnostic) || c.Expired(rc.context) ||
			// The report's words about all its recipients do not make
			// one its server refused for good an expired one.
			(!permanentReply(rc.Diagnostic) && func() bool {
				if !proseRead {
					proseExpired, proseRead = c.Expired(r.prose), true
				}
				return proseExpired
			}()))
		res := c.ClassifyReply(in)
		rc.Category, rc.Provider, rc.Block = res.Category, res.Provider, res.Block
		rc.InferredStatus = ""
		switch {
		case in.Expired && rc.Status[0] == '4':
			rc.InferredStatus = res.Inferred // given up on: a failure, not the last deferral
		case generic && res.Inferred != "" && res.Inferred[0] == rc.Status[0]:
			rc.InferredStatus = res.Inferred
		}
		if rc.InferredStatus == rc.Status {
			rc.InferredStatus = ""
		}
	}
}

// temporaryReply tells a diagnostic whose own reply code is a deferral's
// (4xx or 4.x.x).
func temporaryReply(diag string) bool {
	if code := reply.EnhancedCode(diag); code != "" {
		return code[0] == '4'
	}
	code := reply.BasicCode(diag)
	return code != "" && code[0] == '4'
}

// permanentReply tells a diagnostic whose own reply code is a refusal
// for good (5xx or 5.x.x).
func permanentReply(diag string) bool {
	if code := reply.EnhancedCode(diag); code != "" {
		return code[0] == '5'
	}
	code := reply.BasicCode(diag)
	return code != "" && code[0] == '5'
}

// genericStatus tells a status that gives only a class (5.0.0, 4.0.0) or
// none.
func genericStatus(s string) bool { return len(s) < 5 || strings.HasSuffix(s, ".0.0") }

// walker collects the parts of a report that Parse reads.
type walker struct {
	parts    int
	status   []byte // message/delivery-status or message/global-delivery-status
	feedback []byte // message/feedback-report
	mdn      []byte // message/disposition-notification or its RFC 6533 form
	returned []byte // the original message or its headers
	texts    [][]byte
	htmls    [][]byte
	stripped [][]byte // htmls as text, once made
	lines    map[int][]Recipient
	lowered  []string // humanTexts lowercased, once made
}

// lowTexts are the human texts lowercased, made once.
func (w *walker) lowTexts() []string {
	if w.lowered == nil {
		w.lowered = []string{}
		for _, t := range w.humanTexts() {
			w.lowered = append(w.lowered, strings.ToLower(string(t)))
		}
	}
	return w.lowered
}

// recipientLines is recipientLines of the i-th human text, read once.
func (w *walker) recipientLines(i int) []Recipient {
	if r, ok := w.lines[i]; ok {
		return r
	}
	if w.lines == nil {
		w.lines = map[int][]Recipient{}
	}
	r := recipientLines(w.humanTexts()[i])
	w.lines[i] = r
	return r
}

var errTooManyParts = errors.New("report has too many MIME parts or nests them too deep")

func (w *walker) walk(e *message.Entity, depth int) error {
	w.parts++
	if w.parts > MaxParts || depth > MaxDepth {
		return errTooManyParts
	}
	if mr := e.MultipartReader(); mr != nil {
		for {
			p, err := mr.NextPart()
			if err == io.EOF {
				return nil
			}
			if err != nil && (p == nil || !(message.IsUnknownCharset(err) || message.IsUnknownEncoding(err))) {
				return nil // a broken boundary or part header ends the walk; what was read so far is kept
			}
			if err := w.walk(p, depth+1); err != nil {
				return err
			}
		}
	}
	t, _, _ := e.Header.ContentType()
	body := func() []byte {
		b, _ := io.ReadAll(io.LimitReader(e.Body, maxPartBody))
		return b
	}
	switch t {
	case "message/delivery-status", "message/global-delivery-status":
		if w.status == nil {
			w.status = body()
		}
	case "message/feedback-report":
		if w.feedback == nil {
			w.feedback = body()
		}
	case "message/disposition-notification", "message/global-disposition-notification":
		if w.mdn == nil {
			w.mdn = body()
		}
	case "message/rfc822", "message/global", "text/rfc822-headers", "message/rfc822-headers", "message/global-headers":
		if w.returned == nil {
			w.returned = body()
		}
	case "text/plain", "":
		w.texts = append(w.texts, body())
	case "text/html":
		w.htmls = append(w.htmls, body())
	}
	return nil
}

// forwardedReport reads a report that a gateway or a user forwarded as an
// attached message (message/rfc822 holding a delivery-status report),
// keeping the outer report's hash and dates.
func (w *walker) forwardedReport(rep *Report) bool {
	if w.returned == nil || !bytes.Contains(bytes.ToLower(w.returned[:min(len(w.returned), 64<<10)]), []byte("message/delivery-status")) {
		return false
	}
	inner, err := parseBytes(w.returned, true)
	if err != nil || inner.Kind != KindDSN || len(inner.Recipients) == 0 {
		return false
	}
	inner.SHA256, inner.DeliveredTo = rep.SHA256, rep.DeliveredTo
	if inner.Date.IsZero() {
		inner.Date = rep.Date
	}
	*rep = *inner
	return true
}

// readJSONBody reads a notification mailed as a JSON body; it leaves rep
// as it was when the body is none.
func (w *walker) readJSONBody(rep *Report) bool {
	for _, t := range w.texts {
		if !isJSON(t) {
			continue
		}
		try := &Report{Recipients: []Recipient{}}
		if err := readJSON(try, t); err != nil || try.Kind == "" || try.Kind == KindUnknown {
			return false
		}
		rep.Kind, rep.Format, rep.Recipients, rep.tooMany = try.Kind, try.Format, try.Recipients, try.tooMany
		rep.ReportingMTA, rep.FeedbackType = try.ReportingMTA, try.FeedbackType
		rep.OriginalMessageID, rep.OriginalTraceID = try.OriginalMessageID, try.OriginalTraceID
		return true
	}
	return false
}

// maxProse bounds the human-readable text kept to classify with.
const maxProse = 8 << 10

// humanTexts are the report's text parts, or its HTML parts as text when
// it has no plain text.
func (w *walker) humanTexts() [][]byte {
	if len(w.texts) > 0 || len(w.htmls) == 0 {
		return w.texts
	}
	if w.stripped == nil {
		for _, t := range w.htmls {
			w.stripped = append(w.stripped, stripHTML(t))
		}
	}
	return w.stripped
}

// context gives the report its prose and each recipient the words of the
// human-readable part about it.
func (w *walker) context(rep *Report) {
	var prose strings.Builder
	var segments []Recipient
	for i, t := range w.humanTexts() {
		for line := range bytes.Lines(t) {
			if prose.Len() >= maxProse || quoted(strings.ToLower(strings.TrimSpace(string(line)))) {
				break
			}
			prose.Write(line)
		}
		if segments == nil {
			segments = w.recipientLines(i)
		}
	}
	rep.prose = strings.ToValidUTF8(prose.String(), "")
	about := map[string]string{}
	for _, s := range segments {
		about[strings.ToLower(s.Address)] = s.Diagnostic
	}
	for i := range rep.Recipients {
		rc := &rep.Recipients[i]
		if seg := about[strings.ToLower(rc.Address)]; seg != "" && seg != rc.Diagnostic {
			rc.context = seg
		} else if seg == "" && rc.OriginalRecipient != "" {
			rc.context = about[strings.ToLower(rc.OriginalRecipient)]
		}
		if rc.context == "" && len(rep.Recipients) == 1 {
			rc.context = rep.prose
		}
		// A report that states only a class in its fields may state the
		// code in its words about the recipient: that is its status.
		if genericStatus(rc.Status) {
			if code := reply.EnhancedCode(rc.context); code != "" && code[0] == rc.Status[0] && !genericStatus(code) {
				rc.Status = code
			}
		}
	}
}

// originalHeaders reads the returned message's Message-ID and trace ID.
func (w *walker) originalHeaders(rep *Report) {
	if w.returned != nil {
		// An unknown charset still gives the header.
		// Only two fields are wanted: they are looked up in the header
		// block, unfolded, without parsing the whole original.
		head := w.returned
		if i := bytes.Index(head, []byte("\n\n")); i >= 0 {
			head = head[:i]
		}
		if i := bytes.Index(head, []byte("\r\n\r\n")); i >= 0 {
			head = head[:i]
		}
		if rep.OriginalMessageID == "" {
			rep.OriginalMessageID = headerField(head, "message-id:")
		}
		rep.OriginalTraceID = headerField(head, header.LowerID+":")
	}
	// Non-standard bounces quote the original inline, after a marker.
	for _, t := range w.texts {
		if rep.OriginalMessageID == "" {
			rep.OriginalMessageID = quotedHeader(t, "message-id:")
		}
		if rep.OriginalTraceID == "" {
			rep.OriginalTraceID = quotedHeader(t, header.LowerID+":")
		}
	}
}

// headerField is the value of a field of a header block, by its
// lowercased name with colon, with folded lines joined; "" if absent.
func headerField(head []byte, name string) string {
	for i := 0; i < len(head); {
		j := bytes.IndexByte(head[i:], '\n')
		if j < 0 {
			j = len(head) - i
		}
		line := head[i : i+j]
		i += j + 1
		if len(line) <= len(name) || !strings.EqualFold(string(line[:len(name)]), name) {
			continue
		}
		v := string(line[len(name):])
		for i < len(head) && (head[i] == ' ' || head[i] == '\t') { // folded
			k := bytes.IndexByte(head[i:], '\n')
			if k < 0 {
				k = len(head) - i
			}
			v += " " + string(head[i:i+k])
			i += k + 1
		}
		return clip(strings.TrimSpace(v))
	}
	return ""
}

// quotedHeader finds a header line quoted in a text body (after the
// report's own prose), by its lowercased name with colon.
func quotedHeader(text []byte, name string) string {
	for line := range bytes.Lines(text) {
		line = bytes.TrimLeft(line, " \t>")
		if len(line) > len(name) && strings.EqualFold(string(line[:len(name)]), name) {
			return clip(strings.TrimSpace(string(line[len(name):])))
		}
	}
	return ""
}

// deliveredTo lists the addresses in the delivery agents' headers and To.
func deliveredTo(h message.Header) []string {
	var out []string
	for _, k := range []string{"Delivered-To", "X-Original-To", "Envelope-To", "To"} {
		for _, v := range h.Values(k) {
			for _, a := range strings.Split(v, ",") {
				if a = strings.Trim(strings.TrimSpace(a), "<>"); strings.Contains(a, "@") && !strings.ContainsAny(a, " \"") && len(out) < MaxRecipient {
					out = append(out, clip(a))
				}
			}
		}
	}
	return out
}

func headerText(h message.Header, key string) string {
	v, err := h.Text(key)
	if err != nil {
		return h.Get(key)
	}
	return v
}

// clip bounds a kept field and makes it one line.
func clip(s string) string {
	if len(s) > maxField {
		s = s[:maxField]
	}
	if strings.ContainsAny(s, "\r\n\t") {
		s = strings.Join(strings.Fields(s), " ")
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}
