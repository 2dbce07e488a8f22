package dashboards

import (
	"context"
	"fmt"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/dashboard"

	"github.com/mailtrace/mailtrace/store"
)

// Result is what one panel's (or variable's) SQL gave on a store.
type Result struct {
	Board, Panel, PanelType string // PanelType "variable" for a variable's query
	SQL                     string // as expanded
	Columns                 []store.Column
	Rows                    int
	Err                     error
	// Misfit says why the columns do not suit the panel type, if they do not.
	Misfit string
}

// RunQueries expands every ClickHouse query of every dashboard (panels and
// variables) with env and runs it on st.
func RunQueries(ctx context.Context, st store.Store, env Env) ([]Result, error) {
	var out []Result
	for _, b := range Boards {
		d, err := b.Build().Build()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", b.File, err)
		}
		var panels []dashboard.Panel
		for _, p := range d.Panels {
			if p.Panel != nil {
				panels = append(panels, *p.Panel)
			}
			if p.RowPanel != nil {
				panels = append(panels, p.RowPanel.Panels...)
			}
		}
		for _, p := range panels {
			for _, target := range p.Targets {
				if q, ok := target.(*Query); ok {
					title := ""
					if p.Title != nil {
						title = *p.Title
					}
					out = append(out, run(ctx, st, env, Result{Board: b.File, Panel: title, PanelType: p.Type, SQL: q.RawSQL}))
				}
			}
		}
		for _, v := range d.Templating.List {
			if v.Type == "query" && v.Datasource != nil && v.Datasource.Type != nil && *v.Datasource.Type == ClickHouseType && v.Query != nil && v.Query.String != nil {
				out = append(out, run(ctx, st, env, Result{Board: b.File, Panel: "$" + v.Name, PanelType: "variable", SQL: *v.Query.String}))
			}
		}
	}
	return out, nil
}

func run(ctx context.Context, st store.Store, env Env, r Result) Result {
	if r.SQL, r.Err = Expand(r.SQL, env); r.Err != nil {
		return r
	}
	rows, err := st.Query(ctx, r.SQL, nil)
	if err != nil {
		r.Err = err
		return r
	}
	defer rows.Close()
	for rows.Next() {
		r.Rows++
	}
	r.Err, r.Columns = rows.Err(), rows.Columns()
	r.Misfit = misfit(r.PanelType, r.Columns)
	return r
}

// misfit says why columns do not suit a panel type, or "".
func misfit(panelType string, cols []store.Column) string {
	var numbers, strs int
	for _, c := range cols {
		t := strings.TrimPrefix(c.Type, "Nullable(")
		t = strings.TrimPrefix(t, "LowCardinality(")
		switch {
		case strings.HasPrefix(t, "UInt"), strings.HasPrefix(t, "Int"), strings.HasPrefix(t, "Float"), strings.HasPrefix(t, "Decimal"):
			numbers++
		case strings.HasPrefix(t, "String"):
			strs++
		}
	}
	switch panelType {
	case "timeseries":
		if len(cols) < 2 || !strings.HasPrefix(cols[0].Type, "DateTime") || numbers == 0 {
			return "a time series wants a DateTime column first and a number"
		}
	case "stat":
		if numbers == 0 {
			return "a stat wants a number"
		}
	case "bargauge", "piechart":
		if numbers == 0 || strs == 0 {
			return "bars and pies want a label and a number"
		}
	case "table":
		if len(cols) == 0 {
			return "a table wants columns"
		}
	case "variable":
		if len(cols) != 1 {
			return "a variable query wants one column"
		}
	default:
		return "unknown panel type " + panelType
	}
	return ""
}
