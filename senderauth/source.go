package senderauth

import (
	"net/netip"
	"strings"

	"github.com/mailtrace/mailtrace/postfixconf"
)

// Source is where a class's mail leaves from, as far as mailtrace knows.
type Source struct {
	// Via says the route: "pool NAME" or "Postfix's own routing".
	Via string
	// IPs are the addresses the mail leaves from; empty when mailtrace
	// does not know them.
	IPs  []string
	Helo string
	// From says where the addresses were read (smtp_bind_address,
	// inet_interfaces, the pool's source_ip), or why they are unknown.
	From string
	// Routed tells mail routed through a pool by its VERP envelope sender.
	Routed bool
}

// unknownAddress stands for the host's outgoing address in a hint.
const unknownAddress = "OUTGOING-ADDRESS"

// Source is where a class's mail leaves from. Only a class with verp: true
// and a pool leaves through the pool: Postfix routes by the VERP envelope
// sender (sender_dependent_default_transport_maps). Any other class leaves
// through Postfix's own routing, from the address its default transport
// binds to when the Postfix configuration states one.
func (s Setup) Source(c Class) Source {
	if c.VERP && c.Pool != "" {
		if p, ok := s.pool(c.Pool); ok {
			src := Source{Via: "pool " + p.Name, Helo: p.HeloName, Routed: true, From: "the pool's source_ip"}
			if p.SourceIP != "" {
				src.IPs = []string{p.SourceIP}
			} else {
				src.From = "pool " + p.Name + " has no source_ip"
			}
			return src
		}
	}
	src := Source{Via: "Postfix's own routing"}
	pc := s.Postfix
	if pc == nil {
		src.From = "the Postfix configuration was not read"
		return src
	}
	if relay := pc.Main["relayhost"]; relay != "" {
		src.From = "it is relayed through relayhost " + relay + ", whose outgoing address mailtrace does not know"
		return src
	}
	transport, nexthop, _ := strings.Cut(pc.Main["default_transport"], ":")
	if nexthop != "" {
		src.From = "it is relayed through default_transport " + pc.Main["default_transport"] + ", whose outgoing address mailtrace does not know"
		return src
	}
	svc := pc.Services[transport+"/unix"]
	get := func(name string) string {
		if svc != nil {
			return option(pc, svc, name)
		}
		return pc.Main[name]
	}
	src.Helo = get("smtp_helo_name")
	var from []string
	for _, name := range []string{"smtp_bind_address", "smtp_bind_address6"} {
		if v := strings.TrimSpace(get(name)); v != "" {
			src.IPs = append(src.IPs, v)
			from = append(from, name)
		}
	}
	if len(src.IPs) == 0 {
		// Postfix binds to inet_interfaces when it names one non-loopback
		// address of a family (smtp_bind_address in postconf(5)).
		var v4, v6 []netip.Addr
		for _, f := range postfixconf.SplitList(get("inet_interfaces")) {
			a, err := netip.ParseAddr(strings.Trim(f, "[]"))
			if err != nil {
				v4, v6 = nil, nil
				break
			}
			if a.Is4() {
				v4 = append(v4, a)
			} else {
				v6 = append(v6, a)
			}
		}
		for _, fam := range [][]netip.Addr{v4, v6} {
			if len(fam) == 1 && !fam[0].IsLoopback() {
				src.IPs = append(src.IPs, fam[0].String())
			}
		}
		if len(src.IPs) > 0 {
			from = append(from, "inet_interfaces")
		}
	}
	if len(src.IPs) == 0 {
		src.From = "neither smtp_bind_address nor inet_interfaces names it"
		return src
	}
	src.From = strings.Join(from, ", ")
	return src
}
