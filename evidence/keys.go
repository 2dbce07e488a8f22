package evidence

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/mod/sumdb/note"

	"github.com/mailtrace/mailtrace/internal/secret"
)

// ErrKey means a signing or verifier key cannot be used: missing,
// malformed, or readable by others than its owner.
var ErrKey = errors.New("evidence: key unusable")

// Key is a checkpoint signing key: an Ed25519 key in the signed-note
// format of golang.org/x/mod/sumdb/note, named after the log's origin.
type Key struct {
	Signer note.Signer
	// Public is the verifier key ("name+hash+key"), what others need to
	// check checkpoints; its hash is the key ID.
	Public string
}

// ID names the key: its name and the 32-bit key hash of the signed-note
// format, in hex.
func (k *Key) ID() string { return fmt.Sprintf("%s+%08x", k.Signer.Name(), k.Signer.KeyHash()) }

// GenerateKey makes a new signing key named name (the log's origin) and
// returns the private key text (for the key file) and the public one.
func GenerateKey(name string) (private, public string, err error) {
	private, public, err = note.GenerateKey(rand.Reader, name)
	if err != nil {
		return "", "", fmt.Errorf("%w: generating a key named %q: %w", ErrKey, name, err)
	}
	return private, public, nil
}

// ParseKey reads a private key text as GenerateKey writes it.
func ParseKey(private string) (*Key, error) {
	private = strings.TrimSpace(private)
	s, err := note.NewSigner(private)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKey, err)
	}
	// PRIVATE+KEY+name+hash+base64(algorithm byte, 32-byte seed)
	parts := strings.SplitN(private, "+", 5) // the name has no "+"; base64 may
	raw, err := base64.StdEncoding.DecodeString(parts[len(parts)-1])
	if err != nil || len(raw) != 1+ed25519.SeedSize {
		return nil, fmt.Errorf("%w: not an Ed25519 signed-note key", ErrKey)
	}
	pub := ed25519.NewKeyFromSeed(raw[1:]).Public().(ed25519.PublicKey)
	public, err := note.NewEd25519VerifierKey(s.Name(), pub)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKey, err)
	}
	return &Key{Signer: s, Public: public}, nil
}

// LoadKey reads a key file. It refuses a file that its group or others
// may read or write: a key anyone on the host can read proves nothing.
func LoadKey(path string) (*Key, error) {
	data, err := secret.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %w (make one with mailtrace evidence keygen)", ErrKey, err)
	}
	if errors.Is(err, secret.ErrExposed) {
		return nil, fmt.Errorf("%w: %w; make a new key if others may have read it", ErrKey, err)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKey, err)
	}
	k, err := ParseKey(string(data))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

// WriteKey makes a new key named name at path (mode 0600, never over an
// existing file) and returns it.
func WriteKey(path, name string) (*Key, error) {
	private, _, err := GenerateKey(name)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKey, err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKey, err)
	}
	if _, err := f.WriteString(private + "\n"); err != nil {
		f.Close()
		return nil, fmt.Errorf("%w: writing %s: %w", ErrKey, path, err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("%w: writing %s: %w", ErrKey, path, err)
	}
	return ParseKey(private)
}

// Verifiers turns public keys (one per line or element, "#" comments
// allowed) into the verifiers checkpoints are checked with: the current
// key and every earlier one, so that rotation keeps old checkpoints
// verifiable.
func Verifiers(publics ...string) (note.Verifiers, []string, error) {
	var vs []note.Verifier
	var ids []string
	for _, block := range publics {
		for line := range strings.SplitSeq(block, "\n") {
			line = strings.TrimSpace(line)
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			v, err := note.NewVerifier(line)
			if err != nil {
				return nil, nil, fmt.Errorf("%w: verifier key %q: %w", ErrKey, line, err)
			}
			vs = append(vs, v)
			ids = append(ids, fmt.Sprintf("%s+%08x", v.Name(), v.KeyHash()))
		}
	}
	return note.VerifierList(vs...), ids, nil
}
