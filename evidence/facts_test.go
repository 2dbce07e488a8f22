package evidence

import (
	"context"
	"encoding/base64"
	"encoding/json"
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
	m.Statuses, m.QueuedAs, m.Size, m.ClientIP = []string{"sent", "b\xffad"}, []string{"6Ef"}, 1234, "10.0.0.1"
	fs := MessageFacts(m)
	if len(fs) != 2 || fs[0].Event != EventSenderNotification || fs[1].Event != "urn:mailtrace:event:QueueRemoved" || !fs[1].Final {
		t.Errorf("facts of a removed message: %+v", fs)
	}
	st := NewMemoryStorage()
	ml := testLedger(t, st)
	for _, f := range fs {
		if _, err := ml.Append(context.Background(), f); err != nil {
			t.Fatal(err)
		}
	}
	for _, e := range st.Log(ml.Origin())[1:] {
		var r Record
		json.Unmarshal(e.Record, &r)
		std, _ := json.Marshal(r)
		if want, err := Canonicalize(std); err != nil || string(want) != string(e.Record) {
			t.Errorf("record %d:\n stored    %s\n canonical %s (%v)", e.Index, e.Record, want, err)
		}
	}
}

// The attempt's facts, written in canonical form directly, are what RFC
// 8785 makes of the record, and verify (which re-encodes the parsed
// record) agrees.
func TestDeliveryFactIsCanonical(t *testing.T) {
	st := NewMemoryStorage()
	key := testKey(t)
	l, err := Open(context.Background(), Options{Origin: testOrigin, Storage: st, Key: key})
	if err != nil {
		t.Fatal(err)
	}
	events := []*schema.DeliveryEvent{
		{Time: time.Now(), EventID: 1 << 60, Host: "mx1", QueueID: "4Ab", TraceID: [16]byte{9}, MessageID: "<a@b>", Sender: "s@x",
			Recipient: "r@y", OrigRecipient: "o@y", Status: "sent", DSN: "2.0.0", Service: "postfix-legal/smtp", RelayHost: "mx.y",
			RelayIP: "192.0.2.1", RelayPort: 25, Response: `250 2.0.0 OK "quoted" \ <x> ü`, Delay: 1.25, DelayBeforeQueue: 0.1,
			DelayInQueue: 0.01, DelayConnect: 0.3, DelayTransmit: 0.84, ConnUse: 2, TLS: "TLSv1.3", Pool: "legal",
			SourceIP: "127.0.0.2", Provider: "google", Category: "", IsBlock: true, QueuedAs: "5Cd", TimeDigits: 6,
			Line: "Nov 25 10:00:01 mx1 postfix-legal/smtp[100]: 4Ab: to=<r@y>, status=sent (250 2.0.0 OK)"},
		{EventID: 2, Host: "mx1", QueueID: "4Ab", Status: "deferred", Response: "451 \xfe\xff try later",
			Line: "Nov 25 10:00:02 mx1 postfix/smtp[101]: 4Ab: status=deferred (451 \xfe\xff try later)"},
		{EventID: 3, Host: "mx1", QueueID: "4Ab", Status: "bounced", Sender: "bad\xffsender@x"},
	}
	for _, e := range events {
		if ok, err := l.Append(context.Background(), DeliveryFact(e)); !ok || err != nil {
			t.Fatalf("append: %v %v", ok, err)
		}
	}
	for _, e := range st.Log(testOrigin)[1:] {
		var r Record
		if err := json.Unmarshal(e.Record, &r); err != nil {
			t.Fatal(err)
		}
		std, _ := json.Marshal(r)
		want, err := Canonicalize(std)
		if err != nil || string(want) != string(e.Record) {
			t.Errorf("record %d:\n stored    %s\n canonical %s (%v)", e.Index, e.Record, want, err)
		}
	}
	if _, _, err := l.Checkpoint(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(context.Background(), st, VerifyOptions{Origin: testOrigin, Verifiers: verifiersOf(t, key)}); err != nil {
		t.Error(err)
	}
	var first Record
	json.Unmarshal(st.Log(testOrigin)[1].Record, &first)
	if first.Facts["line"] != events[0].Line {
		t.Errorf("the attempt's log line: got %v, want %q", first.Facts["line"], events[0].Line)
	}
	var r Record
	json.Unmarshal(st.Log(testOrigin)[2].Record, &r)
	if r.Facts["response"] != "451 \ufffd try later" || r.Facts["responseBase64"] != "NDUxIP7/IHRyeSBsYXRlcg==" {
		t.Errorf("bytes that are not UTF-8: %v", r.Facts)
	}
	if r.Facts["lineBase64"] != base64.StdEncoding.EncodeToString([]byte(events[1].Line)) {
		t.Errorf("a log line that is not UTF-8 keeps its bytes: %v", r.Facts)
	}
}

// BenchmarkAppendDelivery appends what the collector hands over most:
// attempts (from their rows, as DeliveryFact writes them), each message
// closed after its second.
func BenchmarkAppendDelivery(b *testing.B) {
	ctx := context.Background()
	l := testLedger(b, NewMemoryStorage())
	e := &schema.DeliveryEvent{Time: time.Now(), Host: "mx1", QueueID: "4Ab", Sender: "notices@court.example", Recipient: "r@example.org",
		Status: "sent", DSN: "2.0.0", Service: "postfix-legal/smtp", RelayHost: "mx.example.org", RelayIP: "192.0.2.1", RelayPort: 25,
		Response: "250 2.0.0 Ok: queued as 4Z8x9Y1abcz", Delay: 1.14, DelayConnect: 0.8, DelayTransmit: 0.1,
		TLS: "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)", Pool: "legal", SourceIP: "192.0.2.10", Provider: "other",
		Line: "Nov 25 10:00:01 mx1 postfix-legal/smtp[4321]: 4Ab: to=<r@example.org>, relay=mx.example.org[192.0.2.1]:25, delay=1.14, " +
			"delays=0.04/0.2/0.8/0.1, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 4Z8x9Y1abcz)"}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		e.EventID = uint64(i)
		e.TraceID[0], e.TraceID[1], e.TraceID[2] = byte(i>>1), byte(i>>9), byte(i>>17)
		f := DeliveryFact(e)
		f.Final = i%2 == 1
		if _, err := l.Append(ctx, f); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(l.Size()-1)/b.Elapsed().Seconds(), "records/s")
}

// TestRecordTimesHaveTheSourceDigits checks that a record states its
// times with the digits their source has: a whole-second log line's
// tie-break microseconds (which keep the lines of one second in log
// order in the store) are not written, the milter's microseconds are.
func TestRecordTimesHaveTheSourceDigits(t *testing.T) {
	trace := [16]byte{9}
	// 05:04:36 in the log, the 45th line of that second.
	tied := time.Date(2026, 12, 2, 5, 4, 36, 45_000, time.UTC)
	milter := time.Date(2026, 12, 2, 5, 4, 35, 412_345_000, time.UTC)
	tests := []struct {
		name                  string
		fact                  Fact
		eventTime, submission string
		timeDigits            any // the facts member, nil when not written
	}{
		{"milter accept, microseconds", AcceptFact(&schema.AcceptRecord{Time: milter, TraceID: trace, Host: "mx1", QueueID: "4Ab"}),
			"2026-12-02T05:04:35.412345Z", "2026-12-02T05:04:35.412345Z", nil},
		{"whole-second log line", DeliveryFact(&schema.DeliveryEvent{Time: tied, EventID: 1, Host: "mx1", TraceID: trace, Status: "sent"}),
			"2026-12-02T05:04:36Z", "", 0.0},
		{"milliseconds", DeliveryFact(&schema.DeliveryEvent{Time: tied.Add(123 * time.Millisecond), TimeDigits: 3, EventID: 2, Host: "mx1",
			TraceID: trace, Status: "deferred"}), "2026-12-02T05:04:36.123Z", "", 3.0},
		{"RFC 3339 syslog, microseconds", DeliveryFact(&schema.DeliveryEvent{Time: tied.Add(120 * time.Millisecond), TimeDigits: 6, EventID: 3,
			Host: "mx1", TraceID: trace, Status: "deferred"}), "2026-12-02T05:04:36.120045Z", "", 6.0},
		{"report's Date header", BounceFact(&schema.Bounce{Time: tied, EventID: 4, Kind: "dsn", Action: "failed", TraceID: trace}),
			"2026-12-02T05:04:36Z", "", 0.0},
		{"queue removal", MessageFacts(&schema.MessageRecord{Host: "mx1", QueueID: "4Ab", TraceID: trace, State: "removed",
			FirstSeen: tied.Add(-time.Second), LastSeen: tied})[0], "2026-12-02T05:04:36Z", "2026-12-02T05:04:35Z", 0.0},
	}
	st := NewMemoryStorage()
	l := testLedger(t, st)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := l.Append(context.Background(), tt.fact); err != nil {
				t.Fatal(err)
			}
			var r Record
			st.Entries(context.Background(), "mailtrace.test/mx1", 0, func(e *Entry) error {
				if e.FactID == tt.fact.ID {
					return json.Unmarshal(e.Record, &r)
				}
				return nil
			})
			if r.EventTime != tt.eventTime || r.SubmissionTime != tt.submission {
				t.Errorf("EventTime %q SubmissionTime %q, want %q %q", r.EventTime, r.SubmissionTime, tt.eventTime, tt.submission)
			}
			if got := r.Facts["timeDigits"]; got != tt.timeDigits {
				t.Errorf("facts timeDigits %v, want %v", got, tt.timeDigits)
			}
		})
	}
}
