package senderauth

import (
	"context"
	"fmt"
	"strings"

	"github.com/mailtrace/mailtrace/resolver"
)

// DMARCRecord is a DMARC policy record (RFC 9989 section 4.7; RFC 7489's
// pct is still read). Tags absent are "".
type DMARCRecord struct {
	Raw         string
	P, SP, NP   string
	ADKIM, ASPF string
	Testing     string // t=
	PSD         string // psd=
	Pct         string
	RUA, RUF    []string
	FO          string
}

// Alignment modes.
const (
	AlignRelaxed = "r"
	AlignStrict  = "s"
)

// ParseDMARC reads a DMARC record: v=DMARC1 first, then tag=value pairs
// separated by ";".
func ParseDMARC(txt string) (*DMARCRecord, error) {
	parts := strings.Split(txt, ";")
	if v := strings.TrimSpace(parts[0]); !strings.EqualFold(strings.ReplaceAll(v, " ", ""), "v=DMARC1") {
		return nil, fmt.Errorf("senderauth: %q does not start with v=DMARC1", clip(txt))
	}
	r := &DMARCRecord{Raw: txt}
	for _, p := range parts[1:] {
		k, v, ok := strings.Cut(p, "=")
		if !ok {
			if strings.TrimSpace(p) == "" {
				continue
			}
			return nil, fmt.Errorf("senderauth: DMARC tag %q has no value", clip(p))
		}
		k, v = strings.ToLower(strings.TrimSpace(k)), strings.TrimSpace(v)
		lv := strings.ToLower(v)
		switch k {
		case "p":
			r.P = lv
		case "sp":
			r.SP = lv
		case "np":
			r.NP = lv
		case "adkim":
			r.ADKIM = lv
		case "aspf":
			r.ASPF = lv
		case "t":
			r.Testing = lv
		case "psd":
			r.PSD = lv
		case "pct":
			r.Pct = v
		case "fo":
			r.FO = v
		case "rua":
			r.RUA = splitURIs(v)
		case "ruf":
			r.RUF = splitURIs(v)
		}
	}
	for _, p := range []string{r.P, r.SP, r.NP} {
		switch p {
		case "", "none", "quarantine", "reject":
		default:
			return nil, fmt.Errorf("senderauth: DMARC policy %q is not none, quarantine or reject", p)
		}
	}
	return r, nil
}

func splitURIs(v string) []string {
	var out []string
	for _, u := range strings.Split(v, ",") {
		if u = strings.TrimSpace(u); u != "" {
			out = append(out, u)
		}
	}
	return out
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

// dmarcAt reads the DMARC record published for name (at _dmarc.name):
// nil when there is none; an error when it cannot be told.
func dmarcAt(ctx context.Context, r *resolver.Resolver, name string) (*DMARCRecord, error) {
	txts, err := r.LookupTXT(ctx, "_dmarc."+name)
	if resolver.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var found []*DMARCRecord
	var lastErr error
	for _, t := range txts {
		if !strings.HasPrefix(strings.ToLower(strings.TrimSpace(t)), "v=dmarc1") {
			continue
		}
		rec, err := ParseDMARC(t)
		if err != nil {
			lastErr = err
			continue
		}
		found = append(found, rec)
	}
	switch {
	case len(found) > 1:
		return nil, fmt.Errorf("senderauth: _dmarc.%s has %d DMARC records; receivers ignore them all: keep one", name, len(found))
	case len(found) == 1:
		return found[0], nil
	}
	return nil, lastErr
}

// Policy is what the DNS tree walk (RFC 9989 section 4.10) finds for a
// From domain: the record that applies and where it was, and the
// organisational domain.
type Policy struct {
	Domain    string       // the From domain
	Record    *DMARCRecord // nil when none applies
	At        string       // the name whose _dmarc record applies
	OrgDomain string
}

// treeWalkNames lists the names the walk queries, the domain first: at
// most 8, skipping from the first to the one with 7 labels when there are
// more (RFC 9989 section 4.10.1).
func treeWalkNames(domain string) []string {
	labels := strings.Split(strings.TrimSuffix(strings.ToLower(domain), "."), ".")
	var out []string
	for i := range labels {
		if i > 0 && len(labels)-i > 7 {
			continue
		}
		out = append(out, strings.Join(labels[i:], "."))
	}
	return out
}

// Discover runs the tree walk for domain.
func Discover(ctx context.Context, r *resolver.Resolver, domain string) (Policy, error) {
	pol := Policy{Domain: strings.ToLower(domain)}
	names := treeWalkNames(domain)
	type found struct {
		name string
		rec  *DMARCRecord
	}
	var recs []found
	for _, n := range names {
		rec, err := dmarcAt(ctx, r, n)
		if err != nil {
			return pol, err
		}
		if rec != nil {
			recs = append(recs, found{n, rec})
		}
	}
	// The policy: the domain's own record, else the nearest above it.
	if len(recs) > 0 {
		pol.Record, pol.At = recs[0].rec, recs[0].name
	}
	// The organisational domain (section 4.10.2): below a psd=y record, at a
	// psd=n one, else the highest name with a record, else the domain.
	pol.OrgDomain = pol.Domain
	for i, f := range recs {
		switch f.rec.PSD {
		case "y":
			idx := indexOf(names, f.name)
			if idx > 0 {
				pol.OrgDomain = names[idx-1]
			}
			return pol, nil
		case "n":
			pol.OrgDomain = f.name
			return pol, nil
		}
		if i == len(recs)-1 {
			pol.OrgDomain = f.name
		}
	}
	return pol, nil
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}

// Aligned tells whether an identifier's domain aligns with the From
// domain in a mode: the same domain (strict), or the same organisational
// domain (relaxed).
func Aligned(ctx context.Context, r *resolver.Resolver, id, from, mode string) (bool, error) {
	id, from = strings.ToLower(strings.TrimSuffix(id, ".")), strings.ToLower(strings.TrimSuffix(from, "."))
	if id == from {
		return true, nil
	}
	if mode == AlignStrict {
		return false, nil
	}
	a, err := Discover(ctx, r, id)
	if err != nil {
		return false, err
	}
	b, err := Discover(ctx, r, from)
	if err != nil {
		return false, err
	}
	return a.OrgDomain == b.OrgDomain, nil
}
