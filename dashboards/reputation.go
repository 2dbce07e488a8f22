package dashboards

import "github.com/grafana/grafana-foundation-sdk/go/dashboard"

// Reputation is the dedicated IP reputation dashboard: outcomes per
// source IP and provider, block incidents, blocklist listings and what
// receivers say when they refuse.
func Reputation() *dashboard.DashboardBuilder {
	b := newDashboard("mailtrace-ip-reputation", "mailtrace · Dedicated IP reputation",
		"Per sending IP and receiving provider: outcomes, blocks, blocklist listings and the receivers' own words.", "deliverability", "noc")
	datasourceVars(b)
	filterVars(b)
	b.WithPanel(promStat("Active block incidents", "Pools' IPs a provider is refusing now.", "short", 6,
		promQuery(`count(mailtrace_block_active == 1) or vector(0)`, "")))
	b.WithPanel(promStat("Blocklist listings", "Pools' IPs on a DNS blocklist now.", "short", 6,
		promQuery(`count(mailtrace_dnsbl_listed == 1) or vector(0)`, "")))
	b.WithPanel(chTable("Open block incidents", "Incidents open now (GET /api/v1/blocks lists the same).", `SELECT kind, pool, source_ip, provider, opened_at, last_signal, signals, attempts, category, sample
FROM block_incidents FINAL
WHERE closed_at = toDateTime64(0, 6, 'UTC')
  AND $__conditionalAll(pool IN (${pool:singlequote}), $pool)
  AND $__conditionalAll(provider IN (${provider:singlequote}), $provider)
ORDER BY opened_at DESC`, 12, 6))

	b.WithRow(dashboard.NewRowBuilder("Per source IP and provider"))
	b.WithPanel(chTable("Outcomes per source IP and provider", "Attempts and shares per sending IP and provider in the range.", `SELECT source_ip, pool, provider,
  sum(attempts) AS total,
  sumIf(attempts, status = 'sent') AS delivered,
  sumIf(attempts, status = 'deferred') AS deferred,
  sumIf(attempts, status IN ('bounced', 'expired')) AS bounced,
  sumIf(attempts, is_block = 1) AS blocked,
  round(blocked / total, 4) AS block_rate
FROM delivery_minutely
WHERE `+minutelyFilter+` AND status != 'rejected' AND source_ip != ''
GROUP BY source_ip, pool, provider ORDER BY blocked DESC, total DESC`, 24, 10))
	b.WithPanel(chTimeseries("Block replies per source IP", "Replies classified as block signals, per sending IP.", "short", `SELECT $__timeInterval(minute) AS time, source_ip, sum(attempts) AS blocks
FROM delivery_minutely
WHERE `+minutelyFilter+` AND is_block = 1
GROUP BY time, source_ip ORDER BY time`, 12))
	b.WithPanel(promTimeseries("Block incidents (Prometheus)", "1 while an incident is open, per pool, IP and provider; listings per zone.", "short", 12,
		promQuery(`max by (pool, source_ip, provider) (mailtrace_block_active{pool=~"${pool:regex}", provider=~"${provider:regex}"})`, "{{provider}} blocks {{source_ip}}"),
		promQuery(`max by (pool, source_ip, zone) (mailtrace_dnsbl_listed{pool=~"${pool:regex}"})`, "{{source_ip}} on {{zone}}").RefId("B")))

	b.WithPanel(promTimeseries("Authentication refusals (Prometheus)", "Attempts refused or deferred for failed sender authentication, per pool, provider and requirement (the Authentication dashboard has the reports).", "ops", 24,
		promQuery(`sum by (pool, provider, requirement) (rate(mailtrace_auth_refusals_total{pool=~"${pool:regex}", provider=~"${provider:regex}"}[$__rate_interval]))`, "{{pool}} {{provider}} {{requirement}}")))

	b.WithRow(dashboard.NewRowBuilder("What receivers say"))
	b.WithPanel(chTable("Top rejection texts", "The most frequent refusals (raw attempts, drill-down): the provider's own words name the list or policy.", `SELECT provider, source_ip, category, dsn, any(response) AS example, count() AS attempts
FROM delivery_events
WHERE `+eventsFilter+` AND status IN ('bounced', 'deferred')
GROUP BY provider, source_ip, category, dsn, replaceRegexpAll(response, '[0-9]+', '#')
ORDER BY attempts DESC LIMIT 50`, 24, 10))
	b.WithPanel(chTable("Incident history", "Incidents opened in the range, open or closed.", `SELECT kind, pool, source_ip, provider, opened_at,
  if(closed_at = toDateTime64(0, 6, 'UTC'), NULL, closed_at) AS closed_at, close_reason, signals, attempts, category
FROM block_incidents FINAL
WHERE $__timeFilter(opened_at)
  AND $__conditionalAll(pool IN (${pool:singlequote}), $pool)
ORDER BY opened_at DESC`, 24, 8))
	return b
}
