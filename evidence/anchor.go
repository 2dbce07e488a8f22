package evidence

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/digitorus/pkcs7"
	"github.com/digitorus/timestamp"

	"github.com/mailtrace/mailtrace/internal/backoff"
)

// Anchor is an RFC 3161 time stamp of one checkpoint: the TSA's token
// over the SHA-256 of the whole signed checkpoint note.
type Anchor struct {
	Origin string
	Size   int64 // the checkpoint's tree size
	// Time is the time the TSA states (genTime).
	Time   time.Time
	TSAURL string
	// Token is the DER TimeStampToken (a CMS SignedData), with the TSA's
	// certificates as the TSA sent them.
	Token []byte
}

// ErrAnchor means a time-stamp token does not prove what it should: not
// over this checkpoint, not signed by a TSA the roots vouch for, or not a
// token at all.
var ErrAnchor = errors.New("evidence: bad time stamp")

// TSAVerifier checks RFC 3161 tokens against trusted TSA roots.
type TSAVerifier struct {
	Roots *x509.CertPool
}

// LoadTSARoots reads PEM certificates (the TSA's root, or its own
// certificate where there is no hierarchy) from files.
func LoadTSARoots(paths ...string) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("%w: trusted TSA roots: %w", ErrAnchor, err)
		}
		n := 0
		for block, rest := pem.Decode(data); block != nil; block, rest = pem.Decode(rest) {
			c, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("%w: %s: %w", ErrAnchor, p, err)
			}
			pool.AddCert(c)
			n++
		}
		if n == 0 {
			return nil, fmt.Errorf("%w: %s holds no PEM certificate", ErrAnchor, p)
		}
	}
	return pool, nil
}

// Check verifies a token over msg (a checkpoint note): its CMS signature,
// its message imprint (SHA-256 of msg), and the signer's certificate chain
// to a trusted root with the time-stamping key usage, at the time the token
// states. It returns that time.
func (v *TSAVerifier) Check(token, msg []byte) (time.Time, error) {
	ts, err := timestamp.Parse(token)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: %w", ErrAnchor, err)
	}
	sum := sha256.Sum256(msg)
	if ts.HashAlgorithm != crypto.SHA256 || !bytes.Equal(ts.HashedMessage, sum[:]) {
		return time.Time{}, fmt.Errorf("%w: the token stamps %x (%v), not this checkpoint (SHA-256 %x)", ErrAnchor, ts.HashedMessage, ts.HashAlgorithm, sum)
	}
	if v.Roots == nil {
		return time.Time{}, fmt.Errorf("%w: no trusted TSA roots", ErrAnchor)
	}
	p7, err := pkcs7.Parse(token)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: %w", ErrAnchor, err)
	}
	inter := x509.NewCertPool()
	for _, c := range p7.Certificates {
		inter.AddCert(c)
	}
	err = p7.VerifyWithOpts(x509.VerifyOptions{Roots: v.Roots, Intermediates: inter, CurrentTime: ts.Time,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping}})
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: the TSA's signature or certificate chain: %w", ErrAnchor, err)
	}
	return ts.Time, nil
}

// CheckAnchor adapts Check to VerifyOptions.CheckAnchor.
func (v *TSAVerifier) CheckAnchor(a *Anchor, msg []byte) (time.Time, error) {
	return v.Check(a.Token, msg)
}

// AnchorerOptions configure time-stamping of checkpoints.
type AnchorerOptions struct {
	URL     string // the TSA's RFC 3161 HTTP endpoint
	Storage Storage
	// Verifier, when set, checks each token before it is stored: a TSA
	// that answers with a token the roots do not vouch for is an error.
	Verifier *TSAVerifier
	Client   *http.Client // default: 30 s timeout
	// RetryMin and RetryMax bound the backoff after a failure (defaults
	// 1 s and 5 min).
	RetryMin, RetryMax time.Duration
	Logger             *slog.Logger
	// OnError is called for each failed attempt (a metric).
	OnError func(error)
	// OnAnchor is called for each stored anchor (a metric).
	OnAnchor func(*Anchor)
}

// Anchorer time-stamps checkpoints by a TSA, in order, one at a time. A
// TSA that is down or refuses is retried with backoff; checkpoints wait in
// their queue and nothing upstream waits for them.
type Anchorer struct {
	opts  AnchorerOptions
	mu    sync.Mutex
	queue []*Checkpoint
	wake  chan struct{}
}

// NewAnchorer returns an anchorer; Run does the work.
func NewAnchorer(opts AnchorerOptions) *Anchorer {
	if opts.Client == nil {
		opts.Client = &http.Client{Timeout: 30 * time.Second}
	}
	if opts.RetryMin <= 0 {
		opts.RetryMin = time.Second
	}
	if opts.RetryMax <= 0 {
		opts.RetryMax = 5 * time.Minute
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Anchorer{opts: opts, wake: make(chan struct{}, 1)}
}

// Enqueue adds a checkpoint to be stamped; it never blocks.
func (a *Anchorer) Enqueue(c *Checkpoint) {
	a.mu.Lock()
	a.queue = append(a.queue, c)
	a.mu.Unlock()
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// Waiting is how many checkpoints wait for their time stamp.
func (a *Anchorer) Waiting() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.queue)
}

// Run stamps queued checkpoints until ctx ends.
func (a *Anchorer) Run(ctx context.Context) {
	retry := backoff.New(a.opts.RetryMin, a.opts.RetryMax)
	for {
		a.mu.Lock()
		var next *Checkpoint
		if len(a.queue) > 0 {
			next = a.queue[0]
		}
		a.mu.Unlock()
		if next == nil {
			select {
			case <-ctx.Done():
				return
			case <-a.wake:
				continue
			}
		}
		anchor, err := a.Stamp(ctx, next)
		if err == nil {
			err = a.opts.Storage.AddAnchor(ctx, anchor)
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if a.opts.OnError != nil {
				a.opts.OnError(err)
			}
			delay := retry.Next()
			a.opts.Logger.Warn("evidence: time-stamping a checkpoint failed; retrying", "origin", next.Origin, "size", next.Tree.N,
				"tsa", a.opts.URL, "in", delay, "waiting", a.Waiting(), "err", err)
			if !backoff.Sleep(ctx, delay) {
				return
			}
			continue
		}
		retry.Reset()
		a.mu.Lock()
		a.queue = a.queue[1:]
		a.mu.Unlock()
		if a.opts.OnAnchor != nil {
			a.opts.OnAnchor(anchor)
		}
	}
}

// Stamp asks the TSA for a token over the checkpoint's note.
func (a *Anchorer) Stamp(ctx context.Context, c *Checkpoint) (*Anchor, error) {
	nonce, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		return nil, err
	}
	req, err := timestamp.CreateRequest(bytes.NewReader(c.Note), &timestamp.RequestOptions{Hash: crypto.SHA256, Certificates: true, Nonce: nonce})
	if err != nil {
		return nil, fmt.Errorf("%w: building the request: %w", ErrAnchor, err)
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, a.opts.URL, bytes.NewReader(req))
	if err != nil {
		return nil, fmt.Errorf("%w: TSA URL %q: %w", ErrAnchor, a.opts.URL, err)
	}
	hreq.Header.Set("Content-Type", "application/timestamp-query")
	resp, err := a.opts.Client.Do(hreq)
	if err != nil {
		return nil, fmt.Errorf("%w: TSA %s: %w", ErrAnchor, a.opts.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("%w: TSA %s: %w", ErrAnchor, a.opts.URL, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: TSA %s answered %s", ErrAnchor, a.opts.URL, resp.Status)
	}
	ts, err := timestamp.ParseResponse(body)
	if err != nil {
		return nil, fmt.Errorf("%w: TSA %s: %w", ErrAnchor, a.opts.URL, err)
	}
	if ts.Nonce == nil || ts.Nonce.Cmp(nonce) != 0 {
		return nil, fmt.Errorf("%w: TSA %s answered another request (nonce)", ErrAnchor, a.opts.URL)
	}
	sum := sha256.Sum256(c.Note)
	if !bytes.Equal(ts.HashedMessage, sum[:]) {
		return nil, fmt.Errorf("%w: TSA %s stamped another hash", ErrAnchor, a.opts.URL)
	}
	if a.opts.Verifier != nil {
		if _, err := a.opts.Verifier.Check(ts.RawToken, c.Note); err != nil {
			return nil, fmt.Errorf("TSA %s: %w", a.opts.URL, err)
		}
	}
	return &Anchor{Origin: c.Origin, Size: c.Tree.N, Time: ts.Time.UTC(), TSAURL: a.opts.URL, Token: ts.RawToken}, nil
}
