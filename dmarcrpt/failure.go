package dmarcrpt

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net/mail"
	"net/textproto"
	"strings"
	"time"
)

// FeedbackTypeAuthFailure is the ARF feedback type of a failure report
// (RFC 6591 section 3.1).
const FeedbackTypeAuthFailure = "auth-failure"

// Failure is a DMARC failure report (RFC 9991; RFC 6591): the fields of
// its message/feedback-report part about one message that failed.
type Failure struct {
	FeedbackType     string
	UserAgent        string
	Version          string
	ArrivalDate      time.Time // zero when absent or unreadable
	SourceIP         string
	ReportedDomain   string
	OriginalMailFrom string
	OriginalRcptTo   string
	// AuthFailure names what failed: dkim, spf, dmarc, bodyhash, revoked,
	// signature, adsp (RFC 6591 section 3.2.2).
	AuthFailure string
	// IdentityAlignment names the identifiers that aligned: dkim, spf,
	// none, or both as "dkim, spf" (RFC 9991 section 3.3).
	IdentityAlignment     string
	AuthenticationResults string
	DeliveryResult        string
	DKIMDomain            string
	DKIMSelector          string
	DKIMIdentity          string
	SPFDNS                string
}

// ErrNotFailure is returned for a feedback report that is not about an
// authentication failure (an abuse complaint, say).
var ErrNotFailure = errors.New("dmarcrpt: not a DMARC failure report")

// ParseFailure reads the body of a message/feedback-report part.
func ParseFailure(fields []byte) (*Failure, error) {
	// The part is a header block; make sure it ends like one.
	fields = append(bytes.TrimRight(fields, "\r\n\t "), "\r\n\r\n"...)
	h, err := textproto.NewReader(bufio.NewReader(bytes.NewReader(fields))).ReadMIMEHeader()
	if err != nil && len(h) == 0 {
		return nil, fmt.Errorf("%w: the feedback-report part does not read as fields: %v", ErrNotFailure, err)
	}
	f := &Failure{
		FeedbackType:          lower(h.Get("Feedback-Type")),
		UserAgent:             clean(h.Get("User-Agent")),
		Version:               clean(h.Get("Version")),
		SourceIP:              clean(h.Get("Source-Ip")),
		ReportedDomain:        lowerDomain(h.Get("Reported-Domain")),
		OriginalMailFrom:      clean(strings.Trim(strings.TrimSpace(h.Get("Original-Mail-From")), "<>")),
		OriginalRcptTo:        clean(strings.Trim(strings.TrimSpace(h.Get("Original-Rcpt-To")), "<>")),
		AuthFailure:           lower(h.Get("Auth-Failure")),
		IdentityAlignment:     lower(h.Get("Identity-Alignment")),
		AuthenticationResults: clean(h.Get("Authentication-Results")),
		DeliveryResult:        lower(h.Get("Delivery-Result")),
		DKIMDomain:            lowerDomain(h.Get("Dkim-Domain")),
		DKIMSelector:          clean(h.Get("Dkim-Selector")),
		DKIMIdentity:          clean(h.Get("Dkim-Identity")),
		SPFDNS:                clean(h.Get("Spf-Dns")),
	}
	if d := strings.TrimSpace(h.Get("Arrival-Date")); d != "" {
		if t, err := mail.ParseDate(d); err == nil {
			f.ArrivalDate = t.UTC()
		}
	}
	switch {
	case f.FeedbackType == "":
		return nil, fmt.Errorf("%w: no Feedback-Type field", ErrNotFailure)
	case f.FeedbackType != FeedbackTypeAuthFailure:
		return nil, fmt.Errorf("%w: Feedback-Type is %q (a complaint or other feedback, not an authentication failure; `mailtrace dsn parse` reads complaints)",
			ErrNotFailure, f.FeedbackType)
	}
	return f, nil
}
