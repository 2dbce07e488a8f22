package block

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/mailtrace/mailtrace/internal/backoff"
	"github.com/mailtrace/mailtrace/schema"
)

// Webhook events.
const (
	EventOpened = "incident.opened"
	EventClosed = "incident.closed"
)

// Payload is the JSON body posted for an event.
type Payload struct {
	Event    string    `json:"event"`
	Sent     time.Time `json:"sent"`
	Incident Incident  `json:"incident"`
}

// Webhook posts incidents to a URL, signed, from a bounded queue: Notify
// never waits, and a full queue drops (and counts) the newest event.
//
// Each POST carries X-Mailtrace-Event, X-Mailtrace-Timestamp (Unix
// seconds) and X-Mailtrace-Signature: "sha256=" and the hex HMAC-SHA256,
// keyed with the shared secret, of the timestamp, a dot and the body.
// Receivers recompute it and refuse old timestamps to stop replays.
// Answers other than 2xx are retried with backoff (1s doubling, at most
// 5m) up to MaxAttempts.
type Webhook struct {
	url         string
	secret      []byte
	client      *http.Client
	maxAttempts int
	queue       chan Payload
	metrics     *Metrics
	log         *slog.Logger
	// sleep waits between retries (tests shorten it).
	sleep func(ctx context.Context, d time.Duration) bool
}

// NewWebhook makes the webhook the config names, or nil when none is.
func NewWebhook(c WebhookConfig, metrics *Metrics, logger *slog.Logger) (*Webhook, error) {
	if c.URL == "" {
		return nil, nil
	}
	secret, err := c.secret()
	if err != nil {
		return nil, err
	}
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 8
	}
	if logger == nil {
		logger = slog.Default()
	}
	return &Webhook{url: c.URL, secret: secret, client: &http.Client{Timeout: c.Timeout}, maxAttempts: c.MaxAttempts,
		queue: make(chan Payload, 1000), metrics: metrics, log: logger, sleep: backoff.Sleep}, nil
}

// Notify queues an event; it never blocks.
func (w *Webhook) Notify(event string, inc *schema.Incident) {
	if w == nil {
		return
	}
	select {
	case w.queue <- Payload{Event: event, Incident: fromRow(inc)}:
	default:
		w.metrics.webhook("dropped")
		w.log.Error("incident webhook queue full: event dropped", "event", event, "source_ip", inc.SourceIP, "provider", inc.Provider)
	}
}

// Run posts queued events until ctx ends.
func (w *Webhook) Run(ctx context.Context) {
	if w == nil {
		return
	}
	for {
		select {
		case <-ctx.Done():
			return
		case p := <-w.queue:
			w.deliver(ctx, p)
		}
	}
}

func (w *Webhook) deliver(ctx context.Context, p Payload) {
	retry := backoff.New(time.Second, 5*time.Minute)
	for attempt := 1; ; attempt++ {
		p.Sent = time.Now().UTC()
		err := w.post(ctx, p)
		if err == nil {
			w.metrics.webhook("delivered")
			return
		}
		if attempt >= w.maxAttempts {
			w.metrics.webhook("failed")
			w.log.Error("incident webhook failed; giving up", "event", p.Event, "attempts", attempt, "err", err)
			return
		}
		w.metrics.webhook("retried")
		delay := retry.Next()
		w.log.Warn("incident webhook failed; retrying", "event", p.Event, "attempt", attempt, "in", delay, "err", err)
		if !w.sleep(ctx, delay) {
			return
		}
	}
}

func (w *Webhook) post(ctx context.Context, p Payload) error {
	body, err := json.Marshal(p)
	if err != nil {
		return err
	}
	ts := strconv.FormatInt(p.Sent.Unix(), 10)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "mailtrace")
	req.Header.Set("X-Mailtrace-Event", p.Event)
	req.Header.Set("X-Mailtrace-Timestamp", ts)
	req.Header.Set("X-Mailtrace-Signature", Sign(w.secret, ts, body))
	resp, err := w.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s answered %s", w.url, resp.Status)
	}
	return nil
}

// Sign is the X-Mailtrace-Signature of a body sent at timestamp ts.
func Sign(secret []byte, ts string, body []byte) string {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte(ts))
	h.Write([]byte("."))
	h.Write(body)
	return "sha256=" + hex.EncodeToString(h.Sum(nil))
}

// Verify checks a signature, in constant time, for webhook receivers
// written in Go.
func Verify(secret []byte, ts string, body []byte, signature string) bool {
	return hmac.Equal([]byte(Sign(secret, ts, body)), []byte(signature))
}
