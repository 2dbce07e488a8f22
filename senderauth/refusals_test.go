package senderauth

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/mailtrace/mailtrace/reply"
	"github.com/mailtrace/mailtrace/schema"
)

func TestRefusals(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := reply.Default()
	r := NewRefusals(reg, c, map[string]string{"legal": "legal", "collections": "legal", "marketing": "bulk"})
	attempt := func(pool string, status schema.DeliveryStatus, response string) *schema.DeliveryEvent {
		e := &schema.DeliveryEvent{Pool: pool, Status: status, Response: response, RelayHost: "gmail-smtp-in.l.google.com", Recipient: "a@gmail.com"}
		res := c.Classify(e.Response, "", e.RelayHost, "gmail.com")
		e.Provider, e.Category = res.Provider, res.Category
		return e
	}
	r.Observe(attempt("legal", "deferred", "421-4.7.27 Your email has been rate limited because SPF authentication didn't pass for this message. 421 4.7.27 gsmtp"))
	r.Observe(attempt("legal", "deferred", "421-4.7.27 Your email has been rate limited because SPF authentication didn't pass for this message. 421 4.7.27 gsmtp"))
	r.Observe(attempt("bulk", "bounced", "550-5.7.26 This mail has been blocked because the sender is unauthenticated. 550 5.7.26 gsmtp"))
	r.Observe(attempt("bulk", "bounced", "550 5.1.1 The email account that you tried to reach does not exist"))
	r.Observe(attempt("bulk", "sent", "250 2.0.0 OK gsmtp"))
	if v := testutil.ToFloat64(r.counter.WithLabelValues("legal", "google", "collections|legal", "spf")); v != 2 {
		t.Errorf("legal spf: %v", v)
	}
	if v := testutil.ToFloat64(r.counter.WithLabelValues("bulk", "google", "marketing", "unauthenticated")); v != 1 {
		t.Errorf("bulk unauthenticated: %v", v)
	}
	if n := testutil.CollectAndCount(r.counter); n != 2 {
		t.Errorf("%d series, want 2", n)
	}
}
