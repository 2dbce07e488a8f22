package dashboards

import "github.com/grafana/grafana-foundation-sdk/go/dashboard"

// Bounces is the bounces dashboard: categories, providers, reasons, and
// the reports that came back (DSNs, complaints, unmatched ones).
func Bounces() *dashboard.DashboardBuilder {
	b := newDashboard("mailtrace-bounces", "mailtrace · Bounces",
		"Why mail bounced: categories, providers, the receivers' reasons, and the reports that came back.", "deliverability")
	datasourceVars(b)
	filterVars(b)
	b.WithPanel(chBars("Bounces by category", "Bounced and expired attempts by the category of the reply.", `SELECT category, sum(attempts) AS bounced
FROM delivery_minutely
WHERE `+minutelyFilter+` AND status IN ('bounced', 'expired')
GROUP BY category ORDER BY bounced DESC`, 12))
	b.WithPanel(chPie("Bounces by provider", "Bounced and expired attempts by receiving provider.", `SELECT provider, sum(attempts) AS bounced
FROM delivery_minutely
WHERE `+minutelyFilter+` AND status IN ('bounced', 'expired')
GROUP BY provider ORDER BY bounced DESC`, 12))
	b.WithPanel(chTimeseries("Bounces by category over time", "", "short", `SELECT $__timeInterval(minute) AS time, category, sum(attempts) AS bounced
FROM delivery_minutely
WHERE `+minutelyFilter+` AND status IN ('bounced', 'expired')
GROUP BY time, category ORDER BY time`, 24))
	b.WithPanel(chTable("Top bounce reasons", "The most frequent bounce replies (raw attempts, drill-down).", `SELECT category, provider, dsn, any(response) AS example, count() AS bounced, uniqExact(recipient) AS recipients
FROM delivery_events
WHERE `+eventsFilter+` AND status = 'bounced'
GROUP BY category, provider, dsn, replaceRegexpAll(response, '[0-9A-Za-z._%+-]+@[0-9A-Za-z.-]+|[0-9]+', '#')
ORDER BY bounced DESC LIMIT 50`, 24, 10))

	b.WithRow(dashboard.NewRowBuilder("Reports that came back"))
	b.WithPanel(chTimeseries("Reports by kind and match", "DSNs, complaints and auto-replies taken in, by how they were matched to their message (none: unmatched or forged).", "short", `SELECT $__timeInterval(time) AS time, concat(kind, ' / ', matched_by) AS report, uniqExact(report_sha256) AS reports
FROM bounces
WHERE $__timeFilter(time)
GROUP BY time, report ORDER BY time`, 12))
	b.WithPanel(chTimeseries("Complaints", "Abuse reports (ARF) per feedback type.", "short", `SELECT $__timeInterval(time) AS time, feedback_type, count() AS complaints
FROM bounces
WHERE $__timeFilter(time) AND kind = 'arf'
GROUP BY time, feedback_type ORDER BY time`, 12))
	b.WithPanel(chTable("Unmatched reports", "Reports that matched no message, or came to a VERP address whose signature fails; they change no message's status.", `SELECT time, kind, recipient, action, status, category, diagnostic, reporting_mta, original_message_id
FROM bounces
WHERE $__timeFilter(time) AND matched_by = 'none'
ORDER BY time DESC LIMIT 200`, 24, 8))
	b.WithPanel(promTimeseries("Report intake (Prometheus)", "Reports per second by kind and match; forged ones apart.", "ops", 24,
		promQuery(`sum by (kind, matched_by) (rate(mailtrace_dsn_reports_total[$__rate_interval]))`, "{{kind}} / {{matched_by}}"),
		promQuery(`sum(rate(mailtrace_dsn_forged_total[$__rate_interval]))`, "forged").RefId("B")))
	return b
}
