package trace

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mailtrace/mailtrace/schema"
	"github.com/mailtrace/mailtrace/trace/tracetest"
	"github.com/mailtrace/mailtrace/traceid"
)

// TestSearchBySender searches by the application's sender and by the
// log's, for a VERP class (the fixture's legal notice), a message without
// VERP, one that never passed the milter, and one whose accept record
// reaches the store after its log lines.
func TestSearchBySender(t *testing.T) {
	f := tracetest.New(t)
	ctx := context.Background()
	// late's ID was made now, not when its record says: its record is
	// found by the attempts' window, not by the ID's time.
	plain, late := tracetest.IDAt(t0.Add(40*time.Minute)), traceid.New()
	const lateVERP = "mt-aebqaaxwjfmeyszbkqjhkibtgq4tomzzhfqwkaq3@bounces.tax.example"
	tracetest.Insert(t, f.Store, schema.AcceptRecords,
		&schema.AcceptRecord{Time: t0.Add(40 * time.Minute), TraceID: plain, Host: "mx1", QueueID: "4XEE1", Sender: "billing@bank.example",
			Recipients: []string{"fred@gmail.test"}, Class: "transactional", Pool: "transactional", Subject: "Your statement"})
	tracetest.Insert(t, f.Store, schema.DeliveryEvents,
		&schema.DeliveryEvent{Time: t0.Add(40*time.Minute + time.Second), EventID: 1001, Host: "mx1", QueueID: "4XEE1", TraceID: plain,
			Sender: "billing@bank.example", Recipient: "fred@gmail.test", Status: "sent", DSN: "2.0.0"},
		&schema.DeliveryEvent{Time: t0.Add(45 * time.Minute), EventID: 1002, Host: "mx1", QueueID: "4XFF1", TraceID: late,
			Sender: lateVERP, Recipient: "gina@gmail.test", Status: "sent", DSN: "2.0.0"})
	base := Filter{From: t0.Add(-time.Hour), To: t0.Add(time.Hour)}
	search := func(t *testing.T, sender string) []Row {
		t.Helper()
		flt := base
		flt.Sender = sender
		page, err := Search(ctx, f.Store, flt, "", 0)
		if err != nil {
			t.Fatal(err)
		}
		return page.Rows
	}
	senders := func(rows []Row) string {
		var out []string
		for _, r := range rows {
			out = append(out, r.QueueID+" "+r.Sender+" "+r.EnvelopeSender)
		}
		return strings.Join(out, "; ")
	}
	legal := "4XAA1 " + tracetest.Sender + " " + tracetest.VERP
	tests := []struct {
		name, sender string
		want         string // rows, newest first: queue ID, sender, envelope sender
	}{
		{"the application's sender of a VERP class", "clerk@court.example", strings.Repeat(legal+"; ", 3) + legal},
		{"the application's domain, any case", "@Court.Example", strings.Repeat(legal+"; ", 3) + legal},
		{"the VERP return path itself", tracetest.VERP, strings.Repeat(legal+"; ", 3) + legal},
		{"the bounce domain", "@bounces.court.example", strings.Repeat(legal+"; ", 3) + legal},
		{"without VERP: application and log agree", "billing@bank.example", "4XEE1 billing@bank.example billing@bank.example"},
		{"a message that never passed the milter", "app@corp.example", "4XCC1 app@corp.example app@corp.example"},
		{"an accept record not stored yet: only the log's sender is known", "@bounces.tax.example", "4XFF1 " + lateVERP + " " + lateVERP},
		{"nobody", "nobody@court.example", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := senders(search(t, tt.sender)); got != tt.want {
				t.Errorf("sender=%s:\n got %s\nwant %s", tt.sender, got, tt.want)
			}
		})
	}

	t.Run("the accept record arrives after the log lines", func(t *testing.T) {
		if got := senders(search(t, "notices@tax.example")); got != "" {
			t.Fatalf("found before the accept record was stored: %s", got)
		}
		tracetest.Insert(t, f.Store, schema.AcceptRecords,
			&schema.AcceptRecord{Time: t0.Add(44 * time.Minute), TraceID: late, Host: "mx1", QueueID: "4XFF1", Sender: "notices@tax.example",
				Recipients: []string{"gina@gmail.test"}, Class: "legal", Pool: "legal", Subject: "Tax assessment"})
		want := "4XFF1 notices@tax.example " + lateVERP
		if got := senders(search(t, "notices@tax.example")); got != want {
			t.Errorf("after the accept record: %s, want %s", got, want)
		}
		var exported []string
		flt := base
		flt.Sender = "@tax.example"
		if err := Export(ctx, f.Store, flt, func(r *Row) error {
			exported = append(exported, r.QueueID+" "+r.Sender+" "+r.EnvelopeSender+" "+r.Subject)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(exported) != "[4XFF1 notices@tax.example "+lateVERP+" Tax assessment]" {
			t.Errorf("export: %q", exported)
		}
		msgs, err := NewReader(f.Store).Find(ctx, Query{ID: late.String()})
		if err != nil || len(msgs) != 1 {
			t.Fatalf("%d messages, %v", len(msgs), err)
		}
		if m := msgs[0]; m.Sender != "notices@tax.example" || m.EnvelopeSender != lateVERP {
			t.Errorf("trace: sender %q, envelope sender %q", m.Sender, m.EnvelopeSender)
		}
	})
}

func TestSearchBySubject(t *testing.T) {
	f := tracetest.New(t)
	base := Filter{From: t0.Add(-time.Hour), To: t0.Add(time.Hour)}
	tests := []struct {
		name  string
		mod   func(*Filter)
		rows  int
		first string // subject of the first row
	}{
		{"a word of it, any case", func(f *Filter) { f.Subject = "SUMM" }, 4, "Summons"},
		{"with a class", func(f *Filter) { f.Subject, f.Class = "summons", "legal" }, 4, "Summons"},
		{"with another class", func(f *Filter) { f.Subject, f.Class = "summons", "marketing" }, 0, ""},
		{"no such subject", func(f *Filter) { f.Subject = "invoice" }, 0, ""},
		{"a quote in it", func(f *Filter) { f.Subject = "x'); DROP TABLE accept_records; --" }, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			flt := base
			tt.mod(&flt)
			page, err := Search(context.Background(), f.Store, flt, "", 0)
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Rows) != tt.rows || (tt.rows > 0 && page.Rows[0].Subject != tt.first) {
				t.Errorf("%d rows (%+v), want %d with subject %q", len(page.Rows), page.Rows, tt.rows, tt.first)
			}
		})
	}
	if err := (&Filter{From: t0, To: t0.Add(time.Hour), Subject: "a\r\nb"}).Check(MaxSearchSpan); err == nil {
		t.Error("a Subject filter with a line break was accepted")
	}
}

// TestTracesShowBothSenders checks the trace's text and JSON.
func TestTracesShowBothSenders(t *testing.T) {
	f := tracetest.New(t)
	ctx := context.Background()
	tests := []struct {
		name, id           string
		sender, envelope   string
		textHas, textLacks string
	}{
		{"VERP: both, and the text names the return path", f.Legal.String(), tracetest.Sender, tracetest.VERP,
			"Envelope sender  " + tracetest.VERP, ""},
		{"no milter: the log's sender once", "4XCC1", "app@corp.example", "app@corp.example", "app@corp.example", "Envelope sender"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msgs, err := NewReader(f.Store).Find(ctx, Query{ID: tt.id})
			if err != nil || len(msgs) != 1 {
				t.Fatalf("%d messages, %v", len(msgs), err)
			}
			if m := msgs[0]; m.Sender != tt.sender || m.EnvelopeSender != tt.envelope {
				t.Errorf("sender %q, envelope sender %q", m.Sender, m.EnvelopeSender)
			}
			var b strings.Builder
			WriteText(&b, msgs, time.UTC)
			if !strings.Contains(b.String(), tt.textHas) || (tt.textLacks != "" && strings.Contains(b.String(), tt.textLacks)) {
				t.Errorf("text should have %q and lack %q:\n%s", tt.textHas, tt.textLacks, b.String())
			}
		})
	}
}

// Mail of a class without VERP leaves through no pool: the text says
// Postfix routed it.
func TestTextNamesUnroutedPool(t *testing.T) {
	tests := []struct{ name, class, pool, want string }{
		{"pool", "legal", "legal", "legal / legal"},
		{"no pool", "transactional", "", "transactional / none (Postfix's own routing)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			WriteText(&b, []*Message{{QueueID: "4XQ1", Class: tt.class, Pool: tt.pool}}, time.UTC)
			if !strings.Contains(b.String(), "Class / pool  "+tt.want+"\n") {
				t.Errorf("text lacks %q:\n%s", tt.want, b.String())
			}
		})
	}
}
