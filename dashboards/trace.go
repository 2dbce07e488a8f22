package dashboards

import "github.com/grafana/grafana-foundation-sdk/go/dashboard"

// idMatch is the messages an identifier names, as mailtrace trace finds
// them: a trace ID, a Message-ID with or without brackets, a queue ID or a
// recipient.
const idMatch = `SELECT DISTINCT host, queue_id FROM id_lookup
  WHERE id IN (${id:sqlstring}, lower(${id:sqlstring}), concat('<', trim(BOTH '<>' FROM ${id:sqlstring}), '>'), trim(BOTH '<>' FROM ${id:sqlstring}))`

// Trace is the message trace dashboard: one message's timeline, for an
// identifier typed in.
func Trace() *dashboard.DashboardBuilder {
	b := newDashboard("mailtrace-trace", "mailtrace · Message trace",
		"One message's story: type its trace ID, Message-ID, queue ID or a recipient. The web UI and `mailtrace trace` give the same with more detail.", "compliance")
	datasourceVars(b)
	b.WithVariable(dashboard.NewTextBoxVariableBuilder("id").Label("Trace ID, Message-ID, queue ID or recipient").
		DefaultValue(dashboard.StringOrMap{String: ptr("")}))
	b.WithPanel(chTable("Messages", "The messages the identifier names (a recipient names every message sent to it).", `SELECT host, queue_id, nullIf(toString(any(trace_id)), '00000000-0000-0000-0000-000000000000') AS trace_id,
  min(first_seen) AS first_seen, max(last_seen) AS last_seen
FROM id_lookup
WHERE (host, queue_id) IN (`+idMatch+`)
GROUP BY host, queue_id ORDER BY first_seen DESC LIMIT 100`, 24, 6))
	b.WithPanel(chTable("Timeline", "Accepted by the milter, every delivery attempt with the receiver's whole reply, and the reports that came back, in time order.", `WITH msgs AS (`+idMatch+`)
SELECT time, queue_id, event, recipient, status, dsn, pool, source_ip, detail FROM (
  SELECT time, queue_id, 'accepted' AS event, arrayStringConcat(recipients, ', ') AS recipient, class AS status, '' AS dsn, pool, '' AS source_ip,
    concat('from ', sender, ' via ', client_name, ' [', client_ip, '] ', subject) AS detail
  FROM accept_records WHERE (host, queue_id) IN msgs
  UNION ALL
  SELECT time, queue_id, 'attempt' AS event, recipient, status, dsn, pool, source_ip, response AS detail
  FROM delivery_events WHERE (host, queue_id) IN msgs
  UNION ALL
  SELECT time, queue_id, concat('report: ', kind, ' (', matched_by, ')') AS event, recipient, action AS status, status AS dsn, '' AS pool, '' AS source_ip, diagnostic AS detail
  FROM bounces WHERE (host, queue_id) IN msgs
)
ORDER BY time LIMIT 1000`, 24, 16))
	b.WithPanel(chTable("Final status per recipient", "The last attempt of each recipient.", `WITH msgs AS (`+idMatch+`)
SELECT queue_id, recipient, argMax(status, time) AS status, argMax(dsn, time) AS dsn, max(time) AS last_attempt, count() AS attempts
FROM delivery_events WHERE (host, queue_id) IN msgs
GROUP BY queue_id, recipient ORDER BY queue_id, recipient`, 24, 8))
	return b
}
