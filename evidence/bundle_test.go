package evidence

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mailtrace/mailtrace/schema"
	"github.com/mailtrace/mailtrace/store"
	"github.com/mailtrace/mailtrace/store/storetest"
)

// bundleT0 is when the test's legal notice was accepted.
var bundleT0 = time.Date(2026, 11, 30, 14, 5, 6, 0, time.UTC)

// noticeFacts are the facts of one legal notice to two recipients, each
// deferred four times and delivered at the fifth attempt: the size goal's
// message (2 recipients x 5 attempts).
func noticeFacts(trace [16]byte, queueID string) []Fact {
	host := "mx1"
	acc := AcceptFact(&schema.AcceptRecord{Time: bundleT0, TraceID: trace, Host: host, QueueID: queueID,
		MessageID: "<notice-" + queueID + "@court.example>", Sender: "clerk@court.example",
		Recipients: []string{"ana@debtor.example", "luis@debtor.example"}, ClientIP: "10.1.2.3", ClientName: "app1.court.example",
		Helo: "app1.court.example", Size: 48213, Class: "legal", Pool: "legal", Subject: "Notificación personal, proceso 2026-00123",
		FromHeader: "Juzgado 12 Civil <clerk@court.example>"})
	facts := []Fact{acc}
	for i, rcpt := range []string{"ana@debtor.example", "luis@debtor.example"} {
		for n := range 5 {
			at := bundleT0.Add(time.Duration(n*600+i) * time.Second)
			e := &schema.DeliveryEvent{Time: at, EventID: eventBase(queueID) + uint64(1000*i+n+1), Host: host, QueueID: queueID, TraceID: trace,
				MessageID: acc.MessageIdentifier, Sender: "clerk@court.example", Recipient: rcpt, Service: "postfix-legal/smtp",
				RelayHost: "mx.debtor.example", RelayIP: "192.0.2.25", RelayPort: 25, Delay: float32(n*600) + 0.4,
				DelayBeforeQueue: 0.01, DelayInQueue: float32(n * 600), DelayConnect: 0.12, DelayTransmit: 0.27,
				TLS: "TLSv1.3 TLS_AES_256_GCM_SHA384", Pool: "legal", SourceIP: "198.51.100.7", Provider: "other"}
			if n < 4 {
				e.Status, e.DSN = schema.StatusDeferred, "4.7.1"
				e.Response = "host mx.debtor.example[192.0.2.25] said: 451 4.7.1 Greylisted, please try again in 300 seconds (in reply to RCPT TO command)"
			} else {
				e.Status, e.DSN = schema.StatusSent, "2.0.0"
				e.Response = "250 2.0.0 Ok: queued as 4XyZ" + fmt.Sprint(i) + "Qq1"
			}
			facts = append(facts, DeliveryFact(e))
		}
	}
	facts = append(facts, MessageFacts(&schema.MessageRecord{FirstSeen: bundleT0, LastSeen: bundleT0.Add(2401 * time.Second),
		Host: host, QueueID: queueID, TraceID: trace, MessageID: acc.MessageIdentifier, Sender: "clerk@court.example", Size: 49102,
		Nrcpt: 2, Origin: "smtpd", ClientIP: "10.1.2.3", ClientHost: "app1.court.example", Pool: "legal",
		Recipients: acc.Recipients, Statuses: []string{"sent", "sent"}, State: "removed"})...)
	return facts
}

// eventBase makes the attempts' event IDs unique per message, as the
// collector's (derived from the log line) are.
func eventBase(queueID string) uint64 {
	h := sha256.Sum256([]byte(queueID))
	return uint64(h[0])<<40 | uint64(h[1])<<32 | uint64(h[2])<<24
}

func traceOf(n int) [16]byte {
	var t [16]byte
	t[0], t[1], t[15] = 0x01, 0x9a, byte(n)
	t[14] = byte(n >> 8)
	return t
}

// bundleLog writes other messages, the notice, more messages, with
// checkpoints between; with tsa set, every checkpoint is time-stamped.
func bundleLog(t testing.TB, key *Key, tsa *testTSA, around int) (*MemoryStorage, string) {
	t.Helper()
	st := NewMemoryStorage()
	return st, bundleLogOn(t, st, key, tsa, around)
}

func bundleLogOn(t testing.TB, st Storage, key *Key, tsa *testTSA, around int) string {
	t.Helper()
	ctx := context.Background()
	l, err := Open(ctx, Options{Origin: testOrigin, Host: "mx1", Storage: st, Key: key, Now: func() time.Time { return bundleT0 }})
	if err != nil {
		t.Fatal(err)
	}
	var anchorer *Anchorer
	if tsa != nil {
		anchorer = NewAnchorer(AnchorerOptions{URL: tsa.URL, Storage: st})
	}
	checkpoint := func() {
		c, isNew, err := l.Checkpoint(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if isNew && anchorer != nil {
			a, err := anchorer.Stamp(ctx, c)
			if err != nil {
				t.Fatal(err)
			}
			st.AddAnchor(ctx, a)
		}
	}
	other := func(n int) {
		for _, f := range noticeFacts(traceOf(n), fmt.Sprintf("%05X", n)) {
			if _, err := l.Append(ctx, f); err != nil {
				t.Fatal(err)
			}
		}
	}
	for n := 1; n <= around; n++ {
		other(n)
	}
	checkpoint()
	notice := traceOf(0)
	notice[13] = 0xee // no other message's
	for i, f := range noticeFacts(notice, "4Fq9Z2") {
		if _, err := l.Append(ctx, f); err != nil {
			t.Fatal(err)
		}
		if i == 3 {
			other(around + 1) // another message's records between the notice's
		}
	}
	checkpoint()
	for n := around + 2; n <= 2*around+1; n++ {
		other(n)
	}
	checkpoint()
	if err := st.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(notice[:])
}

func exportBundle(t testing.TB, st *MemoryStorage, key *Key, message string) ([]byte, *BundleContents) {
	t.Helper()
	var buf bytes.Buffer
	bc, err := Export(context.Background(), &buf, ExportOptions{Storage: st, Messages: []string{message}, Query: message,
		PublicKeys: []string{key.Public}, Now: bundleT0.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), bc
}

func readBundle(t testing.TB, data []byte) *Bundle {
	t.Helper()
	b, err := ReadBundle(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// rezip writes files back as a bundle; with rehash the manifest's hashes
// are made to fit the files (a forger who rewrites the manifest too).
func rezip(t testing.TB, b *Bundle, rehash bool) []byte {
	t.Helper()
	files := map[string][]byte{}
	for name, data := range b.Files {
		if name != bundleManifest {
			files[name] = data
		}

	}
	if !rehash {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		for name, data := range b.Files {
			w, _ := zw.Create(name)
			w.Write(data)
		}
		zw.Close()
		return buf.Bytes()
	}
	var buf bytes.Buffer
	bc := &BundleContents{Manifest: b.Manifest}
	var cert func(*BundleContents) ([]byte, error)
	if pdf, ok := files[BundleCertificate]; ok {
		cert = func(*BundleContents) ([]byte, error) { return pdf, nil }
	}
	if err := WriteBundle(&buf, bc, files, bundleT0, cert); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func verifyBytes(t testing.TB, data []byte, opts BundleVerifyOptions) ([]Check, error) {
	t.Helper()
	b, err := ReadBundle(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, err
	}
	return VerifyBundle(b, opts)
}

func TestBundleExportAndVerify(t *testing.T) {
	tsa := startTSA(t)
	key := testKey(t)
	st, notice := bundleLog(t, key, tsa, 20)
	data, bc := exportBundle(t, st, key, notice)
	b := readBundle(t, data)
	if b.ManifestSHA256 != bc.ManifestSHA256 {
		t.Errorf("manifest hash read %s, written %s", b.ManifestSHA256, bc.ManifestSHA256)
	}
	// The notice's 13 records (accept, 10 attempts, queue removal,
	// closing) and none of the other message's between them.
	var names []string
	for name := range b.Files {
		names = append(names, name)
	}
	slices.Sort(names)
	nrec := 0
	for _, n := range names {
		if strings.HasPrefix(n, "logs/1/records/") {
			nrec++
		}
	}
	for _, want := range []string{"manifest.json", "keys/log.pub", "logs/1/checkpoint", "logs/1/checkpoint.tsr", "logs/1/tsa-certs.pem",
		"logs/1/latest-checkpoint", "logs/1/proofs.json"} {
		if !slices.Contains(names, want) {
			t.Errorf("bundle lacks %s: %v", want, names)
		}
	}
	if nrec != 13 {
		t.Errorf("%d records in the bundle, want the notice's 13: %v", nrec, names)
	}
	var pr Proofs
	json.Unmarshal(b.Files["logs/1/proofs.json"], &pr)
	if !pr.Anchored || pr.LatestSize <= pr.CheckpointSize || len(pr.Consistency) == 0 {
		t.Errorf("proofs: anchored %v, checkpoint %d, latest %d, consistency %d hashes", pr.Anchored, pr.CheckpointSize, pr.LatestSize, len(pr.Consistency))
	}
	roots, err := LoadTSARoots(tsa.Root)
	if err != nil {
		t.Fatal(err)
	}
	checks, err := VerifyBundle(b, BundleVerifyOptions{Verifiers: verifiersOf(t, key), TSA: &TSAVerifier{Roots: roots}})
	if err != nil {
		t.Fatalf("verify: %v\n%v", err, checks)
	}
	var got []string
	for _, c := range checks {
		got = append(got, c.Name)
	}
	if want := "[manifest records chains inclusion checkpoint consistency time stamp]"; fmt.Sprint(got) != want {
		t.Errorf("checks %v, want %s", got, want)
	}
	if !strings.Contains(checks[2].Detail, "1 closed") {
		t.Errorf("chains: %s", checks[2].Detail)
	}
	// Without --key and roots: consistent with itself, and says so.
	checks, err = VerifyBundle(readBundle(t, data), BundleVerifyOptions{})
	if err != nil {
		t.Fatalf("verify with the bundle's key: %v", err)
	}
	if !strings.Contains(checks[4].Detail, "give --key") || !strings.Contains(checks[6].Detail, "give --tsa-roots") {
		t.Errorf("checks do not say what was not checked: %v", checks)
	}
	// openssl agrees on the token and the checkpoint it stamps.
	dir := t.TempDir()
	for _, f := range []string{"logs/1/checkpoint", "logs/1/checkpoint.tsr", "logs/1/tsa-certs.pem"} {
		os.WriteFile(filepath.Join(dir, filepath.Base(f)), b.Files[f], 0o600)
	}
	out := run(t, dir, "openssl", "ts", "-verify", "-token_in", "-in", "checkpoint.tsr", "-data", "checkpoint", "-CAfile", tsa.Root, "-untrusted", "tsa-certs.pem")
	if !bytes.Contains(out, []byte("Verification: OK")) {
		t.Errorf("openssl ts -verify: %s", out)
	}
}

func TestBundleSize(t *testing.T) {
	key := testKey(t)
	// A log of about 2^15 records: the audit paths are 15 hashes long;
	// at 50 million records they are 26, adding 11 x 44 bytes per record.
	st, notice := bundleLog(t, key, nil, 1260)
	data, _ := exportBundle(t, st, key, notice)
	var pr Proofs
	json.Unmarshal(readBundle(t, data).Files["logs/1/proofs.json"], &pr)
	extra := 13 * (26 - len(pr.Inclusion[0].Path)) * 48
	t.Logf("bundle of 2 recipients x 5 attempts: %d bytes (log of %d records, paths of %d hashes); at 50M records about %d bytes",
		len(data), pr.LatestSize, len(pr.Inclusion[0].Path), len(data)+extra)
	if len(data)+extra > 64<<10 {
		t.Errorf("bundle of %d bytes (%d at 50M records), over 64 KB", len(data), len(data)+extra)
	}
}

func TestBundleExportRefuses(t *testing.T) {
	key := testKey(t)
	ctx := context.Background()
	st := NewMemoryStorage()
	l, err := Open(ctx, Options{Origin: testOrigin, Host: "mx1", Storage: st, Key: key})
	if err != nil {
		t.Fatal(err)
	}
	trace := traceOf(1)
	for _, f := range noticeFacts(trace, "4AAA") {
		l.Append(ctx, f)
	}
	tests := []struct {
		name     string
		messages []string
		want     string
	}{
		{"a message the ledger has no record of", []string{"queue:mx1:NOPE"}, "no record of"},
		{"no checkpoint covers the records yet", []string{hex.EncodeToString(trace[:])}, "no signed checkpoint covers the records yet"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			_, err := Export(ctx, &buf, ExportOptions{Storage: st, Messages: tt.messages, PublicKeys: []string{key.Public}})
			if !errors.Is(err, ErrBundle) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("export: %v, want %q", err, tt.want)
			}
		})
	}
}

// TestBundleTampering changes a bundle as a forger would and checks that
// verification fails, naming the check and what is wrong.
func TestBundleTampering(t *testing.T) {
	tsa := startTSA(t)
	key, otherKey := testKey(t), testKey(t)
	st, notice := bundleLog(t, key, tsa, 3)
	data, _ := exportBundle(t, st, key, notice)
	roots, err := LoadTSARoots(tsa.Root)
	if err != nil {
		t.Fatal(err)
	}
	opts := BundleVerifyOptions{Verifiers: verifiersOf(t, key), TSA: &TSAVerifier{Roots: roots}}
	records := func(b *Bundle) []string {
		var out []string
		for n := range b.Files {
			if strings.HasPrefix(n, "logs/1/records/") {
				out = append(out, n)
			}
		}
		slices.SortFunc(out, cmpIndex)
		return out
	}
	// A token of another checkpoint of the same log.
	var otherToken []byte
	st.Anchors(context.Background(), testOrigin, func(a *Anchor) error {
		var pr Proofs
		json.Unmarshal(readBundle(t, data).Files["logs/1/proofs.json"], &pr)
		if a.Size != pr.CheckpointSize {
			otherToken = a.Token
		}
		return nil
	})
	tests := []struct {
		name   string
		tamper func(b *Bundle) []byte
		opts   BundleVerifyOptions
		check  string
		detail string
	}{
		{"a record removed, its proof kept", func(b *Bundle) []byte {
			delete(b.Files, records(b)[5])
			return rezip(t, b, true)
		}, opts, "records", "a record was removed"},
		{"a record removed with its proof", func(b *Bundle) []byte {
			name := records(b)[5]
			delete(b.Files, name)
			var pr Proofs
			json.Unmarshal(b.Files["logs/1/proofs.json"], &pr)
			pr.Inclusion = slices.DeleteFunc(pr.Inclusion, func(p ProofPath) bool { return "logs/1/records/"+fmt.Sprint(p.Index)+".json" == name })
			b.Files["logs/1/proofs.json"], _ = json.Marshal(pr)
			return rezip(t, b, true)
		}, opts, "chains", "a record is missing"},
		{"the first record removed", func(b *Bundle) []byte {
			delete(b.Files, records(b)[0])
			return rezip(t, b, true)
		}, opts, "records", "a record was removed"},
		{"two records swapped", func(b *Bundle) []byte {
			rs := records(b)
			b.Files[rs[2]], b.Files[rs[3]] = b.Files[rs[3]], b.Files[rs[2]]
			return rezip(t, b, true)
		}, opts, "records", "moved or swapped"},
		{"a record's reply changed and its manifest hash fixed", func(b *Bundle) []byte {
			r := records(b)[10]
			b.Files[r] = bytes.Replace(b.Files[r], []byte("250 2.0.0 Ok"), []byte("250 2.0.0 OK"), 1)
			return rezip(t, b, true)
		}, opts, "inclusion", "is not in the tree of checkpoint"},
		{"a token from another checkpoint", func(b *Bundle) []byte {
			b.Files["logs/1/checkpoint.tsr"] = otherToken
			return rezip(t, b, true)
		}, opts, "time stamp", "not this checkpoint"},
		{"verified with a different key", func(b *Bundle) []byte { return rezip(t, b, false) },
			BundleVerifyOptions{Verifiers: verifiersOf(t, otherKey), TSA: opts.TSA}, "checkpoint", "signed by no known key"},
		{"the bundle's key replaced by another", func(b *Bundle) []byte {
			b.Files["keys/log.pub"] = []byte(otherKey.Public + "\n")
			return rezip(t, b, true)
		}, BundleVerifyOptions{TSA: opts.TSA}, "checkpoint", "signed by no known key"},
		{"a file added", func(b *Bundle) []byte {
			b.Files["logs/1/records/99999.json"] = []byte("{}")
			return rezip(t, b, false)
		}, opts, "manifest", "not in the manifest"},
		{"the TSA certificates replaced", func(b *Bundle) []byte {
			b.Files["logs/1/tsa-certs.pem"] = []byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
			return rezip(t, b, true)
		}, opts, "time stamp", "not the certificates the token carries"},
	}
	// A changed byte in every file, the manifest left as it was.
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for n := range readBundle(t, data).Files {
			if n != bundleManifest && !yield(n) {
				return
			}
		}
	}) {
		tests = append(tests, struct {
			name   string
			tamper func(b *Bundle) []byte
			opts   BundleVerifyOptions
			check  string
			detail string
		}{"a byte of " + name + " changed", func(b *Bundle) []byte {
			f := bytes.Clone(b.Files[name])
			f[len(f)/2] ^= 0x01
			b.Files[name] = f
			return rezip(t, b, false)
		}, opts, "manifest", name + " has SHA-256"})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bad := tt.tamper(readBundle(t, data))
			checks, err := verifyBytes(t, bad, tt.opts)
			if !errors.Is(err, ErrVerify) {
				t.Fatalf("verify passed: %v\n%v", err, checks)
			}
			for _, c := range checks {
				if !c.OK && c.Name == tt.check && strings.Contains(c.Detail, tt.detail) {
					return
				}
			}
			t.Errorf("no failed %s check with %q:\n%v", tt.check, tt.detail, checks)
		})
	}
}

func TestReadBundleRefusesHostileZips(t *testing.T) {
	zipOf := func(files ...string) []byte {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		for i := 0; i < len(files); i += 2 {
			w, _ := zw.Create(files[i])
			w.Write([]byte(files[i+1]))
		}
		zw.Close()
		return buf.Bytes()
	}
	bomb := func() []byte {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		w, _ := zw.Create("records/0.json")
		zero := make([]byte, 1<<20)
		for range 5 {
			w.Write(zero)
		}
		zw.Close()
		return buf.Bytes()
	}
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"not a zip", []byte("PK not really"), "not a zip"},
		{"a path out of the bundle", zipOf("../etc/passwd", "x"), "not a plain relative path"},
		{"an absolute path", zipOf("/etc/passwd", "x"), "not a plain relative path"},
		{"a name twice", zipOf("a", "1", "a", "2"), "twice"},
		{"no manifest", zipOf("a", "1"), "no manifest.json"},
		{"a manifest with unknown members", zipOf("manifest.json", `{"format":"x","extra":1}`), "unknown field"},
		{"a file inflating past the limit", bomb(), "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadBundle(bytes.NewReader(tt.data), int64(len(tt.data)))
			if !errors.Is(err, ErrBundle) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ReadBundle: %v, want %q", err, tt.want)
			}
		})
	}
}

func FuzzReadBundle(f *testing.F) {
	key := testKey(f)
	st, notice := bundleLog(f, key, nil, 1)
	data, _ := exportBundle(f, st, key, notice)
	f.Add(data)
	f.Add([]byte("PK\x03\x04"))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := ReadBundle(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			if !errors.Is(err, ErrBundle) {
				t.Fatalf("error not ErrBundle: %v", err)
			}
			return
		}
		checks, err := VerifyBundle(b, BundleVerifyOptions{})
		if err != nil && !errors.Is(err, ErrVerify) {
			t.Fatalf("verify error not ErrVerify: %v", err)
		}
		if len(checks) == 0 {
			t.Fatal("no check reported")
		}
	})
}

func BenchmarkBundleExport(b *testing.B) {
	key := testKey(b)
	st, notice := bundleLog(b, key, nil, 1000)
	b.ResetTimer()
	for b.Loop() {
		var buf bytes.Buffer
		if _, err := Export(context.Background(), &buf, ExportOptions{Storage: st, Messages: []string{notice}, PublicKeys: []string{key.Public}}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStoreBundleExport exports from the embedded store, the notice
// among BUNDLE_BENCH_MESSAGES others (default 20000, 13 records each).
func BenchmarkStoreBundleExport(b *testing.B) {
	n := 20000
	if v, err := strconv.Atoi(os.Getenv("BUNDLE_BENCH_MESSAGES")); err == nil {
		n = v
	}
	st := storetest.Chdb(b)
	ctx := context.Background()
	if _, err := schema.Migrate(ctx, st, schema.Options{Database: st.Database()}, false); err != nil {
		b.Fatal(err)
	}
	storage := NewStoreStorage(st, store.WriterOptions{MaxRows: 50000})
	defer storage.Close(ctx)
	key := testKey(b)
	notice := bundleLogOn(b, storage, key, nil, n/2)
	var times []time.Duration
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		var buf bytes.Buffer
		if _, err := Export(ctx, &buf, ExportOptions{Storage: storage, Messages: []string{notice}, PublicKeys: []string{key.Public}}); err != nil {
			b.Fatal(err)
		}
		times = append(times, time.Since(start))
	}
	slices.Sort(times)
	b.ReportMetric(float64(times[len(times)*99/100].Microseconds())/1000, "p99-ms")
}

func BenchmarkBundleVerify(b *testing.B) {
	key := testKey(b)
	st, notice := bundleLog(b, key, nil, 1000)
	data, _ := exportBundle(b, st, key, notice)
	vs := verifiersOf(b, key)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		bd, err := ReadBundle(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := VerifyBundle(bd, BundleVerifyOptions{Verifiers: vs}); err != nil {
			b.Fatal(err)
		}
	}
}
