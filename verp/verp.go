// Package verp signs and reads VERP return paths: envelope senders that
// name the message they belong to (Variable Envelope Return Path, after
// D. J. Bernstein's scheme), so that an asynchronous bounce or complaint,
// which receivers send to the envelope sender (RFC 5321 section 4.5.5),
// leads back to the exact message even when it quotes nothing of it.
//
// The address is PREFIX-TOKEN@BOUNCE-DOMAIN. TOKEN is lowercase base32
// (RFC 4648, no padding) of 28 bytes: a format version, the ID of the key
// that signed it, the message's trace ID, and the first 10 bytes of an
// HMAC-SHA256 over those. Keys rotate: the first key signs, every listed
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
	"strings"

	"github.com/mailtrace/mailtrace/traceid"
)

const (
	version   = 1
	macLen    = 10
	rawLen    = 2 + 16 + macLen
	tokenLen  = 45 // base32 of rawLen bytes, without padding
	maxLocal  = 64 // RFC 5321 section 4.5.3.1.1
	MaxPrefix = maxLocal - 1 - tokenLen
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

// Errors of Parse. ErrNotVERP means the address is not one of ours at all;
// the others mean it looks like ours and is not to be trusted.
var (
	ErrNotVERP      = errors.New("verp: not a mailtrace VERP address")
	ErrMalformed    = errors.New("verp: malformed token")
	ErrUnknownKey   = errors.New("verp: signed with a key that is not configured")
	ErrBadSignature = errors.New("verp: signature does not match")
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

// Address is the VERP return path for a message.
func (s *Signer) Address(id traceid.ID) string {
	k := s.keys[0]
	var raw [rawLen]byte
	raw[0], raw[1] = version, k.ID
	copy(raw[2:18], id[:])
	copy(raw[18:], mac(k.Secret, raw[:18]))
	return s.prefix + "-" + encoding.EncodeToString(raw[:]) + "@" + s.domain
}

// Parse reads the trace ID out of a VERP address (with or without angle
// brackets) and checks its signature. Only a nil error means the address
// was made by a holder of one of the keys.
func (s *Signer) Parse(addr string) (traceid.ID, error) {
	addr = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(addr), "<"), ">")
	at := strings.LastIndexByte(addr, '@')
	if at < 0 || !strings.EqualFold(strings.TrimSuffix(addr[at+1:], "."), s.domain) {
		return traceid.ID{}, ErrNotVERP
	}
	local := addr[:at]
	if len(local) != len(s.prefix)+1+tokenLen || !strings.EqualFold(local[:len(s.prefix)+1], s.prefix+"-") {
		return traceid.ID{}, ErrNotVERP
	}
	raw, err := encoding.DecodeString(strings.ToLower(local[len(s.prefix)+1:]))
	if err != nil || len(raw) != rawLen {
		return traceid.ID{}, ErrMalformed
	}
	if raw[0] != version {
		return traceid.ID{}, fmt.Errorf("%w: version %d", ErrMalformed, raw[0])
	}
	for _, k := range s.keys {
		if k.ID != raw[1] {
			continue
		}
		if !hmac.Equal(raw[18:], mac(k.Secret, raw[:18])) {
			return traceid.ID{}, ErrBadSignature
		}
		var id traceid.ID
		copy(id[:], raw[2:18])
		return id, nil
	}
	return traceid.ID{}, fmt.Errorf("%w (key id %d)", ErrUnknownKey, raw[1])
}

func mac(secret, data []byte) []byte {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte("mailtrace-verp"))
	h.Write(data)
	return h.Sum(nil)[:macLen]
}
