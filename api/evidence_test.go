package api

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mailtrace/mailtrace/certificate"
	"github.com/mailtrace/mailtrace/evidence"
	"github.com/mailtrace/mailtrace/schema"
	"github.com/mailtrace/mailtrace/store"
	"github.com/mailtrace/mailtrace/trace"
	"github.com/mailtrace/mailtrace/trace/tracetest"
)

// The legal notice's bundle comes from the API to an analyst, verifies
// offline with its certificate, and is refused without a token.
func TestEvidenceBundle(t *testing.T) {
	private, _, _ := evidence.GenerateKey("mailtrace.test")
	key, _ := evidence.ParseKey(private)
	cfg := withTokens
	cfg.Evidence = &EvidenceOptions{PublicKeys: []string{key.Public}, CheckpointInterval: 30 * time.Second}
	ts := start(t, cfg)
	ctx := context.Background()
	legal := [16]byte(ts.fx.Legal)
	storage := evidence.NewStoreStorage(ts.fx.Store, store.WriterOptions{})
	l, err := evidence.Open(ctx, evidence.Options{Origin: "mailtrace.test/mx1", Host: "mx1", Storage: storage, Key: key})
	if err != nil {
		t.Fatal(err)
	}
	facts := []evidence.Fact{evidence.AcceptFact(&schema.AcceptRecord{Time: tracetest.Accepted, TraceID: legal, Host: "mx1", QueueID: "4XAA1",
		MessageID: "<n1@court.example>", Sender: tracetest.Sender, Recipients: []string{"Anna@gmail.test"}, ClientIP: "10.0.0.5", ClientName: "app.court.example"}),
		evidence.DeliveryFact(&schema.DeliveryEvent{Time: tracetest.T0.Add(time.Second), EventID: 1, Host: "mx1", QueueID: "4XAA1", TraceID: legal,
			Recipient: "anna@gmail.test", Status: "sent", DSN: "2.0.0", Response: "250 2.0.0 OK", RelayHost: "mx.example", RelayIP: "192.0.2.1"})}
	for _, f := range facts {
		if _, err := l.Append(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := l.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	// A message accepted after the checkpoint: in the ledger, not yet
	// covered by a signed checkpoint.
	if _, err := l.Append(ctx, evidence.AcceptFact(&schema.AcceptRecord{Time: tracetest.T0.Add(time.Hour), TraceID: [16]byte(ts.fx.Early),
		Host: "mx1", QueueID: "4XAA9", MessageID: "<n9@court.example>", Sender: tracetest.Sender})); err != nil {
		t.Fatal(err)
	}
	storage.Close(ctx)

	path := "/api/v1/evidence/" + ts.fx.Legal.String()
	if code, _ := ts.get(t, path, ""); code != http.StatusUnauthorized {
		t.Errorf("without a token: %d", code)
	}
	code, body := ts.get(t, path+"?lang=en", analystToken)
	if code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, code, body)
	}
	b, err := evidence.ReadBundle(bytes.NewReader(body), int64(len(body)))
	if err != nil {
		t.Fatal(err)
	}
	checks, err := evidence.VerifyBundle(b, evidence.BundleVerifyOptions{Certificate: certificate.Check})
	if err != nil || len(b.Records) != 2 || checks[len(checks)-1].Name != "certificate" {
		t.Fatalf("verify: %v, %d records\n%v", err, len(b.Records), checks)
	}
	text, _ := certificate.Text(b.Files[evidence.BundleCertificate])
	if !strings.Contains(text, "Delivered to the recipient's mail server mx.example [192.0.2.1]") {
		t.Errorf("certificate:\n%s", text)
	}
	// The client `mailtrace evidence export` uses when a running
	// mailtrace holds the store.
	var viaClient bytes.Buffer
	if err := NewClient(ts.URL, analystToken).Evidence(ctx, trace.Query{ID: ts.fx.Legal.String()}, "en", &viaClient); err != nil {
		t.Fatal(err)
	}
	if cb, err := evidence.ReadBundle(bytes.NewReader(viaClient.Bytes()), int64(viaClient.Len())); err != nil {
		t.Error(err)
	} else if _, err := evidence.VerifyBundle(cb, evidence.BundleVerifyOptions{Certificate: certificate.Check}); err != nil {
		t.Errorf("the client's bundle: %v", err)
	}
	// Before the first checkpoint covers a message: 503, ask again after
	// the checkpoint interval.
	req, _ := http.NewRequest("GET", ts.URL+"/api/v1/evidence/"+ts.fx.Early.String(), nil)
	req.Header.Set("Authorization", "Bearer "+analystToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	early, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") != "30" ||
		!bytes.Contains(early, []byte("export again after the next checkpoint")) {
		t.Errorf("a message no checkpoint covers yet: %d Retry-After %q %s", res.StatusCode, res.Header.Get("Retry-After"), early)
	}
	// A message the ledger has no record of.
	if code, body := ts.get(t, "/api/v1/evidence/4XCC1", analystToken); code != http.StatusNotFound || !bytes.Contains(body, []byte("no record of")) {
		t.Errorf("a message without records: %d %s", code, body)
	}
	if code, _ := ts.get(t, path+"?lang=fr", analystToken); code != http.StatusBadRequest {
		t.Errorf("lang=fr: %d", code)
	}
}

func TestGroupMessages(t *testing.T) {
	legal := "019a0000-0000-7000-8000-000000000001"
	tests := []struct {
		name string
		msgs []*trace.Message
		want string
	}{
		{"a message with a trace ID", []*trace.Message{{TraceID: legal, Host: "mx1", QueueID: "4A"}},
			"[{" + legal + " [019a0000000070008000000000000001 queue:mx1:4A]}]"},
		{"a message through a content filter", []*trace.Message{{TraceID: legal, Host: "mx1", QueueID: "4A",
			Hops: []trace.Hop{{QueueID: "4A"}, {QueueID: "5B", QueuedFrom: "4A"}}}},
			"[{" + legal + " [019a0000000070008000000000000001 queue:mx1:4A queue:mx1:5B]}]"},
		{"two messages sharing a queue entry", []*trace.Message{{TraceID: legal, Host: "mx1", QueueID: "4A"}, {Host: "mx1", QueueID: "4A"}},
			"[{" + legal + " [019a0000000070008000000000000001 queue:mx1:4A]}]"},
		{"two messages apart", []*trace.Message{{Host: "mx1", QueueID: "4A"}, {Host: "mx2", QueueID: "4A"}},
			"[{4A [queue:mx1:4A]} {4A [queue:mx2:4A]}]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fmt.Sprint(GroupMessages(tt.msgs)); got != tt.want {
				t.Errorf("GroupMessages = %s, want %s", got, tt.want)
			}
		})
	}
}
