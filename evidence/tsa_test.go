package evidence

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// testTSA is a real RFC 3161 time-stamp authority: OpenSSL's `openssl ts
// -reply` behind an HTTP handler, with a root and a TSA certificate the
// test makes.
type testTSA struct {
	URL, Dir  string
	Root, TSA string // PEM files
	// Fail answers this many requests with 503 before working.
	Fail     atomic.Int32
	Requests atomic.Int32
	mu       sync.Mutex
}

func run(t testing.TB, dir string, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out
}

func startTSA(t testing.TB) *testTSA {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Fatal("openssl is not installed: run make setup")
	}
	dir := t.TempDir()
	write := func(name, s string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("tsa-ext.cnf", "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=critical,timeStamping\n")
	write("serial", "01\n")
	write("tsa.cnf", `[ tsa ]
default_tsa = tsa_config
[ tsa_config ]
dir = `+dir+`
serial = $dir/serial
crypto_device = builtin
signer_cert = $dir/tsa.crt
certs = $dir/root.crt
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = 1.3.6.1.4.1.99999.1
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = yes
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
`)
	run(t, dir, "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "root.key",
		"-out", "root.crt", "-subj", "/CN=mailtrace test TSA root", "-days", "3650",
		"-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
	run(t, dir, "openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "tsa.key",
		"-out", "tsa.csr", "-subj", "/CN=mailtrace test TSA")
	run(t, dir, "openssl", "x509", "-req", "-in", "tsa.csr", "-CA", "root.crt", "-CAkey", "root.key", "-CAcreateserial",
		"-out", "tsa.crt", "-days", "365", "-extfile", "tsa-ext.cnf")
	tsa := &testTSA{Dir: dir, Root: filepath.Join(dir, "root.crt"), TSA: filepath.Join(dir, "tsa.crt")}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tsa.Requests.Add(1)
		if tsa.Fail.Load() > 0 {
			tsa.Fail.Add(-1)
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			return
		}
		body, _ := io.ReadAll(r.Body)
		tsa.mu.Lock() // one serial file
		defer tsa.mu.Unlock()
		q, resp := filepath.Join(dir, "query.der"), filepath.Join(dir, "reply.der")
		os.WriteFile(q, body, 0o600)
		out, err := exec.Command("openssl", "ts", "-reply", "-config", filepath.Join(dir, "tsa.cnf"), "-queryfile", q, "-out", resp).CombinedOutput()
		if err != nil {
			http.Error(w, fmt.Sprintf("%v: %s", err, out), http.StatusInternalServerError)
			return
		}
		data, _ := os.ReadFile(resp)
		w.Header().Set("Content-Type", "application/timestamp-reply")
		w.Write(data)
	}))
	t.Cleanup(srv.Close)
	tsa.URL = srv.URL
	return tsa
}

func (tsa *testTSA) verifier(t testing.TB) *TSAVerifier {
	roots, err := LoadTSARoots(tsa.Root)
	if err != nil {
		t.Fatal(err)
	}
	return &TSAVerifier{Roots: roots}
}

// anchoredLog builds a log whose checkpoints are all stamped by the TSA.
func anchoredLog(t *testing.T, tsa *testTSA, key *Key, reply string) *MemoryStorage {
	t.Helper()
	st := buildLog(t, key, 10, reply)
	a := NewAnchorer(AnchorerOptions{URL: tsa.URL, Storage: st, Verifier: tsa.verifier(t)})
	ctx := context.Background()
	for _, c := range st.checkpoints[testOrigin] {
		an, err := a.Stamp(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		st.AddAnchor(ctx, an)
	}
	return st
}

func TestAnchorerWithOpenSSLTSA(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tsa := startTSA(t)
	tsa.Fail.Store(3) // the TSA is down for the first attempts
	key := testKey(t)
	st := NewMemoryStorage()
	var tsaErrors atomic.Int32
	anchored := make(chan *Anchor, 10)
	a := NewAnchorer(AnchorerOptions{URL: tsa.URL, Storage: st, Verifier: tsa.verifier(t), RetryMin: 10 * time.Millisecond,
		OnError: func(error) { tsaErrors.Add(1) }, OnAnchor: func(an *Anchor) { anchored <- an }})
	go a.Run(ctx)
	l, err := Open(ctx, Options{Origin: testOrigin, Storage: st, Key: key, OnCheckpoint: a.Enqueue})
	if err != nil {
		t.Fatal(err)
	}
	// Appending and checkpointing go on while the TSA is down.
	for i := range 3 {
		l.Append(ctx, acceptFact(fmt.Sprint(i)))
		if _, _, err := l.Checkpoint(ctx); err != nil {
			t.Fatal(err)
		}
	}
	var sizes []int64
	for range 3 {
		select {
		case an := <-anchored:
			sizes = append(sizes, an.Size)
		case <-time.After(30 * time.Second):
			t.Fatalf("anchored %v after 30 s; %d requests, %d waiting", sizes, tsa.Requests.Load(), a.Waiting())
		}
	}
	if fmt.Sprint(sizes) != "[2 3 4]" {
		t.Errorf("anchored sizes %v, want the checkpoints in order [2 3 4]", sizes)
	}
	if tsaErrors.Load() != 3 {
		t.Errorf("%d TSA errors counted, want 3", tsaErrors.Load())
	}
	// The tokens verify, by mailtrace and by OpenSSL itself.
	v := tsa.verifier(t)
	res, err := Verify(ctx, st, VerifyOptions{Origin: testOrigin, Verifiers: verifiersOf(t, key), CheckAnchor: v.CheckAnchor})
	if err != nil || res.Anchors != 3 || res.LastAnchor.IsZero() {
		t.Fatalf("verify: %v %+v", err, res)
	}
	for _, an := range st.anchors[testOrigin] {
		var note []byte
		for _, c := range st.checkpoints[testOrigin] {
			if c.Tree.N == an.Size {
				note = c.Note
			}
		}
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "token.der"), an.Token, 0o600)
		os.WriteFile(filepath.Join(dir, "checkpoint"), note, 0o600)
		out := run(t, dir, "openssl", "ts", "-verify", "-token_in", "-in", "token.der", "-data", "checkpoint",
			"-CAfile", tsa.Root, "-untrusted", tsa.TSA)
		if !bytes.Contains(out, []byte("Verification: OK")) {
			t.Errorf("openssl ts -verify: %s", out)
		}
		// And OpenSSL refuses the token for another checkpoint.
		os.WriteFile(filepath.Join(dir, "checkpoint"), append(note, 'x'), 0o600)
		cmd := exec.Command("openssl", "ts", "-verify", "-token_in", "-in", "token.der", "-data", "checkpoint", "-CAfile", tsa.Root, "-untrusted", tsa.TSA)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err == nil {
			t.Errorf("openssl verified a token against another checkpoint: %s", out)
		}
	}
}

func TestVerifyDetectsTamperingWithAnchors(t *testing.T) {
	tsa := startTSA(t)
	key := testKey(t)
	other := startTSA(t) // a TSA the verifier does not trust
	tests := []struct {
		name   string
		tamper func(t *testing.T, st *MemoryStorage)
		check  string
		detail string
	}{
		{"a TSA token for another checkpoint", func(t *testing.T, st *MemoryStorage) {
			as := st.anchors[testOrigin]
			as[1].Token, as[2].Token = as[2].Token, as[1].Token
		}, "anchors", "not this checkpoint"},
		{"a rewritten history re-signed with the same key, earlier anchors kept", func(t *testing.T, st *MemoryStorage) {
			rewritten := buildLog(t, key, 10, "550 5.0.0 NO")
			st.SetLog(testOrigin, rewritten.Log(testOrigin))
			st.SetCheckpoints(testOrigin, rewritten.checkpoints[testOrigin])
		}, "anchors", "not this checkpoint"},
		{"a token from an untrusted TSA", func(t *testing.T, st *MemoryStorage) {
			a := NewAnchorer(AnchorerOptions{URL: other.URL, Storage: st})
			c := st.checkpoints[testOrigin][0]
			an, err := a.Stamp(context.Background(), c)
			if err != nil {
				t.Fatal(err)
			}
			st.anchors[testOrigin][0] = an
		}, "anchors", "certificate chain"},
		{"a token's bytes changed", func(t *testing.T, st *MemoryStorage) {
			tok := st.anchors[testOrigin][0].Token
			tok[len(tok)-5] ^= 0xff
		}, "anchors", "anchor of checkpoint"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := anchoredLog(t, tsa, key, "250 2.0.0 OK")
			v := tsa.verifier(t)
			if _, err := Verify(context.Background(), st, VerifyOptions{Origin: testOrigin, Verifiers: verifiersOf(t, key), CheckAnchor: v.CheckAnchor}); err != nil {
				t.Fatalf("before tampering: %v", err)
			}
			tt.tamper(t, st)
			res, err := Verify(context.Background(), st, VerifyOptions{Origin: testOrigin, Verifiers: verifiersOf(t, key), CheckAnchor: v.CheckAnchor})
			if !errors.Is(err, ErrVerify) {
				t.Fatalf("verify passed: %v", err)
			}
			if res.First.Name != tt.check || !strings.Contains(res.First.Detail, tt.detail) {
				t.Errorf("first failure %q, want %s with %q", res.First, tt.check, tt.detail)
			}
		})
	}
}

// The checkpoint signed at shutdown, before its time stamp came, is
// stamped when the ledger opens again.
func TestLedgersStampTheLastCheckpointAfterARestart(t *testing.T) {
	ctx := context.Background()
	tsa := startTSA(t)
	st := NewMemoryStorage()
	key := testKey(t)
	ls := NewLedgers(LedgersOptions{Config: Config{OriginPrefix: "mailtrace.test"}, Storage: st, Key: key})
	ls.Append("mx1", acceptFact("a"))
	if err := ls.Close(ctx); err != nil { // signs, with no anchorer
		t.Fatal(err)
	}
	a := NewAnchorer(AnchorerOptions{URL: tsa.URL, Storage: st, Verifier: tsa.verifier(t)})
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go a.Run(runCtx)
	ls = NewLedgers(LedgersOptions{Config: Config{OriginPrefix: "mailtrace.test"}, Storage: st, Key: key, OnCheckpoint: a.Enqueue})
	defer ls.Close(ctx)
	if _, err := ls.Ledger(ctx, "mx1"); err != nil {
		t.Fatal(err)
	}
	anchors := func() (as []*Anchor) {
		st.Anchors(ctx, "mailtrace.test/mx1", func(a *Anchor) error { as = append(as, a); return nil })
		return as
	}
	deadline := time.Now().Add(20 * time.Second)
	for len(anchors()) == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if as := anchors(); len(as) != 1 || as[0].Size != 2 {
		t.Fatalf("anchors after the restart: %+v", as)
	}
}
