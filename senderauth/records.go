package senderauth

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/mailtrace/mailtrace/resolver"
)

// Records prints the DNS records that fit the config: for each envelope
// domain an SPF record allowing every address its classes leave from
// (what the domain publishes now, with the missing addresses added; only a
// commented hint when a class leaves from an address mailtrace does not
// know, see Source), for
// each From domain a DMARC record sending aggregate reports to the intake
// (keeping a published policy), the authorisation the intake's domain
// must publish when it is another, and a TLS-RPT record.
func (s Setup) Records(ctx context.Context, r *resolver.Resolver) string {
	var b strings.Builder
	rua := "dmarc-reports@example.com"
	if len(s.ReportAddresses) > 0 {
		rua = s.ReportAddresses[0]
	}
	ips, unknown := map[string][]string{}, map[string][]string{}
	var envs, froms []string
	for _, cl := range s.Classes {
		env := s.Envelope(cl)
		if env == "" {
			continue
		}
		if !slices.Contains(envs, env) {
			envs = append(envs, env)
		}
		src := s.Source(cl)
		if len(src.IPs) == 0 {
			unknown[env] = append(unknown[env], fmt.Sprintf("class %s leaves through %s (%s)", cl.Name, src.Via, src.From))
		}
		for _, ip := range src.IPs {
			if !slices.Contains(ips[env], ip) {
				ips[env] = append(ips[env], ip)
			}
		}
		if f := strings.ToLower(cl.FromDomain); f != "" && !slices.Contains(froms, f) {
			froms = append(froms, f)
		}
	}
	b.WriteString("; SPF: each envelope (MAIL FROM) domain allows every address its classes leave from\n")
	for _, env := range envs {
		rec := ""
		if r != nil {
			rec, _ = spfRecord(ctx, r, env)
		}
		for _, ip := range ips[env] {
			if res := spfAllows(rec, ip); !res {
				rec = withIP(rec, ip)
			}
		}
		if len(unknown[env]) > 0 {
			// A record without every address would make that mail fail
			// SPF: only a hint, commented out.
			for _, u := range unknown[env] {
				b.WriteString("; " + env + ": " + u + ", from an address mailtrace does not know\n")
			}
			b.WriteString("; keep the published mechanisms and add the host's outgoing address in place of " + unknownAddress + ":\n")
			b.WriteString("; " + zoneTXT(env, withIP(rec, unknownAddress)) + "\n")
			continue
		}
		if rec == "" {
			rec = "v=spf1 -all"
		}
		b.WriteString(zoneTXT(env, rec) + "\n")
	}
	b.WriteString("\n; DMARC: aggregate reports to mailtrace's intake (start at p=none, tighten once every source aligns)\n")
	intakeDomain := rua[strings.LastIndexByte(rua, '@')+1:]
	var authorise []string
	for _, f := range froms {
		name, rec := "_dmarc."+f, "v=DMARC1; p=none; rua=mailto:"+rua
		if r != nil {
			if pol, err := Discover(ctx, r, f); err == nil && pol.Record != nil {
				name = "_dmarc." + pol.At
				rec = withRUA(pol.Record.Raw, rua)
			}
			if ok, err := Aligned(ctx, r, intakeDomain, f, AlignRelaxed); err == nil && !ok {
				authorise = append(authorise, f)
			}
		}
		if !strings.Contains(b.String(), name+". ") {
			b.WriteString(zoneTXT(name, rec) + "\n")
		}
	}
	if len(authorise) > 0 {
		b.WriteString(fmt.Sprintf("\n; in the zone of %s: it accepts reports for the other domains (RFC 9990 section 4)\n", intakeDomain))
		for _, f := range authorise {
			b.WriteString(zoneTXT(f+"._report._dmarc."+intakeDomain, "v=DMARC1") + "\n")
		}
	}
	b.WriteString("\n; TLS-RPT: SMTP TLS reports to mailtrace's intake\n")
	for _, f := range froms {
		b.WriteString(zoneTXT("_smtp._tls."+f, "v=TLSRPTv1; rua=mailto:"+rua) + "\n")
	}
	return b.String()
}

// spfAllows tells a record that lists ip itself.
func spfAllows(record, ip string) bool {
	for _, f := range strings.Fields(strings.ToLower(record)) {
		f = strings.TrimPrefix(f, "+")
		if f == "ip4:"+ip || f == "ip6:"+strings.ToLower(ip) {
			return true
		}
	}
	return false
}

// withRUA is a DMARC record with the intake in its rua= list.
func withRUA(record, addr string) string {
	parts := strings.Split(record, ";")
	for i, p := range parts {
		k, v, ok := strings.Cut(p, "=")
		if ok && strings.EqualFold(strings.TrimSpace(k), "rua") {
			if strings.Contains(strings.ToLower(v), strings.ToLower(addr)) {
				return record
			}
			parts[i] = " rua=" + strings.TrimSpace(v) + ",mailto:" + addr
			return strings.Join(parts, ";")
		}
	}
	return addTag(record, "rua=mailto:"+addr)
}
