package block

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/mailtrace/mailtrace/schema"
	"github.com/mailtrace/mailtrace/store"
	"github.com/mailtrace/mailtrace/store/storetest"
)

func migrated(t *testing.T) store.Store {
	st := storetest.Chdb(t)
	if _, err := schema.Migrate(context.Background(), st, schema.Options{Database: st.Database()}, false); err != nil {
		t.Fatal(err)
	}
	return st
}

// hookServer records signed webhook posts; the first failFirst answer 503.
type hookServer struct {
	*httptest.Server
	mu       sync.Mutex
	payloads []Payload
	calls    atomic.Int32
}

// opensslHMAC is the hex HMAC-SHA256 of msg, as `openssl dgst -sha256
// -hmac` computes it.
func opensslHMAC(t *testing.T, secret, msg string) string {
	t.Helper()
	cmd := exec.Command("openssl", "dgst", "-sha256", "-hmac", secret)
	cmd.Stdin = strings.NewReader(msg)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("openssl dgst: %v", err)
	}
	f := strings.Fields(string(out))
	return f[len(f)-1]
}

// TestSignKnownAnswer: the signature of a fixed body and timestamp is the
// one openssl computes (printf '%s' '1764650000.{...}' | openssl dgst
// -sha256 -hmac 'a webhook secret'), and Verify takes it and nothing
// else.
func TestSignKnownAnswer(t *testing.T) {
	secret, ts, body := []byte("a webhook secret"), "1764650000", []byte(`{"event":"block.opened","incident":{"pool":"legal"}}`)
	const want = "sha256=6e31a033037dd861b09b61944e326623eecc95d6cb37d40db9ade39173563f38"
	if got := Sign(secret, ts, body); got != want {
		t.Errorf("Sign = %s, want %s", got, want)
	}
	if want != "sha256="+opensslHMAC(t, string(secret), ts+"."+string(body)) {
		t.Errorf("the fixed vector is not what openssl computes now")
	}
	for _, tt := range []struct {
		name, ts, sig string
		body          []byte
		ok            bool
	}{
		{"the vector", ts, want, body, true},
		{"another timestamp", "1764650001", want, body, false},
		{"another body", ts, want, []byte(`{"event":"block.closed","incident":{"pool":"legal"}}`), false},
		{"the body alone signed", ts, "sha256=" + opensslHMAC(t, string(secret), string(body)), body, false},
		{"without the prefix", ts, strings.TrimPrefix(want, "sha256="), body, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := Verify(secret, tt.ts, tt.body, tt.sig); got != tt.ok {
				t.Errorf("Verify = %v, want %v", got, tt.ok)
			}
		})
	}
}

func newHookServer(t *testing.T, secret string, failFirst int32) *hookServer {
	h := &hookServer{}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := h.calls.Add(1)
		body, _ := io.ReadAll(r.Body)
		// Checked as a receiver in another language would: the HMAC of
		// "timestamp.body", computed by openssl, not by this package.
		if want := "sha256=" + opensslHMAC(t, secret, r.Header.Get("X-Mailtrace-Timestamp")+"."+string(body)); r.Header.Get("X-Mailtrace-Signature") != want {
			t.Errorf("webhook signature does not verify: %q", r.Header.Get("X-Mailtrace-Signature"))
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if n <= failFirst {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		var p Payload
		if err := json.Unmarshal(body, &p); err != nil || r.Header.Get("X-Mailtrace-Event") != p.Event {
			t.Errorf("webhook body: %v %s", err, body)
		}
		h.mu.Lock()
		h.payloads = append(h.payloads, p)
		h.mu.Unlock()
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hookServer) events() []Payload {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Payload(nil), h.payloads...)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

func attempt(at time.Time, ip, provider string, status schema.DeliveryStatus, block bool) *schema.DeliveryEvent {
	e := &schema.DeliveryEvent{Time: at, Pool: "bulk", SourceIP: ip, Provider: provider, Status: status, IsBlock: block}
	if block {
		e.Category, e.Response = "blocklisted", "550 5.7.1 Unfortunately, messages from ["+ip+"] weren't sent. (S3150)"
	}
	return e
}

func TestDetector(t *testing.T) {
	st := migrated(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	secret := "a webhook secret of some length"
	hooks := newHookServer(t, secret, 2)
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	cfg := DefaultConfig()
	cfg.MinBlocks, cfg.MinRatio, cfg.CloseAfterDeliveries = 3, 0.5, 3
	cfg.Webhook = WebhookConfig{URL: hooks.URL, Secret: secret}
	wh, err := NewWebhook(cfg.Webhook, m, nil)
	if err != nil {
		t.Fatal(err)
	}
	wh.sleep = func(ctx context.Context, d time.Duration) bool { return true } // retry at once
	go wh.Run(ctx)
	d := NewDetector(cfg, st, Options{Webhook: wh, Metrics: m})
	go d.Run(ctx)

	t0 := time.Now().Add(-5 * time.Minute).UTC()
	// Microsoft blocks 127.0.0.4 only; other IPs and providers go on.
	for i := range 6 {
		at := t0.Add(time.Duration(i) * time.Second)
		d.Observe(attempt(at, "127.0.0.3", "microsoft", "sent", false))
		d.Observe(attempt(at, "127.0.0.4", "google", "sent", false))
		if i < 2 {
			d.Observe(attempt(at, "127.0.0.4", "microsoft", "sent", false))
		} else {
			d.Observe(attempt(at, "127.0.0.4", "microsoft", "bounced", true))
		}
		d.Observe(&schema.DeliveryEvent{Time: at, Status: "rejected", Pool: "bulk", SourceIP: "127.0.0.4", IsBlock: true}) // ours, not a reply
	}
	open := d.Open()
	if len(open) != 1 || open[0].SourceIP != "127.0.0.4" || open[0].Provider != "microsoft" || open[0].Pool != "bulk" || open[0].Kind != schema.IncidentReplies {
		t.Fatalf("open incidents: %+v", open)
	}
	// Opened at the third block reply, when 3 of the 5 attempts in the window were blocks.
	if got := open[0].OpenedAt; !got.Equal(t0.Add(4 * time.Second)) {
		t.Errorf("opened at %v, want the third block reply's time %v", got, t0.Add(4*time.Second))
	}
	if v := testutil.ToFloat64(m.Active.WithLabelValues("bulk", "127.0.0.4", "microsoft")); v != 1 {
		t.Errorf("mailtrace_block_active = %v", v)
	}
	if n := testutil.CollectAndCount(m.Active); n != 1 {
		t.Errorf("%d block_active series, want 1", n)
	}
	waitFor(t, "the opened incident in the store", func() bool {
		l, err := List(ctx, st, Filter{Open: true})
		return err == nil && len(l) == 1 && l[0].Signals == 4 && l[0].SourceIP == "127.0.0.4"
	})
	waitFor(t, "the webhook's opened event", func() bool { return len(hooks.events()) == 1 })
	if p := hooks.events()[0]; p.Event != EventOpened || p.Incident.SourceIP != "127.0.0.4" || p.Incident.Provider != "microsoft" || !p.Incident.Open {
		t.Errorf("webhook payload: %+v", p)
	}
	if v := testutil.ToFloat64(m.Webhook.WithLabelValues("retried")); v != 2 {
		t.Errorf("webhook retried %v times, want 2 (the receiver failed twice)", v)
	}

	// A restarted detector knows the incident is open.
	d2 := NewDetector(cfg, st, Options{})
	if err := d2.Restore(ctx); err != nil || len(d2.Open()) != 1 {
		t.Fatalf("restored: %v %v", d2.Open(), err)
	}

	// Three deliveries in a row close it.
	for i := range 3 {
		d.Observe(attempt(t0.Add(time.Minute+time.Duration(i)*time.Second), "127.0.0.4", "microsoft", "sent", false))
	}
	if len(d.Open()) != 0 {
		t.Fatalf("still open after deliveries: %+v", d.Open())
	}
	if v := testutil.ToFloat64(m.Active.WithLabelValues("bulk", "127.0.0.4", "microsoft")); v != 0 {
		t.Errorf("mailtrace_block_active after closing = %v", v)
	}
	waitFor(t, "the closed incident in the store", func() bool {
		l, err := List(ctx, st, Filter{From: t0.Add(-time.Hour), To: time.Now().Add(time.Hour)})
		return err == nil && len(l) == 1 && !l[0].Open && l[0].CloseReason == schema.ClosedDeliveries
	})
	if l, _ := List(ctx, st, Filter{Open: true}); len(l) != 0 {
		t.Errorf("open after closing: %+v", l)
	}
	waitFor(t, "the webhook's closed event", func() bool { return len(hooks.events()) == 2 })

	// A new incident closes after the quiet period.
	for i := range 3 {
		d.Observe(attempt(t0.Add(2*time.Minute+time.Duration(i)*time.Second), "127.0.0.3", "yahoo", "deferred", true))
	}
	if len(d.Open()) != 1 {
		t.Fatalf("second incident: %+v", d.Open())
	}
	d.closeQuiet(time.Now().Add(cfg.Quiet))
	if len(d.Open()) != 0 {
		t.Errorf("not closed after the quiet period")
	}
}

func TestWebhookNeverBlocks(t *testing.T) {
	m := NewMetrics(prometheus.NewRegistry())
	wh, err := NewWebhook(WebhookConfig{URL: "http://127.0.0.1:1/hook", Secret: "0123456789abcdef"}, m, nil)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		for range 1500 { // nobody sends: the queue fills
			wh.Notify(EventOpened, &schema.Incident{SourceIP: "127.0.0.4"})
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Notify blocked on a full queue")
	}
	if v := testutil.ToFloat64(m.Webhook.WithLabelValues("dropped")); v != 500 {
		t.Errorf("dropped %v, want 500", v)
	}
	// Gives up after MaxAttempts against a receiver that is down.
	wh, _ = NewWebhook(WebhookConfig{URL: "http://127.0.0.1:1/hook", Secret: "0123456789abcdef", MaxAttempts: 3, Timeout: time.Second}, m, nil)
	wh.sleep = func(context.Context, time.Duration) bool { return true }
	wh.deliver(context.Background(), Payload{Event: EventOpened})
	if v := testutil.ToFloat64(m.Webhook.WithLabelValues("failed")); v != 1 {
		t.Errorf("failed %v, want 1", v)
	}
}

// fakeDNSBL answers like a blocklist: the listed IPs get 127.0.0.2 and a
// TXT reason, refused ones 127.255.255.254, the rest NXDOMAIN.
type fakeDNSBL struct {
	mu      sync.Mutex
	listed  map[string]bool // query names
	refused map[string]bool
}

func (f *fakeDNSBL) ServeDNS(w dns.ResponseWriter, r *dns.Msg) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := new(dns.Msg)
	m.SetReply(r)
	q := r.Question[0]
	switch {
	case f.refused[q.Name] && q.Qtype == dns.TypeA:
		m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60}, A: net.IPv4(127, 255, 255, 254)})
	case f.listed[q.Name] && q.Qtype == dns.TypeA:
		m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60}, A: net.IPv4(127, 0, 0, 2)})
	case f.listed[q.Name] && q.Qtype == dns.TypeTXT:
		m.Answer = append(m.Answer, &dns.TXT{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 60}, Txt: []string{"Listed by SBL, see https://check.spamhaus.org/"}})
	case !f.listed[q.Name]:
		m.Rcode = dns.RcodeNameError
	}
	w.WriteMsg(m)
}

func TestDNSBL(t *testing.T) {
	st := migrated(t)
	ctx := context.Background()
	fake := &fakeDNSBL{listed: map[string]bool{"10.113.0.203.zen.test.": true}, refused: map[string]bool{"10.113.0.203.refusing.test.": true}}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{PacketConn: pc, Handler: fake}
	go srv.ActivateAndServe()
	defer srv.Shutdown()

	m := NewMetrics(prometheus.NewRegistry())
	d := NewDetector(DefaultConfig(), st, Options{Metrics: m})
	targets := []Target{{Pool: "legal", IP: "203.0.113.10"}, {Pool: "bulk", IP: "203.0.113.11"}}
	c, err := NewChecker(DNSBLConfig{Zones: []string{"zen.test", "other.test", "refusing.test"}, Resolver: pc.LocalAddr().String()}, targets, d, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.CheckAll(ctx)
	open := d.Open()
	if len(open) != 1 || open[0].Kind != schema.IncidentDNSBL || open[0].SourceIP != "203.0.113.10" || open[0].Provider != "zen.test" ||
		open[0].Category != "127.0.0.2" || !strings.Contains(open[0].Sample, "SBL") {
		t.Fatalf("incidents: %+v", open)
	}
	if v := testutil.ToFloat64(m.Listed.WithLabelValues("legal", "203.0.113.10", "zen.test")); v != 1 {
		t.Errorf("mailtrace_dnsbl_listed = %v", v)
	}
	if v := testutil.ToFloat64(m.DNSBLErrors.WithLabelValues("refusing.test")); v != 1 {
		t.Errorf("refused lookups counted %v, want 1", v)
	}
	fake.mu.Lock()
	fake.listed = map[string]bool{}
	fake.mu.Unlock()
	c.CheckAll(ctx)
	if len(d.Open()) != 0 {
		t.Errorf("still listed after delisting: %+v", d.Open())
	}
	if err := d.flush(ctx); err != nil {
		t.Fatal(err)
	}
	l, err := List(ctx, st, Filter{From: time.Now().Add(-time.Hour), To: time.Now().Add(time.Hour)})
	if err != nil || len(l) != 1 || l[0].CloseReason != schema.ClosedDelisted {
		t.Errorf("stored: %+v %v", l, err)
	}
}

func TestQueryName(t *testing.T) {
	for ip, want := range map[string]string{
		"203.0.113.10":   "10.113.0.203.zen.spamhaus.org.",
		"2001:db8::1":    "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.zen.spamhaus.org.",
		"::ffff:1.2.3.4": "4.3.2.1.zen.spamhaus.org.",
	} {
		if got, err := queryName(ip, "zen.spamhaus.org"); err != nil || got != want {
			t.Errorf("%s: %q %v", ip, got, err)
		}
	}
	if _, err := queryName("not-an-ip", "x"); err == nil {
		t.Error("accepted a non-IP")
	}
}

func TestConfigValidate(t *testing.T) {
	good := DefaultConfig()
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, mod := range map[string]func(*Config){
		"zero window":      func(c *Config) { c.Window = 0 },
		"no blocks":        func(c *Config) { c.MinBlocks = 0 },
		"ratio over 1":     func(c *Config) { c.MinRatio = 1.5 },
		"webhook scheme":   func(c *Config) { c.Webhook = WebhookConfig{URL: "ftp://x/y", Secret: "0123456789abcdef"} },
		"webhook secret":   func(c *Config) { c.Webhook = WebhookConfig{URL: "https://x/y", Secret: "short"} },
		"zone with space":  func(c *Config) { c.DNSBL.Zones = []string{"zen spamhaus"} },
		"resolver no port": func(c *Config) { c.DNSBL.Resolver = "127.0.0.1" },
	} {
		c := DefaultConfig()
		mod(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// The webhook key file follows the secrets rule (internal/secret): a key
// others can read is refused, a trailing newline is not part of the key.
func TestWebhookSecretFile(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, content string
		mode          os.FileMode
		wantErr       string // empty: accepted
	}{
		{name: "owner only, newline trimmed", content: "0123456789abcdef\n", mode: 0o600},
		{name: "readable by others", content: "0123456789abcdef\n", mode: 0o644, wantErr: "chmod 600"},
		{name: "short once trimmed", content: "0123456789abcde\n", mode: 0o600, wantErr: "shorter than 16"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "-"))
			os.WriteFile(path, []byte(tt.content), 0o600)
			os.Chmod(path, tt.mode)
			key, err := WebhookConfig{URL: "https://x/y", SecretFile: path}.secret()
			switch {
			case tt.wantErr == "" && (err != nil || string(key) != strings.TrimSuffix(tt.content, "\n")):
				t.Errorf("key %q, %v; want %q", key, err, strings.TrimSuffix(tt.content, "\n"))
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), path)):
				t.Errorf("error %v: want one naming %s and saying %q", err, path, tt.wantErr)
			}
		})
	}
}

// TestIncidentJSONTimesWholeSeconds checks that an incident's times are
// shown in whole seconds: the microsecond the store adds to order the
// lines of one second is no digit of the attempt that opened it.
func TestIncidentJSONTimesWholeSeconds(t *testing.T) {
	opened := time.Date(2026, 12, 2, 5, 2, 1, 2_000, time.UTC) // 05:02:01, the line after the first
	closed := opened.Add(30*time.Minute + 412_345*time.Microsecond)
	tests := []struct {
		name string
		inc  Incident
		want []string
	}{
		{"open", Incident{ID: "x", Open: true, OpenedAt: opened, LastSignal: opened.Add(5 * time.Second)},
			[]string{`"opened_at":"2026-12-02T05:02:01Z"`, `"last_signal":"2026-12-02T05:02:06Z"`}},
		{"closed", Incident{ID: "y", OpenedAt: opened, ClosedAt: &closed, LastSignal: opened},
			[]string{`"opened_at":"2026-12-02T05:02:01Z"`, `"closed_at":"2026-12-02T05:32:01Z"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(tt.inc)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(string(b), w) {
					t.Errorf("%s lacks %s", b, w)
				}
			}
			if strings.Count(string(b), "opened_at") != 1 {
				t.Errorf("opened_at twice: %s", b)
			}
			var back Incident
			if err := json.Unmarshal(b, &back); err != nil || !back.OpenedAt.Equal(opened.Truncate(time.Second)) || back.ID != tt.inc.ID {
				t.Errorf("read back %+v: %v", back, err)
			}
		})
	}
}
