// Package dnstest runs a real DNS server (github.com/miekg/dns) on a
// loopback address for tests, answering from zones the test writes, as a
// recursive resolver would: CNAMEs are followed within the zones, a name
// without records is NXDOMAIN, a name with records of other types (or with
// names below it) answers NOERROR with no records, and names can be made to
// fail (SERVFAIL) or never answer (a timeout).
package dnstest

import (
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/miekg/dns"
)

// Addr is the loopback address the servers listen on: 127.0.53.1, which
// no other test of the project uses (port chosen by the system).
const Addr = "127.0.53.1"

// Server is a running DNS server.
type Server struct {
	// Address is host:port for the resolver, UDP and TCP.
	Address string

	mu       sync.Mutex
	records  map[string][]dns.RR // by lower-case FQDN
	servfail map[string]bool
	timeout  map[string]bool
	queries  int
}

// Start serves until the test ends. Records are zone-file lines:
// "example.com. 300 IN TXT \"v=spf1 -all\"".
func Start(t testing.TB, records ...string) *Server {
	t.Helper()
	return StartAt(t, Addr+":0", records...)
}

// StartAt is Start on a given address, for a resolver that cannot be told
// a port: a resolv.conf names a server that listens on port 53.
func StartAt(t testing.TB, addr string, records ...string) *Server {
	t.Helper()
	s := &Server{records: map[string][]dns.RR{}, servfail: map[string]bool{}, timeout: map[string]bool{}}
	s.Add(t, records...)
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		t.Fatalf("dnstest: %v (is %s on the loopback interface, and is the port free?)", err, addr)
	}
	port := pc.LocalAddr().(*net.UDPAddr).Port
	ln, err := net.Listen("tcp", pc.LocalAddr().String())
	if err != nil {
		pc.Close()
		t.Fatalf("dnstest: TCP on port %d: %v", port, err)
	}
	s.Address = pc.LocalAddr().String()
	udp := &dns.Server{PacketConn: pc, Handler: s}
	tcp := &dns.Server{Listener: ln, Handler: s}
	var started sync.WaitGroup
	started.Add(2)
	udp.NotifyStartedFunc = started.Done
	tcp.NotifyStartedFunc = started.Done
	go udp.ActivateAndServe()
	go tcp.ActivateAndServe()
	started.Wait()
	t.Cleanup(func() {
		udp.Shutdown()
		tcp.Shutdown()
	})
	return s
}

// Add adds zone-file records.
func (s *Server) Add(t testing.TB, records ...string) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, line := range records {
		rr, err := dns.NewRR(line)
		if err != nil || rr == nil {
			t.Fatalf("dnstest: record %q: %v", line, err)
		}
		name := key(rr.Header().Name)
		s.records[name] = append(s.records[name], rr)
	}
}

// key is a name as the server files it: its lower-cased wire form, so that
// a name written with escapes (\032) and one with the raw byte are one.
func key(name string) string {
	buf := make([]byte, 256)
	n, err := dns.PackDomainName(dns.Fqdn(name), buf, 0, nil, false)
	if err != nil {
		return strings.ToLower(dns.Fqdn(name))
	}
	return strings.ToLower(string(buf[:n]))
}

// AddRR adds records made in Go.
func (s *Server) AddRR(rrs ...dns.RR) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, rr := range rrs {
		name := key(rr.Header().Name)
		s.records[name] = append(s.records[name], rr)
	}
}

// Fail makes queries for name answer SERVFAIL.
func (s *Server) Fail(name string) {
	s.mu.Lock()
	s.servfail[key(name)] = true
	s.mu.Unlock()
}

// Drop makes queries for name go unanswered.
func (s *Server) Drop(name string) {
	s.mu.Lock()
	s.timeout[key(name)] = true
	s.mu.Unlock()
}

// Queries is how many queries the server was asked.
func (s *Server) Queries() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.queries
}

// ServeDNS implements dns.Handler.
func (s *Server) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queries++
	m := new(dns.Msg)
	m.SetReply(req)
	m.RecursionAvailable = true
	if len(req.Question) != 1 {
		m.Rcode = dns.RcodeFormatError
		w.WriteMsg(m)
		return
	}
	q := req.Question[0]
	name := key(q.Name)
	owner := q.Name // presentation form, for the answers
	hops := 0
	for ; hops < 8; hops++ {
		if s.timeout[name] {
			return
		}
		if s.servfail[name] {
			m.Answer = nil
			m.Rcode = dns.RcodeServerFailure
			w.WriteMsg(m)
			return
		}
		rrs := s.records[name]
		var cname *dns.CNAME
		for _, rr := range rrs {
			if c, ok := rr.(*dns.CNAME); ok && q.Qtype != dns.TypeCNAME {
				cname = c
			}
		}
		if cname != nil {
			m.Answer = append(m.Answer, cname)
			name, owner = key(cname.Target), cname.Target
			continue
		}
		for _, rr := range rrs {
			if rr.Header().Rrtype == q.Qtype {
				c := dns.Copy(rr)
				c.Header().Name = owner
				m.Answer = append(m.Answer, c)
			}
		}
		if len(rrs) == 0 && len(m.Answer) == 0 && !s.hasBelow(name) {
			m.Rcode = dns.RcodeNameError
		}
		break
	}
	if hops >= 8 {
		m.Answer = nil
		m.Rcode = dns.RcodeServerFailure // a CNAME loop
	}
	// Answers too large for the client's UDP size are truncated, so that it
	// asks again over TCP.
	if _, udp := w.RemoteAddr().(*net.UDPAddr); udp {
		size := dns.MinMsgSize
		if o := req.IsEdns0(); o != nil {
			size = int(o.UDPSize())
		}
		m.Truncate(size)
	}
	w.WriteMsg(m)
}

// hasBelow tells an empty non-terminal: a name with names below it.
func (s *Server) hasBelow(name string) bool {
	for n := range s.records {
		if len(n) > len(name) && strings.HasSuffix(n, name) {
			return true
		}
	}
	return false
}
