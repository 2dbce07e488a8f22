package evidence_test

import (
	"context"
	"fmt"
	"time"

	"github.com/mailtrace/mailtrace/evidence"
)

// A message accepted and relayed: its records form a chain that a closing
// record fixes, and replaying the same facts appends nothing.
func ExampleLedger_Append() {
	ctx := context.Background()
	st := evidence.NewMemoryStorage()
	at := time.Date(2026, 11, 30, 14, 5, 6, 0, time.UTC)
	l, err := evidence.Open(ctx, evidence.Options{Origin: "mailtrace.example.com/mx1", Host: "mx1", Storage: st,
		Now: func() time.Time { return at }})
	if err != nil {
		panic(err)
	}
	facts := []evidence.Fact{
		{ID: "accept:0190f3a2", Event: evidence.EventSubmissionAcceptance, Time: at, Message: "0190f3a2",
			Sender: "notices@example.com", Recipients: []string{"ana@example.org"}},
		{ID: "line:mx1 postfix/smtp[1]: 4AbC: to=<ana@example.org>, status=sent (250 OK)", Event: evidence.EventRelayToNonERDS,
			Time: at.Add(time.Second), Message: "0190f3a2", Final: true,
			Reasons: []evidence.Reason{{Code: "2.0.0", Text: "250 OK"}}},
	}
	for range 2 { // the second pass is a replay
		for _, f := range facts {
			if _, err := l.Append(ctx, f); err != nil {
				panic(err)
			}
		}
	}
	for _, e := range st.Log(l.Origin()) {
		fmt.Println(e.Index, e.Event)
	}
	// Output:
	// 0 urn:mailtrace:event:LedgerStart
	// 1 http://uri.etsi.org/19522/Event/SubmissionAcceptance
	// 2 http://uri.etsi.org/19522/Event/RelayToNonERDS
	// 3 urn:mailtrace:event:ChainClosing
}

// Canonical JSON as RFC 8785 writes it: sorted members, no whitespace,
// ECMAScript numbers.
func ExampleCanonicalize() {
	out, err := evidence.Canonicalize([]byte(`{"b": 1.50, "a": [1e21, "\u00e9"]}`))
	if err != nil {
		panic(err)
	}
	fmt.Println(string(out))
	// Output: {"a":[1e+21,"é"],"b":1.5}
}
