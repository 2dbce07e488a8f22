package evidence

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/mailtrace/mailtrace/schema"
)

// FormatVersion names the shape of an evidence record; a record states it
// in its "version" member so that a verifier knows how to read it.
const FormatVersion = "mailtrace-evidence/1"

// HashAlgorithm is the hash of a record's canonical JSON, of the chain
// links and of the Merkle tree, named in every record.
const HashAlgorithm = "SHA-256"

// The events of EN 319 522-1 that a sender-side sidecar can honestly
// claim, and mailtrace's own for the facts ETSI does not name.
const (
	// EventSubmissionAcceptance: the milter saw Postfix accept the message.
	EventSubmissionAcceptance = "http://uri.etsi.org/19522/Event/SubmissionAcceptance"
	// EventSubmissionRejection: Postfix refused the message at submission.
	EventSubmissionRejection = "http://uri.etsi.org/19522/Event/SubmissionRejection"
	// EventRelayToNonERDS: the recipient's server answered 250 after DATA:
	// the message was handed to an ordinary mail system. It is not
	// delivery to the person.
	EventRelayToNonERDS = "http://uri.etsi.org/19522/Event/RelayToNonERDS"
	// EventRelayToNonERDSFailure: a permanent refusal (5xx), expiry in the
	// queue, or a DSN that reports failure; EventReasons say why.
	EventRelayToNonERDSFailure = "http://uri.etsi.org/19522/Event/RelayToNonERDSFailure"

	// EventDeferred: a temporary failure (4xx, no connection); Postfix
	// tries again.
	EventDeferred = "urn:mailtrace:event:Deferred"
	// EventHandoff: handed to a content filter or another queue on this host.
	EventHandoff = "urn:mailtrace:event:Handoff"
	// EventSenderNotification: Postfix sent its own notification (bounce,
	// delay warning) to the sender.
	EventSenderNotification = "urn:mailtrace:event:SenderNotification"
	// EventDeliveryReport: a DSN that came back, matched to the message.
	EventDeliveryReport = "urn:mailtrace:event:DeliveryReport"
	// EventComplaint: an ARF feedback report about the message.
	EventComplaint = "urn:mailtrace:event:Complaint"
	// EventAutoReply: an automatic reply (vacation, ticket systems).
	EventAutoReply = "urn:mailtrace:event:AutoReply"
	// EventReadReceipt: an MDN; a client's acknowledgement, which clients
	// may refuse to send, and never proof that a person read the message.
	EventReadReceipt = "urn:mailtrace:event:ReadReceipt"
	// EventChainClosing closes a message's chain: the message reached its
	// final state with this many records, the last with this hash.
	EventChainClosing = "urn:mailtrace:event:ChainClosing"
	// EventLedgerStart is the first record of every log: facts stored
	// before it are not in the ledger.
	EventLedgerStart = "urn:mailtrace:event:LedgerStart"
)

// Record is one evidence record. Its canonical JSON (RFC 8785) is what is
// hashed, chained, put in the Merkle tree and stored.
type Record struct {
	Version               string   `json:"version"`
	HashAlgorithm         string   `json:"hashAlgorithm"`
	EvidenceIdentifier    string   `json:"EvidenceIdentifier"`
	ERDSEventId           string   `json:"ERDSEventId"`
	EventTime             string   `json:"EventTime"`
	EvidenceIssuerDetails Issuer   `json:"EvidenceIssuerDetails"`
	SenderDetails         *Party   `json:"SenderDetails,omitempty"`
	RecipientDetails      []Party  `json:"RecipientDetails,omitempty"`
	MessageIdentifier     string   `json:"MessageIdentifier,omitempty"`
	SubmissionTime        string   `json:"SubmissionTime,omitempty"`
	EventReasons          []Reason `json:"EventReasons,omitempty"`
	// Log places the record in its Merkle log.
	Log LogPosition `json:"log"`
	// FactID is what makes the record unique: the same fact, replayed,
	// has the same ID and is not appended again.
	FactID string `json:"factId"`
	// Chain links the record to the previous record of its message.
	Chain *ChainLink `json:"chain,omitempty"`
	// Closing is set on a chain's closing record.
	Closing *Closing `json:"closing,omitempty"`
	// Facts are the raw facts: the log line, the whole reply, the relay,
	// TLS, delays, the report's SHA-256, as they were read.
	Facts map[string]any `json:"facts,omitempty"`
	// factsJSON, when set, is Facts already in canonical form.
	factsJSON []byte
}

// Issuer is EvidenceIssuerDetails: which mailtrace on which host.
type Issuer struct {
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
	Host    string `json:"host"`
}

// Party is a sender or a recipient.
type Party struct {
	Address string `json:"address"`
}

// Reason is one EventReason: an enhanced status code and its text.
type Reason struct {
	Code string `json:"code,omitempty"`
	Text string `json:"text"`
}

// LogPosition is the log a record belongs to and its leaf index there.
type LogPosition struct {
	Origin string `json:"origin"`
	Index  int64  `json:"index"`
}

// ChainLink places a record in its message's chain.
type ChainLink struct {
	Message string `json:"message"`
	// Position counts from 1 within the message.
	Position int64 `json:"position"`
	// PreviousRecordHash is the hex SHA-256 of the previous record of the
	// message, empty for the first.
	PreviousRecordHash string `json:"previousRecordHash,omitempty"`
}

// Closing fixes a chain: Records records came before the closing record,
// the last of them hashing to LastRecordHash.
type Closing struct {
	Records        int64  `json:"records"`
	LastRecordHash string `json:"lastRecordHash"`
}

// RecordHash is the SHA-256 of a record's canonical JSON, in hex: what
// sha256sum prints for the stored record.
func RecordHash(canonical []byte) string {
	h := sha256.Sum256(canonical)
	return hex.EncodeToString(h[:])
}

// Timestamp writes a time as records carry it: RFC 3339 in UTC with
// exactly the digits of a fraction of a second its source has, as the
// trace shows it (trace.Stamp, by the same schema.RFC3339Digits): "2026-12-02T05:04:36Z" for a whole-second
// log line, ".123Z" for three digits, ".123456Z" for six. The sub-second
// tie-break the store adds to keep the lines of one second in log order
// is not written: a record never states a precision its source did not
// have. Records are ordered by their log index and chain position.
func Timestamp(t time.Time, digits uint8) string {
	if t.IsZero() {
		return ""
	}
	return schema.RFC3339Digits(t, digits)
}

// Canonical returns the record's canonical JSON (RFC 8785). It writes the
// members directly in their sorted order (faster than encoding and
// canonicalizing); TestRecordCanonicalMatchesRFC8785 checks that it equals
// Canonicalize of encoding/json's output.
func (r *Record) Canonical() ([]byte, error) {
	if err := r.validUTF8(); err != nil {
		return nil, err
	}
	// Room for the fixed members and the facts: one allocation, no regrowth.
	size := 640 + len(r.factsJSON)
	for _, x := range r.EventReasons {
		size += len(x.Code) + len(x.Text)
	}
	out := make([]byte, 0, size)
	// Member names are ASCII: UTF-16 order is byte order, upper case first.
	out = append(out, `{"ERDSEventId":`...)
	out = appendCanonString(out, r.ERDSEventId)
	if len(r.EventReasons) > 0 {
		out = append(out, `,"EventReasons":[`...)
		for i, x := range r.EventReasons {
			if i > 0 {
				out = append(out, ',')
			}
			out = append(out, '{')
			if x.Code != "" {
				out = append(out, `"code":`...)
				out = appendCanonString(out, x.Code)
				out = append(out, ',')
			}
			out = append(out, `"text":`...)
			out = appendCanonString(out, x.Text)
			out = append(out, '}')
		}
		out = append(out, ']')
	}
	out = append(out, `,"EventTime":`...)
	out = appendCanonString(out, r.EventTime)
	out = append(out, `,"EvidenceIdentifier":`...)
	out = appendCanonString(out, r.EvidenceIdentifier)
	out = append(out, `,"EvidenceIssuerDetails":{"host":`...)
	out = appendCanonString(out, r.EvidenceIssuerDetails.Host)
	out = append(out, `,"name":`...)
	out = appendCanonString(out, r.EvidenceIssuerDetails.Name)
	if r.EvidenceIssuerDetails.Version != "" {
		out = append(out, `,"version":`...)
		out = appendCanonString(out, r.EvidenceIssuerDetails.Version)
	}
	out = append(out, '}')
	if r.MessageIdentifier != "" {
		out = append(out, `,"MessageIdentifier":`...)
		out = appendCanonString(out, r.MessageIdentifier)
	}
	if len(r.RecipientDetails) > 0 {
		out = append(out, `,"RecipientDetails":[`...)
		for i, p := range r.RecipientDetails {
			if i > 0 {
				out = append(out, ',')
			}
			out = append(out, `{"address":`...)
			out = appendCanonString(out, p.Address)
			out = append(out, '}')
		}
		out = append(out, ']')
	}
	if r.SenderDetails != nil {
		out = append(out, `,"SenderDetails":{"address":`...)
		out = appendCanonString(out, r.SenderDetails.Address)
		out = append(out, '}')
	}
	if r.SubmissionTime != "" {
		out = append(out, `,"SubmissionTime":`...)
		out = appendCanonString(out, r.SubmissionTime)
	}
	if r.Chain != nil {
		out = append(out, `,"chain":{"message":`...)
		out = appendCanonString(out, r.Chain.Message)
		out = append(out, `,"position":`...)
		out = strconv.AppendInt(out, r.Chain.Position, 10)
		if r.Chain.PreviousRecordHash != "" {
			out = append(out, `,"previousRecordHash":`...)
			out = appendCanonString(out, r.Chain.PreviousRecordHash)
		}
		out = append(out, '}')
	}
	if r.Closing != nil {
		out = append(out, `,"closing":{"lastRecordHash":`...)
		out = appendCanonString(out, r.Closing.LastRecordHash)
		out = append(out, `,"records":`...)
		out = strconv.AppendInt(out, r.Closing.Records, 10)
		out = append(out, '}')
	}
	out = append(out, `,"factId":`...)
	out = appendCanonString(out, r.FactID)
	if len(r.factsJSON) > 2 { // more than {}
		out = append(out, `,"facts":`...)
		out = append(out, r.factsJSON...)
	} else if len(r.Facts) > 0 {
		out = append(out, `,"facts":`...)
		var err error
		if out, err = appendCanonAny(out, r.Facts); err != nil {
			return nil, err
		}
	}
	out = append(out, `,"hashAlgorithm":`...)
	out = appendCanonString(out, r.HashAlgorithm)
	out = append(out, `,"log":{"index":`...)
	out = strconv.AppendInt(out, r.Log.Index, 10)
	out = append(out, `,"origin":`...)
	out = appendCanonString(out, r.Log.Origin)
	out = append(out, `},"version":`...)
	out = appendCanonString(out, r.Version)
	return append(out, '}'), nil
}

// validUTF8 refuses a record whose fixed fields are not UTF-8 (the raw
// facts are checked as they are written).
func (r *Record) validUTF8() error {
	fields := []string{r.ERDSEventId, r.EventTime, r.EvidenceIdentifier, r.EvidenceIssuerDetails.Host, r.EvidenceIssuerDetails.Name,
		r.EvidenceIssuerDetails.Version, r.MessageIdentifier, r.SubmissionTime, r.FactID, r.HashAlgorithm, r.Log.Origin, r.Version}
	for _, p := range r.RecipientDetails {
		fields = append(fields, p.Address)
	}
	if r.SenderDetails != nil {
		fields = append(fields, r.SenderDetails.Address)
	}
	for _, x := range r.EventReasons {
		fields = append(fields, x.Code, x.Text)
	}
	if r.Chain != nil {
		fields = append(fields, r.Chain.Message, r.Chain.PreviousRecordHash)
	}
	for _, s := range fields {
		if !utf8.ValidString(s) {
			return fmt.Errorf("%w: invalid UTF-8 in %q (commit raw bytes as hex or base64)", ErrNotCanonical, s)
		}
	}
	return nil
}

// maxExactInt is the largest integer a JSON number (an IEEE 754 double,
// as RFC 8785 reads it) holds exactly.
const maxExactInt = 1 << 53

// appendCanonAny writes the values records are made of in canonical form.
func appendCanonAny(out []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(out, "null"...), nil
	case string:
		if !utf8.ValidString(x) {
			return nil, fmt.Errorf("%w: invalid UTF-8 in %q (commit raw bytes as hex or base64)", ErrNotCanonical, x)
		}
		return appendCanonString(out, x), nil
	case bool:
		return strconv.AppendBool(out, x), nil
	case int:
		return appendCanonInt(out, int64(x))
	case int64:
		return appendCanonInt(out, x)
	case int32:
		return appendCanonInt(out, int64(x))
	case uint16:
		return appendCanonInt(out, int64(x))
	case uint32:
		return appendCanonInt(out, int64(x))
	case uint8:
		return appendCanonInt(out, int64(x))
	case uint64:
		if x > maxExactInt {
			return nil, fmt.Errorf("%w: %d is beyond 2^53 (store it as a string)", ErrNotCanonical, x)
		}
		return appendCanonInt(out, int64(x))
	case float32:
		// The shortest decimal that reads back as the float32, not the
		// float64 widening's long tail (0.1, not 0.10000000149011612).
		f, _ := strconv.ParseFloat(strconv.FormatFloat(float64(x), 'g', -1, 32), 64)
		s, err := formatNumber(f)
		return append(out, s...), err
	case float64:
		s, err := formatNumber(x)
		return append(out, s...), err
	case []string:
		out = append(out, '[')
		for i, s := range x {
			if i > 0 {
				out = append(out, ',')
			}
			var err error
			if out, err = appendCanonAny(out, s); err != nil {
				return nil, err
			}
		}
		return append(out, ']'), nil
	case []any:
		out = append(out, '[')
		for i, e := range x {
			if i > 0 {
				out = append(out, ',')
			}
			var err error
			if out, err = appendCanonAny(out, e); err != nil {
				return nil, err
			}
		}
		return append(out, ']'), nil
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			if !utf8.ValidString(k) {
				return nil, fmt.Errorf("%w: invalid UTF-8 in member name %q", ErrNotCanonical, k)
			}
			keys = append(keys, k)
		}
		slices.SortFunc(keys, compareUTF16)
		out = append(out, '{')
		for i, k := range keys {
			if i > 0 {
				out = append(out, ',')
			}
			out = appendCanonString(out, k)
			out = append(out, ':')
			var err error
			if out, err = appendCanonAny(out, x[k]); err != nil {
				return nil, err
			}
		}
		return append(out, '}'), nil
	}
	return nil, fmt.Errorf("%w: a record cannot hold a %T", ErrNotCanonical, v)
}

func appendCanonInt(out []byte, x int64) ([]byte, error) {
	if x > maxExactInt || x < -maxExactInt {
		return nil, fmt.Errorf("%w: %d is beyond 2^53 (store it as a string)", ErrNotCanonical, x)
	}
	return strconv.AppendInt(out, x, 10), nil
}

// compareUTF16 orders member names by their UTF-16 code units, as RFC
// 8785 sorts them. For names in the Basic Multilingual Plane this is the
// byte order of UTF-8; only characters above U+FFFF (surrogate pairs,
// 0xD800-0xDFFF) sort before U+E000-U+FFFF.
func compareUTF16(a, b string) int {
	for a != "" && b != "" {
		ra, na := utf8.DecodeRuneInString(a)
		rb, nb := utf8.DecodeRuneInString(b)
		if ra != rb {
			return utf16Key(ra) - utf16Key(rb)
		}
		a, b = a[na:], b[nb:]
	}
	return len(a) - len(b)
}

// utf16Key is the first UTF-16 code unit of r, widened so that a
// supplementary character compares below U+E000 and by its whole value
// among its kind.
func utf16Key(r rune) int {
	if r >= 0x10000 {
		return 0xD800<<16 + int(r-0x10000) // its high surrogate first
	}
	return int(r) << 16
}
