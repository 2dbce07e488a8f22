package dashboards

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/common"
)

// ClickHouseType is the ClickHouse datasource plugin's type ID.
const ClickHouseType = "grafana-clickhouse-datasource"

// Format is the plugin's result format.
type Format int

// The plugin's formats (its Format enum).
const (
	FormatTimeSeries Format = 0
	FormatTable      Format = 1
)

// Query is a query of the ClickHouse datasource plugin in SQL mode, as
// dashboard JSON holds it.
type Query struct {
	RefID      string                `json:"refId"`
	Datasource *common.DataSourceRef `json:"datasource,omitempty"`
	EditorType string                `json:"editorType"` // "sql"
	QueryType  string                `json:"queryType"`  // "timeseries" or "table"
	Format     Format                `json:"format"`
	RawSQL     string                `json:"rawSql"`
	Hide       bool                  `json:"hide,omitempty"`
}

// ImplementsDataqueryVariant implements variants.Dataquery.
func (q *Query) ImplementsDataqueryVariant() {}

// DataqueryType implements variants.Dataquery.
func (q *Query) DataqueryType() string { return ClickHouseType }

// Equals implements variants.Dataquery.
func (q *Query) Equals(other variants.Dataquery) bool {
	o, ok := other.(*Query)
	if !ok {
		return false
	}
	a, _ := json.Marshal(q)
	b, _ := json.Marshal(o)
	return string(a) == string(b)
}

// Validate implements variants.Dataquery.
func (q *Query) Validate() error {
	switch {
	case q.RawSQL == "":
		return errors.New("clickhouse query without SQL")
	case q.EditorType != "sql":
		return fmt.Errorf("clickhouse query: editorType %q, want sql", q.EditorType)
	case q.Format != FormatTimeSeries && q.Format != FormatTable:
		return fmt.Errorf("clickhouse query: format %d", q.Format)
	}
	return nil
}

// QueryBuilder builds a Query (a cog.Builder for panels' WithTarget).
type QueryBuilder struct{ q Query }

// SQL starts a query in the given format.
func SQL(format Format, sql string) *QueryBuilder {
	qt := "table"
	if format == FormatTimeSeries {
		qt = "timeseries"
	}
	return &QueryBuilder{Query{EditorType: "sql", QueryType: qt, Format: format, RawSQL: sql}}
}

// RefID names the query within its panel.
func (b *QueryBuilder) RefID(id string) *QueryBuilder { b.q.RefID = id; return b }

// Datasource sets the query's datasource.
func (b *QueryBuilder) Datasource(ref common.DataSourceRef) *QueryBuilder {
	b.q.Datasource = &ref
	return b
}

// Build implements cog.Builder.
func (b *QueryBuilder) Build() (variants.Dataquery, error) {
	q := b.q
	if q.RefID == "" {
		q.RefID = "A"
	}
	return &q, q.Validate()
}

// VariantConfig registers Query with the SDK's runtime, so that dashboard
// JSON with ClickHouse targets unmarshals (strictly) into Query.
func VariantConfig() variants.DataqueryConfig {
	unmarshal := func(strict bool) func(raw []byte) (variants.Dataquery, error) {
		return func(raw []byte) (variants.Dataquery, error) {
			q := &Query{}
			dec := json.NewDecoder(bytes.NewReader(raw))
			if strict {
				dec.DisallowUnknownFields()
			}
			if err := dec.Decode(q); err != nil {
				return nil, err
			}
			return q, q.Validate()
		}
	}
	return variants.DataqueryConfig{Identifier: ClickHouseType, DataqueryUnmarshaler: unmarshal(false), StrictDataqueryUnmarshaler: unmarshal(true)}
}
