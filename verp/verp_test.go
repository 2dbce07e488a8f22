package verp

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/mailtrace/mailtrace/traceid"
)

var (
	oldKey = Key{ID: 1, Secret: []byte("0123456789abcdef-old-secret")}
	newKey = Key{ID: 2, Secret: []byte("fedcba9876543210-new-secret")}
)

func mustNew(t testing.TB, prefix string, keys ...Key) *Signer {
	t.Helper()
	s, err := New(prefix, "Bounces.Example.COM.", keys)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestAddressRoundTrip(t *testing.T) {
	s := mustNew(t, "mt", oldKey)
	id := traceid.New()
	addr := s.Address(id)
	local, domain, _ := strings.Cut(addr, "@")
	if domain != "bounces.example.com" {
		t.Errorf("domain %q, want it lowercased without the root dot", domain)
	}
	if len(local) > 64 {
		t.Errorf("local part %q is %d octets", local, len(local))
	}
	if local != strings.ToLower(local) {
		t.Errorf("local part %q is not lowercase", local)
	}
	for _, in := range []string{addr, "<" + addr + ">", strings.ToUpper(addr), " " + addr + " "} {
		got, err := s.Parse(in)
		if err != nil || got != id {
			t.Errorf("Parse(%q) = %s, %v; want %s", in, got, err, id)
		}
	}
}

func TestLongestPrefixFits(t *testing.T) {
	s := mustNew(t, strings.Repeat("p", MaxPrefix), oldKey)
	local, _, _ := strings.Cut(s.Address(traceid.New()), "@")
	if len(local) != 64 {
		t.Fatalf("local part with the longest prefix is %d octets, want 64", len(local))
	}
	if _, err := New(strings.Repeat("p", MaxPrefix+1), "b.example", []Key{oldKey}); err == nil {
		t.Fatal("a prefix that pushes the local part over 64 octets was accepted")
	}
}

func TestKeyRotation(t *testing.T) {
	before := mustNew(t, "mt", oldKey)
	after := mustNew(t, "mt", newKey, oldKey) // new key signs, old still verifies
	retired := mustNew(t, "mt", newKey)
	id := traceid.New()
	oldAddr := before.Address(id)
	if got, err := after.Parse(oldAddr); err != nil || got != id {
		t.Fatalf("old address after rotation: %s, %v", got, err)
	}
	if _, err := retired.Parse(oldAddr); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("old address after the old key is retired: %v, want ErrUnknownKey", err)
	}
	if got, err := before.Parse(after.Address(id)); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("new address checked by a signer without the new key: %s, %v", got, err)
	}
}

func TestForgeries(t *testing.T) {
	s := mustNew(t, "mt", oldKey)
	id := traceid.New()
	addr := s.Address(id)
	local, _, _ := strings.Cut(addr, "@")
	token := local[3:]
	flip := func(i int) string {
		b := []byte(token)
		if b[i] == 'a' {
			b[i] = 'b'
		} else {
			b[i] = 'a'
		}
		return "mt-" + string(b) + "@bounces.example.com"
	}
	otherSigner := mustNew(t, "mt", Key{ID: 1, Secret: []byte("another secret, same key id")})
	tests := []struct {
		name string
		addr string
		want error
	}{
		{"other domain", local + "@evil.example", ErrNotVERP},
		{"other prefix", "xx-" + token + "@bounces.example.com", ErrNotVERP},
		{"no at", local, ErrNotVERP},
		{"short token", local[:len(local)-1] + "@bounces.example.com", ErrNotVERP},
		{"trace ID byte changed", flip(10), ErrBadSignature},
		{"signature byte changed", flip(40), ErrBadSignature},
		{"signed with another secret", otherSigner.Address(id), ErrBadSignature},
		{"not base32", "mt-" + strings.Repeat("1", tokenLen) + "@bounces.example.com", ErrMalformed},
		{"plain sender", "billing@bounces.example.com", ErrNotVERP},
	}
	for _, tt := range tests {
		if got, err := s.Parse(tt.addr); !errors.Is(err, tt.want) {
			t.Errorf("%s: Parse(%q) = %s, %v; want %v", tt.name, tt.addr, got, err, tt.want)
		}
	}
}

func TestPoolAddress(t *testing.T) {
	s := mustNew(t, "mt", newKey, oldKey)
	id := traceid.New()
	addr := s.PoolAddress(id, "legal")
	if !strings.HasPrefix(addr, "mt-legal-") || !strings.HasSuffix(addr, "@bounces.example.com") {
		t.Fatalf("PoolAddress = %q, want mt-legal-TOKEN@bounces.example.com", addr)
	}
	for _, in := range []string{addr, "<" + strings.ToUpper(addr) + ">"} {
		got, pool, err := s.ParsePool(in)
		if err != nil || got != id || pool != "legal" {
			t.Errorf("ParsePool(%q) = %s, %q, %v; want %s, legal", in, got, pool, err, id)
		}
	}
	// Mail sent before pools were named in the address still verifies.
	old := mustNew(t, "mt", oldKey).Address(id)
	if got, pool, err := s.ParsePool(old); err != nil || got != id || pool != "" {
		t.Errorf("ParsePool(old form %q) = %s, %q, %v; want %s and no pool", old, got, pool, err, id)
	}
	// The regexp that routes the pool matches its addresses only.
	re := regexp.MustCompile(strings.Trim(s.Routing("legal"), "/"))
	if !re.MatchString(addr) || re.MatchString(s.PoolAddress(id, "bulk")) || re.MatchString(s.Address(id)) {
		t.Errorf("Routing(legal) = %s matches the wrong addresses", s.Routing("legal"))
	}
	local, _, _ := strings.Cut(addr, "@")
	token := local[len(local)-tokenLen:]
	tests := []struct {
		name string
		addr string
		want error
	}{
		{"pool swapped", "mt-bulk-" + token + "@bounces.example.com", ErrBadSignature},
		{"pool dropped", "mt-" + token + "@bounces.example.com", ErrMalformed},
		{"pool added to an old address", "mt-legal-" + old[3:], ErrMalformed},
		{"pool with a dash", "mt-le-gal-" + token + "@bounces.example.com", ErrNotVERP},
		{"no dash after the pool", "mt-legal" + token + "@bounces.example.com", ErrNotVERP},
		{"empty pool", "mt--" + token + "@bounces.example.com", ErrNotVERP},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, pool, err := s.ParsePool(tt.addr); !errors.Is(err, tt.want) {
				t.Errorf("ParsePool(%q) = %s, %q, %v; want %v", tt.addr, got, pool, err, tt.want)
			}
		})
	}
}

func TestCheckPool(t *testing.T) {
	s := mustNew(t, "mt", oldKey)
	tests := []struct {
		name, pool string
		ok         bool
	}{
		{"letters", "legal", true},
		{"digits", "pool2", true},
		{"longest", strings.Repeat("p", MaxPool("mt")), true},
		{"too long", strings.Repeat("p", MaxPool("mt")+1), false},
		{"empty", "", false},
		{"dash", "bulk-eu", false},
		{"underscore", "bulk_eu", false},
		{"uppercase", "Legal", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.CheckPool(tt.pool)
			if (err == nil) != tt.ok {
				t.Fatalf("CheckPool(%q) = %v", tt.pool, err)
			}
			if tt.ok {
				if local, _, _ := strings.Cut(s.PoolAddress(traceid.New(), tt.pool), "@"); len(local) > 64 {
					t.Errorf("local part %d octets", len(local))
				}
			}
		})
	}
}

func TestNewRefusesBadSettings(t *testing.T) {
	tests := []struct {
		prefix, domain string
		keys           []Key
	}{
		{"", "b.example", []Key{oldKey}},
		{"a b", "b.example", []Key{oldKey}},
		{"mt", "", []Key{oldKey}},
		{"mt", "localhost", []Key{oldKey}},
		{"mt", "b.example", nil},
		{"mt", "b.example", []Key{{ID: 1, Secret: []byte("short")}}},
		{"mt", "b.example", []Key{oldKey, oldKey}},
	}
	for _, tt := range tests {
		if _, err := New(tt.prefix, tt.domain, tt.keys); err == nil {
			t.Errorf("New(%q, %q, %d keys) accepted", tt.prefix, tt.domain, len(tt.keys))
		}
	}
}

func FuzzParse(f *testing.F) {
	s := mustNew(f, "mt", newKey, oldKey)
	f.Add(s.Address(traceid.New()))
	f.Add(s.PoolAddress(traceid.New(), "legal"))
	f.Add("mt-legal-aaaa@bounces.example.com")
	f.Add("mt-aaaa@bounces.example.com")
	f.Add("<>")
	f.Fuzz(func(t *testing.T, addr string) {
		id, pool, err := s.ParsePool(addr)
		if err != nil {
			return
		}
		// Anything accepted is what one of the keys signs for that trace
		// ID and pool, up to case, brackets, spaces and the domain's root dot.
		got := strings.ToLower(strings.TrimSuffix(strings.Trim(strings.TrimSpace(addr), "<>"), "."))
		old := &Signer{prefix: s.prefix, domain: s.domain, keys: []Key{oldKey}}
		newAddr, oldAddr := s.Address(id), old.Address(id)
		if pool != "" {
			newAddr, oldAddr = s.PoolAddress(id, pool), old.PoolAddress(id, pool)
		}
		if got != newAddr && got != oldAddr && !sameDecoding(got, newAddr, oldAddr) {
			t.Fatalf("%q accepted as %s but neither key signs it (%s, %s)", addr, id, newAddr, oldAddr)
		}
	})
}

// sameDecoding tells whether got's token decodes to the same bytes as one
// of the signed addresses' tokens (the last base32 digit carries one unused
// bit, so two spellings of a token can exist).
func sameDecoding(got string, signed ...string) bool {
	token := func(addr string) []byte {
		local, _, _ := strings.Cut(addr, "@")
		if len(local) < tokenLen {
			return nil
		}
		prefix, tok := local[:len(local)-tokenLen], local[len(local)-tokenLen:]
		if !strings.HasPrefix(signed[0], prefix) {
			return nil
		}
		b, err := encoding.DecodeString(tok)
		if err != nil {
			return nil
		}
		return b
	}
	g := token(got)
	for _, a := range signed {
		if g != nil && string(g) == string(token(a)) {
			return true
		}
	}
	return false
}
