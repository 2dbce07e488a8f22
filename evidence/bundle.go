package evidence

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/digitorus/pkcs7"

	"github.com/mailtrace/mailtrace/schema"
)

// BundleFormat names the layout of an evidence bundle, stated in its
// manifest (docs/evidence-format.md specifies it).
const BundleFormat = "mailtrace-evidence-bundle/1"

// ErrBundle means a bundle cannot be made (no record, no checkpoint yet)
// or cannot be read (not a zip, too large, a file missing).
var ErrBundle = errors.New("evidence: bundle")

// ErrNoCheckpointYet means the records to export are in the ledger but
// no signed checkpoint covers them yet: the next checkpoint (within
// evidence.checkpoint_interval) will. It is an ErrBundle.
var ErrNoCheckpointYet = fmt.Errorf("%w: no signed checkpoint covers the records yet", ErrBundle)

// The files of a bundle. Per log, under logs/N/ (N counting from 1 in
// the manifest's order of logs).
const (
	bundleManifest = "manifest.json"
	bundleKeys     = "keys/log.pub"
	// BundleCertificate is the certificate PDF, when the bundle has one.
	BundleCertificate = "certificate.pdf"
	logCheckpoint     = "checkpoint"
	logLatest         = "latest-checkpoint"
	logToken          = "checkpoint.tsr"
	logTSACerts       = "tsa-certs.pem"
	logProofs         = "proofs.json"
	logRecords        = "records/"
)

// Manifest is a bundle's manifest.json: what it holds and the SHA-256 of
// every other file.
type Manifest struct {
	Format        string `json:"format"`
	HashAlgorithm string `json:"hashAlgorithm"`
	Created       string `json:"created"`
	// Query is the identifier the bundle was exported for.
	Query string `json:"query,omitempty"`
	// Messages are the message chains the bundle holds (their chain keys:
	// trace IDs, or queue:HOST:QUEUEID), sorted.
	Messages []string       `json:"messages"`
	Logs     []ManifestLog  `json:"logs"`
	Files    []ManifestFile `json:"files"`
}

// ManifestLog is one log whose records the bundle holds.
type ManifestLog struct {
	Dir    string `json:"dir"`
	Origin string `json:"origin"`
}

// ManifestFile is one file of the bundle and its SHA-256 in hex.
type ManifestFile struct {
	Name   string `json:"name"`
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
}

// Proofs is a log's proofs.json: the tree the records are proved in, an
// audit path per record, and the consistency of that tree with the latest.
type Proofs struct {
	Origin         string      `json:"origin"`
	CheckpointSize int64       `json:"checkpointSize"`
	CheckpointRoot string      `json:"checkpointRoot"` // base64, as in the checkpoint
	Anchored       bool        `json:"anchored"`
	Inclusion      []ProofPath `json:"inclusion"`
	LatestSize     int64       `json:"latestSize"`
	LatestRoot     string      `json:"latestRoot"`
	// Consistency proves the checkpoint's tree a prefix of the latest
	// (empty when they are the same).
	Consistency []string `json:"consistency"`
}

// ProofPath is the audit path (base64 hashes, RFC 6962 order) of the
// record at Index.
type ProofPath struct {
	Index int64    `json:"index"`
	Path  []string `json:"path"`
}

// ExportOptions say what a bundle holds.
type ExportOptions struct {
	Storage ProofStorage
	// Messages are the chain keys of the messages exported together (see
	// MessageKey): those that share a queue entry or a content-filter chain.
	Messages []string
	Query    string
	// PublicKeys are the log's verifier keys, current and past.
	PublicKeys []string
	// Certificate, when set, makes the certificate PDF from the bundle's
	// contents (records and manifest hash).
	Certificate func(*BundleContents) ([]byte, error)
	Now         time.Time
}

// BundleContents is what Export gathered, for the certificate and the
// caller's report.
type BundleContents struct {
	Manifest Manifest
	// ManifestSHA256 is the hex SHA-256 of manifest.json as written.
	ManifestSHA256 string
	Records        []BundleRecord
	Logs           []BundleLog
}

// BundleRecord is one record of a bundle, parsed.
type BundleRecord struct {
	Origin string
	Index  int64
	Hash   string // hex SHA-256 of Canonical
	Record Record
	// Canonical is the record's canonical JSON, as stored and hashed.
	Canonical []byte
}

// BundleLog is one log's part of a bundle.
type BundleLog struct {
	Origin     string
	Checkpoint *Checkpoint
	Anchor     *Anchor // nil when the checkpoint is not time-stamped
	Latest     *Checkpoint
}

// GatherBundle reads the messages' records and the proofs for them from
// storage.
func GatherBundle(ctx context.Context, opts ExportOptions) (*BundleContents, map[string][]byte, error) {
	if len(opts.Messages) == 0 {
		return nil, nil, fmt.Errorf("%w: no message to export", ErrBundle)
	}
	byOrigin := map[string][]*Entry{}
	var origins []string
	err := opts.Storage.MessageEntries(ctx, opts.Messages, func(origin string, e *Entry) error {
		if _, ok := byOrigin[origin]; !ok {
			origins = append(origins, origin)
		}
		c := *e
		byOrigin[origin] = append(byOrigin[origin], &c)
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("evidence: reading the records of %v: %w", opts.Messages, err)
	}
	if len(origins) == 0 {
		return nil, nil, fmt.Errorf("%w: the ledger has no record of %v (facts stored before the ledger started, or with evidence.enabled off, have none)", ErrBundle, opts.Messages)
	}
	slices.Sort(origins)
	files := map[string][]byte{}
	bc := &BundleContents{}
	// The chains held: the keys asked for that have records.
	var held []string
	for _, es := range byOrigin {
		for _, e := range es {
			if !slices.Contains(held, e.Message) {
				held = append(held, e.Message)
			}
		}
	}
	slices.Sort(held)
	man := Manifest{Format: BundleFormat, HashAlgorithm: HashAlgorithm, Created: Timestamp(opts.Now, schema.DigitsMicrosecond), Query: opts.Query, Messages: held}
	for n, origin := range origins {
		entries := byOrigin[origin]
		dir := "logs/" + strconv.Itoa(n+1) + "/"
		man.Logs = append(man.Logs, ManifestLog{Dir: strings.TrimSuffix(dir, "/"), Origin: origin})
		last := entries[len(entries)-1].Index
		cp, latest, anchor, err := proofCheckpoints(ctx, opts.Storage, origin, last)
		if err != nil {
			return nil, nil, err
		}
		pr := Proofs{Origin: origin, CheckpointSize: cp.Tree.N, CheckpointRoot: base64.StdEncoding.EncodeToString(cp.Tree.Hash[:]),
			Anchored: anchor != nil, LatestSize: latest.Tree.N, LatestRoot: base64.StdEncoding.EncodeToString(latest.Tree.Hash[:]),
			Consistency: []string{}}
		set := NewProofSet(origin)
		for _, e := range entries {
			set.Inclusion(cp.Tree.N, e.Index)
		}
		if latest.Tree.N > cp.Tree.N {
			set.Consistency(latest.Tree.N, cp.Tree.N)
		}
		incl, cons, err := set.Prove(ctx, opts.Storage)
		if err != nil {
			return nil, nil, err
		}
		for i, e := range entries {
			pr.Inclusion = append(pr.Inclusion, ProofPath{Index: e.Index, Path: hashesB64(incl[i])})
			files[dir+logRecords+strconv.FormatInt(e.Index, 10)+".json"] = e.Record
			br := BundleRecord{Origin: origin, Index: e.Index, Hash: hex.EncodeToString(e.Hash[:]), Canonical: e.Record}
			if err := json.Unmarshal(e.Record, &br.Record); err != nil {
				return nil, nil, fmt.Errorf("%w: record %d of %s is not JSON (run mailtrace evidence verify): %w", ErrStorage, e.Index, origin, err)
			}
			bc.Records = append(bc.Records, br)
		}
		if len(cons) > 0 {
			pr.Consistency = hashesB64(cons[0])
		}
		proofs, err := json.MarshalIndent(pr, "", "  ")
		if err != nil {
			return nil, nil, err
		}
		files[dir+logProofs] = append(proofs, '\n')
		files[dir+logCheckpoint] = cp.Note
		files[dir+logLatest] = latest.Note
		if anchor != nil {
			files[dir+logToken] = anchor.Token
			if certs := tokenCertificates(anchor.Token); certs != nil {
				files[dir+logTSACerts] = certs
			}
		}
		bc.Logs = append(bc.Logs, BundleLog{Origin: origin, Checkpoint: cp, Anchor: anchor, Latest: latest})
	}
	keys := strings.Join(opts.PublicKeys, "\n")
	if keys == "" {
		return nil, nil, fmt.Errorf("%w: no public key of the log to put in the bundle", ErrBundle)
	}
	files[bundleKeys] = []byte(keys + "\n")
	bc.Manifest = man
	return bc, files, nil
}

// proofCheckpoints picks the checkpoint the records are proved in (the
// first anchored one that covers index last, else the first that covers
// it) and the latest.
func proofCheckpoints(ctx context.Context, st Storage, origin string, last int64) (cp, latest *Checkpoint, anchor *Anchor, err error) {
	anchors := map[int64]*Anchor{}
	if err := st.Anchors(ctx, origin, func(a *Anchor) error {
		if anchors[a.Size] == nil {
			c := *a
			anchors[a.Size] = &c
		}
		return nil
	}); err != nil {
		return nil, nil, nil, fmt.Errorf("evidence: reading anchors of %s: %w", origin, err)
	}
	var first *Checkpoint
	if err := st.Checkpoints(ctx, origin, func(c *Checkpoint) error {
		cc := *c
		if latest == nil || c.Tree.N >= latest.Tree.N {
			latest = &cc
		}
		if c.Tree.N <= last {
			return nil
		}
		if first == nil {
			first = &cc
		}
		if cp == nil && anchors[c.Tree.N] != nil {
			cp, anchor = &cc, anchors[c.Tree.N]
		}
		return nil
	}); err != nil {
		return nil, nil, nil, fmt.Errorf("evidence: reading checkpoints of %s: %w", origin, err)
	}
	if first == nil {
		return nil, nil, nil, fmt.Errorf("%w: log %s, record %d: export again after the next checkpoint (evidence.checkpoint_interval)", ErrNoCheckpointYet, origin, last)
	}
	if cp == nil {
		cp = first
	}
	return cp, latest, anchor, nil
}

func hashesB64[T ~[]H, H ~[32]byte](hs T) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = base64.StdEncoding.EncodeToString(h[:])
	}
	return out
}

// tokenCertificates returns the certificates a time-stamp token carries,
// in PEM, or nil.
func tokenCertificates(token []byte) []byte {
	p7, err := pkcs7.Parse(token)
	if err != nil || len(p7.Certificates) == 0 {
		return nil
	}
	var out bytes.Buffer
	for _, c := range p7.Certificates {
		pem.Encode(&out, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	return out.Bytes()
}

// WriteBundle writes the files as a zip with manifest.json first, and
// fills bc's manifest and its hash. certificate, when set, makes the
// certificate from the contents and the manifest's hash; it is written
// last and is not in the manifest (it names the manifest's hash; verify
// checks what it states against the records).
func WriteBundle(w io.Writer, bc *BundleContents, files map[string][]byte, now time.Time, certificate func(*BundleContents) ([]byte, error)) error {
	names := make([]string, 0, len(files))
	for name := range files {
		if name != BundleCertificate {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	bc.Manifest.Files = bc.Manifest.Files[:0]
	for _, name := range names {
		sum := sha256.Sum256(files[name])
		bc.Manifest.Files = append(bc.Manifest.Files, ManifestFile{Name: name, SHA256: hex.EncodeToString(sum[:]), Size: int64(len(files[name]))})
	}
	man, err := json.MarshalIndent(bc.Manifest, "", "  ")
	if err != nil {
		return err
	}
	man = append(man, '\n')
	sum := sha256.Sum256(man)
	bc.ManifestSHA256 = hex.EncodeToString(sum[:])
	zw := zip.NewWriter(w)
	put := func(name string, data []byte) error {
		f, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: now.UTC()})
		if err != nil {
			return err
		}
		_, err = f.Write(data)
		return err
	}
	var cert []byte
	if certificate != nil {
		var err error
		if cert, err = certificate(bc); err != nil {
			return fmt.Errorf("%w: the certificate: %w", ErrBundle, err)
		}
	}
	if err := put(bundleManifest, man); err != nil {
		return fmt.Errorf("%w: writing: %w", ErrBundle, err)
	}
	for _, name := range names {
		if err := put(name, files[name]); err != nil {
			return fmt.Errorf("%w: writing %s: %w", ErrBundle, name, err)
		}
	}
	if cert != nil {
		if err := put(BundleCertificate, cert); err != nil {
			return fmt.Errorf("%w: writing %s: %w", ErrBundle, BundleCertificate, err)
		}
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("%w: writing: %w", ErrBundle, err)
	}
	return nil
}

// Export writes one message's bundle (the messages exported together) to
// w and returns what it holds.
func Export(ctx context.Context, w io.Writer, opts ExportOptions) (*BundleContents, error) {
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	bc, files, err := GatherBundle(ctx, opts)
	if err != nil {
		return nil, err
	}
	if err := WriteBundle(w, bc, files, opts.Now, opts.Certificate); err != nil {
		return nil, err
	}
	return bc, nil
}
