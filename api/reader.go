package api

import (
	"context"
	"io"

	"github.com/mailtrace/mailtrace/authreport"
	"github.com/mailtrace/mailtrace/block"
	"github.com/mailtrace/mailtrace/store"
	"github.com/mailtrace/mailtrace/trace"
)

// Reader is each read the API serves and mailtrace's commands make, with
// one meaning whichever way it goes: to the store (StoreReader, what the
// API's handlers use) or to a running mailtrace's API (Client, for a
// command on a machine whose embedded store a sidecar holds).
type Reader interface {
	// Trace is every message an identifier names, with its whole story;
	// none when it names none.
	Trace(ctx context.Context, q trace.Query) ([]*trace.Message, error)
	// Blocks lists block incidents.
	Blocks(ctx context.Context, f block.Filter) ([]block.Incident, error)
	// Reports is what DMARC and TLS reports say about a range.
	Reports(ctx context.Context, rg authreport.Range) (*Reports, error)
	// SQL runs one read-only SELECT, writing its result in format (tsv,
	// csv or json) to w.
	SQL(ctx context.Context, query, format string, w io.Writer) error
}

// Reports is what GET /api/v1/reports answers: per reporter, day and pool,
// the unknown sources, the coverage, and the reports received.
type Reports struct {
	Reports        []authreport.Listing       `json:"reports"`
	Summary        []authreport.DayPool       `json:"summary"`
	UnknownSources []authreport.UnknownSource `json:"unknown_sources"`
	Coverage       []authreport.Coverage      `json:"coverage"`
}

// StoreReader reads the store itself.
type StoreReader struct {
	st        store.Store
	traces    *trace.Reader
	sqlLimits store.SQLLimits
}

var _ Reader = (*StoreReader)(nil)

// NewStoreReader reads st; SQL queries run within sqlLimits (the zero
// value: store.DefaultSQLLimits).
func NewStoreReader(st store.Store, sqlLimits store.SQLLimits) *StoreReader {
	if sqlLimits == (store.SQLLimits{}) {
		sqlLimits = store.DefaultSQLLimits()
	}
	return &StoreReader{st: st, traces: trace.NewReader(st), sqlLimits: sqlLimits}
}

func (r *StoreReader) Trace(ctx context.Context, q trace.Query) ([]*trace.Message, error) {
	return r.traces.Find(ctx, q)
}

func (r *StoreReader) Blocks(ctx context.Context, f block.Filter) ([]block.Incident, error) {
	return block.List(ctx, r.st, f)
}

func (r *StoreReader) Reports(ctx context.Context, rg authreport.Range) (*Reports, error) {
	var out Reports
	var err error
	if out.Reports, err = authreport.List(ctx, r.st, rg); err != nil {
		return nil, err
	}
	if out.Summary, err = authreport.Summary(ctx, r.st, rg); err != nil {
		return nil, err
	}
	if out.UnknownSources, err = authreport.UnknownSources(ctx, r.st, rg); err != nil {
		return nil, err
	}
	if out.Coverage, err = authreport.CoverageOf(ctx, r.st, rg); err != nil {
		return nil, err
	}
	return &out, nil
}

// SQL runs the query with the checks and limits of /api/v1/sql.
func (r *StoreReader) SQL(ctx context.Context, query, format string, w io.Writer) error {
	return store.QueryReadOnly(ctx, r.st, query, format, r.sqlLimits, w)
}
