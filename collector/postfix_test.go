package collector

import (
	"context"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/mailtrace/mailtrace/postfixtest"
	"github.com/mailtrace/mailtrace/store"
)

// TestRealPostfix sends mail through a real Postfix to a receiver that
// accepts, defers and rejects, imports Postfix's log, and checks the trace
// of every recipient against what the receiver saw.
func TestRealPostfix(t *testing.T) {
	recv := postfixtest.StartReceiver(t)
	pf := postfixtest.Start(t, postfixtest.Options{Relay: recv.Addr})
	type sent struct {
		msgID string
		to    []string
	}
	msgs := []sent{
		{"<m1@court.example>", []string{"ok1@dest.example", "ok2@dest.example"}},
		{"<m2@court.example>", []string{"ok3@dest.example", "defer1@dest.example", "reject1@dest.example"}},
		{"<m3@court.example>", []string{"door-reject@dest.example", "ok4@dest.example"}},
	}
	want := map[string]string{ // recipient -> final status
		"ok1@dest.example": "sent", "ok2@dest.example": "sent", "ok3@dest.example": "sent", "ok4@dest.example": "sent",
		"defer1@dest.example": "expired", "reject1@dest.example": "bounced", "door-reject@dest.example": "rejected",
	}
	for _, m := range msgs {
		refused := pf.Send(t, "notices@court.example", m.to, m.msgID, "Notice "+m.msgID)
		for r := range refused {
			if r != "door-reject@dest.example" {
				t.Errorf("Postfix refused %s: %s", r, refused[r])
			}
		}
	}
	pf.WaitIdle(t, 60*time.Second)

	st := migratedStore(t)
	ctx := context.Background()
	p := NewPipeline(st, PipelineOptions{Logger: quiet()})
	if _, err := Import(ctx, p, pf.Log); err != nil {
		t.Fatal(err)
	}
	p.Close(ctx)

	// What the receiver accepted, by recipient (the notifications to the
	// sender included).
	accepted := map[string]bool{}
	for _, d := range recv.Received() {
		for _, r := range d.To {
			accepted[r] = true
		}
	}
	// Each recipient's last status in the trace.
	rows, err := st.Query(ctx, "SELECT recipient, argMax(status, (time, event_id)), argMax(response, (time, event_id)), "+
		"any(message_id) FROM delivery_events GROUP BY recipient ORDER BY recipient", nil)
	if err != nil {
		t.Fatal(err)
	}
	all, err := rows.All()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range all {
		rcpt, status, response := r[0].(string), r[1].(string), r[2].(string)
		got[rcpt] = status
		if status == "sent" != accepted[rcpt] {
			t.Errorf("%s: trace says %s, the receiver accepted it: %v", rcpt, status, accepted[rcpt])
		}
		switch rcpt {
		case "reject1@dest.example":
			if !strings.Contains(response, "550 5.1.1 <reject1@dest.example>: no such user here") {
				t.Errorf("bounce reply not kept whole: %q", response)
			}
		case "defer1@dest.example":
			if !strings.Contains(response, "450 4.2.1 mailbox busy") {
				t.Errorf("expiry does not carry the last deferral's reply: %q", response)
			}
		}
	}
	for rcpt, status := range want {
		if got[rcpt] != status {
			t.Errorf("%s: final status %q, want %q", rcpt, got[rcpt], status)
		}
	}
	if !accepted["notices@court.example"] || got["notices@court.example"] != "sent" {
		t.Errorf("the non-delivery notification to the sender is missing from the trace or the receiver: %v %q", accepted["notices@court.example"], got["notices@court.example"])
	}

	// The messages: Message-IDs, recipients, and the notifications linked
	// to the message they report on.
	qids := pf.QueueIDs(t, "<m2@court.example>")
	if len(qids) != 1 {
		log, _ := os.ReadFile(pf.Log)
		t.Fatalf("queue IDs of m2: %v\n%s", qids, log)
	}
	rows, err = st.Query(ctx, "SELECT message_id, state, arraySort(recipients), children FROM messages FINAL WHERE queue_id = {q:String}",
		store.Params{"q": qids[0]})
	if err != nil {
		t.Fatal(err)
	}
	m2, err := rows.All()
	if err != nil || len(m2) != 1 {
		t.Fatalf("message record of m2: %v %v", m2, err)
	}
	if m2[0][0] != "<m2@court.example>" || m2[0][1] != "expired" ||
		strings.Join(m2[0][2].([]string), ",") != "defer1@dest.example,ok3@dest.example,reject1@dest.example" || len(m2[0][3].([]string)) == 0 {
		t.Errorf("m2's record: %v", m2[0])
	}
	children := m2[0][3].([]string)
	sort.Strings(children)
	rows, err = st.Query(ctx, "SELECT queue_id, parent_queue_id, notification, sender FROM messages FINAL WHERE parent_queue_id = {q:String} ORDER BY queue_id",
		store.Params{"q": qids[0]})
	if err != nil {
		t.Fatal(err)
	}
	kids, _ := rows.All()
	if len(kids) != len(children) {
		t.Errorf("m2 names notifications %v, the store has %v", children, kids)
	}
	for _, k := range kids {
		if k[2] != "non-delivery" || k[3] != "" {
			t.Errorf("notification record %v", k)
		}
	}
}
