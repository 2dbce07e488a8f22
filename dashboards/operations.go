package dashboards

import "github.com/grafana/grafana-foundation-sdk/go/dashboard"

// Operations is the sidecar's own health, from Prometheus.
func Operations() *dashboard.DashboardBuilder {
	b := newDashboard("mailtrace-operations", "mailtrace · Operations",
		"The sidecar itself: collector lag and parsing, milter decisions and spool, store and intake errors.", "operations")
	datasourceVars(b)
	b.WithVariable(dashboard.NewQueryVariableBuilder("instance").Label("Instance").Datasource(prom).
		Query(dashboard.StringOrMap{String: ptr("label_values(mailtrace_collector_lines_total, instance)")}).
		Definition("label_values(mailtrace_collector_lines_total, instance)").Multi(true).IncludeAll(true).AllValue(".*").
		Refresh(dashboard.VariableRefreshOnTimeRangeChanged))
	in := `instance=~"$instance"`
	b.WithPanel(promStat("Collector lag", "How old the newest log line read is.", "s", 6,
		promQuery(`max(time() - mailtrace_collector_last_line_timestamp_seconds{`+in+`})`, "")))
	b.WithPanel(promStat("Unstamped messages (24h)", "Accepted by Postfix without passing the milter.", "short", 6,
		promQuery(`sum(increase(mailtrace_collector_accepted_messages_total{`+in+`, stamped="false"}[24h]))`, "")))
	b.WithPanel(promStat("Milter spool files", "Batches of accept records waiting for the store.", "short", 6,
		promQuery(`sum(mailtrace_milter_spool_files{`+in+`})`, "")))
	b.WithPanel(promStat("Records lost (24h)", "Accept records neither store nor spool took.", "short", 6,
		promQuery(`sum(increase(mailtrace_milter_records_total{`+in+`, outcome="lost"}[24h]))`, "")))

	b.WithRow(dashboard.NewRowBuilder("Collector"))
	b.WithPanel(promTimeseries("Collector lag", "Seconds between now and the newest line read, per log.", "s", 12,
		promQuery(`time() - mailtrace_collector_last_line_timestamp_seconds{`+in+`}`, "{{instance}} {{source}}")))
	b.WithPanel(promTimeseries("Lines read by kind", "Parsed Postfix lines by kind; unparsed lines are counted, never fatal.", "ops", 12,
		promQuery(`sum by (kind) (rate(mailtrace_collector_lines_total{`+in+`}[$__rate_interval]))`, "{{kind}}")))
	b.WithPanel(promTimeseries("Rows written", "Rows the collector wrote, per table.", "ops", 12,
		promQuery(`sum by (table) (rate(mailtrace_collector_rows_total{`+in+`}[$__rate_interval]))`, "{{table}}")))
	b.WithPanel(promTimeseries("Messages in the queue", "Messages the collector follows until they leave Postfix's queue.", "short", 12,
		promQuery(`sum by (instance) (mailtrace_collector_open_messages{`+in+`})`, "{{instance}}")))

	b.WithRow(dashboard.NewRowBuilder("Milter"))
	b.WithPanel(promTimeseries("Decisions by class", "Messages stamped per second, by class.", "ops", 12,
		promQuery(`sum by (class) (rate(mailtrace_milter_messages_total{`+in+`}[$__rate_interval]))`, "{{class}}")))
	b.WithPanel(promTimeseries("Decision time", "From end of headers to the answer.", "s", 12,
		promQuery(`histogram_quantile(0.99, sum by (le) (rate(mailtrace_milter_decision_seconds_bucket{`+in+`}[$__rate_interval])))`, "p99"),
		promQuery(`histogram_quantile(0.5, sum by (le) (rate(mailtrace_milter_decision_seconds_bucket{`+in+`}[$__rate_interval])))`, "p50").RefId("B")))
	b.WithPanel(promTimeseries("Accept records", "Stored, spooled, replayed, lost.", "ops", 12,
		promQuery(`sum by (outcome) (rate(mailtrace_milter_records_total{`+in+`}[$__rate_interval]))`, "{{outcome}}")))
	b.WithPanel(promTimeseries("Spool and queue", "Spool files and records waiting in memory.", "short", 12,
		promQuery(`sum(mailtrace_milter_spool_files{`+in+`})`, "spool files"),
		promQuery(`sum(mailtrace_milter_queue_records{`+in+`})`, "queued records").RefId("B"),
		promQuery(`sum(mailtrace_milter_sessions{`+in+`})`, "sessions").RefId("C")))

	b.WithRow(dashboard.NewRowBuilder("Errors"))
	b.WithPanel(promTimeseries("Store and intake errors", "Inserts retried, milter errors by stage, reports refused for later.", "ops", 12,
		promQuery(`sum(rate(mailtrace_store_insert_retries_total{`+in+`}[$__rate_interval]))`, "insert retries"),
		promQuery(`sum by (stage) (rate(mailtrace_milter_errors_total{`+in+`}[$__rate_interval]))`, "milter {{stage}}").RefId("B"),
		promQuery(`sum by (source) (rate(mailtrace_dsn_intake_errors_total{`+in+`}[$__rate_interval]))`, "intake {{source}}").RefId("C")))
	b.WithPanel(promTimeseries("Webhook and blocklist checks", "Incident webhook outcomes; failed blocklist lookups.", "ops", 12,
		promQuery(`sum by (outcome) (rate(mailtrace_webhook_deliveries_total{`+in+`}[$__rate_interval]))`, "webhook {{outcome}}"),
		promQuery(`sum by (zone) (rate(mailtrace_dnsbl_errors_total{`+in+`}[$__rate_interval]))`, "dnsbl errors {{zone}}").RefId("B")))
	return b
}
