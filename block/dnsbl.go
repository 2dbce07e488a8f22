package block

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/mailtrace/mailtrace/resolver"
)

// Target is one of our sending IPs to check.
type Target struct {
	Pool, IP string
}

// Checker looks our IPs up in DNS blocklists (RFC 5782).
type Checker struct {
	zones    []string
	resolver *resolver.Resolver
	interval time.Duration
	targets  []Target
	det      *Detector
	log      *slog.Logger
}

// NewChecker makes the checker the config names, or nil when it has no
// zones or no targets.
func NewChecker(c DNSBLConfig, targets []Target, det *Detector, logger *slog.Logger) (*Checker, error) {
	if len(c.Zones) == 0 || len(targets) == 0 {
		return nil, nil
	}
	res, err := resolver.New(c.Resolver, 5*time.Second)
	if err != nil {
		return nil, fmt.Errorf("blocks.dnsbl: %w; set blocks.dnsbl.resolver", err)
	}
	if c.Interval <= 0 {
		c.Interval = 15 * time.Minute
	}
	if logger == nil {
		logger = slog.Default()
	}
	return &Checker{zones: c.Zones, resolver: res, interval: c.Interval, targets: targets, det: det, log: logger}, nil
}

// Run checks every target in every zone now and then at each interval,
// until ctx ends.
func (c *Checker) Run(ctx context.Context) {
	if c == nil {
		return
	}
	t := time.NewTicker(c.interval)
	defer t.Stop()
	for {
		c.CheckAll(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// CheckAll checks every target in every zone once.
func (c *Checker) CheckAll(ctx context.Context) {
	for _, t := range c.targets {
		for _, zone := range c.zones {
			if ctx.Err() != nil {
				return
			}
			listed, answer, txt, err := c.Lookup(ctx, t.IP, zone)
			switch {
			case err != nil:
				c.det.metrics.dnsblError(zone)
				c.log.Warn("DNS blocklist lookup failed", "zone", zone, "ip", t.IP, "err", err)
			case listed:
				c.det.Listed(t.Pool, t.IP, zone, answer, txt, time.Now())
			default:
				c.det.NotListed(t.Pool, t.IP, zone, time.Now())
			}
		}
	}
}

// ErrRefused is a list's refusal to answer (Spamhaus answers 127.255.255.x
// to queries through public resolvers, over the free limits, or malformed).
var ErrRefused = errors.New("the list refused the query")

// Lookup asks a zone about an IP: listed or not, the A answer and the TXT
// reason.
func (c *Checker) Lookup(ctx context.Context, ip, zone string) (bool, string, string, error) {
	name, err := queryName(ip, zone)
	if err != nil {
		return false, "", "", err
	}
	r, err := c.resolver.Exchange(ctx, name, dns.TypeA)
	if err != nil {
		return false, "", "", err
	}
	switch r.Rcode {
	case dns.RcodeNameError:
		return false, "", "", nil
	case dns.RcodeSuccess:
	default:
		return false, "", "", fmt.Errorf("%s: %s", name, dns.RcodeToString[r.Rcode])
	}
	var answers []string
	for _, rr := range r.Answer {
		a, ok := rr.(*dns.A)
		if !ok {
			continue
		}
		addr, _ := netip.AddrFromSlice(a.A.To4())
		if addr.As4()[0] != 127 {
			return false, "", "", fmt.Errorf("%s: answer %s is outside 127.0.0.0/8: the zone or resolver is not a blocklist", name, addr)
		}
		if strings.HasPrefix(addr.String(), "127.255.255.") {
			return false, "", "", fmt.Errorf("%s: %w (answer %s)", name, ErrRefused, addr)
		}
		answers = append(answers, addr.String())
	}
	if len(answers) == 0 {
		return false, "", "", nil
	}
	txt := ""
	if rt, err := c.resolver.Exchange(ctx, name, dns.TypeTXT); err == nil {
		for _, rr := range rt.Answer {
			if t, ok := rr.(*dns.TXT); ok {
				txt = strings.Join(t.Txt, "")
				break
			}
		}
	}
	return true, strings.Join(answers, ","), txt, nil
}

// queryName is the blocklist query name of an IP: its IPv4 octets or IPv6
// nibbles reversed, under the zone (RFC 5782 section 2.1).
func queryName(ip, zone string) (string, error) {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return "", fmt.Errorf("%q is not an IP address", ip)
	}
	addr = addr.Unmap()
	var labels []string
	if addr.Is4() {
		b := addr.As4()
		for i := 3; i >= 0; i-- {
			labels = append(labels, fmt.Sprint(b[i]))
		}
	} else {
		b := addr.As16()
		const hexdigits = "0123456789abcdef"
		for i := 15; i >= 0; i-- {
			labels = append(labels, string(hexdigits[b[i]&0xf]), string(hexdigits[b[i]>>4]))
		}
	}
	return strings.Join(labels, ".") + "." + dns.Fqdn(zone), nil
}
