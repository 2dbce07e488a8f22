package senderauth

import (
	"context"
	"fmt"
	"time"

	"github.com/mailtrace/mailtrace/postfixconf"
	"github.com/mailtrace/mailtrace/store"
)

// MaxComplaintRate is the spam rate Gmail and Yahoo hold bulk senders
// under (Gmail measures it in Postmaster Tools; 0.1% is its target).
const MaxComplaintRate = 0.003

// ComplaintsSQL counts, per receiving provider over a week, the abuse
// complaints (ARF reports taken in) against our deliveries.
const ComplaintsSQL = `SELECT d.provider, d.delivered, ifNull(c.complaints, 0)
FROM (SELECT provider, count() AS delivered FROM delivery_events
	WHERE status = 'sent' AND provider != '' AND time >= {from:DateTime64(6, 'UTC')} AND time < {to:DateTime64(6, 'UTC')}
	GROUP BY provider) AS d
LEFT JOIN (SELECT provider, count() AS complaints FROM bounces
	WHERE kind = 'arf' AND time >= {from:DateTime64(6, 'UTC')} AND time < {to:DateTime64(6, 'UTC')}
	GROUP BY provider) AS c ON c.provider = d.provider
ORDER BY d.provider`

// CheckComplaints warns of each provider whose complaints over the last
// week reach MaxComplaintRate of our deliveries to it.
func CheckComplaints(ctx context.Context, st store.Store, now time.Time) []postfixconf.Finding {
	rows, err := st.Query(ctx, ComplaintsSQL, store.Params{"from": now.Add(-7 * 24 * time.Hour).UTC(), "to": now.UTC()})
	if err != nil {
		return []postfixconf.Finding{{Severity: postfixconf.Warning, Message: "complaint rates not read from the store: " + err.Error()}}
	}
	defer rows.Close()
	var out []postfixconf.Finding
	for rows.Next() {
		var provider string
		var delivered, complaints uint64
		if err := rows.Scan(&provider, &delivered, &complaints); err != nil || delivered == 0 {
			continue
		}
		rate := float64(complaints) / float64(delivered)
		if rate >= MaxComplaintRate {
			out = append(out, postfixconf.Finding{Severity: postfixconf.Warning, Message: fmt.Sprintf(
				"%s: %d complaints for %d deliveries in the last 7 days (%.2f%%), at or over Gmail's and Yahoo's limit of 0.3%%: stop mailing those who complain, honour unsubscribes at once, and send marketing only to recipients who asked for it",
				provider, complaints, delivered, 100*rate)})
		} else {
			out = append(out, postfixconf.Finding{Severity: postfixconf.OK, Message: fmt.Sprintf(
				"%s: complaints %.3f%% of deliveries in the last 7 days (limit 0.3%%)", provider, 100*rate)})
		}
	}
	return out
}
