package dashboards

import "github.com/grafana/grafana-foundation-sdk/go/dashboard"

// reportFilter is the WHERE clause of queries over report rows: report
// days in the range, and the pool, provider and class variables (a class
// stands for the pools its messages left through).
const reportFilter = `$__dateFilter(day)
  AND $__conditionalAll(pool IN (${pool:singlequote}), $pool)
  AND $__conditionalAll(provider IN (${provider:singlequote}), $provider)
  AND $__conditionalAll(pool IN (SELECT DISTINCT pool FROM accept_minutely WHERE $__timeFilter(minute) AND class IN (${class:singlequote})), $class)`

// Authentication is sender authentication: what receivers refuse for it
// now (from the replies, Prometheus) and what their DMARC and TLS reports
// say per reporter, day and pool, the sources in no pool, and how much of
// our mail the reports cover.
func Authentication() *dashboard.DashboardBuilder {
	b := newDashboard("mailtrace-authentication", "mailtrace · Authentication",
		"SPF, DKIM and DMARC as receivers see them: refusals in their replies, and their DMARC and SMTP TLS reports per reporter, day and pool.", "deliverability", "noc")
	datasourceVars(b)
	filterVars(b)
	prom := `pool=~"${pool:regex}", provider=~"${provider:regex}"`
	b.WithPanel(promStat("Authentication refusals (24h)", "Attempts refused or deferred for failed authentication (Gmail 4.7.23-4.7.32, 5.7.26, Microsoft 5.7.515).", "short", 6,
		promQuery(`sum(increase(mailtrace_auth_refusals_total{`+prom+`}[24h])) or vector(0)`, "")))
	b.WithPanel(chStat("DMARC pass, our pools", "Share of the messages reporters counted from our pools that passed aligned DKIM or SPF.", "percentunit", `SELECT if(sum(count) = 0, 1, sumIf(count, dmarc_pass) / sum(count)) AS dmarc_pass
FROM dmarc_records FINAL
WHERE `+reportFilter+` AND pool != ''`, 6))
	b.WithPanel(chStat("Unknown sources", "IPs in no pool that reporters saw sending as our domains.", "short", `SELECT uniqExact(source_ip) AS sources
FROM dmarc_records FINAL
WHERE $__dateFilter(day) AND pool = '' AND source_ip != ''`, 6))
	b.WithPanel(chStat("Reports refused", "Reports that could not be read, kept aside with the reason (auth_reports.error).", "short", `SELECT count() AS refused
FROM auth_reports FINAL
WHERE $__timeFilter(received_at) AND error != ''`, 6))

	b.WithRow(dashboard.NewRowBuilder("What receivers say when they refuse"))
	b.WithPanel(promTimeseries("Authentication refusals by requirement", "Per second, by what failed (ptr, spf, tls, dkim, dmarc, alignment, unauthenticated, auth-level) and provider.", "ops", 12,
		promQuery(`sum by (requirement, provider) (rate(mailtrace_auth_refusals_total{`+prom+`}[$__rate_interval]))`, "{{provider}} {{requirement}}")))
	b.WithPanel(promTimeseries("Bulk mail without one-click unsubscribe", "Messages of bulk classes lacking RFC 8058 one-click unsubscribe, per class.", "ops", 12,
		promQuery(`sum by (class) (rate(mailtrace_milter_unsubscribe_missing_total{pool=~"${pool:regex}"}[$__rate_interval]))`, "{{class}}")))

	b.WithRow(dashboard.NewRowBuilder("DMARC aggregate reports"))
	b.WithPanel(chTimeseries("DMARC pass per pool", "Share of reported messages from each pool that passed DMARC, per report day.", "percentunit", `SELECT toDateTime(day) AS time, pool, sumIf(count, dmarc_pass) / sum(count) AS dmarc_pass
FROM dmarc_records FINAL
WHERE `+reportFilter+` AND pool != ''
GROUP BY time, pool ORDER BY time`, 24))
	b.WithPanel(chTable("Per reporter, day and pool", "Messages counted, and how many passed DKIM and SPF, passed them aligned, and passed DMARC; pool empty for sources in no pool.", `SELECT day, org AS reporter, provider, domain, pool, sum(count) AS messages,
  sumIf(count, dkim_pass) AS dkim_pass, sumIf(count, spf_pass) AS spf_pass,
  sumIf(count, dkim_aligned) AS dkim_aligned, sumIf(count, spf_aligned) AS spf_aligned,
  sumIf(count, dmarc_pass) AS dmarc_pass
FROM dmarc_records FINAL
WHERE `+reportFilter+`
GROUP BY day, reporter, provider, domain, pool
ORDER BY day DESC, reporter, pool`, 24, 10))
	b.WithPanel(chTable("Unknown sources", "IPs in no pool sending as our domains, with their reverse DNS (looked up once after the report was stored).", `SELECT r.source_ip AS source_ip, any(n.ptr) AS ptr, sum(r.count) AS messages, sumIf(r.count, r.dmarc_pass) AS dmarc_pass,
  groupUniqArray(5)(r.header_from) AS from_domains, groupUniqArray(5)(r.org) AS reporters, min(r.day) AS first_day, max(r.day) AS last_day
FROM (SELECT * FROM dmarc_records FINAL WHERE $__dateFilter(day) AND pool = '' AND source_ip != '') AS r
LEFT JOIN (SELECT source_ip, argMax(ptr, looked_up_at) AS ptr FROM source_names GROUP BY source_ip) AS n ON n.source_ip = r.source_ip
GROUP BY source_ip ORDER BY messages DESC LIMIT 200`, 24, 8))
	b.WithPanel(chTable("Coverage", "A reporter's count from our pools for a day against our deliveries to its provider that day: far under 1, the reporter sees less than we send (or its reports are missing).", `SELECT r.day AS day, r.org AS reporter, r.provider AS provider, r.reported AS reported, r.from_pools AS from_pools,
  ifNull(d.delivered, 0) AS delivered, if(delivered = 0, 0, round(from_pools / delivered, 3)) AS ratio
FROM (SELECT day, org, provider, sum(count) AS reported, sumIf(count, pool != '') AS from_pools
  FROM dmarc_records FINAL WHERE `+reportFilter+` AND provider != '' GROUP BY day, org, provider) AS r
LEFT JOIN (SELECT toDate(time) AS day, provider, count() AS delivered FROM delivery_events
  WHERE $__timeFilter(time) AND status = 'sent' GROUP BY day, provider) AS d ON d.day = r.day AND d.provider = r.provider
ORDER BY day DESC, reporter`, 24, 8))

	b.WithRow(dashboard.NewRowBuilder("SMTP TLS reports and the reports themselves"))
	b.WithPanel(chTable("TLS failures", "Failed TLS sessions receivers reported, per policy and result type.", `SELECT day, org AS reporter, policy_type, policy_domain, mx_host, result_type, sending_mta_ip, pool,
  receiving_mx_hostname, sum(failed_session_count) AS sessions
FROM tlsrpt_results FINAL
WHERE $__dateFilter(day) AND failure_index > 0
GROUP BY day, reporter, policy_type, policy_domain, mx_host, result_type, sending_mta_ip, pool, receiving_mx_hostname
ORDER BY day DESC, sessions DESC`, 24, 8))
	b.WithPanel(chTable("Reports received", "Every report taken in, the refused ones with their reason.", `SELECT received_at, kind, org, report_id, provider, domain, begin, end, records, messages, error
FROM auth_reports FINAL
WHERE $__timeFilter(received_at)
ORDER BY received_at DESC LIMIT 500`, 24, 8))
	return b
}
