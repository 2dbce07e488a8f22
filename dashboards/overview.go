package dashboards

import "github.com/grafana/grafana-foundation-sdk/go/dashboard"

// Overview is the delivery overview: volumes and outcomes by pool and
// provider.
func Overview() *dashboard.DashboardBuilder {
	b := newDashboard("mailtrace-overview", "mailtrace · Delivery overview",
		"How much mail left, how much of it arrived, per pool and receiving provider.", "deliverability")
	datasourceVars(b)
	filterVars(b)
	outcome := func(title, cond, desc string) {
		b.WithPanel(chStat(title, desc, "short", `SELECT sum(attempts) AS attempts FROM delivery_minutely
WHERE `+minutelyFilter+` AND `+cond, 4))
	}
	b.WithPanel(chStat("Accepted messages", "Messages the milter accepted in the range.", "short", `SELECT sum(messages) AS messages FROM accept_minutely
WHERE $__timeFilter(minute)
  AND $__conditionalAll(host IN (${host:singlequote}), $host)
  AND $__conditionalAll(pool IN (${pool:singlequote}), $pool)
  AND $__conditionalAll(class IN (${class:singlequote}), $class)`, 4))
	outcome("Delivered", "status = 'sent'", "Attempts the receiver accepted.")
	outcome("Deferred", "status = 'deferred'", "Attempts refused for now; Postfix retries them.")
	outcome("Bounced", "status IN ('bounced', 'expired')", "Attempts refused for good, and recipients whose mail expired in the queue.")
	outcome("Blocked", "is_block = 1", "Attempts refused because of the sending IP or domain (block lists, reputation).")
	b.WithPanel(chStat("Delivered share", "Delivered attempts out of delivered, bounced and expired ones.", "percentunit", `SELECT sumIf(attempts, status = 'sent') / greatest(sumIf(attempts, status IN ('sent', 'bounced', 'expired')), 1) AS delivered
FROM delivery_minutely
WHERE `+minutelyFilter, 4))

	b.WithRow(dashboard.NewRowBuilder("Outcomes over time"))
	b.WithPanel(chTimeseries("Attempts by status", "Every delivery attempt, by its outcome.", "short", `SELECT $__timeInterval(minute) AS time, status, sum(attempts) AS attempts
FROM delivery_minutely
WHERE `+minutelyFilter+`
GROUP BY time, status ORDER BY time`, 12))
	b.WithPanel(chTimeseries("Accepted messages by class", "Messages the milter accepted, by class.", "short", `SELECT $__timeInterval(minute) AS time, class, sum(messages) AS messages
FROM accept_minutely
WHERE $__timeFilter(minute)
  AND $__conditionalAll(host IN (${host:singlequote}), $host)
  AND $__conditionalAll(pool IN (${pool:singlequote}), $pool)
  AND $__conditionalAll(class IN (${class:singlequote}), $class)
GROUP BY time, class ORDER BY time`, 12))
	b.WithPanel(chTimeseries("Delivered by pool", "Delivered attempts per dedicated-IP pool.", "short", `SELECT $__timeInterval(minute) AS time, pool, sum(attempts) AS delivered
FROM delivery_minutely
WHERE `+minutelyFilter+` AND status = 'sent'
GROUP BY time, pool ORDER BY time`, 12))
	b.WithPanel(chTimeseries("Bounced and blocked by provider", "Bounced or expired attempts per receiving provider.", "short", `SELECT $__timeInterval(minute) AS time, provider, sum(attempts) AS bounced
FROM delivery_minutely
WHERE `+minutelyFilter+` AND status IN ('bounced', 'expired')
GROUP BY time, provider ORDER BY time`, 12))

	b.WithRow(dashboard.NewRowBuilder("Rates by pool and provider"))
	b.WithPanel(chTable("Rates by pool and provider", "Per pool and provider: attempts and the share of each outcome.", `SELECT pool, provider,
  sum(attempts) AS total,
  round(sumIf(attempts, status = 'sent') / total, 4) AS delivered_rate,
  round(sumIf(attempts, status = 'deferred') / total, 4) AS deferral_rate,
  round(sumIf(attempts, status IN ('bounced', 'expired')) / total, 4) AS bounce_rate,
  round(sumIf(attempts, is_block = 1) / total, 4) AS block_rate
FROM delivery_minutely
WHERE `+minutelyFilter+` AND status != 'rejected'
GROUP BY pool, provider ORDER BY total DESC`, 24, 10))
	b.WithPanel(promTimeseries("Attempts per second by status (Prometheus)", "The collector's counter, live.", "ops", 24,
		promQuery(`sum by (status) (rate(mailtrace_deliveries_total{pool=~"${pool:regex}", provider=~"${provider:regex}"}[$__rate_interval]))`, "{{status}}")))
	return b
}
