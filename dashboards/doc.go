// Package dashboards makes mailtrace's Grafana dashboards from Go, with
// github.com/grafana/grafana-foundation-sdk, so that their queries follow
// the schema: a column renamed in a migration breaks a test here, not a
// panel in production.
//
// Five dashboards: delivery overview, dedicated IP reputation, bounces,
// message trace, operations. Panels over the store use the official
// ClickHouse datasource plugin (grafana-clickhouse-datasource, SQL editor
// with its macros, see Expand) and read the per-minute aggregates
// (delivery_minutely, accept_minutely); raw tables only for drill-down
// (top reply texts, unmatched reports, a message's timeline). Panels over
// the sidecar's own health use Prometheus. The SDK has no ClickHouse query
// type; Query is that type.
//
// The dashboards use the classic dashboard JSON (schema v1), which every
// Grafana from 10 on provisions from files; the SDK marks it deprecated in
// favour of the v2 schema that only Grafana 12 with its new layouts reads.
//
// `go test ./dashboards -run TestGenerated -update` writes the JSON files
// in json/ that Grafana provisioning loads (see README.md).
package dashboards
