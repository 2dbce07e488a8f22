package senderauth

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/emersion/go-msgauth/dkim"

	"github.com/mailtrace/mailtrace/resolver"
)

// DKIM key sizes (RFC 8301 section 3.2: verifiers refuse RSA under 1024
// bits; 2048 is what they advise).
const (
	MinRSABits     = 1024
	AdvisedRSABits = 2048
)

// DKIMKey is a key record found in DNS.
type DKIMKey struct {
	Name    string // SELECTOR._domainkey.DOMAIN
	Record  string
	Type    string // rsa or ed25519
	Bits    int    // RSA modulus size
	Revoked bool   // p= empty
	Testing bool   // t=y
	Public  crypto.PublicKey
}

// LookupDKIM reads the key record of a selector.
func LookupDKIM(ctx context.Context, r *resolver.Resolver, domain, selector string) (*DKIMKey, error) {
	name := selector + "._domainkey." + domain
	txts, err := r.LookupTXT(ctx, name)
	if err != nil {
		if resolver.IsNotFound(err) {
			return nil, fmt.Errorf("senderauth: no DKIM key record at %s", name)
		}
		return nil, err
	}
	if len(txts) > 1 {
		return nil, fmt.Errorf("senderauth: %s has %d TXT records; verifiers take one: keep the key alone", name, len(txts))
	}
	k := &DKIMKey{Name: name, Record: txts[0], Type: "rsa"}
	tags := map[string]string{}
	for _, p := range strings.Split(txts[0], ";") {
		if key, v, ok := strings.Cut(p, "="); ok {
			tags[strings.ToLower(strings.TrimSpace(key))] = strings.Join(strings.Fields(v), "")
		}
	}
	if v, ok := tags["v"]; ok && v != "DKIM1" {
		return nil, fmt.Errorf("senderauth: %s: v=%s, not DKIM1", name, v)
	}
	if t := strings.ToLower(tags["k"]); t != "" {
		k.Type = t
	}
	k.Testing = strings.Contains(tags["t"], "y")
	p, ok := tags["p"]
	if !ok {
		return nil, fmt.Errorf("senderauth: %s has no p= (public key)", name)
	}
	if p == "" {
		k.Revoked = true
		return k, nil
	}
	der, err := base64.StdEncoding.DecodeString(p)
	if err != nil {
		return nil, fmt.Errorf("senderauth: %s: p= is not base64: %v", name, err)
	}
	switch k.Type {
	case "rsa":
		pub, err := x509.ParsePKIXPublicKey(der)
		if err != nil {
			if pub, err = x509.ParsePKCS1PublicKey(der); err != nil {
				return nil, fmt.Errorf("senderauth: %s: p= is not an RSA public key", name)
			}
		}
		rp, ok := pub.(*rsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("senderauth: %s: k=rsa, but p= is another kind of key", name)
		}
		k.Public, k.Bits = rp, rp.N.BitLen()
	case "ed25519":
		if len(der) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("senderauth: %s: an Ed25519 key of %d bytes, not 32", name, len(der))
		}
		k.Public = ed25519.PublicKey(der)
	default:
		return nil, fmt.Errorf("senderauth: %s: key type k=%s is unknown to verifiers", name, k.Type)
	}
	return k, nil
}

// ReadPrivateKey reads a PEM private key: PKCS#1 or PKCS#8 RSA, PKCS#8
// Ed25519.
func ReadPrivateKey(file string) (crypto.Signer, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("%s holds no PEM key", file)
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: not a PKCS#1 or PKCS#8 private key: %v", file, err)
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%s: a key that cannot sign", file)
	}
	return s, nil
}

// samePublic tells a private key's public half from another key.
func samePublic(priv crypto.Signer, pub crypto.PublicKey) bool {
	type equaler interface{ Equal(crypto.PublicKey) bool }
	e, ok := priv.Public().(equaler)
	return ok && e.Equal(pub)
}

// ErrKeyMismatch is a DNS key that is not the signer's.
var ErrKeyMismatch = errors.New("senderauth: the key in DNS is not the private key's public half")

// VerifyThroughDNS signs a message with the private key, as the signer
// would, and verifies it as a receiver does: through the key record in
// DNS. It fails when the record does not hold the key's public half.
func VerifyThroughDNS(ctx context.Context, r *resolver.Resolver, domain, selector string, priv crypto.Signer) error {
	msg := "From: postmaster@" + domain + "\r\nTo: check@example.invalid\r\nSubject: mailtrace doctor DKIM check\r\n" +
		"Date: Mon, 02 Jan 2006 15:04:05 +0000\r\nMessage-ID: <dkim-check@" + domain + ">\r\n\r\nchecking the key in DNS\r\n"
	var signed bytes.Buffer
	if err := dkim.Sign(&signed, strings.NewReader(msg), &dkim.SignOptions{Domain: domain, Selector: selector, Signer: priv,
		HeaderCanonicalization: dkim.CanonicalizationRelaxed, BodyCanonicalization: dkim.CanonicalizationRelaxed}); err != nil {
		return fmt.Errorf("senderauth: signing a test message: %w", err)
	}
	vs, err := dkim.VerifyWithOptions(&signed, &dkim.VerifyOptions{MaxVerifications: 1,
		LookupTXT: func(name string) ([]string, error) { return r.LookupTXT(ctx, name) }})
	if err != nil {
		return err
	}
	if len(vs) != 1 {
		return errors.New("senderauth: the signed test message has no signature")
	}
	if vs[0].Err != nil {
		if dkim.IsPermFail(vs[0].Err) && strings.Contains(vs[0].Err.Error(), "signature") {
			return fmt.Errorf("%w (%v)", ErrKeyMismatch, vs[0].Err)
		}
		return vs[0].Err
	}
	return nil
}

// dkimRecord is the key record for a public key, for the fix.
func dkimRecord(pub crypto.PublicKey) string {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		der, _ := x509.MarshalPKIXPublicKey(k)
		return "v=DKIM1; k=rsa; p=" + base64.StdEncoding.EncodeToString(der)
	case ed25519.PublicKey:
		return "v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(k)
	}
	return ""
}

// zoneTXT writes a TXT record in zone-file form, its text cut into
// strings of at most 255 bytes.
func zoneTXT(name, text string) string {
	var parts []string
	for len(text) > 255 {
		parts, text = append(parts, text[:255]), text[255:]
	}
	parts = append(parts, text)
	for i, p := range parts {
		parts[i] = `"` + strings.ReplaceAll(p, `"`, `\"`) + `"`
	}
	return strings.TrimSuffix(name, ".") + ". IN TXT " + strings.Join(parts, " ")
}
