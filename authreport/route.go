package authreport

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"mime"
	"net/mail"
	"net/textproto"
	"regexp"
	"strings"
)

// Config is the reports section of mailtrace.yaml.
type Config struct {
	// Addresses are the rua=, ruf= and TLS-RPT rua=mailto: addresses that
	// Postfix delivers to mailtrace's intake (like the bounce domain):
	// mail to them is read as reports, not bounces. Reports sent elsewhere
	// are still recognised by their form (subject, TLS-Report-Domain,
	// report type).
	Addresses []string `yaml:"addresses"`
}

// Validate checks the addresses.
func (c Config) Validate() error {
	for _, a := range c.Addresses {
		if at := strings.LastIndexByte(a, '@'); at <= 0 || at == len(a)-1 || strings.ContainsAny(a, " <>,") {
			return fmt.Errorf("reports.addresses: %q is not an address (dmarc-reports@example.com)", a)
		}
	}
	return nil
}

// Router hands the bounce intake's mail that is a report to the reports'
// intake.
type Router struct {
	in        *Intake
	addresses map[string]bool
}

// NewRouter routes mail to the configured addresses, and mail that looks
// like a report, to in.
func NewRouter(c Config, in *Intake) *Router {
	r := &Router{in: in, addresses: map[string]bool{}}
	for _, a := range c.Addresses {
		r.addresses[strings.ToLower(strings.TrimSpace(a))] = true
	}
	return r
}

// Wants tells a report: mail to a report address, or in a report's form.
func (r *Router) Wants(raw []byte, envelopeRcpts []string) bool {
	if len(envelopeRcpts) == 0 { // a Maildir: where it was delivered, from its header
		envelopeRcpts = deliveredTo(raw)
	}
	for _, a := range envelopeRcpts {
		if r.addresses[strings.ToLower(strings.Trim(strings.TrimSpace(a), "<>"))] {
			return true
		}
	}
	return LooksLikeReport(raw)
}

// Take stores the reports of one message; an error means it is to be
// offered again.
func (r *Router) Take(ctx context.Context, source string, raw []byte) error {
	_, err := r.in.Ingest(ctx, source, raw)
	return err
}

// header reads a message's header, bounded.
func header(raw []byte) textproto.MIMEHeader {
	end := bytes.Index(raw, []byte("\n\n"))
	if e := bytes.Index(raw, []byte("\r\n\r\n")); e >= 0 && (end < 0 || e < end) {
		end = e
	}
	if end < 0 {
		end = len(raw)
	}
	if end > 256<<10 {
		end = 256 << 10
	}
	h, _ := textproto.NewReader(bufio.NewReader(bytes.NewReader(append(raw[:end:end], "\r\n\r\n"...)))).ReadMIMEHeader()
	return h
}

// deliveredTo is where a message says it was delivered.
func deliveredTo(raw []byte) []string {
	h := header(raw)
	var out []string
	for _, f := range []string{"Delivered-To", "X-Original-To", "To"} {
		for _, v := range h.Values(f) {
			if list, err := mail.ParseAddressList(v); err == nil {
				for _, a := range list {
					out = append(out, a.Address)
				}
			} else {
				out = append(out, strings.TrimSpace(v))
			}
		}
	}
	return out
}

// subjectRE is an aggregate report's subject (RFC 7489 section 7.2.1.1,
// RFC 9990 section 5.2.1), which some reporters prefix with a tag.
var subjectRE = regexp.MustCompile(`(?i)^\s*(\[[^\]]*\]\s*)?report\s+domain\s*:`)

// LooksLikeReport tells, from its header (and the feedback type of a
// feedback report), a message that is a DMARC or TLS report: a TLS-RPT
// header field or report type (RFC 8460 section 5.3), an aggregate
// report's subject, or a feedback report of type auth-failure.
func LooksLikeReport(raw []byte) bool {
	h := header(raw)
	if h == nil {
		return false
	}
	if h.Get("Tls-Report-Domain") != "" || h.Get("Tls-Report-Submitter") != "" {
		return true
	}
	ct, params, _ := mime.ParseMediaType(h.Get("Content-Type"))
	if strings.EqualFold(ct, "multipart/report") {
		switch strings.ToLower(params["report-type"]) {
		case "tlsrpt":
			return true
		case "feedback-report":
			return bytes.Contains(bytes.ToLower(raw[:min(len(raw), 1<<20)]), []byte("feedback-type: auth-failure"))
		}
	}
	subject := h.Get("Subject")
	if d, err := new(mime.WordDecoder).DecodeHeader(subject); err == nil {
		subject = d
	}
	return subjectRE.MatchString(subject)
}
