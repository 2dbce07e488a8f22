package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mailtrace/mailtrace/authreport"
	"github.com/mailtrace/mailtrace/config"
	"github.com/mailtrace/mailtrace/postfixconf"
	"github.com/mailtrace/mailtrace/resolver"
	"github.com/mailtrace/mailtrace/senderauth"
	"github.com/mailtrace/mailtrace/store"
)

// newResolver is the project's DNS resolver, as the config names it.
func newResolver(cfg config.Config) (*resolver.Resolver, error) {
	r, err := resolver.New(cfg.DNSResolver, 5*time.Second)
	if err != nil {
		return nil, fmt.Errorf("%w (dns_resolver in the config)", err)
	}
	return r, nil
}

// authSetup is what the sender authentication checks look at: each
// class's domains and pool, each pool's IP and HELO, the signer, and the
// live Postfix configuration when pc is not nil.
func authSetup(cfg config.Config, pc *postfixconf.Postconf) senderauth.Setup {
	s := senderauth.Setup{BounceDomain: cfg.Milter.VERP.Domain, ReportAddresses: cfg.Reports.Addresses, DKIM: cfg.Auth.DKIM, Postfix: pc}
	domains := map[string]senderauth.ClassDomains{}
	for _, d := range cfg.Auth.Classes {
		domains[d.Name] = d
	}
	for _, cl := range cfg.Milter.Classes {
		d := domains[cl.Name]
		s.Classes = append(s.Classes, senderauth.Class{Name: cl.Name, Pool: cl.Pool, VERP: cl.VERP,
			FromDomain: d.FromDomain, EnvelopeDomain: d.EnvelopeDomain, Bulk: cl.Bulk})
	}
	s.Pools = cfg.Pools
	return s
}

// authConfigured tells a config whose classes name their domains: only
// then does the plain doctor run the DNS checks too.
func authConfigured(cfg config.Config) bool {
	for _, c := range cfg.Auth.Classes {
		if c.FromDomain != "" {
			return true
		}
	}
	return false
}

// authFindings runs the sender authentication checks and, when the store
// can be read, the complaint rates.
func authFindings(ctx context.Context, cfg config.Config, pc *postfixconf.Postconf, withStore bool) ([]postfixconf.Finding, error) {
	r, err := newResolver(cfg)
	if err != nil {
		return nil, err
	}
	findings := authSetup(cfg, pc).Check(ctx, r)
	findings = append(findings, unsubscribeFindings(ctx, cfg)...)
	if withStore {
		if st, err := openReadOnly(ctx, cfg); err == nil {
			findings = append(findings, senderauth.CheckComplaints(ctx, st, time.Now())...)
			st.Close()
		}
	}
	return findings, nil
}

// runDoctorAuth is `mailtrace doctor auth`.
func runDoctorAuth(ctx context.Context, cfg config.Config, pfDir string, printRecords, noStore bool, stdout io.Writer) error {
	r, err := newResolver(cfg)
	if err != nil {
		return err
	}
	pc, perr := postfixconf.Read(pfDir)
	if printRecords {
		fmt.Fprintf(stdout, "; DNS records for the classes, pools and report intake in the config (resolver %s)\n", r.Server())
		if perr != nil {
			// Classes without a routed pool leave from Postfix's own
			// source address, which only its configuration says.
			fmt.Fprintf(stdout, "; Postfix configuration not read (%v): the source address of classes without verp: true and a pool is unknown\n", strings.ReplaceAll(perr.Error(), "\n", " "))
			pc = nil
		}
		fmt.Fprint(stdout, authSetup(cfg, pc).Records(ctx, r))
		return nil
	}
	var findings []postfixconf.Finding
	if perr != nil {
		findings = append(findings, postfixconf.Finding{Severity: postfixconf.Warning,
			Message: "Postfix configuration not read, so the transports' TLS, HELO and IPv6 are not checked: " + perr.Error()})
		pc = nil
	}
	more, err := authFindings(ctx, cfg, pc, !noStore)
	if err != nil {
		return err
	}
	if !authConfigured(cfg) {
		more = append([]postfixconf.Finding{{Severity: postfixconf.Warning,
			Fix:     "mailtrace.yaml:\nauth:\n  classes:\n    - {name: legal, from_domain: notices.example.com}",
			Message: "auth.classes names no From domain: SPF, DKIM and DMARC of the classes are not checked"}}, more...)
	}
	findings = append(findings, more...)
	if n := printFindings(stdout, findings); n > 0 {
		return fmt.Errorf("%d sender authentication problem(s) found; publish the records shown, then run `mailtrace doctor auth` again (DNS caches may take the records' TTL to see them)", n)
	}
	fmt.Fprintln(stdout, "no sender authentication problems found")
	return nil
}

// printFindings writes findings as the doctor does and counts the problems.
func printFindings(w io.Writer, findings []postfixconf.Finding) int {
	problems := 0
	for _, f := range findings {
		fmt.Fprintf(w, "%-4s  %s\n", f.Severity, f.Message)
		if f.Severity != postfixconf.OK && f.Fix != "" {
			fmt.Fprintf(w, "      fix, in %s\n", strings.ReplaceAll(strings.TrimRight(f.Fix, "\n"), "\n", "\n        "))
		}
		if f.Severity == postfixconf.Problem {
			problems++
		}
	}
	return problems
}

// newReportIntake makes the intake of DMARC and TLS reports; reg nil for
// no metrics.
func newReportIntake(cfg config.Config, st store.Store, reg prometheus.Registerer, logger *slog.Logger) (*authreport.Intake, error) {
	classifier, err := cfg.Classify.Classifier()
	if err != nil {
		return nil, err
	}
	opts := authreport.Options{Classifier: classifier, Logger: logger}
	if r, err := newResolver(cfg); err == nil {
		opts.Resolver = r
	} else {
		logger.Warn("report sources' reverse DNS will not be looked up", "err", err)
	}
	opts.Pools = cfg.Pools
	if reg != nil {
		opts.Metrics = authreport.NewMetrics(reg)
	}
	return authreport.NewIntake(st, opts), nil
}

// unsubscribeRE reads a series of the milter's count of bulk messages
// without one-click unsubscribe from the metrics text format.
var unsubscribeRE = regexp.MustCompile(`^mailtrace_milter_unsubscribe_missing_total\{(?:.*,)?class="([^"]*)"(?:,.*)?,?pool="([^"]*)".*\} ([0-9.e+]+)$`)

// unsubscribeFindings asks the running sidecar's metrics (metrics_listen)
// how many messages of bulk classes left without one-click unsubscribe
// since it started; nothing when it does not answer.
func unsubscribeFindings(ctx context.Context, cfg config.Config) []postfixconf.Finding {
	bulk := false
	for _, c := range cfg.Milter.Classes {
		bulk = bulk || c.Bulk
	}
	if !bulk || cfg.MetricsListen == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", "http://"+cfg.MetricsListen+"/metrics", nil)
	if err != nil {
		return nil
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return []postfixconf.Finding{{Severity: postfixconf.OK, Message: "one-click unsubscribe of bulk classes not read: no sidecar answers at " + cfg.MetricsListen}}
	}
	defer res.Body.Close()
	var out []postfixconf.Finding
	sc := bufio.NewScanner(io.LimitReader(res.Body, 16<<20))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		m := unsubscribeRE.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		n, _ := strconv.ParseFloat(m[3], 64)
		if n > 0 {
			out = append(out, postfixconf.Finding{Severity: postfixconf.Warning, Message: fmt.Sprintf(
				"class %s (pool %s): %.0f messages since the sidecar started lacked one-click unsubscribe (List-Unsubscribe with an https URI and List-Unsubscribe-Post: List-Unsubscribe=One-Click, RFC 8058), which Gmail and Yahoo require of marketing mail",
				m[1], m[2], n)})
		} else {
			out = append(out, postfixconf.Finding{Severity: postfixconf.OK, Message: fmt.Sprintf("class %s: every message carries one-click unsubscribe", m[1])})
		}
	}
	return out
}
