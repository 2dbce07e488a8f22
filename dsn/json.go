package dsn

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/mailtrace/mailtrace/reply"
)

// Sending services report bounces, complaints and deliveries as JSON
// events rather than mail: Amazon SES (its notifications, alone or inside
// an Amazon SNS envelope, posted to a web hook or mailed by an SNS e-mail
// subscription), SendGrid's and SparkPost's event web hooks (arrays of
// events), Mailgun's web hook (one event-data object) and its events API
// (items), Mandrill's web hook (mandrill_events, form-encoded or not).
// parseJSON tells them apart by their keys; each service's reader is in
// its own file.

// ErrJSON is returned for a JSON document that is no known notification.
var ErrJSON = errors.New("dsn: JSON that is no notification of Amazon SES, SendGrid, Mailgun, Mandrill or SparkPost")

// isJSON tells a JSON document (or Mandrill's form-encoded events) from a
// mail message.
func isJSON(raw []byte) bool {
	t := bytes.TrimLeft(raw, " \t\r\n\ufeff")
	return len(t) > 0 && (t[0] == '{' || t[0] == '[') || bytes.HasPrefix(t, []byte("mandrill_events="))
}

// parseJSON reads one JSON notification document.
func parseJSON(raw []byte) (*Report, error) {
	rep := &Report{SHA256: sha256.Sum256(raw), Recipients: []Recipient{}}
	if err := readJSON(rep, raw); err != nil {
		return nil, err
	}
	if rep.tooMany {
		return nil, ErrTooManyRecipients
	}
	if rep.Kind == "" {
		rep.Kind = KindUnknown
	}
	return rep, nil
}

// readJSON fills rep from a JSON document; it is also used for a mail
// whose body is one (SNS e-mail subscriptions).
func readJSON(rep *Report, raw []byte) error {
	t := bytes.TrimLeft(raw, " \t\r\n\ufeff")
	if v, ok := bytes.CutPrefix(t, []byte("mandrill_events=")); ok {
		s, err := url.QueryUnescape(string(bytes.TrimSpace(v)))
		if err != nil {
			return fmt.Errorf("dsn: Mandrill events are not URL-encoded JSON: %w", err)
		}
		t = []byte(s)
	}
	if len(t) > 0 && t[0] == '[' {
		var events []json.RawMessage
		if err := json.Unmarshal(t, &events); err != nil {
			return fmt.Errorf("dsn: unreadable JSON notification: %w", err)
		}
		for _, e := range events {
			if rep.tooMany {
				break
			}
			if err := readJSONEvent(rep, e); err != nil {
				return err
			}
		}
		return nil
	}
	return readJSONEvent(rep, t)
}

// jsonKeys are the top-level keys that tell the services apart.
type jsonKeys struct {
	// Amazon SNS envelope.
	Type    string `json:"Type"`
	Message string `json:"Message"`
	// Amazon SES.
	NotificationType string `json:"notificationType"`
	EventType        string `json:"eventType"`
	// Mailgun.
	EventData json.RawMessage `json:"event-data"`
	Items     json.RawMessage `json:"items"`
	// SendGrid and Mandrill both have "event": SendGrid with "email",
	// Mandrill with "msg".
	Event string          `json:"event"`
	Email string          `json:"email"`
	Msg   json.RawMessage `json:"msg"`
	// SparkPost.
	Msys json.RawMessage `json:"msys"`
}

func readJSONEvent(rep *Report, raw []byte) error {
	var k jsonKeys
	if err := json.Unmarshal(raw, &k); err != nil {
		return fmt.Errorf("dsn: unreadable JSON notification: %w", err)
	}
	switch {
	case k.Type == "Notification" && k.Message != "":
		// An SNS envelope: the notification is a JSON string inside.
		return readJSONEvent(rep, []byte(k.Message))
	case k.NotificationType != "" || k.EventType != "":
		return readSES(rep, raw)
	case len(k.EventData) > 0:
		return readMailgun(rep, k.EventData)
	case len(k.Items) > 0 && k.Items[0] == '[':
		var items []json.RawMessage
		if err := json.Unmarshal(k.Items, &items); err != nil {
			return fmt.Errorf("dsn: unreadable Mailgun events: %w", err)
		}
		for _, it := range items {
			if err := readMailgun(rep, it); err != nil {
				return err
			}
		}
		return nil
	case len(k.Msys) > 0:
		return readSparkPost(rep, k.Msys)
	case k.Event != "" && len(k.Msg) > 0:
		return readMandrill(rep, k.Event, k.Msg)
	case k.Event != "" && k.Email != "":
		return readSendGrid(rep, raw)
	}
	return ErrJSON
}

// jsonKind sets a report's kind and format from one of its events; a
// document mixing kinds is a DSN if any event is a bounce.
func jsonKind(rep *Report, kind Kind, format string) {
	if rep.Kind == "" || rep.Kind == KindUnknown || kind == KindDSN {
		rep.Kind = kind
	}
	rep.Format = format
}

// unixTime reads the seconds (maybe fractional) services stamp events with.
func unixTime(sec float64) time.Time {
	if sec <= 0 || sec > 1e11 {
		return time.Time{}
	}
	return time.Unix(int64(sec), int64((sec-float64(int64(sec)))*1e9)).UTC()
}

// statusFrom is the status of a service's event: its enhanced code
// field, or where that gives only a class or nothing, a code of the
// class in its reply text; else the class its verdict implies.
func statusFrom(enhanced, text string, permanent bool) string {
	code := reply.EnhancedCode(strings.TrimSpace(enhanced) + " ")
	if code == "" || genericStatus(code) {
		if inText := reply.EnhancedCode(text); inText != "" && !genericStatus(inText) && (code == "" || inText[0] == code[0]) {
			return inText
		}
	}
	if code != "" {
		return code
	}
	switch b := reply.BasicCode(strings.TrimSpace(text)); {
	case b != "" && b[0] == '4':
		return "4.0.0"
	case b != "" && b[0] == '5', permanent:
		return "5.0.0"
	}
	return "4.0.0"
}
