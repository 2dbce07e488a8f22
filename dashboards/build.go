package dashboards

import (
	"github.com/grafana/grafana-foundation-sdk/go/bargauge"
	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/piechart"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/table"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

func ptr[T any](v T) *T { return &v }

// The datasources are variables, so that the dashboards work with any
// datasource names.
var (
	clickhouse = common.DataSourceRef{Type: ptr(ClickHouseType), Uid: ptr("${datasource}")}
	prom       = common.DataSourceRef{Type: ptr("prometheus"), Uid: ptr("${prometheus}")}
)

func chQuery(format Format, sql string) *QueryBuilder {
	return SQL(format, sql).Datasource(clickhouse)
}

func promQuery(expr, legend string) *prometheus.DataqueryBuilder {
	return prometheus.NewDataqueryBuilder().RefId("A").Expr(expr).LegendFormat(legend).Datasource(prom)
}

// Panels over the store. Time series queries return a time column first,
// then values, with string columns naming the series (the plugin turns
// long results wide).

func chTimeseries(title, desc, unit, sql string, w uint32) cog.Builder[dashboard.Panel] {
	return timeseries.NewPanelBuilder().Title(title).Description(desc).Datasource(clickhouse).Unit(unit).
		WithTarget(chQuery(FormatTimeSeries, sql)).Span(w).Height(8).
		Stacking(common.NewStackingConfigBuilder().Mode(common.StackingModeNormal)).FillOpacity(40)
}

func chStat(title, desc, unit, sql string, w uint32) cog.Builder[dashboard.Panel] {
	return stat.NewPanelBuilder().Title(title).Description(desc).Datasource(clickhouse).Unit(unit).
		WithTarget(chQuery(FormatTable, sql)).Span(w).Height(4)
}

func chTable(title, desc, sql string, w, h uint32) cog.Builder[dashboard.Panel] {
	return tablePanel().Title(title).Description(desc).Datasource(clickhouse).
		WithTarget(chQuery(FormatTable, sql)).Span(w).Height(h)
}

// tablePanel is a table without a footer (the SDK's default footer has no
// reducer, which its own strict reading refuses).
func tablePanel() *table.PanelBuilder {
	return table.NewPanelBuilder().Footer(common.NewTableFooterOptionsBuilder().Show(false).Reducer([]string{}))
}

func chBars(title, desc, sql string, w uint32) cog.Builder[dashboard.Panel] {
	return bargauge.NewPanelBuilder().Title(title).Description(desc).Datasource(clickhouse).
		WithTarget(chQuery(FormatTable, sql)).Span(w).Height(8).Orientation(common.VizOrientationHorizontal).
		ReduceOptions(common.NewReduceDataOptionsBuilder().Values(true).Calcs([]string{"lastNotNull"}))
}

func chPie(title, desc, sql string, w uint32) cog.Builder[dashboard.Panel] {
	return piechart.NewPanelBuilder().Title(title).Description(desc).Datasource(clickhouse).
		WithTarget(chQuery(FormatTable, sql)).Span(w).Height(8).
		ReduceOptions(common.NewReduceDataOptionsBuilder().Values(true).Calcs([]string{"lastNotNull"}))
}

// Panels over Prometheus.

func promTimeseries(title, desc, unit string, w uint32, queries ...*prometheus.DataqueryBuilder) cog.Builder[dashboard.Panel] {
	p := timeseries.NewPanelBuilder().Title(title).Description(desc).Datasource(prom).Unit(unit).Span(w).Height(8)
	for _, q := range queries {
		p.WithTarget(q)
	}
	return p
}

func promStat(title, desc, unit string, w uint32, q *prometheus.DataqueryBuilder) cog.Builder[dashboard.Panel] {
	return stat.NewPanelBuilder().Title(title).Description(desc).Datasource(prom).Unit(unit).WithTarget(q.Instant()).Span(w).Height(4)
}

// Variables.

func datasourceVars(b *dashboard.DashboardBuilder) {
	b.WithVariable(dashboard.NewDatasourceVariableBuilder("datasource").Label("ClickHouse").Type(ClickHouseType))
	b.WithVariable(dashboard.NewDatasourceVariableBuilder("prometheus").Label("Prometheus").Type("prometheus"))
}

// listVar is a multi-value variable filled from the store; "All" leaves
// the filter out ($__conditionalAll).
func listVar(name, label, sql string) *dashboard.QueryVariableBuilder {
	return dashboard.NewQueryVariableBuilder(name).Label(label).Datasource(clickhouse).
		Query(dashboard.StringOrMap{String: ptr(sql)}).Definition(sql).
		Multi(true).IncludeAll(true).Refresh(dashboard.VariableRefreshOnTimeRangeChanged).Sort(dashboard.VariableSortAlphabeticalAsc).
		Current(dashboard.VariableOption{Text: dashboard.StringOrArrayOfString{String: ptr("All")}, Value: dashboard.StringOrArrayOfString{String: ptr("$__all")}})
}

// The filter variables every store dashboard has.
func filterVars(b *dashboard.DashboardBuilder) {
	b.WithVariable(listVar("host", "Host", "SELECT DISTINCT host FROM delivery_minutely WHERE $__timeFilter(minute) ORDER BY host"))
	b.WithVariable(listVar("pool", "Pool", "SELECT DISTINCT pool FROM delivery_minutely WHERE $__timeFilter(minute) AND pool != '' ORDER BY pool"))
	b.WithVariable(listVar("provider", "Provider", "SELECT DISTINCT provider FROM delivery_minutely WHERE $__timeFilter(minute) AND provider != '' ORDER BY provider"))
	b.WithVariable(listVar("class", "Class", "SELECT DISTINCT class FROM accept_minutely WHERE $__timeFilter(minute) ORDER BY class"))
}

// minutelyFilter is the WHERE clause of queries over delivery_minutely:
// the time range and every filter variable (a class stands for the pools
// its messages left through).
const minutelyFilter = `$__timeFilter(minute)
  AND $__conditionalAll(host IN (${host:singlequote}), $host)
  AND $__conditionalAll(pool IN (${pool:singlequote}), $pool)
  AND $__conditionalAll(provider IN (${provider:singlequote}), $provider)
  AND $__conditionalAll(pool IN (SELECT DISTINCT pool FROM accept_minutely WHERE $__timeFilter(minute) AND class IN (${class:singlequote})), $class)`

// eventsFilter is the same over delivery_events (drill-down panels).
const eventsFilter = `$__timeFilter(time)
  AND $__conditionalAll(host IN (${host:singlequote}), $host)
  AND $__conditionalAll(pool IN (${pool:singlequote}), $pool)
  AND $__conditionalAll(provider IN (${provider:singlequote}), $provider)
  AND $__conditionalAll(pool IN (SELECT DISTINCT pool FROM accept_minutely WHERE $__timeFilter(minute) AND class IN (${class:singlequote})), $class)`

func newDashboard(uid, title, desc string, tags ...string) *dashboard.DashboardBuilder {
	return dashboard.NewDashboardBuilder(title).Uid(uid).Description(desc).Tags(append([]string{"mailtrace"}, tags...)).
		Editable().Timezone("browser").Time("now-24h", "now").Refresh("1m").Tooltip(dashboard.DashboardCursorSyncCrosshair).
		Link(dashboard.NewDashboardLinkBuilder("mailtrace").Type(dashboard.DashboardLinkTypeDashboards).Tags([]string{"mailtrace"}).AsDropdown(true))
}
