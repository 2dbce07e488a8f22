package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mailtrace/mailtrace/block"
	"github.com/mailtrace/mailtrace/dashboards"
	"github.com/mailtrace/mailtrace/evidence"
	"github.com/mailtrace/mailtrace/postfixconf"
	"github.com/mailtrace/mailtrace/postfixtest"
	"github.com/mailtrace/mailtrace/reply"
	"github.com/mailtrace/mailtrace/store/storetest"
	"github.com/mailtrace/mailtrace/traceid"
	"github.com/mailtrace/mailtrace/verp"
)

// TestSidecarWithPostfix runs `mailtrace run` next to a real Postfix set
// up as deploy/postfix describes, with three pools on 127.0.0.2-4, the
// VERP bounce domain delivered to mailtrace's LMTP intake, and a receiver
// answering like Google, Microsoft and Yahoo, one of which blocks the
// collections pool's IP. It checks what receivers got, what the store
// holds, that the block becomes an incident for that IP and provider only
// (metric, API, signed webhook), that a DSN returned for a delivered
// message turns its recipient bounced while a forged one changes nothing,
// and that mail still flows, visibly unstamped, with the milter down.
func TestSidecarWithPostfix(t *testing.T) {
	if why := postfixtest.Available(); why != "" {
		t.Skip(why)
	}
	recv := postfixtest.StartReceiver(t)
	recv.Block("microsoft", "127.0.0.3")
	milterPort, apiPort, bouncesPort := freePort(t), freePort(t), freePort(t)
	hookSecret := "the incident webhook's shared secret"
	hooks := make(chan block.Payload, 10)
	hookSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !block.Verify([]byte(hookSecret), r.Header.Get("X-Mailtrace-Timestamp"), body, r.Header.Get("X-Mailtrace-Signature")) {
			t.Errorf("incident webhook: bad signature %q", r.Header.Get("X-Mailtrace-Signature"))
			w.WriteHeader(http.StatusForbidden)
			return
		}
		var p block.Payload
		if err := json.Unmarshal(body, &p); err != nil {
			t.Errorf("incident webhook: %v: %s", err, body)
		}
		hooks <- p
	}))
	defer hookSrv.Close()
	pools := []postfixconf.Pool{
		{Name: "legal", SourceIP: "127.0.0.2", HeloName: "legal.mx1.test.example"},
		{Name: "collections", SourceIP: "127.0.0.3", HeloName: "collections.mx1.test.example"},
		{Name: "bulk", SourceIP: "127.0.0.4", HeloName: "bulk.mx1.test.example"},
	}
	pf := postfixtest.Start(t, postfixtest.Options{Relay: recv.Addr,
		Mailtrace: &postfixconf.Setup{Milter: "inet:127.0.0.1:" + milterPort, Pools: pools,
			BounceDomain: "bounces.test.example", BounceTransport: "lmtp:inet:127.0.0.1:" + bouncesPort}})

	dir := t.TempDir()
	keyFile := filepath.Join(dir, "verp.key")
	os.WriteFile(keyFile, []byte("a verp signing key for the test run\n"), 0o600)
	cfgPath := filepath.Join(dir, "mailtrace.yaml")
	cfg := fmt.Sprintf(`store: chdb://%s
chdb_library: %s
collector:
  logs: [%s]
  grace: 100ms
pools:
  - {name: legal, source_ip: 127.0.0.2, helo_name: legal.mx1.test.example}
  - {name: collections, source_ip: 127.0.0.3, helo_name: collections.mx1.test.example}
  - {name: bulk, source_ip: 127.0.0.4, helo_name: bulk.mx1.test.example}
api:
  listen: 127.0.0.1:%s
bounces:
  listen: 127.0.0.1:%s
classify:
  providers:
    - {name: google, domains: [gmail.test]}
    - {name: microsoft, domains: [outlook.test]}
    - {name: yahoo, domains: [yahoo.test]}
blocks:
  min_blocks: 2
  min_ratio: 0.5
  webhook: {url: %s, secret: %q}
  dnsbl: {zones: []}
milter:
  listen: inet:127.0.0.1:%s
  spool_dir: %s
  default_class: marketing
  classes:
    - {name: legal, pool: legal, verp: true}
    - {name: collections, pool: collections, verp: true}
    - {name: marketing, pool: bulk}
  rules:
    - {class: legal, sender: ["@court.example"]}
    - {class: collections, sender: ["@dunning.example"]}
  verp:
    domain: bounces.test.example
    keys: [{id: 1, secret_file: %s}]
`, filepath.Join(dir, "store"), storetest.ChdbLibrary(t), pf.Log, apiPort, bouncesPort, hookSrv.URL, hookSecret, milterPort, filepath.Join(dir, "spool"), keyFile)
	os.WriteFile(cfgPath, []byte(cfg), 0o644)

	// Doctor agrees with the configuration the harness installed.
	if r := run(t, nil, "doctor", "--config", cfgPath, "--postfix-config", pf.Config, "--skip-store"); r.code != 0 {
		t.Fatalf("doctor on the installed configuration: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	start := func() (*exec.Cmd, string) {
		t.Helper()
		port := freePort(t)
		cmd := exec.Command(binary, "run", "--config", cfgPath, "--metrics-listen", "127.0.0.1:"+port)
		cmd.Env = filteredEnv()
		cmd.Stderr = io.Discard
		if testing.Verbose() {
			cmd.Stderr = os.Stderr
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			c, err := net.Dial("tcp", "127.0.0.1:"+milterPort)
			if err == nil {
				c.Close()
				break
			}
			if time.Now().After(deadline) {
				cmd.Process.Kill()
				t.Fatal("mailtrace run never listened for the milter")
			}
			time.Sleep(50 * time.Millisecond)
		}
		return cmd, port
	}
	stop := func(cmd *exec.Cmd) {
		t.Helper()
		cmd.Process.Signal(syscall.SIGTERM)
		if err := cmd.Wait(); err != nil {
			t.Fatalf("mailtrace run did not stop cleanly: %v", err)
		}
	}

	sidecar, metricsPort := start()
	type sent struct {
		messageID, from, class, pool, sourceIP, helo string
		to                                           []string
	}
	mails := []sent{
		{"<m1@court.example>", "clerk@court.example", "legal", "legal", "127.0.0.2", "legal.mx1.test.example",
			[]string{"ok1@gmail.test", "bounce1@outlook.test"}},
		{"<m2@dunning.example>", "agent@dunning.example", "collections", "collections", "127.0.0.3", "collections.mx1.test.example",
			[]string{"ok2@outlook.test", "ok3@yahoo.test"}},
		// Without VERP the class's pool routes nothing: Postfix's own
		// routing, its default source address and HELO.
		{"<m3@shop.example>", "news@shop.example", "marketing", "", "127.0.0.1", "mx1.test.example",
			[]string{"ok4@yahoo.test", "defer1@gmail.test"}},
	}
	for _, m := range mails {
		pf.SendWith(t, m.from, m.to, m.messageID, "Notice "+m.messageID, []string{"X-Mailtrace-Pool: legal"})
	}
	pf.WaitIdle(t, 90*time.Second)
	waitMetric(t, metricsPort, `mailtrace_collector_accepted_messages_total{source="`+pf.Log+`",stamped="true"}`, 3)

	signer, err := verp.New("mt", "bounces.test.example", []verp.Key{{ID: 1, Secret: []byte("a verp signing key for the test run")}})
	if err != nil {
		t.Fatal(err)
	}
	traceIDs := map[string]string{} // Message-ID -> trace ID
	got := recv.Received()
	for _, m := range mails {
		var d *postfixtest.Delivery
		for i := range got {
			if got[i].Header("Message-ID") == m.messageID {
				d = &got[i]
			}
		}
		if d == nil {
			t.Errorf("%s never reached the receiver", m.messageID)
			continue
		}
		id, ok := traceid.Parse(d.Header("X-Mailtrace-ID"))
		if !ok {
			t.Errorf("%s arrived without a trace ID: %q", m.messageID, d.Header("X-Mailtrace-ID"))
			continue
		}
		traceIDs[m.messageID] = id.String()
		if d.EnvID != id.String() {
			t.Errorf("%s: ENVID %q, want the trace ID %s", m.messageID, d.EnvID, id)
		}
		if d.SourceIP != m.sourceIP || d.Helo != m.helo {
			t.Errorf("%s (class %s) left from %s as %s, want %s as %s", m.messageID, m.class, d.SourceIP, d.Helo, m.sourceIP, m.helo)
		}
		if d.Header("X-Mailtrace-Class") != m.class || d.Header("X-Mailtrace-Pool") != m.pool {
			t.Errorf("%s: class %q pool %q, want %s %s (the client's own pool header must be gone)", m.messageID,
				d.Header("X-Mailtrace-Class"), d.Header("X-Mailtrace-Pool"), m.class, m.pool)
		}
		if m.pool != "" {
			if vid, pool, err := signer.ParsePool(d.From); err != nil || vid != id || pool != m.pool {
				t.Errorf("%s: return path %q is not the signed VERP address of %s in pool %s: %s, %v", m.messageID, d.From, id, m.pool, pool, err)
			}
		} else if d.From != m.from {
			t.Errorf("%s: return path %q, want %s", m.messageID, d.From, m.from)
		}
	}

	// While the sidecar holds the embedded store, `mailtrace trace` asks
	// its API, and says so.
	waitMetric(t, metricsPort, `mailtrace_collector_accepted_messages_total{source="`+pf.Log+`",stamped="true"}`, 3)
	r := run(t, nil, "trace", traceIDs["<m1@court.example>"], "--json", "--config", cfgPath)
	if r.code != 0 || !strings.Contains(r.stderr, "asking its API") {
		t.Fatalf("trace while the sidecar runs: exit %d\n%s", r.code, r.stderr)
	}
	var traced struct {
		TraceID        string `json:"trace_id"`
		Class          string `json:"class"`
		Sender         string `json:"sender"`
		EnvelopeSender string `json:"envelope_sender"`
		Accepted       string `json:"accepted"`
		Recipients     []struct {
			Address, Status string
			Attempts        []struct {
				SourceIP string `json:"source_ip"`
				Time     string `json:"time"`
			}
		} `json:"recipients"`
		Sides    struct{ Milter, Log bool }     `json:"sides"`
		Timeline []struct{ Kind, Clock string } `json:"timeline"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &traced); err != nil {
		t.Fatalf("trace --json: %v\n%s", err, r.stdout)
	}
	if traced.TraceID != traceIDs["<m1@court.example>"] || traced.Class != "legal" || !traced.Sides.Milter || !traced.Sides.Log ||
		len(traced.Recipients) != 2 || traced.Recipients[0].Status != "sent" || traced.Recipients[1].Status != "bounced" ||
		traced.Recipients[0].Attempts[0].SourceIP != "127.0.0.2" {
		t.Errorf("trace of the legal message: %s", r.stdout)
	}
	// The legal class sends with VERP: the application's sender and the
	// return path are both there. Postfix's maillog_file has whole
	// seconds, the milter's clock microseconds, and the timeline starts
	// with the acceptance.
	if traced.Sender != "clerk@court.example" || !strings.HasPrefix(traced.EnvelopeSender, "mt-") || !strings.HasSuffix(traced.EnvelopeSender, "@bounces.test.example") {
		t.Errorf("senders of the legal message: %q and %q", traced.Sender, traced.EnvelopeSender)
	}
	wholeSecond, micro := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`), regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$`)
	if !micro.MatchString(traced.Accepted) || len(traced.Recipients) == 0 || !wholeSecond.MatchString(traced.Recipients[0].Attempts[0].Time) {
		t.Errorf("times of the legal message: accepted %q, first attempt %+v", traced.Accepted, traced.Recipients)
	}
	if len(traced.Timeline) == 0 || traced.Timeline[0].Kind != "accepted" || traced.Timeline[0].Clock != "milter" {
		t.Errorf("timeline of the legal message: %+v", traced.Timeline)
	}
	var bySender struct {
		Rows []struct{ Sender string } `json:"rows"`
	}
	apiJSON(t, "http://127.0.0.1:"+apiPort+"/api/v1/search?sender=%40court.example", &bySender)
	if len(bySender.Rows) != 2 || bySender.Rows[0].Sender != "clerk@court.example" {
		t.Errorf("search by the application's domain: %+v", bySender.Rows)
	}

	// Without tokens, requests have the analyst role: SQL through the
	// sidecar's API needs an admin (TestSQLThroughAPI runs it with one).
	if r := run(t, nil, "sql", "--config", cfgPath, "SELECT count() FROM accept_records"); r.code != 1 ||
		!strings.Contains(r.stderr, "anonymous (loopback) has role analyst; this needs admin") || !strings.Contains(r.stderr, "api.anonymous_role: admin") {
		t.Errorf("sql while the sidecar runs, without a token: exit %d, %q %s; want a 403 saying what to do", r.code, r.stdout, r.stderr)
	}

	// Microsoft goes on refusing the collections pool's IP: that is an
	// incident for that IP and provider, and for nothing else (the bulk
	// pool delivers to Microsoft, the collections pool to Yahoo).
	pf.Send(t, "agent@dunning.example", []string{"ok6@outlook.test"}, "<m5@dunning.example>", "Reminder")
	pf.Send(t, "agent@dunning.example", []string{"ok7@outlook.test", "ok9@yahoo.test"}, "<m6@dunning.example>", "Reminder")
	pf.Send(t, "news@shop.example", []string{"ok8@outlook.test"}, "<m7@shop.example>", "Offer")
	pf.WaitIdle(t, 90*time.Second)
	waitMetric(t, metricsPort, `mailtrace_block_active{pool="collections",provider="microsoft",source_ip="127.0.0.3"}`, 1)
	for _, line := range strings.Split(fetchMetrics(t, metricsPort), "\n") {
		if strings.HasPrefix(line, "mailtrace_block_active{") && !strings.HasSuffix(line, " 0") &&
			!strings.HasPrefix(line, `mailtrace_block_active{pool="collections",provider="microsoft",source_ip="127.0.0.3"}`) {
			t.Errorf("an incident that should not be: %s", line)
		}
	}
	select {
	case p := <-hooks:
		if p.Event != block.EventOpened || p.Incident.Pool != "collections" || p.Incident.SourceIP != "127.0.0.3" ||
			p.Incident.Provider != "microsoft" || !strings.Contains(p.Incident.Sample, "S3150") {
			t.Errorf("webhook: %+v", p)
		}
	case <-time.After(30 * time.Second):
		t.Error("no incident webhook")
	}
	if r := run(t, nil, "blocks", "--config", cfgPath); r.code != 0 || !strings.Contains(r.stdout, "collections  127.0.0.3  microsoft") ||
		!strings.Contains(r.stdout, "S3150") {
		t.Errorf("mailtrace blocks while the sidecar runs: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	var blocks struct{ Incidents []block.Incident }
	apiJSON(t, "http://127.0.0.1:"+apiPort+"/api/v1/blocks", &blocks)
	if len(blocks.Incidents) != 1 || blocks.Incidents[0].SourceIP != "127.0.0.3" || blocks.Incidents[0].Provider != "microsoft" ||
		!blocks.Incidents[0].Open || blocks.Incidents[0].Signals < 2 {
		t.Errorf("/api/v1/blocks: %+v", blocks)
	}

	// Gmail reports later that ok1 could not be delivered after all: the
	// DSN comes back to the legal message's VERP address, through Postfix
	// to the intake. A forged DSN about ok3, sent to a VERP address signed
	// with another key but naming the real ENVID, changes nothing.
	late := lateDSN("ok1@gmail.test", traceIDs["<m1@court.example>"], "550 5.2.1 The email account that you tried to reach is disabled.")
	pf.SendRaw(t, "", []string{signer.Address(mustID(t, traceIDs["<m1@court.example>"]))}, late)
	forger, _ := verp.New("mt", "bounces.test.example", []verp.Key{{ID: 1, Secret: []byte("not the key mailtrace signs with")}})
	forged := lateDSN("ok3@yahoo.test", traceIDs["<m2@dunning.example>"], "550 5.1.1 user unknown")
	pf.SendRaw(t, "", []string{forger.Address(mustID(t, traceIDs["<m2@dunning.example>"]))}, forged)
	pf.WaitIdle(t, 60*time.Second)
	waitMetric(t, metricsPort, `mailtrace_dsn_forged_total`, 1)
	waitMetric(t, metricsPort, `mailtrace_dsn_reports_total{kind="dsn",matched_by="verp"}`, 2) // Postfix's own NDR for bounce1, and Gmail's
	status := func(messageID, rcpt string) string {
		r := run(t, nil, "trace", messageID, "--json", "--config", cfgPath)
		var m struct {
			Recipients []struct{ Address, Status string }
		}
		json.Unmarshal([]byte(r.stdout), &m)
		for _, rc := range m.Recipients {
			if rc.Address == rcpt {
				return rc.Status
			}
		}
		return "(missing: " + r.stdout + r.stderr + ")"
	}
	deadline := time.Now().Add(30 * time.Second) // the sidecar reads reports into traces once it has seen one (within 10 s)
	for status("<m1@court.example>", "ok1@gmail.test") != "bounced" && time.Now().Before(deadline) {
		time.Sleep(time.Second)
	}
	if got := status("<m1@court.example>", "ok1@gmail.test"); got != "bounced" {
		t.Errorf("after Gmail's late DSN ok1 is %s, want bounced", got)
	}
	if got := status("<m2@dunning.example>", "ok3@yahoo.test"); got != "sent" {
		t.Errorf("after a forged DSN ok3 is %s, want still sent", got)
	}

	// The milter goes away: Postfix still delivers, unstamped.
	stop(sidecar)
	pf.Send(t, "app@corp.example", []string{"ok5@gmail.test"}, "<m4@corp.example>", "Sent while mailtrace is down")
	pf.WaitIdle(t, 60*time.Second)
	var unstamped *postfixtest.Delivery
	for _, d := range recv.Received() {
		if d.Header("Message-ID") == "<m4@corp.example>" {
			unstamped = &d
		}
	}
	if unstamped == nil {
		t.Fatal("with the milter down, Postfix did not deliver")
	}
	if unstamped.Header("X-Mailtrace-ID") != "" {
		t.Fatal("a message sent while the milter was down carries a trace ID")
	}
	// Back up, the collector reads what was logged meanwhile and shows the gap.
	sidecar, metricsPort = start()
	waitMetric(t, metricsPort, `mailtrace_collector_accepted_messages_total{source="`+pf.Log+`",stamped="false"}`, 1)
	stop(sidecar)

	sql := func(q string) []string {
		t.Helper()
		r := run(t, nil, "sql", "--config", cfgPath, q)
		if r.code != 0 {
			t.Fatalf("%s: %s", q, r.stderr)
		}
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		return lines[1:] // without the header
	}
	records := sql("SELECT message_id, queue_id, toString(trace_id), class, pool, sender, arrayStringConcat(recipients, ','), host, client_ip FROM accept_records FINAL WHERE message_id IN ('<m1@court.example>', '<m2@dunning.example>', '<m3@shop.example>') ORDER BY message_id")
	if len(records) != len(mails) {
		t.Fatalf("%d accept records, want %d: %q", len(records), len(mails), records)
	}
	for i, m := range mails {
		qids := pf.QueueIDs(t, m.messageID)
		if len(qids) == 0 {
			t.Fatalf("no queue ID logged for %s", m.messageID)
		}
		want := strings.Join([]string{m.messageID, qids[0], traceIDs[m.messageID], m.class, m.pool, m.from, strings.Join(m.to, ","), "mx1", "127.0.0.1"}, "\t")
		if records[i] != want {
			t.Errorf("accept record\n got %q\nwant %q", records[i], want)
		}
	}
	// The log ties every attempt of a stamped message to its trace ID, and
	// names its pool and source IP.
	attempts := sql("SELECT recipient, status, pool, source_ip, toString(trace_id), position(response, 'S3150') > 0 FROM delivery_events WHERE status != 'deferred' AND sender != '' AND recipient NOT IN ('ok6@outlook.test', 'ok7@outlook.test', 'ok8@outlook.test', 'ok9@yahoo.test') ORDER BY recipient")
	wantAttempts := []string{
		"bounce1@outlook.test\tbounced\tlegal\t127.0.0.2\t" + traceIDs["<m1@court.example>"] + "\t0",
		"defer1@gmail.test\texpired\t\t\t" + traceIDs["<m3@shop.example>"] + "\t0",
		"ok1@gmail.test\tsent\tlegal\t127.0.0.2\t" + traceIDs["<m1@court.example>"] + "\t0",
		"ok2@outlook.test\tbounced\tcollections\t127.0.0.3\t" + traceIDs["<m2@dunning.example>"] + "\t1",
		"ok3@yahoo.test\tsent\tcollections\t127.0.0.3\t" + traceIDs["<m2@dunning.example>"] + "\t0",
		"ok4@yahoo.test\tsent\t\t\t" + traceIDs["<m3@shop.example>"] + "\t0",
		"ok5@gmail.test\tsent\t\t\t00000000-0000-0000-0000-000000000000\t0",
	}
	if strings.Join(attempts, "\n") != strings.Join(wantAttempts, "\n") {
		t.Errorf("attempts (notifications aside)\n got:\n%s\nwant:\n%s", strings.Join(attempts, "\n"), strings.Join(wantAttempts, "\n"))
	}
	// With the sidecar stopped, `mailtrace trace` reads the store itself.
	tr := run(t, nil, "trace", "<m2@dunning.example>", "--config", cfgPath)
	for _, want := range []string{"trace " + traceIDs["<m2@dunning.example>"], "collections / collections",
		"ok2@outlook.test: BOUNCED", "block list (S3150)", "ok3@yahoo.test: SENT", "non-delivery notification"} {
		if tr.code != 0 || !strings.Contains(tr.stdout, want) {
			t.Errorf("trace of the blocked message lacks %q (exit %d):\n%s%s", want, tr.code, tr.stdout, tr.stderr)
		}
	}
	// The legal message's non-delivery notification went to its VERP
	// return path, which names the message.
	verpRcpt := sql("SELECT recipient FROM delivery_events WHERE sender = '' AND recipient LIKE 'mt-legal-%' AND queue_id IN (SELECT queue_id FROM messages WHERE origin = 'notification')")
	if len(verpRcpt) != 1 {
		t.Fatalf("notifications to VERP addresses: %q, want the legal message's one", verpRcpt)
	}
	if id, err := signer.Parse(verpRcpt[0]); err != nil || id.String() != traceIDs["<m1@court.example>"] {
		t.Errorf("the bounce went to %s, which reads as %s, %v; want the legal message's trace ID", verpRcpt[0], id, err)
	}
	// Every report is kept, matched or not, classified. The collections
	// class has VERP too: Postfix's own notifications of its blocked
	// recipients come back to the intake.
	reports := sql("SELECT recipient, matched_by, action, status, category, provider FROM bounces ORDER BY recipient")
	wantReports := []string{
		"bounce1@outlook.test\tverp\tfailed\t5.1.1\tbad-mailbox\tmicrosoft",
		"ok1@gmail.test\tverp\tfailed\t5.2.1\tinactive-mailbox\tgoogle",
		"ok2@outlook.test\tverp\tfailed\t5.7.1\tblocklisted\tmicrosoft",
		"ok3@yahoo.test\tnone\tfailed\t5.1.1\tbad-mailbox\tyahoo",
		"ok6@outlook.test\tverp\tfailed\t5.7.1\tblocklisted\tmicrosoft",
		"ok7@outlook.test\tverp\tfailed\t5.7.1\tblocklisted\tmicrosoft",
	}
	if strings.Join(reports, "\n") != strings.Join(wantReports, "\n") {
		t.Errorf("reports\n got:\n%s\nwant:\n%s", strings.Join(reports, "\n"), strings.Join(wantReports, "\n"))
	}
	// Attempts carry their reply's classification.
	classified := sql("SELECT recipient, provider, category, is_block FROM delivery_events WHERE recipient IN ('ok1@gmail.test', 'bounce1@outlook.test', 'ok2@outlook.test', 'ok8@outlook.test') ORDER BY recipient")
	wantClassified := []string{"bounce1@outlook.test\tmicrosoft\tbad-mailbox\t0", "ok1@gmail.test\tgoogle\t\t0",
		"ok2@outlook.test\tmicrosoft\tblocklisted\t1", "ok8@outlook.test\tmicrosoft\t\t0"}
	if strings.Join(classified, "\n") != strings.Join(wantClassified, "\n") {
		t.Errorf("classified attempts\n got:\n%s\nwant:\n%s", strings.Join(classified, "\n"), strings.Join(wantClassified, "\n"))
	}
	if inc := sql("SELECT pool, source_ip, provider, kind, closed_at = toDateTime64(0, 6, 'UTC') FROM block_incidents FINAL"); len(inc) != 1 ||
		inc[0] != "collections\t127.0.0.3\tmicrosoft\treplies\t1" {
		t.Errorf("stored incidents: %q", inc)
	}

	if r := run(t, nil, "blocks", "--config", cfgPath, "--all", "--json"); r.code != 0 || strings.Count(r.stdout, "\n") != 1 ||
		!strings.Contains(r.stdout, `"source_ip":"127.0.0.3"`) {
		t.Errorf("mailtrace blocks --all --json from the store: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	// The sidecar appended every fact to the evidence ledger (on by
	// default, its key made beside the store), and the log verifies.
	events := sql("SELECT event, count() FROM evidence_records WHERE event IN ('http://uri.etsi.org/19522/Event/SubmissionAcceptance', " +
		"'http://uri.etsi.org/19522/Event/RelayToNonERDS', 'http://uri.etsi.org/19522/Event/RelayToNonERDSFailure') GROUP BY event ORDER BY event")
	sentCount := sql("SELECT count() FROM delivery_events WHERE status = 'sent'")[0]
	acceptCount := sql("SELECT uniqExact(trace_id) FROM accept_records")[0]
	failedCount := sql("SELECT (SELECT count() FROM delivery_events WHERE status IN ('bounced', 'expired')) + (SELECT count() FROM bounces WHERE action = 'failed')")[0]
	wantEvents := []string{"http://uri.etsi.org/19522/Event/RelayToNonERDS\t" + sentCount, "http://uri.etsi.org/19522/Event/RelayToNonERDSFailure\t" + failedCount,
		"http://uri.etsi.org/19522/Event/SubmissionAcceptance\t" + acceptCount}
	if strings.Join(events, "\n") != strings.Join(wantEvents, "\n") {
		t.Errorf("evidence records by event\n got:\n%s\nwant:\n%s", strings.Join(events, "\n"), strings.Join(wantEvents, "\n"))
	}
	if r := run(t, nil, "evidence", "verify", "--config", cfgPath); r.code != 0 || !strings.Contains(r.stdout, "ok    checkpoints:") {
		t.Errorf("evidence verify after the sidecar ran: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if fi, err := os.Stat(filepath.Join(dir, "evidence.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the evidence key made at first start: %v %v", fi, err)
	}
	// The legal message's bundle, from what real Postfix logged, verifies
	// offline with its certificate, against the key's public half.
	if k, err := evidence.LoadKey(filepath.Join(dir, "evidence.key")); err != nil {
		t.Error(err)
	} else {
		bundle, pub := filepath.Join(dir, "legal.zip"), filepath.Join(dir, "log.pub")
		os.WriteFile(pub, []byte(k.Public+"\n"), 0o644)
		if r := run(t, nil, "evidence", "export", traceIDs["<m1@court.example>"], "--out", bundle, "--config", cfgPath); r.code != 0 {
			t.Errorf("evidence export of the legal message: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		r := run(t, nil, "evidence", "verify", bundle, "--key", pub)
		if r.code != 0 || !strings.Contains(r.stdout, "ok    certificate: certificate.pdf states what the records say") ||
			!strings.Contains(r.stdout, "ok    chains: 1 message chains") {
			t.Errorf("evidence verify of the legal message's bundle: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
	}

	// Every Grafana dashboard query runs on this store, as the ClickHouse
	// plugin would send it, and returns what its panel needs.
	st := storetest.ChdbAt(t, filepath.Join(dir, "store"))
	env := dashboards.Env{From: time.Now().Add(-2 * time.Hour), To: time.Now().Add(time.Minute), Interval: time.Minute,
		Vars: map[string][]string{"host": {"mx1"}, "pool": {"collections"}, "provider": {"microsoft"}, "class": {"collections"},
			"id": {"<m2@dunning.example>"}},
		All: map[string]bool{"host": true, "pool": true, "provider": true, "class": true}}
	withRows := map[string]bool{}
	for _, all := range []bool{true, false} {
		if !all {
			env.All = nil
		}
		results, err := dashboards.RunQueries(context.Background(), st, env)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range results {
			if r.Err != nil || r.Misfit != "" {
				t.Errorf("dashboard %s / %s (all=%v): %v %s\n%s", r.Board, r.Panel, all, r.Err, r.Misfit, r.SQL)
			}
			if r.Rows > 0 {
				withRows[r.Board+" / "+r.Panel] = true
			}
		}
	}
	for _, panel := range []string{"overview.json / Attempts by status", "overview.json / Rates by pool and provider", "ip-reputation.json / Open block incidents",
		"ip-reputation.json / Block replies per source IP", "ip-reputation.json / Top rejection texts", "bounces.json / Top bounce reasons",
		"bounces.json / Unmatched reports", "trace.json / Timeline", "trace.json / Final status per recipient", "overview.json / $class"} {
		if !withRows[panel] {
			t.Errorf("dashboard panel %s shows nothing for this trace", panel)
		}
	}
}

// lateDSN is a DSN a receiver sends after accepting a message: the
// recipient turned out undeliverable.
func lateDSN(rcpt, envid, diag string) []byte {
	return postfixtest.DSN{Recipient: rcpt, EnvID: envid, Status: reply.EnhancedCode(diag), Diagnostic: diag, Date: time.Now()}.Bytes()
}

func fetchMetrics(t *testing.T, port string) string {
	t.Helper()
	resp, err := http.Get("http://127.0.0.1:" + port + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func apiJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("%s: %s %s", url, resp.Status, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v: %s", url, err, b)
	}
}

func mustID(t *testing.T, s string) traceid.ID {
	t.Helper()
	id, ok := traceid.Parse(s)
	if !ok {
		t.Fatalf("%q is not a trace ID", s)
	}
	return id
}
