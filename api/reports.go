package api

import (
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/mailtrace/mailtrace/authreport"
)

// reportRoutes serve what DMARC and TLS reports say.
func (s *Server) reportRoutes() []route {
	rangeParams := []param{
		{name: "from", in: "query", typ: "string", description: fmt.Sprintf("first report day (RFC 3339 or YYYY-MM-DD); default %d days before to", authreport.DefaultRange/(24*time.Hour))},
		{name: "to", in: "query", typ: "string", description: "end of the range, exclusive (RFC 3339 or YYYY-MM-DD); default now"},
	}
	return []route{
		{method: "GET", path: "/api/v1/reports", summary: "DMARC and SMTP TLS reports: per reporter, day and pool (DKIM, SPF and DMARC passed and aligned), unknown sources (IPs in no pool sending as our domains, with their PTR), coverage (a reporter's count against our deliveries to its provider), and the reports received.",
			role: RoleAnalyst, produces: "application/json", handler: s.reports, params: rangeParams},
		{method: "GET", path: "/api/v1/reports/unknown-sources", summary: "IPs in no pool that DMARC reports saw sending as our domains, most messages first.",
			role: RoleAnalyst, produces: "application/json", handler: s.unknownSources, params: rangeParams},
	}
}

func reportRange(q url.Values) (authreport.Range, error) {
	rg := authreport.Range{To: time.Now()}
	var err error
	if v := q.Get("to"); v != "" {
		if rg.To, err = parseTime("to", v); err != nil {
			return rg, err
		}
	}
	rg.From = rg.To.Add(-authreport.DefaultRange)
	if v := q.Get("from"); v != "" {
		if rg.From, err = parseTime("from", v); err != nil {
			return rg, err
		}
	}
	if !rg.From.Before(rg.To) {
		return rg, fmt.Errorf("%w: from must be before to", errBadRequest)
	}
	if rg.To.Sub(rg.From) > 400*24*time.Hour {
		return rg, fmt.Errorf("%w: a range of at most 400 days", errBadRequest)
	}
	return rg, nil
}

func (s *Server) reports(w http.ResponseWriter, r *http.Request, q url.Values) error {
	rg, err := reportRange(q)
	if err != nil {
		return err
	}
	out, err := s.read.Reports(r.Context(), rg)
	if err != nil {
		return err
	}
	return writeJSON(w, out)
}

func (s *Server) unknownSources(w http.ResponseWriter, r *http.Request, q url.Values) error {
	rg, err := reportRange(q)
	if err != nil {
		return err
	}
	u, err := authreport.UnknownSources(r.Context(), s.st, rg)
	if err != nil {
		return err
	}
	return writeJSON(w, map[string]any{"unknown_sources": u})
}
