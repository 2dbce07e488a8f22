package postfixconf

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/mailtrace/mailtrace/header"
)

// checkTables checks the two tables mailtrace installs: the header table
// that logs trace IDs (and holds no pool FILTER any more) and the
// sender-dependent transport table that routes VERP classes' mail.
func (s Setup) checkTables(pc *Postconf) []Finding {
	var out []Finding
	add := func(sev Severity, fix, format string, args ...any) {
		out = append(out, Finding{Severity: sev, Message: fmt.Sprintf(format, args...), Fix: fix})
	}
	here := s
	here.Dir = pc.Dir
	here.DefaultNexthop = NexthopOf(pc.Main["default_transport"])
	mainCF := filepath.Join(pc.Dir, "main.cf")

	hc := strings.TrimSpace(pc.Main["milter_header_checks"])
	switch {
	case hc == "":
		add(Warning, fmt.Sprintf("%s:\nmilter_header_checks = regexp:%s\n\n%s:\n%s", mainCF, here.HeaderChecksPath(), here.HeaderChecksPath(), here.HeaderChecksTable()),
			"milter_header_checks is not set: the log does not name trace IDs (queue and trace IDs are linked by the accept records only)")
	case !strings.HasPrefix(strings.ToUpper(firstTableResult(pc, hc, header.ID+": 01900000-0000-7000-8000-000000000000")), "INFO"):
		add(Warning, "your table "+hc+" (milter_header_checks in "+mainCF+"), add:\n/^"+header.ID+": / INFO",
			"milter_header_checks does not INFO-log X-Mailtrace-ID: the log alone cannot link queue and trace IDs")
	default:
		add(OK, "", "milter_header_checks logs X-Mailtrace-ID")
	}
	// The routing of earlier versions: a FILTER on X-Mailtrace-Pool sends
	// every recipient of the message, local and mapped ones too, to the
	// pool's transport with no next hop.
	for _, param := range []string{"milter_header_checks", "header_checks"} {
		for _, t := range SplitList(pc.Main[param]) {
			for _, p := range s.Pools {
				got := pc.Query(t, header.Pool+": "+p.Name)
				if strings.HasPrefix(strings.ToUpper(got), "FILTER") {
					add(Problem, fmt.Sprintf("%s (%s in %s), remove the line:\n/^X-Mailtrace-Pool: %s$/ %s", t, param, mainCF, p.Name, got),
						"%s %s answers %q for X-Mailtrace-Pool: %s: that sends every recipient of the message, local, virtual and transport_maps ones too, to the pool's transport, where they bounce; pools are routed by sender_dependent_default_transport_maps now",
						param, t, got, p.Name)
				}
			}
		}
	}

	sddtm := strings.TrimSpace(pc.Main["sender_dependent_default_transport_maps"])
	var missing, answers, names []string
	for _, p := range s.RoutedPools() {
		want := here.SenderRoute(p.Name)
		got := firstTableResult(pc, sddtm, s.SampleSender(p.Name))
		if got == want || here.DefaultNexthop == "" && strings.HasPrefix(got, want+":") {
			add(OK, "", "pool %s: mail with the VERP sender %s leaves through %s where Postfix would use default_transport", p.Name, s.SampleSender(p.Name), got)
			continue
		}
		names = append(names, p.Name)
		answers = append(answers, fmt.Sprintf("%s for %s", quoteOrNone(got), s.SampleSender(p.Name)))
		missing = append(missing, s.SenderPattern(p.Name)+" "+want)
	}
	if len(missing) > 0 {
		fix := fmt.Sprintf("%s:\nsender_dependent_default_transport_maps = regexp:%s\n\n%s:\n%s", mainCF, here.SenderTransportPath(), here.SenderTransportPath(), here.SenderTransportTable())
		switch {
		case sddtm != "" && !HasPatternTable(sddtm):
			fix = fmt.Sprintf("%s (your tables, %s, after mailtrace's: they hold no regexp: or pcre: table for its patterns):\nsender_dependent_default_transport_maps = regexp:%s, %s\n\n%s:\n%s",
				mainCF, sddtm, here.SenderTransportPath(), sddtm, here.SenderTransportPath(), here.SenderTransportTable())
		case sddtm != "":
			fix = fmt.Sprintf("your table %s (sender_dependent_default_transport_maps in %s), add (or list regexp:%s first):\n%s",
				sddtm, mainCF, here.SenderTransportPath(), strings.Join(missing, "\n"))
		}
		which := "pool " + names[0] + " is"
		if len(names) > 1 {
			which = "pools " + strings.Join(names, ", ") + " are"
		}
		if here.DefaultNexthop != "" {
			add(Problem, fix, "%s not routed as default_transport (%s) would route it: sender_dependent_default_transport_maps answers %s, not smtp-POOL:%s; that answer replaces default_transport with its next hop, so without the next hop pool mail goes to relayhost or the recipient's MX",
				which, pc.Main["default_transport"], strings.Join(answers, ", "), here.DefaultNexthop)
		} else {
			add(Problem, fix, "%s not routed: sender_dependent_default_transport_maps answers %s, not smtp-POOL; the mail leaves through the default transport and its IP",
				which, strings.Join(answers, ", "))
		}
	}
	return out
}

// checkRouting reports what pool routing leaves to Postfix (facts), and
// what in the configuration would bypass it or change the VERP sender it
// keys on (problems).
func (s Setup) checkRouting(pc *Postconf) []Finding {
	var out []Finding
	add := func(sev Severity, fix, format string, args ...any) {
		out = append(out, Finding{Severity: sev, Message: fmt.Sprintf(format, args...), Fix: fix})
	}
	mainCF := filepath.Join(pc.Dir, "main.cf")
	for _, c := range s.Unrouted() {
		add(Warning, "mailtrace.yaml (and the verp section, with the bounce domain routed to the intake):\nmilter:\n  classes:\n    - {name: "+c.Name+", pool: "+c.Pool+", verp: true}",
			"class %s names pool %s but has no verp: true: its mail leaves as Postfix routes it, not through the pool (a pool is named in the VERP return path; without VERP its pool shows as none)", c.Name, c.Pool)
	}
	routed := s.RoutedPools()
	if len(routed) == 0 {
		add(Info, "", "no class with verp: true names a pool: all mail leaves as Postfix routes it")
		return out
	}
	sample := s.SampleSender(routed[0].Name)
	atBounce := "@" + strings.ToLower(s.BounceDomain)

	for _, d := range []struct{ param, how string }{
		{"mydestination", "are delivered locally (local_transport)"},
		{"virtual_alias_domains", "are aliased and then routed by their new address"},
		{"virtual_mailbox_domains", "are delivered by virtual_transport"},
		{"relay_domains", "go through relay_transport"},
	} {
		// An empty $mydestination leaves ", bounces..." after expansion.
		if v := strings.Join(SplitList(pc.Main[d.param]), ", "); v != "" {
			add(Info, "", "recipients in %s (%s) %s, not through a pool", d.param, v, d.how)
		}
	}
	if tm := strings.TrimSpace(pc.Main["transport_maps"]); tm != "" {
		if got := firstTableResult(pc, tm, "*"); got != "" {
			add(Problem, "your transport map "+tm+" (transport_maps in "+mainCF+"): remove the * entry, or accept that no mail leaves through a pool",
				"transport_maps (%s) has a * entry (%s): every recipient takes it, so no mail reaches a pool's transport", tm, got)
		} else {
			add(Info, "", "recipients that transport_maps (%s) matches take the route it gives, not a pool", tm)
		}
	}
	if rh := strings.TrimSpace(pc.Main["relayhost"]); rh != "" {
		add(Info, "", "relayhost is %s: pools' transports send to it, each from its pool's IP", rh)
	}
	if dt := strings.TrimSpace(pc.Main["default_transport"]); dt != "" {
		transport, nexthop, _ := strings.Cut(dt, ":")
		if nexthop != "" {
			add(Info, "", "default_transport %s names a next hop: the sender table must give it to the pools' transports too (smtp-POOL:%s), as it comes before relayhost", dt, nexthop)
		}
		if transport != "smtp" {
			add(Warning, "", "default_transport is %s, not smtp: mail of classes without VERP uses it, but VERP classes' mail leaves through smtp-POOL instead; if %s holds mail back on purpose (error, discard, retry, a filter), pool routing lets it out", dt, transport)
		}
	}
	if m := strings.TrimSpace(pc.Main["sender_dependent_relayhost_maps"]); m != "" {
		if got := s.senderLookup(pc, m, sample); got != "" {
			add(Info, "", "sender_dependent_relayhost_maps sends VERP mail (%s) to %s, through the pools' transports", sample, got)
		} else {
			add(Warning, "your map "+m+" (sender_dependent_relayhost_maps in "+mainCF+"), if VERP mail must use a relay:\n"+atBounce+" [relay.example]:587",
				"sender_dependent_relayhost_maps (%s) is keyed by the envelope sender, and VERP classes' sender is %s: entries for your own senders no longer apply to their mail, which goes to relayhost or the recipient's MX", m, sample)
		}
	}
	if strings.EqualFold(strings.TrimSpace(pc.Main["smtp_sender_dependent_authentication"]), "yes") {
		m := strings.TrimSpace(pc.Main["smtp_sasl_password_maps"])
		if got := s.senderLookup(pc, m, sample); got == "" {
			add(Warning, "your map "+m+" (smtp_sasl_password_maps in "+mainCF+"), add:\n"+atBounce+" user:password",
				"smtp_sender_dependent_authentication is on and smtp_sasl_password_maps (%s) has no entry for VERP senders (%s): their mail logs in to the relay with the relay's default credentials, or none", m, atBounce)
		} else {
			add(OK, "", "smtp_sasl_password_maps has credentials for VERP senders")
		}
	}
	for _, c := range []struct{ maps, classes string }{
		{"canonical_maps", "canonical_classes"},
		{"sender_canonical_maps", "sender_canonical_classes"},
	} {
		m := strings.TrimSpace(pc.Main[c.maps])
		if m == "" || !strings.Contains(pc.Main[c.classes], "envelope_sender") {
			continue
		}
		if got := s.senderLookup(pc, m, sample); got != "" {
			add(Problem, fmt.Sprintf("your map %s (%s in %s): let no entry match %s (or leave envelope_sender out of %s)", m, c.maps, mainCF, atBounce, c.classes),
				"%s (%s) rewrites the VERP sender %s to %s: Postfix then routes no mail to a pool and bounces do not reach mailtrace", c.maps, m, sample, got)
		} else {
			add(OK, "", "%s leaves VERP senders alone", c.maps)
		}
	}
	if md := strings.TrimSpace(pc.Main["masquerade_domains"]); md != "" && strings.Contains(pc.Main["masquerade_classes"], "envelope_sender") {
		for _, d := range SplitList(md) {
			d = strings.ToLower(d)
			bounce := strings.ToLower(s.BounceDomain)
			if strings.HasPrefix(d, "!") {
				if strings.TrimPrefix(d, "!") == bounce {
					break
				}
				continue
			}
			if strings.HasSuffix(bounce, "."+d) {
				add(Problem, fmt.Sprintf("%s (keep the exception first):\nmasquerade_domains = !%s, %s", mainCF, bounce, md),
					"masquerade_domains (%s) strips %s down to %s in envelope senders: VERP senders lose their domain, no mail reaches a pool and bounces do not reach mailtrace", md, bounce, d)
				break
			}
		}
	}
	return out
}

func quoteOrNone(s string) string {
	if s == "" {
		return "nothing"
	}
	return fmt.Sprintf("%q", s)
}

// senderLookup looks an envelope sender up in sender-keyed tables as
// Postfix does: the address, then @domain.
func (s Setup) senderLookup(pc *Postconf, tables, sender string) string {
	if got := firstTableResult(pc, tables, sender); got != "" {
		return got
	}
	_, domain, _ := strings.Cut(sender, "@")
	return firstTableResult(pc, tables, "@"+domain)
}
