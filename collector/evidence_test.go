package collector

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mailtrace/mailtrace/evidence"
)

// TestEvidenceTimesHaveTheLogsDigits imports a log of whole seconds with
// two attempts in one second (the store keeps them apart by a
// microsecond) and checks that the evidence records state whole seconds
// only, and timeDigits 0 among the facts: no record claims digits the log
// did not have.
func TestEvidenceTimesHaveTheLogsDigits(t *testing.T) {
	st := migratedStore(t)
	ctx := context.Background()
	at := time.Now().UTC().AddDate(0, 0, -1).Truncate(time.Second).Format(time.RFC3339)
	log := at + ` mx1 postfix/smtpd[42]: 1BF02A95363: client=app.example[192.0.2.7]
` + at + ` mx1 postfix/qmgr[44]: 1BF02A95363: from=<n@court.example>, size=4321, nrcpt=2 (queue active)
` + at + ` mx1 postfix/smtp[51]: 1BF02A95363: to=<a@gmail.example>, relay=mx[192.0.2.9]:25, delay=1, delays=0/0/0.5/0.5, dsn=2.0.0, status=sent (250 ok)
` + at + ` mx1 postfix/smtp[51]: 1BF02A95363: to=<b@gmail.example>, relay=mx[192.0.2.9]:25, delay=1, delays=0/0/0.5/0.5, dsn=2.0.0, status=sent (250 ok)
` + at + ` mx1 postfix/qmgr[44]: 1BF02A95363: removed
`
	path := filepath.Join(t.TempDir(), "mail.log")
	os.WriteFile(path, []byte(log), 0o644)
	key, err := evidence.ParseKey(mustKey(t))
	if err != nil {
		t.Fatal(err)
	}
	mem := evidence.NewMemoryStorage()
	ls := evidence.NewLedgers(evidence.LedgersOptions{Config: evidence.Config{OriginPrefix: "mailtrace.test"}, Storage: mem, Key: key, Logger: quiet()})
	p := NewPipeline(st, PipelineOptions{Logger: quiet(), Evidence: ls})
	if _, err := Import(ctx, p, path); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := ls.Close(ctx); err != nil {
		t.Fatal(err)
	}
	var attempts int
	mem.Entries(ctx, "mailtrace.test/mx1", 0, func(e *evidence.Entry) error {
		var r evidence.Record
		if err := json.Unmarshal(e.Record, &r); err != nil {
			t.Fatal(err)
		}
		if r.ERDSEventId == evidence.EventLedgerStart {
			return nil
		}
		if r.EventTime != at || r.SubmissionTime != "" && r.SubmissionTime != at {
			t.Errorf("%s: EventTime %q SubmissionTime %q, want %q: the log has whole seconds", r.ERDSEventId, r.EventTime, r.SubmissionTime, at)
		}
		if r.ERDSEventId == evidence.EventRelayToNonERDS {
			attempts++
			if d, ok := r.Facts["timeDigits"]; !ok || d != 0.0 {
				t.Errorf("attempt facts timeDigits %v (present %v), want 0", d, ok)
			}
		}
		return nil
	})
	if attempts != 2 {
		t.Errorf("%d attempt records, want 2", attempts)
	}
}

func mustKey(t *testing.T) string {
	t.Helper()
	private, _, err := evidence.GenerateKey("mailtrace.test")
	if err != nil {
		t.Fatal(err)
	}
	return private
}
