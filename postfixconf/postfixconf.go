// Package postfixconf is mailtrace's part of the Postfix configuration: the
// main.cf settings, master.cf transports and lookup tables that send every
// message through mailtrace's milter and the mail of VERP classes out
// through its pool's dedicated IP (Postfix's MILTER_README, postconf(5),
// regexp_table(5) and master(5)), and the checks `mailtrace doctor` runs on
// a live configuration.
//
// How a message finds its pool: for a class with verp: true the milter
// sets the envelope sender to PREFIX-POOL-TOKEN@BOUNCE-DOMAIN (package
// verp); sender_dependent_default_transport_maps matches that sender and
// answers smtp-POOL. That map overrides default_transport only, so every
// recipient Postfix delivers otherwise (mydestination, virtual domains,
// relay_domains, transport_maps entries) keeps its route, and relayhost or
// sender_dependent_relayhost_maps still give the next hop. The transport
// smtp-POOL binds to the pool's source IP, greets with its HELO name and
// logs as postfix-POOL, so that the log names the pool of every attempt.
// Classes without VERP leave as Postfix routes them. An INFO rule on
// X-Mailtrace-ID in milter_header_checks makes cleanup log the trace ID
// next to the queue ID, so that the log alone links them.
package postfixconf

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/mailtrace/mailtrace/header"
	"github.com/mailtrace/mailtrace/pool"
	"github.com/mailtrace/mailtrace/verp"
)

// Pool is a dedicated-IP pool as Postfix sees it: a transport smtp-NAME
// bound to SourceIP (smtp_bind_address), greeting as HeloName
// (smtp_helo_name), logging as SyslogName. It is the one pool type.
type Pool = pool.Pool

// Class is a milter class as far as routing goes.
type Class struct {
	Name, Pool string
	VERP       bool
}

// Setup is what the generated configuration must connect.
type Setup struct {
	// Milter is the milter's address as Postfix writes it, e.g.
	// inet:127.0.0.1:8894 or unix:/run/mailtrace/milter.sock.
	Milter string
	// Pools are the dedicated-IP pools, one transport each.
	Pools []Pool
	// Classes are the milter's classes; only VERP classes' pools are
	// routed. Nil routes every pool (a setup without classes at hand).
	Classes []Class
	// Dir is the Postfix configuration directory the tables are written
	// to and named from (default /etc/postfix).
	Dir string
	// BounceDomain is the VERP bounce domain, routed to BounceTransport.
	BounceDomain    string
	BounceTransport string // e.g. lmtp:inet:127.0.0.1:8026
	// VERPPrefix starts VERP local parts (default mt).
	VERPPrefix string
	// DefaultNexthop is the next hop default_transport names, if any
	// (smtp:[gateway.example] gives [gateway.example]). The sender table's
	// answer replaces default_transport whole, next hop included, so the
	// table repeats it: without it pool mail would go to relayhost or the
	// recipient's MX instead (seen with Postfix 3.7).
	DefaultNexthop string
}

// Table file names, in the configuration directory.
const (
	HeaderChecksFile    = "mailtrace_header_checks"
	SenderTransportFile = "mailtrace_sender_transport"
)

func (s Setup) dir() string {
	if s.Dir == "" {
		return "/etc/postfix"
	}
	return s.Dir
}

// HeaderChecksPath is where the milter_header_checks table goes.
func (s Setup) HeaderChecksPath() string { return filepath.Join(s.dir(), HeaderChecksFile) }

// SenderTransportPath is where the sender_dependent_default_transport_maps
// table goes.
func (s Setup) SenderTransportPath() string { return filepath.Join(s.dir(), SenderTransportFile) }

func (s Setup) prefix() string {
	if s.VERPPrefix == "" {
		return "mt"
	}
	return strings.ToLower(s.VERPPrefix)
}

// RoutedPools are the pools whose mail is routed: those of VERP classes
// (all pools when Classes is nil), provided there is a bounce domain.
func (s Setup) RoutedPools() []Pool {
	if s.BounceDomain == "" {
		return nil
	}
	var out []Pool
	for _, p := range s.Pools {
		routed := s.Classes == nil
		for _, c := range s.Classes {
			routed = routed || c.VERP && c.Pool == p.Name
		}
		if routed {
			out = append(out, p)
		}
	}
	return out
}

// NexthopOf is the next hop of a default_transport value ("" for none).
func NexthopOf(defaultTransport string) string {
	_, nexthop, _ := strings.Cut(strings.TrimSpace(defaultTransport), ":")
	return nexthop
}

// Unrouted lists the classes that name a pool but have no VERP: their
// mail leaves as Postfix routes it.
func (s Setup) Unrouted() []Class {
	var out []Class
	for _, c := range s.Classes {
		if c.Pool != "" && (!c.VERP || s.BounceDomain == "") {
			out = append(out, c)
		}
	}
	return out
}

// SenderPattern is the regexp_table(5) pattern matching the VERP return
// paths of pool (verp.Signer.PoolAddress): PREFIX-POOL-...@BOUNCE-DOMAIN.
// regexp tables ignore case by default, as VERP parsing does.
func (s Setup) SenderPattern(pool string) string {
	return verp.Routing(s.prefix(), s.BounceDomain, pool)
}

// SampleSender is a VERP return path of pool, for looking the routing
// table up as Postfix would.
func (s Setup) SampleSender(pool string) string {
	return s.prefix() + "-" + pool + "-" + strings.Repeat("a", 45) + "@" + strings.ToLower(s.BounceDomain)
}

// SenderRoute is the sender table's answer for pool: default_transport's
// syntax (postconf(5)), the transport and DefaultNexthop if there is one.
// Without one, the next hop stays what Postfix would use: relayhost,
// sender_dependent_relayhost_maps or the recipient domain's MX.
func (s Setup) SenderRoute(pool string) string {
	if s.DefaultNexthop != "" {
		return Transport(pool) + ":" + s.DefaultNexthop
	}
	return Transport(pool)
}

// SenderTransportTable is the sender_dependent_default_transport_maps
// table (regexp:), one SenderRoute per routed pool.
func (s Setup) SenderTransportTable() string {
	var b strings.Builder
	b.WriteString("# mailtrace: sender_dependent_default_transport_maps (regexp table).\n")
	b.WriteString("# Mail of VERP classes, whose envelope sender names the pool, leaves through\n")
	b.WriteString("# the pool's transport when Postfix would use its default transport; local,\n")
	b.WriteString("# virtual, relay_domains and transport_maps recipients keep their routes.\n")
	pools := s.RoutedPools()
	for _, p := range pools {
		fmt.Fprintf(&b, "%s %s\n", s.SenderPattern(p.Name), s.SenderRoute(p.Name))
	}
	if len(pools) == 0 {
		b.WriteString("# (no class with verp: true names a pool: nothing is routed to a pool)\n")
	}
	return b.String()
}

// Milter timeouts: short enough that an unreachable milter costs a client
// seconds, long enough for a busy store-less decision.
const milterSettings = "default_action=accept, connect_timeout=5s, command_timeout=10s, content_timeout=30s"

// MilterEntry is the milter's entry for smtpd_milters and non_smtpd_milters.
func (s Setup) MilterEntry() string {
	return "{ " + s.Milter + ", " + milterSettings + " }"
}

// Param is one main.cf setting.
type Param struct{ Name, Value string }

// Main lists the main.cf settings, in the order to write them, as they
// would be in a main.cf that sets none of them yet.
func (s Setup) Main() []Param {
	out := []Param{
		{"smtpd_milters", s.MilterEntry()},
		{"non_smtpd_milters", s.MilterEntry()},
		{"milter_header_checks", "regexp:" + s.HeaderChecksPath()},
	}
	if len(s.RoutedPools()) > 0 {
		out = append(out, Param{"sender_dependent_default_transport_maps", "regexp:" + s.SenderTransportPath()})
	}
	if s.BounceDomain != "" && s.BounceTransport != "" {
		out = append(out, Param{"transport_maps", "inline:{ " + s.BounceDomain + "=" + s.BounceTransport + " }"},
			Param{"relay_domains", "$mydestination, " + s.BounceDomain})
	}
	return out
}

// entries are what mailtrace adds to a main.cf list or map parameter: what
// to write into an existing one.
func (s Setup) entries(name string) (kind, entry string) {
	switch name {
	case "smtpd_milters", "non_smtpd_milters":
		return "list", s.MilterEntry()
	case "relay_domains":
		return "list", s.BounceDomain
	case "milter_header_checks":
		return "table", "/^" + header.ID + ": / INFO"
	case "sender_dependent_default_transport_maps":
		var lines []string
		for _, p := range s.RoutedPools() {
			lines = append(lines, s.SenderPattern(p.Name)+" "+s.SenderRoute(p.Name))
		}
		return "regexp table", strings.Join(lines, "\n")
	case "transport_maps":
		return "map", s.BounceDomain + " " + s.BounceTransport
	}
	return "", ""
}

// MainCF is Main as main.cf text for a main.cf that sets none of its
// parameters; each is commented with what to do where one is set already.
func (s Setup) MainCF() string { return s.MainCFFor(nil) }

// MainCFFor is Main as main.cf text for a configuration whose explicit
// settings (postconf -n) are set: a parameter set already is not replaced;
// a list gets mailtrace's entry added, a map is left to the reader with
// the entry to add to it.
func (s Setup) MainCFFor(set map[string]string) string {
	var b strings.Builder
	b.WriteString("# mailtrace: every message passes the milter, which never holds up mail\n")
	b.WriteString("# (default_action=accept: if mailtrace is down, mail flows unstamped).\n")
	if set == nil {
		b.WriteString("# Where your main.cf already sets one of these parameters, do not append\n")
		b.WriteString("# the line (a later line replaces an earlier one): add mailtrace's entry to\n")
		b.WriteString("# your list or map instead (`mailtrace doctor --print-postfix` on the running\n")
		b.WriteString("# configuration prints the merged lines).\n")
	}
	for _, p := range s.Main() {
		switch p.Name {
		case "sender_dependent_default_transport_maps":
			b.WriteString("# Mail of VERP classes leaves through its pool where Postfix would use\n")
			b.WriteString("# default_transport (only there).\n")
		case "transport_maps":
			b.WriteString("# Bounces to the VERP bounce domain go to mailtrace's bounce intake.\n")
		}
		cur, isSet := set[p.Name]
		cur = strings.TrimSpace(cur)
		kind, entry := s.entries(p.Name)
		switch {
		case !isSet || cur == "":
			fmt.Fprintf(&b, "%s = %s\n", p.Name, p.Value)
		case kind == "list" && s.listed(p.Name, cur):
			fmt.Fprintf(&b, "# %s already lists mailtrace's entry: %s\n", p.Name, cur)
		case kind == "list":
			fmt.Fprintf(&b, "# %s is set: your list with mailtrace's entry added\n%s = %s, %s\n", p.Name, p.Name, cur, entry)
		case kind == "regexp table" && !HasPatternTable(cur):
			// Patterns mean nothing in a hash: or lmdb: table.
			fmt.Fprintf(&b, "# %s is set, with no regexp: or pcre: table for mailtrace's patterns: your tables after mailtrace's\n%s = %s, %s\n", p.Name, p.Name, p.Value, cur)
		default:
			fmt.Fprintf(&b, "# %s is set (%s): do not replace it; add to your %s:\n", p.Name, cur, kind)
			for _, l := range strings.Split(entry, "\n") {
				fmt.Fprintf(&b, "#   %s\n", l)
			}
			fmt.Fprintf(&b, "# (or list mailtrace's table first: %s = %s, %s)\n", p.Name, p.Value, cur)
		}
	}
	return b.String()
}

// HasPatternTable tells whether a list of Postfix tables has a regexp: or
// pcre: one, where mailtrace's pattern lines can go.
func HasPatternTable(tables string) bool {
	for _, t := range SplitList(tables) {
		if strings.HasPrefix(t, "regexp:") || strings.HasPrefix(t, "pcre:") {
			return true
		}
	}
	return false
}

// listed tells whether a list parameter's value has mailtrace's entry.
func (s Setup) listed(name, value string) bool {
	if name == "relay_domains" {
		for _, e := range SplitList(value) {
			if strings.EqualFold(e, s.BounceDomain) {
				return true
			}
		}
		return false
	}
	_, found := milterEntry(value, s.Milter)
	return found
}

// Service is one master.cf service with its -o overrides.
type Service struct {
	Name, Type, Command string
	Options             []Param
}

// Transport names the transport of a pool.
func Transport(pool string) string { return "smtp-" + pool }

// SyslogName is the syslog name a pool's transport logs under.
func SyslogName(p Pool) string { return p.Syslog() }

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

// HeaderChecksTable is the milter_header_checks table (regexp:). It
// routes nothing (a FILTER here would send every recipient of a message,
// local ones too, to the pool's transport).
func (s Setup) HeaderChecksTable() string {
	var b strings.Builder
	b.WriteString("# mailtrace: milter_header_checks (regexp table). This table sees only the\n")
	b.WriteString("# headers a milter added. Log the trace ID next to the queue ID:\n")
	b.WriteString("/^" + header.ID + ": / INFO\n")
	return b.String()
}
