package senderauth

import (
	"context"
	"fmt"
	"net"
	"strings"

	"blitiri.com.ar/go/spf"

	"github.com/mailtrace/mailtrace/resolver"
)

// SPF limits (RFC 7208 section 4.6.4).
const (
	MaxLookups     = 10
	MaxVoidLookups = 2
)

// SPFResult is the evaluation of one identity for one IP.
type SPFResult struct {
	Domain string
	IP     string
	Result spf.Result
	Err    error
}

// EvaluateSPF evaluates, as a receiver would, whether ip may send as
// sender (MAIL FROM, or postmaster@HELO for the HELO identity).
func EvaluateSPF(ctx context.Context, r *resolver.Resolver, ip, helo, sender string) SPFResult {
	_, domain, _ := strings.Cut(sender, "@")
	res, err := spf.CheckHostWithSender(net.ParseIP(ip), helo, sender, spf.WithResolver(r), spf.WithContext(ctx))
	if err == spf.ErrNoResult || res == spf.Pass {
		err = nil
	}
	return SPFResult{Domain: domain, IP: ip, Result: res, Err: err}
}

// SPFCount is what a domain's SPF record costs receivers in lookups.
type SPFCount struct {
	Record  string
	Lookups int // terms that make a DNS lookup (include, a, mx, ptr, exists, redirect), through includes
	Voids   int // of them, lookups that found nothing
	// Macros lists terms whose target is a macro, not followed.
	Macros []string
}

// CountSPF walks a domain's SPF record and its includes and redirect.
func CountSPF(ctx context.Context, r *resolver.Resolver, domain string) (SPFCount, error) {
	var c SPFCount
	rec, err := spfRecord(ctx, r, domain)
	if err != nil {
		return c, err
	}
	c.Record = rec
	if rec == "" {
		return c, nil
	}
	err = countTerms(ctx, r, domain, rec, &c, 0)
	return c, err
}

// spfRecord is the domain's SPF TXT record, "" when it has none.
func spfRecord(ctx context.Context, r *resolver.Resolver, domain string) (string, error) {
	txts, err := r.LookupTXT(ctx, domain)
	if resolver.IsNotFound(err) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	var found []string
	for _, t := range txts {
		if l := strings.ToLower(t); l == "v=spf1" || strings.HasPrefix(l, "v=spf1 ") {
			found = append(found, t)
		}
	}
	if len(found) > 1 {
		return "", fmt.Errorf("senderauth: %s has %d SPF records, a permanent error for receivers: keep one", domain, len(found))
	}
	if len(found) == 0 {
		return "", nil
	}
	return found[0], nil
}

func countTerms(ctx context.Context, r *resolver.Resolver, domain, rec string, c *SPFCount, depth int) error {
	if depth > MaxLookups {
		return nil // a loop: the count is over the limit already
	}
	for _, term := range strings.Fields(rec)[1:] {
		t := strings.ToLower(strings.TrimLeft(term, "+-~?"))
		name, target, _ := strings.Cut(t, ":")
		if name == t {
			name, target, _ = strings.Cut(t, "=")
		}
		if i := strings.IndexByte(name, '/'); i >= 0 {
			name = name[:i]
		}
		if i := strings.IndexByte(target, '/'); i >= 0 {
			target = target[:i]
		}
		switch name {
		case "include", "redirect":
			c.Lookups++
			if strings.Contains(target, "%") {
				c.Macros = append(c.Macros, term)
				continue
			}
			sub, err := spfRecord(ctx, r, target)
			if err != nil {
				return err
			}
			if sub == "" {
				c.Voids++
				continue
			}
			if err := countTerms(ctx, r, target, sub, c, depth+1); err != nil {
				return err
			}
		case "a", "mx", "ptr", "exists":
			c.Lookups++
			if target == "" {
				target = domain
			}
			if strings.Contains(target, "%") {
				c.Macros = append(c.Macros, term)
				continue
			}
			var err error
			switch name {
			case "mx":
				_, err = r.LookupMX(ctx, target)
			case "ptr":
				continue // depends on the connecting IP
			default:
				_, err = r.LookupIPAddr(ctx, target)
			}
			if resolver.IsNotFound(err) {
				c.Voids++
			} else if err != nil {
				return err
			}
		}
	}
	return nil
}

// withIP is the record with ip added before its all term (or a new
// record), for the fix.
func withIP(record, ip string) string {
	mech := "ip4:" + ip
	if strings.Contains(ip, ":") {
		mech = "ip6:" + ip
	}
	if record == "" {
		return "v=spf1 " + mech + " -all"
	}
	fields := strings.Fields(record)
	for i, f := range fields {
		l := strings.ToLower(strings.TrimLeft(f, "+-~?"))
		if l == "all" || strings.HasPrefix(l, "redirect=") {
			return strings.Join(append(append(append([]string{}, fields[:i]...), mech), fields[i:]...), " ")
		}
	}
	return strings.Join(append(fields, mech), " ")
}
