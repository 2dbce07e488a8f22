package block

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/mailtrace/mailtrace/schema"
	"github.com/mailtrace/mailtrace/store"
	"github.com/mailtrace/mailtrace/trace"
	"github.com/mailtrace/mailtrace/traceid"
)

// Incident is an incident as the API and the webhook show it.
type Incident struct {
	ID          string              `json:"id"`
	Kind        schema.IncidentKind `json:"kind"`
	Pool        string              `json:"pool"`
	SourceIP    string              `json:"source_ip"`
	Provider    string              `json:"provider"` // for dnsbl, the list's zone
	Open        bool                `json:"open"`
	OpenedAt    time.Time           `json:"opened_at"`
	ClosedAt    *time.Time          `json:"closed_at,omitempty"`
	LastSignal  time.Time           `json:"last_signal"`
	Signals     uint64              `json:"signals"`
	Attempts    uint64              `json:"attempts"`
	Category    string              `json:"category"`
	Sample      string              `json:"sample"`
	CloseReason schema.CloseReason  `json:"close_reason,omitempty"`
}

// MarshalJSON writes the incident's times in whole seconds, as
// trace.Stamp writes a whole-second time: an incident opens and closes at
// attempts whose log lines may have whole seconds only (the store keeps
// the lines of one second apart by a microsecond each, digits the log
// never had), and the store does not keep how many digits the attempt
// had. The fields keep the stored times: they are the row's key.
func (inc Incident) MarshalJSON() ([]byte, error) {
	type plain Incident
	whole := func(t time.Time) trace.Stamp { return trace.Stamp{Time: t, Digits: trace.DigitsWholeSecond} }
	out := struct {
		plain
		OpenedAt   trace.Stamp  `json:"opened_at"`
		ClosedAt   *trace.Stamp `json:"closed_at,omitempty"`
		LastSignal trace.Stamp  `json:"last_signal"`
	}{plain: plain(inc), OpenedAt: whole(inc.OpenedAt), LastSignal: whole(inc.LastSignal)}
	if inc.ClosedAt != nil {
		c := whole(*inc.ClosedAt)
		out.ClosedAt = &c
	}
	return json.Marshal(out)
}

func fromRow(r *schema.Incident) Incident {
	inc := Incident{ID: traceid.ID(r.ID).String(), Kind: r.Kind, Pool: r.Pool, SourceIP: r.SourceIP, Provider: r.Provider,
		Open: r.ClosedAt.IsZero() || r.ClosedAt.Unix() == 0, OpenedAt: r.OpenedAt, LastSignal: r.LastSignal, Signals: r.Signals,
		Attempts: r.Attempts, Category: r.Category, Sample: r.Sample, CloseReason: r.CloseReason}
	if !inc.Open {
		t := r.ClosedAt
		inc.ClosedAt = &t
	}
	return inc
}

func (inc Incident) row() schema.Incident {
	id, _ := traceid.Parse(inc.ID)
	r := schema.Incident{ID: id, Kind: inc.Kind, Pool: inc.Pool, SourceIP: inc.SourceIP, Provider: inc.Provider,
		OpenedAt: inc.OpenedAt, LastSignal: inc.LastSignal, Signals: inc.Signals, Attempts: inc.Attempts, Category: inc.Category,
		Sample: inc.Sample, CloseReason: inc.CloseReason}
	if inc.ClosedAt != nil {
		r.ClosedAt = *inc.ClosedAt
	}
	return r
}

// DefaultRange is how far back a listing of all incidents reaches (from
// its end) when it names no start: the API's and the CLI's default.
const DefaultRange = 30 * 24 * time.Hour

// Filter selects incidents.
type Filter struct {
	// Open selects the incidents open now, whenever they opened;
	// otherwise those opened in [From, To).
	Open     bool
	From, To time.Time
	Limit    int // default 100, at most 10000
}

// List reads incidents, newest first.
func List(ctx context.Context, st store.Store, f Filter) ([]Incident, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 10000)
	where := "closed_at = toDateTime64(0, 6, 'UTC')"
	params := store.Params{}
	if !f.Open {
		where = "opened_at >= {from:DateTime64(6, 'UTC')} AND opened_at < {to:DateTime64(6, 'UTC')}"
		params["from"], params["to"] = f.From, f.To
	}
	q := fmt.Sprintf(`SELECT toString(id), kind, pool, source_ip, provider, opened_at, closed_at, last_signal, signals, attempts,
		category, sample, close_reason FROM block_incidents FINAL WHERE %s ORDER BY opened_at DESC LIMIT %d`, where, limit)
	rows, err := st.Query(ctx, q, params)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Incident{}
	for rows.Next() {
		var r schema.Incident
		var id string
		if err := rows.Scan(&id, &r.Kind, &r.Pool, &r.SourceIP, &r.Provider, &r.OpenedAt, &r.ClosedAt, &r.LastSignal,
			&r.Signals, &r.Attempts, &r.Category, &r.Sample, &r.CloseReason); err != nil {
			return nil, err
		}
		tid, _ := traceid.Parse(id)
		r.ID = tid
		out = append(out, fromRow(&r))
	}
	return out, rows.Err()
}
