package collector

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mailtrace/mailtrace/postfixtest"
	"github.com/mailtrace/mailtrace/store"
	"github.com/mailtrace/mailtrace/store/storetest"
	"github.com/mailtrace/mailtrace/trace"
)

// importLogOf imports a real Postfix's log into a new store.
func importLogOf(t *testing.T, pf *postfixtest.Instance) store.Store {
	t.Helper()
	st := migratedStore(t)
	ctx := context.Background()
	p := NewPipeline(st, PipelineOptions{Logger: quiet()})
	if _, err := Import(ctx, p, pf.Log); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	return st
}

func rowsOf(t *testing.T, st store.Store, q string, params store.Params) [][]any {
	t.Helper()
	rows, err := st.Query(context.Background(), q, params)
	if err != nil {
		t.Fatal(err)
	}
	all, err := rows.All()
	if err != nil {
		t.Fatal(err)
	}
	return all
}

func dumpLog(t *testing.T, pf *postfixtest.Instance) {
	t.Helper()
	log, _ := os.ReadFile(pf.Log)
	t.Logf("Postfix log:\n%s", log)
}

// TestRealPostfixContentFilter: Postfix hands every message to a content
// filter on 127.0.0.1 (content_filter = smtp:[127.0.0.1]:PORT) that
// re-injects it into a second smtpd, as amavis does; the trace follows the
// message through both queue entries to the receiver's reply.
func TestRealPostfixContentFilter(t *testing.T) {
	reinject := "127.0.0.1:" + postfixtest.FreePort(t)
	filter := postfixtest.StartFilter(t, reinject)
	recv := postfixtest.StartReceiver(t)
	pf := postfixtest.Start(t, postfixtest.Options{Relay: recv.Addr, ClientAddr: "127.0.0.2",
		Main:   map[string]string{"content_filter": "smtp:[" + strings.Replace(filter.Addr, ":", "]:", 1)},
		Master: postfixtest.ReinjectService(reinject)})
	pf.Send(t, "notices@court.example", []string{"ok1@dest.example", "reject1@dest.example"}, "<f1@court.example>", "Filtered notice")
	pf.WaitIdle(t, 60*time.Second)

	qids := pf.QueueIDs(t, "<f1@court.example>")
	replies := filter.Replies()
	if len(qids) != 2 || len(replies) != 1 || !strings.HasSuffix(replies[0], "queued as "+qids[1]) {
		dumpLog(t, pf)
		t.Fatalf("queue entries %v, filter replies %v: want the original and its re-injected copy", qids, replies)
	}
	orig, copy := qids[0], qids[1]
	st := importLogOf(t, pf)

	// The hand-offs to the filter are hops, not deliveries.
	for _, r := range rowsOf(t, st, "SELECT recipient, status, queued_as, relay_ip, relay_port FROM delivery_events WHERE queue_id = {q:String} ORDER BY recipient",
		store.Params{"q": orig}) {
		if r[1] != "handoff" || r[2] != copy || r[3] != "127.0.0.1" {
			t.Errorf("hand-off of %v: %v", r[0], r)
		}
	}
	// The copy's attempts are the real deliveries, with the original's
	// sender and client.
	got := map[string]string{}
	for _, r := range rowsOf(t, st, "SELECT recipient, status, response, sender FROM delivery_events WHERE queue_id = {q:String}", store.Params{"q": copy}) {
		got[r[0].(string)] = r[1].(string) + " " + r[2].(string)
		if r[3] != "notices@court.example" {
			t.Errorf("copy's attempt sender %v", r[3])
		}
	}
	if !strings.HasPrefix(got["ok1@dest.example"], "sent 250 2.0.0 OK: queued") || !strings.Contains(got["reject1@dest.example"], "bounced") {
		dumpLog(t, pf)
		t.Errorf("the copy's attempts: %v", got)
	}
	m := rowsOf(t, st, "SELECT queued_from, client_ip, origin FROM messages FINAL WHERE queue_id = {q:String}", store.Params{"q": copy})
	if len(m) != 1 || m[0][0] != orig || m[0][1] != "127.0.0.2" || m[0][2] != "smtpd" {
		t.Errorf("copy's record %v: want it linked to %s, with the original client 127.0.0.2", m, orig)
	}

	// The trace, by the copy's queue ID.
	msgs, err := trace.NewReader(st).Find(context.Background(), trace.Query{ID: copy})
	if err != nil || len(msgs) != 1 {
		t.Fatalf("trace of %s: %v %v", copy, msgs, err)
	}
	tr := msgs[0]
	if tr.QueueID != orig || len(tr.Hops) != 2 {
		t.Errorf("trace: queue ID %s, hops %+v", tr.QueueID, tr.Hops)
	}
	final := map[string]string{}
	for _, r := range tr.Recipients {
		last := r.Attempts[len(r.Attempts)-1]
		final[r.Address] = string(r.Status) + " " + last.QueueID
		if r.Attempts[0].Status != "handoff" {
			t.Errorf("%s: first hop %+v", r.Address, r.Attempts[0])
		}
	}
	if final["ok1@dest.example"] != "sent "+copy || final["reject1@dest.example"] != "bounced "+copy {
		t.Errorf("final statuses %v", final)
	}
	var delivered bool
	for _, d := range recv.Received() {
		delivered = delivered || strings.Join(d.To, ",") == "ok1@dest.example" && strings.Contains(string(d.Data), "X-Virus-Scanned")
	}
	if !delivered {
		t.Errorf("the receiver did not get the filtered copy: %v", recv.Received())
	}
}

// TestRealPostfixWarnIfReject: warn_if_reject turns a restriction's
// refusal into a reject_warning line; the mail is delivered, and the trace
// says warning, never rejected.
func TestRealPostfixWarnIfReject(t *testing.T) {
	recv := postfixtest.StartReceiver(t)
	pf := postfixtest.Start(t, postfixtest.Options{Relay: recv.Addr, Main: map[string]string{
		"smtpd_recipient_restrictions": "warn_if_reject check_recipient_access inline:{ { warnme@dest.example = 554 5.7.1 refused by policy } }, permit_mynetworks, reject"}})
	if refused := pf.Send(t, "notices@court.example", []string{"warnme@dest.example"}, "<w1@court.example>", "Warned"); len(refused) > 0 {
		t.Fatalf("refused: %v", refused)
	}
	pf.WaitIdle(t, 60*time.Second)
	if log, _ := os.ReadFile(pf.Log); !strings.Contains(string(log), "reject_warning: RCPT") {
		t.Fatalf("no reject_warning line:\n%s", log)
	}
	st := importLogOf(t, pf)
	all := rowsOf(t, st, "SELECT status, response FROM delivery_events WHERE recipient = 'warnme@dest.example' ORDER BY time", nil)
	if len(all) != 2 || all[0][0] != "warning" || all[0][1] != "554 5.7.1 <warnme@dest.example>: Recipient address rejected: refused by policy" || all[1][0] != "sent" {
		dumpLog(t, pf)
		t.Errorf("attempts %v, want the warning and the delivery", all)
	}
	if n := storetest.Count(t, st, "SELECT count() FROM delivery_events WHERE status = 'rejected'"); n != 0 {
		t.Errorf("%d rejected rows for mail Postfix did not refuse", n)
	}
}

// TestRealPostfixForceExpired: postsuper -e expires a deferred message at
// once; qmgr logs status=force-expired and returns it to the sender.
func TestRealPostfixForceExpired(t *testing.T) {
	recv := postfixtest.StartReceiver(t)
	pf := postfixtest.Start(t, postfixtest.Options{Relay: recv.Addr, Main: map[string]string{
		"maximal_queue_lifetime": "1d", "bounce_queue_lifetime": "1d", "queue_run_delay": "300s",
		"minimal_backoff_time": "300s", "maximal_backoff_time": "300s"}})
	pf.Send(t, "notices@court.example", []string{"defer1@dest.example"}, "<e1@court.example>", "To expire")
	waitLog(t, pf, "status=deferred")
	qids := pf.QueueIDs(t, "<e1@court.example>")
	if len(qids) != 1 {
		t.Fatalf("queue IDs %v", qids)
	}
	if out, err := exec.Command("postsuper", "-c", pf.Config, "-e", qids[0]).CombinedOutput(); err != nil {
		t.Fatalf("postsuper -e: %v %s", err, out)
	}
	exec.Command("postqueue", "-c", pf.Config, "-i", qids[0]).Run()
	waitLog(t, pf, "status=force-expired")
	pf.WaitIdle(t, 60*time.Second)
	st := importLogOf(t, pf)
	all := rowsOf(t, st, "SELECT status, response FROM delivery_events WHERE queue_id = {q:String} ORDER BY time, event_id", store.Params{"q": qids[0]})
	if len(all) < 2 || all[len(all)-1][0] != "expired" || !strings.Contains(all[len(all)-1][1].(string), "mailbox busy") {
		dumpLog(t, pf)
		t.Errorf("attempts %v, want the deferral then the expiry with its reason", all)
	}
	m := rowsOf(t, st, "SELECT state, sender, length(children) FROM messages FINAL WHERE queue_id = {q:String}", store.Params{"q": qids[0]})
	if len(m) != 1 || m[0][0] != "expired" || m[0][1] != "notices@court.example" || m[0][2] != uint64(1) {
		t.Errorf("message record %v", m)
	}
}

// waitLog waits until the log holds s.
func waitLog(t *testing.T, pf *postfixtest.Instance, s string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if log, _ := os.ReadFile(pf.Log); strings.Contains(string(log), s) {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	dumpLog(t, pf)
	t.Fatalf("the log never said %q", s)
}

// TestRealPostfixLMTPSocket: lmtp(8) delivers to mailbox servers on
// UNIX-domain sockets, by absolute path and relative to the queue
// directory (private/dovecot-lmtp); the next hop is a path, not an IP.
func TestRealPostfixLMTPSocket(t *testing.T) {
	sockDir, err := os.MkdirTemp("", "mailtrace-lmtp-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(sockDir) })
	os.Chmod(sockDir, 0o755)
	abs := filepath.Join(sockDir, "lmtp.sock")
	recv := postfixtest.StartReceiver(t)
	pf := postfixtest.Start(t, postfixtest.Options{Relay: recv.Addr, Main: map[string]string{
		"transport_maps": "inline:{ { abs.example = lmtp:unix:" + abs + " }, { rel.example = lmtp:unix:private/mt-lmtp } }"}})
	lmtp := postfixtest.StartLMTP(t, abs, filepath.Join(pf.Dir, "queue", "private", "mt-lmtp"))
	pf.Send(t, "notices@court.example", []string{"u1@abs.example", "u2@rel.example"}, "<l1@court.example>", "To a mailbox")
	pf.WaitIdle(t, 60*time.Second)
	if n := len(lmtp.Received()); n != 2 {
		dumpLog(t, pf)
		t.Fatalf("the LMTP server got %d messages, want 2", n)
	}
	st := importLogOf(t, pf)
	got := map[string]string{}
	for _, r := range rowsOf(t, st, "SELECT recipient, status, relay_ip, relay_path, relay_host FROM delivery_events", nil) {
		got[r[0].(string)] = r[1].(string) + " ip=" + r[2].(string) + " path=" + r[3].(string)
	}
	if got["u1@abs.example"] != "sent ip= path="+abs || got["u2@rel.example"] != "sent ip= path=private/mt-lmtp" {
		dumpLog(t, pf)
		t.Errorf("LMTP deliveries: %v", got)
	}
}
