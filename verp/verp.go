// Package verp signs and reads VERP return paths: envelope senders that
// name the message they belong to (Variable Envelope Return Path, after
// D. J. Bernstein's scheme), so that an asynchronous bounce or complaint,
// which receivers send to the envelope sender (RFC 5321 section 4.5.5),
// leads back to the exact message even when it quotes nothing of it.
//
// The address is PREFIX-POOL-TOKEN@BOUNCE-DOMAIN, or PREFIX-TOKEN@BOUNCE-DOMAIN
// for mail that leaves through no pool (and for all mail signed before pools
// were named in the address: that form still parses and verifies). POOL is
// the dedicated-IP pool the message leaves through, so that Postfix can
// route it by its envelope sender (sender_dependent_default_transport_maps);
// it holds only lowercase letters and digits, so the address splits one way
// only. TOKEN is lowercase base32 (RFC 4648, no padding) of 28 bytes: a
// format version (1 without a pool, 2 with one), the ID of the key that
// signed it, the message's trace ID, and the first 10 bytes of an
// HMAC-SHA256 over those and, in version 2, the pool name: a pool cannot be
// swapped without breaking the signature. Keys rotate: the first key signs, every listed
// key verifies, so old bounces still match after a new key is introduced.
// Mail systems may change the case of a local part, so reading ignores it.
// The whole local part stays within RFC 5321's 64 octets.
package verp

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/mailtrace/mailtrace/traceid"
)

const (
	version     = 1 // no pool in the address
	versionPool = 2 // PREFIX-POOL-TOKEN, the pool signed too
	macLen      = 10
	rawLen      = 2 + 16 + macLen
	tokenLen    = 45 // base32 of rawLen bytes, without padding
	maxLocal    = 64 // RFC 5321 section 4.5.3.1.1
	MaxPrefix   = maxLocal - 1 - tokenLen
)

var encoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// Key is one signing key. ID is written into every token it signs, so that
// the verifier knows which secret to check against.
type Key struct {
	ID     uint8
	Secret []byte
}

// Signer makes and checks VERP addresses for one bounce domain.
type Signer struct {
	prefix string
	domain string
	keys   []Key
}

// MaxPool is the longest pool name that fits in an address with prefix.
func MaxPool(prefix string) int { return maxLocal - len(prefix) - 2 - tokenLen }

// Errors of Parse. ErrNotVERP means the address is not one of ours at all;
// the others mean it looks like ours and is not to be trusted.
var (
	ErrNotVERP      = errors.New("verp: not a mailtrace VERP address")
	ErrMalformed    = errors.New("verp: malformed token")
	ErrUnknownKey   = errors.New("verp: signed with a key that is not configured")
	ErrBadSignature = errors.New("verp: signature does not match")
	ErrBadPool      = errors.New("verp: pool name unfit for a return path")
)

// New makes a Signer. The prefix is a lowercase local-part start such as
// "bounce"; keys[0] signs and all keys verify.
func New(prefix, domain string, keys []Key) (*Signer, error) {
	prefix, domain = strings.ToLower(prefix), strings.ToLower(strings.TrimSuffix(domain, "."))
	if prefix == "" || len(prefix) > MaxPrefix {
		return nil, fmt.Errorf("verp: prefix %q must have 1 to %d characters, so that the local part fits in 64", prefix, MaxPrefix)
	}
	for _, c := range prefix {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_') {
			return nil, fmt.Errorf("verp: prefix %q may hold only letters, digits, '-', '.' and '_'", prefix)
		}
	}
	if domain == "" || strings.ContainsAny(domain, "@ <>\t") || !strings.Contains(domain, ".") {
		return nil, fmt.Errorf("verp: bounce domain %q is not a domain name", domain)
	}
	if len(keys) == 0 {
		return nil, errors.New("verp: no key; give at least one (the first one signs)")
	}
	seen := map[uint8]bool{}
	for _, k := range keys {
		if len(k.Secret) < 16 {
			return nil, fmt.Errorf("verp: key %d is %d bytes; use at least 16 random bytes (e.g. `head -c 32 /dev/urandom | base64`)", k.ID, len(k.Secret))
		}
		if seen[k.ID] {
			return nil, fmt.Errorf("verp: key id %d is listed twice", k.ID)
		}
		seen[k.ID] = true
	}
	return &Signer{prefix: prefix, domain: domain, keys: keys}, nil
}

// Domain is the bounce domain.
func (s *Signer) Domain() string { return s.domain }

// Prefix is the local part's prefix before the token.
func (s *Signer) Prefix() string { return s.prefix }

// CheckPool tells whether pool can be named in this signer's addresses:
// 1 to MaxPool lowercase letters and digits (no '-': the address must
// split one way only).
func (s *Signer) CheckPool(pool string) error {
	if pool == "" || len(pool) > MaxPool(s.prefix) {
		return fmt.Errorf("%w: %q must have 1 to %d characters with the prefix %q, so that the local part fits in 64 octets",
			ErrBadPool, pool, MaxPool(s.prefix), s.prefix)
	}
	for _, c := range pool {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return fmt.Errorf("%w: %q may hold only lowercase letters and digits (it is written into the VERP address as PREFIX-POOL-TOKEN)", ErrBadPool, pool)
		}
	}
	return nil
}

// Address is the VERP return path for a message that leaves through no
// pool: PREFIX-TOKEN@BOUNCE-DOMAIN.
func (s *Signer) Address(id traceid.ID) string {
	return s.prefix + "-" + s.token(id, "") + "@" + s.domain
}

// PoolAddress is the VERP return path for a message that leaves through
// pool: PREFIX-POOL-TOKEN@BOUNCE-DOMAIN. The pool must pass CheckPool (it
// panics otherwise: configurations are checked when they are read).
func (s *Signer) PoolAddress(id traceid.ID, pool string) string {
	if err := s.CheckPool(pool); err != nil {
		panic(err)
	}
	return s.prefix + "-" + pool + "-" + s.token(id, pool) + "@" + s.domain
}

func (s *Signer) token(id traceid.ID, pool string) string {
	k := s.keys[0]
	var raw [rawLen]byte
	raw[0], raw[1] = version, k.ID
	if pool != "" {
		raw[0] = versionPool
	}
	copy(raw[2:18], id[:])
	copy(raw[18:], mac(k.Secret, raw[:18], pool))
	return encoding.EncodeToString(raw[:])
}

// Routing is the regular expression (Postfix regexp: table syntax, see
// regexp_table(5)) matching every address of pool, old and new keys alike.
func (s *Signer) Routing(pool string) string { return Routing(s.prefix, s.domain, pool) }

// Routing is Signer.Routing for a prefix and bounce domain, without keys
// (for printing Postfix's configuration). Postfix's regexp tables ignore
// case by default, as Parse does.
func Routing(prefix, domain, pool string) string {
	prefix, domain = strings.ToLower(prefix), strings.ToLower(strings.TrimSuffix(domain, "."))
	return "/^" + regexp.QuoteMeta(prefix+"-"+pool+"-") + ".*@" + regexp.QuoteMeta(domain) + "$/"
}

// Parse reads the trace ID out of a VERP address (with or without angle
// brackets) and checks its signature. Only a nil error means the address
// was made by a holder of one of the keys.
func (s *Signer) Parse(addr string) (traceid.ID, error) {
	id, _, err := s.ParsePool(addr)
	return id, err
}

// ParsePool is Parse that also returns the pool the address names ("" for
// the PREFIX-TOKEN form).
func (s *Signer) ParsePool(addr string) (traceid.ID, string, error) {
	addr = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(addr), "<"), ">")
	at := strings.LastIndexByte(addr, '@')
	if at < 0 || !strings.EqualFold(strings.TrimSuffix(addr[at+1:], "."), s.domain) {
		return traceid.ID{}, "", ErrNotVERP
	}
	local := strings.ToLower(addr[:at])
	if len(local) < len(s.prefix)+1+tokenLen || len(local) > maxLocal || !strings.HasPrefix(local, s.prefix+"-") {
		return traceid.ID{}, "", ErrNotVERP
	}
	// The token has a fixed length and no '-': what stands between the
	// prefix and the token is "POOL-" or nothing.
	rest := local[len(s.prefix)+1:]
	pool, token := rest[:len(rest)-tokenLen], rest[len(rest)-tokenLen:]
	if pool != "" {
		var ok bool
		if pool, ok = strings.CutSuffix(pool, "-"); !ok || s.CheckPool(pool) != nil {
			return traceid.ID{}, "", ErrNotVERP
		}
	}
	raw, err := encoding.DecodeString(token)
	if err != nil || len(raw) != rawLen {
		return traceid.ID{}, "", ErrMalformed
	}
	switch {
	case raw[0] == version && pool == "", raw[0] == versionPool && pool != "":
	default:
		return traceid.ID{}, "", fmt.Errorf("%w: version %d with pool %q", ErrMalformed, raw[0], pool)
	}
	for _, k := range s.keys {
		if k.ID != raw[1] {
			continue
		}
		if !hmac.Equal(raw[18:], mac(k.Secret, raw[:18], pool)) {
			return traceid.ID{}, "", ErrBadSignature
		}
		var id traceid.ID
		copy(id[:], raw[2:18])
		return id, pool, nil
	}
	return traceid.ID{}, "", fmt.Errorf("%w (key id %d)", ErrUnknownKey, raw[1])
}

func mac(secret, data []byte, pool string) []byte {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte("mailtrace-verp"))
	h.Write(data)
	if pool != "" {
		h.Write([]byte{0})
		h.Write([]byte(pool))
	}
	return h.Sum(nil)[:macLen]
}
