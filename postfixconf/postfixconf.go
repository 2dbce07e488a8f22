// Package postfixconf is mailtrace's part of the Postfix configuration: the
// main.cf settings, master.cf transports and milter_header_checks table
// that send every message through mailtrace's milter and out through its
// pool's dedicated IP (Postfix's MILTER_README, header_checks(5) and
// master(5)), and the checks `mailtrace doctor` runs on a live
// configuration.
//
// How a message finds its pool: the milter adds X-Mailtrace-Pool: NAME;
// milter_header_checks (which sees only headers a milter added) matches it
// with a FILTER action naming the transport smtp-NAME; that transport binds
// to the pool's source IP, greets with its HELO name and logs as
// postfix-NAME, so that the log names the pool of every attempt. An INFO
// rule on X-Mailtrace-ID makes cleanup log the trace ID next to the queue
// ID, so that the log alone links them even when an accept record is
// missing.
package postfixconf

import (
	"fmt"
	"strings"
)

// Pool is a dedicated-IP pool as Postfix sees it: a transport smtp-NAME
// bound to SourceIP.
type Pool struct {
	Name       string
	SourceIP   string // smtp_bind_address
	HeloName   string // smtp_helo_name
	SyslogName string // default postfix-NAME
}

// Setup is what the generated configuration must connect.
type Setup struct {
	// Milter is the milter's address as Postfix writes it, e.g.
	// inet:127.0.0.1:8894 or unix:/run/mailtrace/milter.sock.
	Milter string
	// Pools are the dedicated-IP pools, one transport each.
	Pools []Pool
	// NextHop is the FILTER destination; empty sends to the recipient
	// domain's MX (production). Tests give a fake receiver's [host]:port.
	NextHop string
	// HeaderChecks is the path of the milter_header_checks table.
	HeaderChecks string
	// BounceDomain is the VERP bounce domain, routed to BounceTransport.
	BounceDomain    string
	BounceTransport string // e.g. lmtp:inet:127.0.0.1:8026
}

// DefaultHeaderChecks is where the table is installed by default.
const DefaultHeaderChecks = "/etc/postfix/mailtrace_header_checks"

// Milter timeouts: short enough that an unreachable milter costs a client
// seconds, long enough for a busy store-less decision.
const milterSettings = "default_action=accept, connect_timeout=5s, command_timeout=10s, content_timeout=30s"

// MilterEntry is the milter's entry for smtpd_milters and non_smtpd_milters.
func (s Setup) MilterEntry() string {
	return "{ " + s.Milter + ", " + milterSettings + " }"
}

// Param is one main.cf setting.
type Param struct{ Name, Value string }

// Main lists the main.cf settings, in the order to write them.
func (s Setup) Main() []Param {
	hc := s.HeaderChecks
	if hc == "" {
		hc = DefaultHeaderChecks
	}
	out := []Param{
		{"smtpd_milters", s.MilterEntry()},
		{"non_smtpd_milters", s.MilterEntry()},
		{"milter_header_checks", "regexp:" + hc},
	}
	if s.BounceDomain != "" && s.BounceTransport != "" {
		out = append(out, Param{"transport_maps", "inline:{ " + s.BounceDomain + "=" + s.BounceTransport + " }"},
			Param{"relay_domains", "$mydestination, " + s.BounceDomain})
	}
	return out
}

// MainCF is Main as main.cf text.
func (s Setup) MainCF() string {
	var b strings.Builder
	b.WriteString("# mailtrace: every message passes the milter, which never holds up mail\n")
	b.WriteString("# (default_action=accept: if mailtrace is down, mail flows unstamped).\n")
	b.WriteString("# Already using milters? Add the { ... } entry to your existing lists.\n")
	for _, p := range s.Main() {
		if p.Name == "transport_maps" {
			b.WriteString("# Bounces to the VERP bounce domain go to mailtrace's bounce intake.\n")
		}
		fmt.Fprintf(&b, "%s = %s\n", p.Name, p.Value)
	}
	return b.String()
}

// Service is one master.cf service with its -o overrides.
type Service struct {
	Name, Type, Command string
	Options             []Param
}

// Transport names the transport of a pool.
func Transport(pool string) string { return "smtp-" + pool }

// SyslogName is the syslog name a pool's transport logs under.
func SyslogName(p Pool) string {
	if p.SyslogName != "" {
		return p.SyslogName
	}
	return "postfix-" + p.Name
}

// Master lists the pools' transports.
func (s Setup) Master() []Service {
	var out []Service
	for _, p := range s.Pools {
		svc := Service{Name: Transport(p.Name), Type: "unix", Command: "smtp"}
		if p.SourceIP != "" {
			svc.Options = append(svc.Options, Param{"smtp_bind_address", p.SourceIP})
		}
		if p.HeloName != "" {
			svc.Options = append(svc.Options, Param{"smtp_helo_name", p.HeloName})
		}
		svc.Options = append(svc.Options, Param{"syslog_name", SyslogName(p)})
		out = append(out, svc)
	}
	return out
}

// MasterCF is Master as master.cf text.
func (s Setup) MasterCF() string {
	var b strings.Builder
	b.WriteString("# mailtrace: one transport per dedicated-IP pool. The syslog name puts the\n")
	b.WriteString("# pool in every log line of its deliveries.\n")
	for _, svc := range s.Master() {
		fmt.Fprintf(&b, "%-16s %s  -       -       n       -       -       %s\n", svc.Name, svc.Type, svc.Command)
		for _, o := range svc.Options {
			fmt.Fprintf(&b, "  -o %s=%s\n", o.Name, o.Value)
		}
	}
	return b.String()
}

// HeaderChecksTable is the milter_header_checks table (regexp:).
func (s Setup) HeaderChecksTable() string {
	var b strings.Builder
	b.WriteString("# mailtrace: milter_header_checks (regexp table). This table sees only the\n")
	b.WriteString("# headers a milter added, so a client cannot pick its own pool.\n")
	b.WriteString("# Log the trace ID next to the queue ID:\n")
	b.WriteString("/^X-Mailtrace-ID: / INFO\n")
	b.WriteString("# Send each pool's mail through its transport:\n")
	for _, p := range s.Pools {
		fmt.Fprintf(&b, "/^X-Mailtrace-Pool: %s$/ FILTER %s:%s\n", p.Name, Transport(p.Name), s.NextHop)
	}
	return b.String()
}
