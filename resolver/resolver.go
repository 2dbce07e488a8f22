// Package resolver is mailtrace's one DNS client (RFC 1035, over
// github.com/miekg/dns): every lookup the project makes — DNS blocklists
// (RFC 5782), SPF (RFC 7208), DKIM keys (RFC 6376), DMARC records (RFC
// 9989), reverse DNS, MTA-STS and TLS-RPT records — goes to the resolver
// the config names, or the first nameserver of /etc/resolv.conf.
//
// Resolver answers raw queries (Exchange, for callers that need the rcode
// and every record) and has the lookups of *net.Resolver (LookupTXT,
// LookupMX, LookupIPAddr, LookupAddr) with its error conventions, so that
// libraries written against net.Resolver (blitiri.com.ar/go/spf) resolve
// through it: a name that does not exist, or has no record of the type, is
// a *net.DNSError with IsNotFound; SERVFAIL and timeouts are temporary.
package resolver

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// Resolver sends queries to one recursive resolver.
type Resolver struct {
	server string
	udp    *dns.Client
	tcp    *dns.Client
}

// DefaultTimeout is how long one query waits for its answer.
const DefaultTimeout = 5 * time.Second

// New makes a resolver for server (host:port, or a host for port 53); an
// empty server means the first nameserver of /etc/resolv.conf.
func New(server string, timeout time.Duration) (*Resolver, error) {
	if server == "" {
		var err error
		if server, err = SystemServer("/etc/resolv.conf"); err != nil {
			return nil, err
		}
	} else if _, _, err := net.SplitHostPort(server); err != nil {
		if _, perr := netip.ParseAddr(strings.Trim(server, "[]")); perr != nil {
			return nil, fmt.Errorf("resolver %q: give host:port (127.0.0.1:53) or an IP address", server)
		}
		server = net.JoinHostPort(strings.Trim(server, "[]"), "53")
	}
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	return &Resolver{server: server, udp: &dns.Client{Timeout: timeout, UDPSize: 4096},
		tcp: &dns.Client{Net: "tcp", Timeout: timeout}}, nil
}

// Server is where the queries go.
func (r *Resolver) Server() string { return r.server }

// SystemServer is the first nameserver of a resolv.conf file.
func SystemServer(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("resolver: %w; name a resolver in the config", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fields := strings.Fields(sc.Text()); len(fields) >= 2 && fields[0] == "nameserver" {
			return net.JoinHostPort(fields[1], "53"), nil
		}
	}
	return "", fmt.Errorf("resolver: no nameserver in %s; name a resolver in the config", path)
}

// Exchange asks one question with recursion desired, over UDP and again
// over TCP when the answer was truncated.
func (r *Resolver) Exchange(ctx context.Context, name string, qtype uint16) (*dns.Msg, error) {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	m.RecursionDesired = true
	m.SetEdns0(4096, false)
	resp, _, err := r.udp.ExchangeContext(ctx, m, r.server)
	if err == nil && resp.Truncated {
		resp, _, err = r.tcp.ExchangeContext(ctx, m, r.server)
	}
	if err != nil {
		return nil, err
	}
	return resp, nil
}

// lookup asks and turns failures into *net.DNSError as net.Resolver does.
// It returns the answer's records of qtype, following the CNAMEs in it.
func (r *Resolver) lookup(ctx context.Context, name string, qtype uint16) ([]dns.RR, error) {
	if _, ok := dns.IsDomainName(name); !ok || name == "" {
		return nil, &net.DNSError{Err: "invalid domain name", Name: name, IsNotFound: true}
	}
	resp, err := r.Exchange(ctx, name, qtype)
	if err != nil {
		var ne net.Error
		timeout := errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded)
		return nil, &net.DNSError{Err: err.Error(), Name: name, Server: r.server, IsTimeout: timeout, IsTemporary: true}
	}
	switch resp.Rcode {
	case dns.RcodeSuccess:
	case dns.RcodeNameError:
		return nil, &net.DNSError{Err: "no such host", Name: name, Server: r.server, IsNotFound: true}
	default:
		return nil, &net.DNSError{Err: "server answered " + dns.RcodeToString[resp.Rcode], Name: name, Server: r.server,
			IsTemporary: resp.Rcode == dns.RcodeServerFailure}
	}
	var out []dns.RR
	for _, rr := range resp.Answer {
		if rr.Header().Rrtype == qtype {
			out = append(out, rr)
		}
	}
	if len(out) == 0 {
		return nil, &net.DNSError{Err: "no such host", Name: name, Server: r.server, IsNotFound: true}
	}
	return out, nil
}

// LookupTXT returns the TXT records of name, each record's strings joined
// (RFC 7208 section 3.3).
func (r *Resolver) LookupTXT(ctx context.Context, name string) ([]string, error) {
	rrs, err := r.lookup(ctx, name, dns.TypeTXT)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(rrs))
	for _, rr := range rrs {
		out = append(out, strings.Join(rr.(*dns.TXT).Txt, ""))
	}
	return out, nil
}

// LookupMX returns the MX records of name.
func (r *Resolver) LookupMX(ctx context.Context, name string) ([]*net.MX, error) {
	rrs, err := r.lookup(ctx, name, dns.TypeMX)
	if err != nil {
		return nil, err
	}
	out := make([]*net.MX, 0, len(rrs))
	for _, rr := range rrs {
		mx := rr.(*dns.MX)
		out = append(out, &net.MX{Host: mx.Mx, Pref: mx.Preference})
	}
	return out, nil
}

// LookupIPAddr returns the A and AAAA addresses of host; it is not found
// only when neither exists.
func (r *Resolver) LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error) {
	var out []net.IPAddr
	var firstErr error
	for _, qtype := range []uint16{dns.TypeA, dns.TypeAAAA} {
		rrs, err := r.lookup(ctx, host, qtype)
		if err != nil {
			var de *net.DNSError
			if !errors.As(err, &de) || !de.IsNotFound {
				return nil, err
			}
			firstErr = err
			continue
		}
		for _, rr := range rrs {
			switch a := rr.(type) {
			case *dns.A:
				out = append(out, net.IPAddr{IP: a.A})
			case *dns.AAAA:
				out = append(out, net.IPAddr{IP: a.AAAA})
			}
		}
	}
	if len(out) == 0 {
		return nil, firstErr
	}
	return out, nil
}

// LookupAddr returns the PTR names of an address (fully qualified, with
// the final dot, as net.Resolver gives them).
func (r *Resolver) LookupAddr(ctx context.Context, addr string) ([]string, error) {
	name, err := dns.ReverseAddr(addr)
	if err != nil {
		return nil, &net.DNSError{Err: "not an IP address", Name: addr, IsNotFound: true}
	}
	rrs, err := r.lookup(ctx, name, dns.TypePTR)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(rrs))
	for _, rr := range rrs {
		out = append(out, rr.(*dns.PTR).Ptr)
	}
	return out, nil
}

// IsNotFound tells an error that means the name or record does not exist.
func IsNotFound(err error) bool {
	var de *net.DNSError
	return errors.As(err, &de) && de.IsNotFound
}
