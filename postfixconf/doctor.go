package postfixconf

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Postconf is a live Postfix configuration, as postconf(1) reports it.
type Postconf struct {
	Dir string
	// Main holds every main.cf parameter with its value ($names expanded).
	Main map[string]string
	// Set holds the parameters main.cf sets itself (postconf -n), as
	// written.
	Set map[string]string
	// Warnings are what postconf said on its standard error while reading
	// the configuration ("overriding earlier entry", unknown parameters...).
	Warnings []string
	// Services are master.cf's services by "name/type", with the command
	// and the per-service (-o) parameters.
	Services map[string]*Service
}

// Read runs postconf on the configuration directory dir.
func Read(dir string) (*Postconf, error) {
	pc := &Postconf{Dir: dir, Main: map[string]string{}, Set: map[string]string{}, Services: map[string]*Service{}}
	out, warnings, err := postconfWarn(dir, "-n")
	if err != nil {
		return nil, err
	}
	// postconf repeats a warning for each time it reads the parameter.
	seen := map[string]bool{}
	for _, w := range warnings {
		if !seen[w] {
			seen[w] = true
			pc.Warnings = append(pc.Warnings, w)
		}
	}
	for _, line := range lines(out) {
		k, v, _ := strings.Cut(line, " = ")
		pc.Set[strings.TrimSpace(strings.TrimSuffix(k, " ="))] = v
	}
	out, err = postconf(dir, "-x")
	if err != nil {
		return nil, err
	}
	for _, line := range lines(out) {
		k, v, ok := strings.Cut(line, " = ")
		if !ok {
			k, v = strings.TrimSuffix(line, " ="), ""
		}
		pc.Main[strings.TrimSpace(k)] = v
	}
	out, err = postconf(dir, "-M")
	if err != nil {
		return nil, err
	}
	for _, line := range lines(out) {
		f := strings.Fields(line)
		if len(f) < 8 {
			continue
		}
		pc.Services[f[0]+"/"+f[1]] = &Service{Name: f[0], Type: f[1], Command: f[7]}
	}
	out, err = postconf(dir, "-Px")
	if err != nil {
		return nil, err
	}
	for _, line := range lines(out) {
		k, v, _ := strings.Cut(line, " = ")
		parts := strings.SplitN(strings.TrimSpace(k), "/", 3)
		if len(parts) != 3 {
			continue
		}
		if svc := pc.Services[parts[0]+"/"+parts[1]]; svc != nil {
			svc.Options = append(svc.Options, Param{parts[2], v})
		}
	}
	return pc, nil
}

func postconf(dir string, args ...string) ([]byte, error) {
	out, _, err := postconfWarn(dir, args...)
	return out, err
}

// postconfWarn runs postconf and returns its output and the lines of its
// standard error.
func postconfWarn(dir string, args ...string) ([]byte, []string, error) {
	cmd := exec.Command("postconf", append([]string{"-c", dir}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, nil, fmt.Errorf("postconf -c %s %s: %v: %s (is Postfix installed, and is %s its configuration directory?)",
			dir, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()), dir)
	}
	return out, lines(stderr.Bytes()), nil
}

func lines(b []byte) []string {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if l := sc.Text(); strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out
}

// Query looks key up in a Postfix table as Postfix itself would
// (postmap -q), returning "" when it is not found.
func (pc *Postconf) Query(table, key string) string {
	out, err := exec.Command("postmap", "-c", pc.Dir, "-q", key, table).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// option is a service's -o value, or the main.cf value when not set.
func (pc *Postconf) option(svc *Service, name string) string {
	for _, o := range svc.Options {
		if o.Name == name {
			return o.Value
		}
	}
	return pc.Main[name]
}

// Severity of a finding.
type Severity int

const (
	OK Severity = iota
	Warning
	Problem
	// Info is a fact worth knowing that needs no change: what mailtrace's
	// routing leaves to Postfix.
	Info
)

func (s Severity) String() string {
	return [...]string{"ok", "warn", "FAIL", "info"}[s]
}

// Finding is one result of a check: what is right or wrong, and for what
// is wrong, the lines that fix it.
type Finding struct {
	Severity Severity
	Message  string
	Fix      string // configuration to add, with the file it goes in
}

// SplitList splits a Postfix list parameter (smtpd_milters,
// transport_maps...) into its entries, separated by commas or spaces; an
// entry in braces keeps its settings: "{ inet:h:p, default_action=accept }".
func SplitList(list string) []string {
	var out []string
	var cur strings.Builder
	depth := 0
	flush := func() {
		if s := strings.TrimSpace(cur.String()); s != "" {
			out = append(out, s)
		}
		cur.Reset()
	}
	for _, c := range list {
		switch {
		case c == '{':
			depth++
			cur.WriteRune(c)
		case c == '}':
			depth--
			cur.WriteRune(c)
			if depth == 0 {
				flush()
			}
		case depth == 0 && (c == ',' || c == ' ' || c == '\t' || c == '\n'):
			flush()
		default:
			cur.WriteRune(c)
		}
	}
	flush()
	return out
}

// milterEntry finds the entry for address in list and returns its
// settings (nil when absent).
func milterEntry(list, address string) (map[string]string, bool) {
	for _, e := range SplitList(list) {
		settings := map[string]string{}
		addr := e
		if strings.HasPrefix(e, "{") {
			parts := strings.Split(strings.Trim(e, "{} "), ",")
			addr = strings.TrimSpace(parts[0])
			for _, p := range parts[1:] {
				k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
				settings[strings.TrimSpace(k)] = strings.TrimSpace(v)
			}
		}
		if sameMilter(addr, address) {
			return settings, true
		}
	}
	return nil, false
}

func sameMilter(a, b string) bool {
	norm := func(s string) string {
		s = strings.ToLower(strings.TrimSpace(s))
		s = strings.Replace(s, "inet:localhost:", "inet:127.0.0.1:", 1)
		return strings.Replace(s, "local:", "unix:", 1)
	}
	return norm(a) == norm(b)
}

// Check compares a live configuration with what mailtrace needs. logs are
// the files the collector reads.
func (s Setup) Check(pc *Postconf, logs []string) []Finding {
	var out []Finding
	add := func(sev Severity, fix, format string, args ...any) {
		out = append(out, Finding{Severity: sev, Message: fmt.Sprintf(format, args...), Fix: fix})
	}

	if v := pc.Main["mail_version"]; v != "" {
		if versionBelow(v, 3, 3) {
			add(Problem, "", "Postfix %s is too old: a milter may set ENVID only from Postfix 3.3 on; upgrade Postfix", v)
		} else {
			add(OK, "", "Postfix %s accepts ENVID from the milter", v)
		}
	}
	if p, _ := strconv.Atoi(pc.Main["milter_protocol"]); pc.Main["milter_protocol"] != "" && p < 6 {
		add(Problem, filepath.Join(pc.Dir, "main.cf")+":\nmilter_protocol = 6", "milter_protocol is %d; changing the envelope sender (ENVID, VERP) needs 6", p)
	}

	for _, w := range pc.Warnings {
		add(Warning, "", "postconf -c %s: %s", pc.Dir, strings.TrimPrefix(w, "postconf: "))
	}
	mainCF := filepath.Join(pc.Dir, "main.cf")
	for _, list := range []string{"smtpd_milters", "non_smtpd_milters"} {
		settings, found := milterEntry(pc.Main[list], s.Milter)
		fix := fmt.Sprintf("%s (keep other milters in the list):\n%s = %s", mainCF, list, s.MilterEntry())
		if cur := strings.TrimSpace(pc.Set[list]); cur != "" && !found {
			fix = fmt.Sprintf("%s (your list with mailtrace's entry added):\n%s = %s, %s", mainCF, list, cur, s.MilterEntry())
		}
		switch {
		case !found && list == "smtpd_milters":
			add(Problem, fix, "%s does not list mailtrace's milter %s: SMTP mail is not stamped", list, s.Milter)
			continue
		case !found:
			add(Warning, fix, "%s does not list mailtrace's milter %s: mail submitted with sendmail(1) is not stamped", list, s.Milter)
			continue
		}
		action, where := settings["default_action"], "its entry"
		if action == "" {
			action, where = pc.Main["milter_default_action"], "milter_default_action"
		}
		if action != "accept" {
			add(Problem, fix, "%s: default action for mailtrace's milter is %q (from %s): when mailtrace is down, Postfix would refuse or hold mail; it must be accept",
				list, action, where)
		} else {
			add(OK, "", "%s lists %s with default_action=accept", list, s.Milter)
		}
	}

	out = append(out, s.checkTables(pc)...)
	out = append(out, s.checkRouting(pc)...)

	for _, p := range s.Pools {
		svc := pc.Services[Transport(p.Name)+"/unix"]
		one := Setup{Pools: []Pool{p}}.MasterCF()
		if svc == nil {
			add(Problem, filepath.Join(pc.Dir, "master.cf")+":\n"+one, "master.cf has no transport %s for pool %s", Transport(p.Name), p.Name)
			continue
		}
		var wrong []string
		if p.SourceIP != "" && pc.option(svc, "smtp_bind_address") != p.SourceIP {
			wrong = append(wrong, fmt.Sprintf("smtp_bind_address is %q, not %s", pc.option(svc, "smtp_bind_address"), p.SourceIP))
		}
		if got := pc.option(svc, "syslog_name"); got != SyslogName(p) {
			wrong = append(wrong, fmt.Sprintf("syslog_name is %q, not %s (the collector would not know the pool)", got, SyslogName(p)))
		}
		if p.HeloName != "" && pc.option(svc, "smtp_helo_name") != p.HeloName {
			wrong = append(wrong, fmt.Sprintf("smtp_helo_name is %q, not %s", pc.option(svc, "smtp_helo_name"), p.HeloName))
		}
		if len(wrong) > 0 {
			add(Problem, filepath.Join(pc.Dir, "master.cf")+":\n"+one, "transport %s: %s", Transport(p.Name), strings.Join(wrong, "; "))
		} else {
			add(OK, "", "transport %s sends from %s as %s", Transport(p.Name), orAny(p.SourceIP), SyslogName(p))
		}
	}

	if mf := pc.Main["maillog_file"]; mf != "" && !slices.Contains(logs, mf) {
		add(Warning, "mailtrace.yaml:\ncollector:\n  logs: ["+mf+"]", "Postfix logs to maillog_file %s, which the collector does not read (it reads %s)", mf, strings.Join(logs, ", "))
	}
	for _, l := range logs {
		f, err := os.Open(l)
		if err != nil {
			add(Problem, "", "the collector cannot read the log %s: %v (run mailtrace as a user in the log's group, e.g. adm)", l, err)
			continue
		}
		f.Close()
		add(OK, "", "log %s is readable", l)
	}

	if s.BounceDomain != "" {
		route := ""
		for _, m := range SplitList(pc.Main["transport_maps"]) {
			if route = pc.Query(m, s.BounceDomain); route != "" {
				break
			}
		}
		target := s.BounceTransport
		if target == "" {
			target = "TRANSPORT:NEXTHOP (where bounce reports for mailtrace are read)"
		}
		fix := fmt.Sprintf("your transport map (transport_maps in %s; add to it, do not replace it) and relay_domains:\n%s %s",
			filepath.Join(pc.Dir, "main.cf"), s.BounceDomain, target)
		switch {
		case route == "":
			add(Problem, fix, "bounce domain %s is not in transport_maps: VERP bounces do not reach mailtrace", s.BounceDomain)
		case s.BounceTransport != "" && route != s.BounceTransport:
			add(Problem, fix, "bounce domain %s goes to %s, not to mailtrace's bounce intake %s", s.BounceDomain, route, s.BounceTransport)
		default:
			add(OK, "", "bounce domain %s goes to %s", s.BounceDomain, route)
		}
	}
	return out
}

// firstTableResult looks key up in the first table of a list that answers.
func firstTableResult(pc *Postconf, tables, key string) string {
	for _, t := range SplitList(tables) {
		if r := pc.Query(t, key); r != "" {
			return r
		}
	}
	return ""
}

func versionBelow(v string, major, minor int) bool {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return false
	}
	ma, _ := strconv.Atoi(parts[0])
	mi, _ := strconv.Atoi(parts[1])
	return ma < major || ma == major && mi < minor
}

func orAny(s string) string {
	if s == "" {
		return "(any)"
	}
	return s
}
