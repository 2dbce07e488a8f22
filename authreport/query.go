package authreport

import (
	"context"
	"fmt"
	"time"

	"github.com/mailtrace/mailtrace/store"
)

// DayPool is what aggregate reports say of one reporter's day for one pool
// (Pool "" for sources in no pool): messages, and how many passed DKIM and
// SPF, aligned, and DMARC.
type DayPool struct {
	Day         string `json:"day"`
	Org         string `json:"org"`
	Provider    string `json:"provider"`
	Domain      string `json:"domain"`
	Pool        string `json:"pool"`
	Messages    uint64 `json:"messages"`
	DKIMPass    uint64 `json:"dkim_pass"`
	SPFPass     uint64 `json:"spf_pass"`
	DKIMAligned uint64 `json:"dkim_aligned"`
	SPFAligned  uint64 `json:"spf_aligned"`
	DMARCPass   uint64 `json:"dmarc_pass"`
}

// UnknownSource is an IP in no pool that reporters saw sending as our
// domains.
type UnknownSource struct {
	SourceIP  string   `json:"source_ip"`
	PTR       string   `json:"ptr"`
	Messages  uint64   `json:"messages"`
	DMARCPass uint64   `json:"dmarc_pass"`
	Domains   []string `json:"domains"`
	Reporters []string `json:"reporters"`
	FirstDay  string   `json:"first_day"`
	LastDay   string   `json:"last_day"`
}

// Coverage sets a reporter's count for a day against our own deliveries
// to its provider that day.
type Coverage struct {
	Day       string  `json:"day"`
	Org       string  `json:"org"`
	Provider  string  `json:"provider"`
	Reported  uint64  `json:"reported"`   // all sources
	FromPools uint64  `json:"from_pools"` // sources in our pools
	Delivered uint64  `json:"delivered"`  // our deliveries to the provider (status sent)
	Ratio     float64 `json:"ratio"`      // from_pools / delivered; 0 when nothing was delivered
}

// Range is a time range of report days: [From, To).
type Range struct{ From, To time.Time }

// DefaultRange is how far back a listing of reports reaches (from its
// end) when it names no start: the API's and the CLI's default.
const DefaultRange = 30 * 24 * time.Hour

func (r Range) params() store.Params {
	return store.Params{"from": r.From.UTC(), "to": r.To.UTC()}
}

// The queries the CLI, API, web UI and dashboards show. The dashboards
// hold the same SQL with Grafana's macros (dashboards/authentication.go).
const (
	SummarySQL = `SELECT toString(day), org, provider, domain, pool, sum(count),
	sumIf(count, dkim_pass), sumIf(count, spf_pass), sumIf(count, dkim_aligned), sumIf(count, spf_aligned), sumIf(count, dmarc_pass)
FROM dmarc_records FINAL
WHERE day >= toDate({from:DateTime64(6, 'UTC')}) AND day < toDate({to:DateTime64(6, 'UTC')})
GROUP BY day, org, provider, domain, pool
ORDER BY day DESC, org, domain, pool
LIMIT 10000`

	UnknownSourcesSQL = `SELECT r.source_ip, any(n.ptr), sum(r.count), sumIf(r.count, r.dmarc_pass),
	groupUniqArray(10)(r.header_from), groupUniqArray(10)(r.org), toString(min(r.day)), toString(max(r.day))
FROM (SELECT * FROM dmarc_records FINAL WHERE pool = '' AND source_ip != ''
	AND day >= toDate({from:DateTime64(6, 'UTC')}) AND day < toDate({to:DateTime64(6, 'UTC')})) AS r
LEFT JOIN (SELECT source_ip, argMax(ptr, looked_up_at) AS ptr FROM source_names GROUP BY source_ip) AS n ON n.source_ip = r.source_ip
GROUP BY r.source_ip
ORDER BY sum(r.count) DESC
LIMIT 1000`

	CoverageSQL = `SELECT toString(r.day), r.org, r.provider, r.reported, r.from_pools, ifNull(d.delivered, 0),
	if(ifNull(d.delivered, 0) = 0, 0, r.from_pools / d.delivered)
FROM (SELECT day, org, provider, sum(count) AS reported, sumIf(count, pool != '') AS from_pools
	FROM dmarc_records FINAL
	WHERE provider != '' AND day >= toDate({from:DateTime64(6, 'UTC')}) AND day < toDate({to:DateTime64(6, 'UTC')})
	GROUP BY day, org, provider) AS r
LEFT JOIN (SELECT toDate(time) AS day, provider, count() AS delivered FROM delivery_events
	WHERE status = 'sent' AND time >= {from:DateTime64(6, 'UTC')} AND time < {to:DateTime64(6, 'UTC')}
	GROUP BY day, provider) AS d ON d.day = r.day AND d.provider = r.provider
ORDER BY r.day DESC, r.org
LIMIT 10000`
)

// Summary is per reporter, day and pool.
func Summary(ctx context.Context, st store.Store, rg Range) ([]DayPool, error) {
	rows, err := st.Query(ctx, SummarySQL, rg.params())
	if err != nil {
		return nil, fmt.Errorf("authreport: reading the DMARC summary: %w", err)
	}
	defer rows.Close()
	out := []DayPool{}
	for rows.Next() {
		var d DayPool
		if err := rows.Scan(&d.Day, &d.Org, &d.Provider, &d.Domain, &d.Pool, &d.Messages, &d.DKIMPass, &d.SPFPass,
			&d.DKIMAligned, &d.SPFAligned, &d.DMARCPass); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// UnknownSources lists sources in no pool.
func UnknownSources(ctx context.Context, st store.Store, rg Range) ([]UnknownSource, error) {
	rows, err := st.Query(ctx, UnknownSourcesSQL, rg.params())
	if err != nil {
		return nil, fmt.Errorf("authreport: reading unknown sources: %w", err)
	}
	defer rows.Close()
	out := []UnknownSource{}
	for rows.Next() {
		var u UnknownSource
		if err := rows.Scan(&u.SourceIP, &u.PTR, &u.Messages, &u.DMARCPass, &u.Domains, &u.Reporters, &u.FirstDay, &u.LastDay); err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// CoverageOf sets reporters' counts against our deliveries.
func CoverageOf(ctx context.Context, st store.Store, rg Range) ([]Coverage, error) {
	rows, err := st.Query(ctx, CoverageSQL, rg.params())
	if err != nil {
		return nil, fmt.Errorf("authreport: reading coverage: %w", err)
	}
	defer rows.Close()
	out := []Coverage{}
	for rows.Next() {
		var c Coverage
		if err := rows.Scan(&c.Day, &c.Org, &c.Provider, &c.Reported, &c.FromPools, &c.Delivered, &c.Ratio); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// Listing is one stored report.
type Listing struct {
	ReceivedAt time.Time `json:"received_at"`
	Kind       Kind      `json:"kind"`
	Org        string    `json:"org"`
	ReportID   string    `json:"report_id"`
	Provider   string    `json:"provider"`
	Domain     string    `json:"domain"`
	Begin      time.Time `json:"begin"`
	End        time.Time `json:"end"`
	Records    uint64    `json:"records"`
	Messages   uint64    `json:"messages"`
	Source     string    `json:"source"`
	Error      string    `json:"error"`
}

// ListSQL lists the reports about a range, or received in it (refused
// ones have no period), newest first.
const ListSQL = `SELECT received_at, kind, org, report_id, provider, domain, begin, end, records, messages, source, error
FROM auth_reports FINAL
WHERE (begin < {to:DateTime64(6, 'UTC')} AND end >= {from:DateTime64(6, 'UTC')})
   OR (received_at >= {from:DateTime64(6, 'UTC')} AND received_at < {to:DateTime64(6, 'UTC')})
ORDER BY received_at DESC
LIMIT 1000`

// List is the reports about a range or received in it, refused ones too.
func List(ctx context.Context, st store.Store, rg Range) ([]Listing, error) {
	rows, err := st.Query(ctx, ListSQL, rg.params())
	if err != nil {
		return nil, fmt.Errorf("authreport: listing reports: %w", err)
	}
	defer rows.Close()
	out := []Listing{}
	for rows.Next() {
		var l Listing
		var kind string
		if err := rows.Scan(&l.ReceivedAt, &kind, &l.Org, &l.ReportID, &l.Provider, &l.Domain, &l.Begin, &l.End,
			&l.Records, &l.Messages, &l.Source, &l.Error); err != nil {
			return nil, err
		}
		l.Kind = Kind(kind)
		out = append(out, l)
	}
	return out, rows.Err()
}
