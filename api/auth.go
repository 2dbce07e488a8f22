package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/mailtrace/mailtrace/internal/secret"
)

// Roles. An analyst reads traces, searches and exports; an admin also runs
// read-only SQL. Requests without a token, which the API takes only on
// loopback and only when no tokens are configured, are analysts unless
// api.anonymous_role says admin.
const (
	RoleAnalyst = "analyst"
	RoleAdmin   = "admin"
)

// Token is one API bearer token in the config. The secret is given as its
// SHA-256 (preferred: the config then holds no secret), in a file, or
// inline.
type Token struct {
	Name        string `yaml:"name"` // who uses it; logged with every request
	Role        string `yaml:"role"` // analyst or admin
	SHA256      string `yaml:"sha256"`
	File        string `yaml:"file"`
	Token       string `yaml:"token"`
	digestBytes [32]byte
}

// caller is who made a request.
type caller struct {
	name, role string
}

// anonymous is the name requests without a token are logged under.
const anonymous = "anonymous (loopback)"

// authenticator checks bearer tokens in constant time.
type authenticator struct {
	tokens []Token
	// open: no tokens are configured and the API listens on loopback
	// only; requests without a token have anonymousRole.
	open          bool
	anonymousRole string
}

func newAuthenticator(listen string, tokens []Token, anonymousRole string) (*authenticator, error) {
	a := &authenticator{anonymousRole: RoleAnalyst}
	switch anonymousRole {
	case "":
	case RoleAnalyst, RoleAdmin:
		if len(tokens) > 0 {
			return nil, fmt.Errorf("api.anonymous_role is set, but api.tokens are configured and then every request needs a token; remove api.anonymous_role")
		}
		a.anonymousRole = anonymousRole
	default:
		return nil, fmt.Errorf("api.anonymous_role %q: use analyst (the default) or admin", anonymousRole)
	}
	for i, t := range tokens {
		if t.Name == "" {
			return nil, fmt.Errorf("api.tokens[%d]: give each token a name (it is logged with every request)", i)
		}
		if t.Role != RoleAnalyst && t.Role != RoleAdmin {
			return nil, fmt.Errorf("api.tokens[%d] (%s): role %q: use analyst or admin", i, t.Name, t.Role)
		}
		switch {
		case t.SHA256 != "":
			b, err := hex.DecodeString(strings.TrimSpace(t.SHA256))
			if err != nil || len(b) != 32 {
				return nil, fmt.Errorf("api.tokens[%d] (%s): sha256 must be 64 hex digits (echo -n TOKEN | sha256sum)", i, t.Name)
			}
			copy(t.digestBytes[:], b)
		case t.File != "":
			data, err := secret.ReadFile(t.File)
			if err != nil {
				return nil, fmt.Errorf("api.tokens[%d] (%s): %w", i, t.Name, err)
			}
			t.digestBytes = sha256.Sum256(data)
		case len(t.Token) >= 16:
			t.digestBytes = sha256.Sum256([]byte(t.Token))
		default:
			return nil, fmt.Errorf("api.tokens[%d] (%s): give sha256, file, or a token of at least 16 characters", i, t.Name)
		}
		// One secret under two entries would make the role it grants
		// depend on the order of the list.
		for j, u := range a.tokens {
			if u.digestBytes == t.digestBytes {
				return nil, fmt.Errorf("api.tokens[%d] (%s, role %s) and api.tokens[%d] (%s, role %s) have the same secret; give each entry a token of its own",
					j, u.Name, u.Role, i, t.Name, t.Role)
			}
		}
		a.tokens = append(a.tokens, t)
	}
	if len(a.tokens) == 0 {
		if !Loopback(listen) {
			return nil, fmt.Errorf("api.listen %s is not a loopback address: configure api.tokens (bearer tokens with roles), the API does not serve unauthenticated requests beyond this machine", listen)
		}
		a.open = true
	}
	return a, nil
}

// Loopback tells whether a listen address only takes connections from
// this machine.
func Loopback(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// identify returns the caller of a request, or why it is not accepted.
func (a *authenticator) identify(r *http.Request) (*caller, string) {
	const required = "a bearer token is required (Authorization: Bearer TOKEN)"
	h := r.Header.Get("Authorization")
	if h == "" {
		if a.open {
			return &caller{name: anonymous, role: a.anonymousRole}, ""
		}
		return nil, required
	}
	scheme, secret, ok := strings.Cut(h, " ")
	secret = strings.TrimSpace(secret)
	if !ok || !strings.EqualFold(scheme, "Bearer") || secret == "" {
		return nil, required + "; this request has an Authorization header of another kind"
	}
	if a.open {
		return nil, "token not accepted: this API has no tokens configured (api.tokens); send the request without one"
	}
	digest := sha256.Sum256([]byte(secret))
	var found *caller
	// Every token is compared, so the time taken does not tell which
	// one matched or how much of it.
	for i := range a.tokens {
		if subtle.ConstantTimeCompare(digest[:], a.tokens[i].digestBytes[:]) == 1 {
			found = &caller{name: a.tokens[i].Name, role: a.tokens[i].Role}
		}
	}
	if found == nil {
		return nil, "token not accepted: it matches none of the tokens in api.tokens"
	}
	return found, ""
}

func (c *caller) may(role string) bool {
	return c.role == RoleAdmin || c.role == role
}
