// Package api is mailtrace's HTTP interface: a JSON API under /api/v1 for
// traces, searches and exports, described by an OpenAPI 3.1 document
// generated from the same route table the server dispatches on; /healthz
// and /readyz; /metrics; and the web UI, a few static files embedded in the
// binary that use the API from the browser (no build step, no CDN).
//
// Requests need a bearer token with a role (analyst, admin) whenever
// tokens are configured, and always when the listen address is not
// loopback; without tokens, requests have the analyst role unless
// api.anonymous_role says admin. Every request is logged with who made it.
// /api/v1/sql takes an admin's read-only query through store.QueryReadOnly,
// which decides what it may read and bounds it.
//
// Its reads are a Reader: the handlers read the store through a
// StoreReader, and a Client reads a running mailtrace's API the same way,
// with the API's own answer types, for commands that cannot open the store.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/mailtrace/mailtrace/store"
	"github.com/mailtrace/mailtrace/trace"
)

// Config is the API's section of the config file.
type Config struct {
	// Listen is host:port; 127.0.0.1:8025 by default. Anything but
	// loopback requires tokens.
	Listen string  `yaml:"listen"`
	Tokens []Token `yaml:"tokens"`
	// AnonymousRole is the role of requests without a token when no
	// tokens are configured (then the API listens on loopback only):
	// analyst by default; admin lets every local user run SQL.
	AnonymousRole string `yaml:"anonymous_role"`
	// SQL bounds /api/v1/sql: the config's sql section, which `mailtrace
	// sql` takes too. Zero means store.DefaultSQLLimits.
	SQL store.SQLLimits `yaml:"-"`
	// Evidence, when set, serves evidence bundles (/api/v1/evidence/{id}).
	Evidence *EvidenceOptions `yaml:"-"`
}

// DefaultConfig listens on loopback without tokens.
func DefaultConfig() Config { return Config{Listen: "127.0.0.1:8025"} }

// Validate reports the first setting that cannot work. Listen "off"
// turns the API off in `mailtrace run`.
func (c *Config) Validate() error {
	if c.Listen == "off" {
		return nil
	}
	_, err := newAuthenticator(c.Listen, c.Tokens, c.AnonymousRole)
	return err
}

// Server serves the API and the UI.
type Server struct {
	st     store.Store
	read   *StoreReader
	auth   *authenticator
	logger *slog.Logger
	mux    *http.ServeMux
	routes []route
	// evidenceOpts is nil without an evidence ledger.
	evidenceOpts *EvidenceOptions
}

// New builds a server reading st. reg, when not nil, is served at /metrics.
func New(st store.Store, cfg Config, reg *prometheus.Registry, logger *slog.Logger) (*Server, error) {
	auth, err := newAuthenticator(cfg.Listen, cfg.Tokens, cfg.AnonymousRole)
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.Default()
	}
	if cfg.SQL == (store.SQLLimits{}) {
		cfg.SQL = store.DefaultSQLLimits()
	}
	if err := cfg.SQL.Validate(); err != nil {
		return nil, err
	}
	if auth.open && auth.anonymousRole == RoleAdmin {
		logger.Warn("requests without a token have the admin role (api.anonymous_role: admin): every local user may run SQL on the store", "listen", cfg.Listen)
	}
	s := &Server{st: st, read: NewStoreReader(st, cfg.SQL), auth: auth, logger: logger, mux: http.NewServeMux(), evidenceOpts: cfg.Evidence}
	s.routes = s.routeTable()
	for _, rt := range s.routes {
		s.mux.Handle(rt.method+" "+rt.path, s.wrap(rt))
	}
	if reg != nil {
		metrics := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
		s.mux.Handle("GET /metrics", s.wrap(route{path: "/metrics", role: RoleAnalyst, handler: func(w http.ResponseWriter, r *http.Request, _ url.Values) error {
			metrics.ServeHTTP(w, r)
			return nil
		}}))
	}
	s.mux.Handle("GET /", uiHandler())
	return s, nil
}

// Handler is the server's HTTP handler.
func (s *Server) Handler() http.Handler { return s.mux }

// route is one endpoint: the table the server dispatches on and the
// OpenAPI document is generated from.
type route struct {
	method, path string
	summary      string
	role         string // "" for public endpoints
	params       []param
	produces     string         // content type of a successful answer
	responses    map[string]any // the route's own answers besides 200, 400, 401 and 403 (OpenAPI)
	handler      func(w http.ResponseWriter, r *http.Request, q url.Values) error
}

// param is one query or path parameter.
type param struct {
	name, in, typ, description string
	required                   bool
	enum                       []string
}

// errBadRequest marks errors in what the client asked (400).
var errBadRequest = errors.New("bad request")

// wrap adds authentication, parameter checking, error answers and the
// request log to a route.
func (s *Server) wrap(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		who := "-"
		defer func() {
			s.logger.Info("request", "who", who, "method", r.Method, "path", r.URL.Path, "query", r.URL.RawQuery,
				"status", rec.status, "duration", time.Since(start).Round(time.Microsecond), "remote", r.RemoteAddr)
		}()
		if rt.role != "" {
			c, why := s.auth.identify(r)
			if c == nil {
				rec.Header().Set("WWW-Authenticate", `Bearer realm="mailtrace"`)
				writeError(rec, http.StatusUnauthorized, why)
				return
			}
			who = c.name
			if !c.may(rt.role) {
				msg := fmt.Sprintf("%s has role %s; this needs %s", c.name, c.role, rt.role)
				if c.name == anonymous {
					msg += ": configure a token with role " + rt.role + " in api.tokens and send it (mailtrace commands take it from MAILTRACE_API_TOKEN), " +
						"or set api.anonymous_role: " + rt.role + " to give it to every local user"
				}
				writeError(rec, http.StatusForbidden, msg)
				return
			}
		}
		q := r.URL.Query()
		if err := checkParams(rt, q); err != nil {
			writeError(rec, http.StatusBadRequest, err.Error())
			return
		}
		if err := rt.handler(rec, r, q); err != nil {
			switch {
			case errors.Is(err, errBadRequest), errors.Is(err, trace.ErrBadFilter), errors.Is(err, trace.ErrBadID):
				writeError(rec, http.StatusBadRequest, err.Error())
			case errors.Is(err, context.Canceled):
			default:
				s.logger.Error("request failed", "path", r.URL.Path, "err", err)
				if !rec.wrote {
					writeError(rec, http.StatusInternalServerError, "the store failed to answer; see the server log")
				}
			}
		}
	})
}

// checkParams refuses parameters a route does not take, repeated ones, and
// values outside an enum.
func checkParams(rt route, q url.Values) error {
	known := map[string]param{}
	for _, p := range rt.params {
		if p.in == "query" {
			known[p.name] = p
		}
	}
	for name, vs := range q {
		p, ok := known[name]
		if !ok {
			return fmt.Errorf("unknown parameter %q (this endpoint takes: %s)", name, paramNames(rt))
		}
		if len(vs) > 1 {
			return fmt.Errorf("parameter %q is given %d times", name, len(vs))
		}
		if len(p.enum) > 0 && !slices.Contains(p.enum, vs[0]) {
			return fmt.Errorf("parameter %q is %q; use one of %s", name, vs[0], strings.Join(p.enum, ", "))
		}
	}
	for _, p := range rt.params {
		if p.in == "query" && p.required && q.Get(p.name) == "" {
			return fmt.Errorf("parameter %q is required", p.name)
		}
	}
	return nil
}

func paramNames(rt route) string {
	var out []string
	for _, p := range rt.params {
		if p.in == "query" {
			out = append(out, p.name)
		}
	}
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(out, ", ")
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (s *statusRecorder) WriteHeader(code int) {
	if !s.wrote {
		s.status, s.wrote = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	s.wrote = true
	return s.ResponseWriter.Write(b)
}

func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func writeJSON(w http.ResponseWriter, v any) error {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
}
