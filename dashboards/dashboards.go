package dashboards

import (
	"encoding/json"
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

// Board is one dashboard and the file it is written to.
type Board struct {
	File  string
	Build func() *dashboard.DashboardBuilder
}

// Boards are mailtrace's dashboards.
var Boards = []Board{
	{"overview.json", Overview},
	{"ip-reputation.json", Reputation},
	{"bounces.json", Bounces},
	{"trace.json", Trace},
	{"operations.json", Operations},
	{"authentication.json", Authentication},
}

// JSON renders a dashboard as Grafana's provisioning loads it.
func JSON(b Board) ([]byte, error) {
	d, err := b.Build().Build()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.File, err)
	}
	out, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}
