package evidence

import (
	"context"
	"testing"
	"time"

	"github.com/mailtrace/mailtrace/schema"
)

func TestFactsOfStoredRows(t *testing.T) {
	trace := [16]byte{1, 2, 3}
	at := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name, event, message string
		fact                 Fact
	}{
		{"accept", EventSubmissionAcceptance, "01020300000000000000000000000000",
			AcceptFact(&schema.AcceptRecord{Time: at, TraceID: trace, Host: "mx1", QueueID: "4Ab", Sender: "s@x", Recipients: []string{"r@y"}})},
		{"250 after DATA", EventRelayToNonERDS, "01020300000000000000000000000000",
			DeliveryFact(&schema.DeliveryEvent{Time: at, EventID: 7, Host: "mx1", TraceID: trace, Status: "sent", Response: "250 2.0.0 OK"})},
		{"5xx", EventRelayToNonERDSFailure, "queue:mx1:4Ab",
			DeliveryFact(&schema.DeliveryEvent{Time: at, EventID: 8, Host: "mx1", QueueID: "4Ab", Status: "bounced", DSN: "5.1.1"})},
		{"expiry", EventRelayToNonERDSFailure, "queue:mx1:4Ab",
			DeliveryFact(&schema.DeliveryEvent{EventID: 9, Host: "mx1", QueueID: "4Ab", Status: "expired"})},
		{"4xx", EventDeferred, "queue:mx1:4Ab", DeliveryFact(&schema.DeliveryEvent{EventID: 10, Host: "mx1", QueueID: "4Ab", Status: "deferred"})},
		{"refused at submission", EventSubmissionRejection, "queue:mx1:4Ab",
			DeliveryFact(&schema.DeliveryEvent{EventID: 11, Host: "mx1", QueueID: "4Ab", Status: "rejected"})},
		{"a status of its own", "urn:mailtrace:event:warning", "queue:mx1:4Ab",
			DeliveryFact(&schema.DeliveryEvent{EventID: 12, Host: "mx1", QueueID: "4Ab", Status: "warning"})},
		{"failed DSN", EventRelayToNonERDSFailure, "01020300000000000000000000000000",
			BounceFact(&schema.Bounce{EventID: 1, Kind: "dsn", Action: "failed", TraceID: trace})},
		{"delivered DSN", EventDeliveryReport, "01020300000000000000000000000000", BounceFact(&schema.Bounce{EventID: 2, Kind: "dsn", Action: "delivered", TraceID: trace})},
		{"ARF", EventComplaint, "queue:mx1:4Ab", BounceFact(&schema.Bounce{EventID: 3, Kind: "arf", Host: "mx1", QueueID: "4Ab"})},
		{"MDN", EventReadReceipt, "", BounceFact(&schema.Bounce{EventID: 4, Kind: "mdn"})},
		{"auto-reply", EventAutoReply, "", BounceFact(&schema.Bounce{EventID: 5, Kind: "autoreply"})},
	}
	l := testLedger(t, NewMemoryStorage())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.fact.Event != tt.event || tt.fact.Message != tt.message {
				t.Errorf("event %s message %q, want %s %q", tt.fact.Event, tt.fact.Message, tt.event, tt.message)
			}
			if ok, err := l.Append(context.Background(), tt.fact); !ok || err != nil {
				t.Errorf("append: %v %v", ok, err)
			}
		})
	}
	m := &schema.MessageRecord{FirstSeen: at, LastSeen: at.Add(time.Minute), Host: "mx1", QueueID: "4Ab", Children: []string{"5Cd"}}
	for _, state := range []string{"queued", "rejected"} {
		m.State = state
		if fs := MessageFacts(m); len(fs) != 0 {
			t.Errorf("a %s message made facts %v", state, fs)
		}
	}
	m.State = "removed"
	fs := MessageFacts(m)
	if len(fs) != 2 || fs[0].Event != EventSenderNotification || fs[1].Event != "urn:mailtrace:event:QueueRemoved" || !fs[1].Final {
		t.Errorf("facts of a removed message: %+v", fs)
	}
}
