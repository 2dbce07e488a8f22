package evidence

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/digitorus/timestamp"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Limits on a bundle read: a hostile zip (a bomb, thousands of entries)
// is refused before it costs memory.
const (
	MaxBundleFiles     = 4096
	MaxBundleFileBytes = 4 << 20
	MaxBundleBytes     = 16 << 20
)

// BundleVerifyOptions say what a bundle is checked against.
type BundleVerifyOptions struct {
	// Verifiers are the log keys trusted (--key). Nil trusts the keys in
	// the bundle, which proves only that the bundle is consistent with
	// itself: the check says so.
	Verifiers note.Verifiers
	// TSA checks time-stamp tokens against trusted roots; nil checks the
	// token's imprint and says that its chain was not checked.
	TSA *TSAVerifier
	// Certificate, when set, checks the certificate PDF against the
	// records (the certificate package provides it).
	Certificate func(pdf []byte, b *Bundle) error
	// ManifestSHA256, when set, is the manifest's hash as the verifier
	// got it by another way (the certificate, a letter): the manifest
	// must have it.
	ManifestSHA256 string
	// Report receives each check as it completes.
	Report func(Check)
}

// Bundle is a bundle as read: its files, manifest and parsed records.
type Bundle struct {
	Files    map[string][]byte
	Manifest Manifest
	// ManifestSHA256 is the hex SHA-256 of manifest.json.
	ManifestSHA256 string
	Records        []BundleRecord
}

// ReadBundle reads a zip's files, within the limits, refusing names that
// are not plain relative paths and names given twice.
func ReadBundle(r io.ReaderAt, size int64) (*Bundle, error) {
	if size > MaxBundleBytes {
		return nil, fmt.Errorf("%w: %d bytes, more than the %d a bundle may have", ErrBundle, size, MaxBundleBytes)
	}
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, fmt.Errorf("%w: not a zip file: %w", ErrBundle, err)
	}
	if len(zr.File) > MaxBundleFiles {
		return nil, fmt.Errorf("%w: %d files, more than %d", ErrBundle, len(zr.File), MaxBundleFiles)
	}
	// The sizes the zip declares bound what reading costs (archive/zip
	// refuses an entry that inflates past its declared size): a bomb is
	// refused before anything is inflated.
	var declared uint64
	for _, f := range zr.File {
		if f.UncompressedSize64 > MaxBundleFileBytes {
			return nil, fmt.Errorf("%w: %s is larger than %d bytes", ErrBundle, f.Name, MaxBundleFileBytes)
		}
		if declared += f.UncompressedSize64; declared > MaxBundleBytes {
			return nil, fmt.Errorf("%w: more than %d bytes uncompressed", ErrBundle, MaxBundleBytes)
		}
	}
	b := &Bundle{Files: map[string][]byte{}}
	var total int64
	for _, f := range zr.File {
		name := f.Name
		if name == "" || strings.HasPrefix(name, "/") || strings.Contains(name, "\\") || path.Clean(name) != name || strings.HasPrefix(name, "../") || name == ".." {
			return nil, fmt.Errorf("%w: file name %q is not a plain relative path", ErrBundle, name)
		}
		if f.FileInfo().IsDir() {
			continue
		}
		if _, dup := b.Files[name]; dup {
			return nil, fmt.Errorf("%w: %s is in the zip twice", ErrBundle, name)
		}
		rc, err := f.Open()
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrBundle, name, err)
		}
		data, err := io.ReadAll(io.LimitReader(rc, MaxBundleFileBytes+1))
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrBundle, name, err)
		}
		if len(data) > MaxBundleFileBytes {
			return nil, fmt.Errorf("%w: %s is larger than %d bytes", ErrBundle, name, MaxBundleFileBytes)
		}
		if total += int64(len(data)); total > MaxBundleBytes {
			return nil, fmt.Errorf("%w: more than %d bytes uncompressed", ErrBundle, MaxBundleBytes)
		}
		b.Files[name] = data
	}
	man, ok := b.Files[bundleManifest]
	if !ok {
		return nil, fmt.Errorf("%w: no %s", ErrBundle, bundleManifest)
	}
	sum := sha256.Sum256(man)
	b.ManifestSHA256 = hex.EncodeToString(sum[:])
	dec := json.NewDecoder(bytes.NewReader(man))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b.Manifest); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrBundle, bundleManifest, err)
	}
	return b, nil
}

var recordFile = regexp.MustCompile(`^records/(0|[1-9][0-9]{0,17})\.json$`)

// VerifyBundle checks a bundle offline, one line per check: the manifest,
// the records (canonical form, hash), the chains and their closing
// records, each inclusion proof, the checkpoints' signatures, the
// consistency with the latest checkpoint, the time stamps, and the
// certificate. It returns ErrVerify when a check fails.
func VerifyBundle(b *Bundle, opts BundleVerifyOptions) ([]Check, error) {
	v := &verifier{opts: VerifyOptions{Report: opts.Report}, res: &VerifyResult{}}
	mc := checkManifest(b)
	if mc.OK && opts.ManifestSHA256 != "" && !strings.EqualFold(opts.ManifestSHA256, b.ManifestSHA256) {
		mc = Check{"manifest", false, fmt.Sprintf("manifest.json has SHA-256 %s, not the %s given: it was changed or is another bundle's", b.ManifestSHA256, opts.ManifestSHA256)}
	}
	v.add(mc)

	known := opts.Verifiers
	keyNote := "a key given to the verifier"
	if known == nil {
		vs, _, err := Verifiers(string(b.Files[bundleKeys]))
		if err != nil {
			v.add(Check{"keys", false, fmt.Sprintf("%s: %v", bundleKeys, err)})
		}
		known, keyNote = vs, "the key in the bundle (give --key with the operator's public key to check it is theirs)"
	}

	var recFail, chainFail, inclFail, cpFail, consFail, anchorFail []string
	var nRecords, nAnchored int
	type chainKey struct{ origin, message string }
	chains := map[chainKey][]*BundleRecord{}
	var chainOrder []chainKey
	for _, lg := range b.Manifest.Logs {
		dir := lg.Dir + "/"
		var pr Proofs
		if err := strictJSON(b.Files[dir+logProofs], &pr); err != nil {
			inclFail = append(inclFail, fmt.Sprintf("%s%s: %v", dir, logProofs, err))
			continue
		}
		if pr.Origin != lg.Origin {
			inclFail = append(inclFail, fmt.Sprintf("%s%s is for log %q, the manifest says %q", dir, logProofs, pr.Origin, lg.Origin))
		}
		// The records of this log, by file name.
		proofOf := map[int64][]string{}
		for _, p := range pr.Inclusion {
			proofOf[p.Index] = p.Path
		}
		var names []string
		for name := range b.Files {
			if strings.HasPrefix(name, dir+logRecords) {
				names = append(names, name)
			}
		}
		slices.SortFunc(names, func(a, c string) int { return cmpIndex(a, c) })
		seen := map[int64]bool{}
		for _, name := range names {
			m := recordFile.FindStringSubmatch(strings.TrimPrefix(name, dir))
			if m == nil {
				recFail = append(recFail, fmt.Sprintf("%s is not named records/INDEX.json", name))
				continue
			}
			index, _ := strconv.ParseInt(m[1], 10, 64)
			data := b.Files[name]
			br := BundleRecord{Origin: lg.Origin, Index: index, Canonical: data, Hash: RecordHash(data)}
			if err := json.Unmarshal(data, &br.Record); err != nil {
				recFail = append(recFail, fmt.Sprintf("%s is not JSON: %v", name, err))
				continue
			}
			nRecords++
			canon, err := br.Record.Canonical()
			switch {
			case err != nil:
				recFail = append(recFail, fmt.Sprintf("%s is not canonical JSON: %v", name, err))
			case !bytes.Equal(canon, data):
				recFail = append(recFail, fmt.Sprintf("%s is not in canonical form (RFC 8785): it was changed after it was written", name))
			case br.Record.Version != FormatVersion || br.Record.HashAlgorithm != HashAlgorithm:
				recFail = append(recFail, fmt.Sprintf("%s: format %q hash %q, not %q %q", name, br.Record.Version, br.Record.HashAlgorithm, FormatVersion, HashAlgorithm))
			case br.Record.Log.Index != index || br.Record.Log.Origin != lg.Origin:
				recFail = append(recFail, fmt.Sprintf("%s holds record %d of log %q: records were moved or swapped", name, br.Record.Log.Index, br.Record.Log.Origin))
			}
			seen[index] = true
			// Inclusion in the checkpoint's tree.
			path, ok := proofOf[index]
			if !ok {
				inclFail = append(inclFail, fmt.Sprintf("%s has no inclusion proof", name))
			} else if err := checkInclusion(path, pr, index, data); err != nil {
				inclFail = append(inclFail, fmt.Sprintf("%s (record %d) is not in the tree of checkpoint %d: %v", name, index, pr.CheckpointSize, err))
			}
			b.Records = append(b.Records, br)
		}
		for _, p := range pr.Inclusion {
			if !seen[p.Index] {
				recFail = append(recFail, fmt.Sprintf("record %d of log %s has a proof but no file %srecords/%d.json: a record was removed", p.Index, lg.Origin, dir, p.Index))
			}
		}
		// The checkpoints: signed by a trusted key, the tree the proofs name.
		cpNote := b.Files[dir+logCheckpoint]
		tree, _, err := OpenCheckpoint(cpNote, lg.Origin, known)
		switch {
		case err != nil:
			cpFail = append(cpFail, fmt.Sprintf("%s%s: %v", dir, logCheckpoint, err))
		case tree.N != pr.CheckpointSize || base64.StdEncoding.EncodeToString(tree.Hash[:]) != pr.CheckpointRoot:
			cpFail = append(cpFail, fmt.Sprintf("%s%s signs the tree of %d, not the tree of %d the proofs use", dir, logCheckpoint, tree.N, pr.CheckpointSize))
		}
		latest, _, err := OpenCheckpoint(b.Files[dir+logLatest], lg.Origin, known)
		switch {
		case err != nil:
			cpFail = append(cpFail, fmt.Sprintf("%s%s: %v", dir, logLatest, err))
		case latest.N != pr.LatestSize || base64.StdEncoding.EncodeToString(latest.Hash[:]) != pr.LatestRoot:
			cpFail = append(cpFail, fmt.Sprintf("%s%s signs the tree of %d, not the tree of %d the proofs use", dir, logLatest, latest.N, pr.LatestSize))
		default:
			if err := checkConsistency(pr); err != nil {
				consFail = append(consFail, fmt.Sprintf("log %s: the checkpoint of %d is not a prefix of the latest of %d: %v", lg.Origin, pr.CheckpointSize, pr.LatestSize, err))
			}
		}
		// The time stamp of the checkpoint.
		token, hasToken := b.Files[dir+logToken]
		if certs, ok := b.Files[dir+logTSACerts]; ok && (!hasToken || !bytes.Equal(certs, tokenCertificates(token))) {
			anchorFail = append(anchorFail, fmt.Sprintf("%s%s are not the certificates the token carries", dir, logTSACerts))
		}
		switch {
		case !hasToken && pr.Anchored:
			anchorFail = append(anchorFail, fmt.Sprintf("%s%s is missing: the proofs say the checkpoint is time-stamped", dir, logToken))
		case !hasToken:
		case opts.TSA != nil:
			nAnchored++
			if _, err := opts.TSA.Check(token, cpNote); err != nil {
				anchorFail = append(anchorFail, fmt.Sprintf("%s%s: %v", dir, logToken, err))
			}
		default:
			nAnchored++
			if err := checkImprint(token, cpNote); err != nil {
				anchorFail = append(anchorFail, fmt.Sprintf("%s%s: %v", dir, logToken, err))
			}
		}
	}
	sumUp := func(name string, fails []string, ok string) {
		if len(fails) > 0 {
			v.add(Check{name, false, strings.Join(fails, "; ")})
		} else {
			v.add(Check{name, true, ok})
		}
	}
	sumUp("records", recFail, fmt.Sprintf("%d records, each in canonical JSON (RFC 8785), in the file of its log index", nRecords))
	for i := range b.Records {
		r := &b.Records[i]
		if r.Record.Chain != nil {
			k := chainKey{r.Origin, r.Record.Chain.Message}
			if chains[k] == nil {
				chainOrder = append(chainOrder, k)
			}
			chains[k] = append(chains[k], r)
		}
	}
	open := 0
	for _, k := range chainOrder {
		f, closed := checkBundleChain(chains[k])
		if f != "" {
			chainFail = append(chainFail, fmt.Sprintf("message %s: %s", k.message, f))
		}
		if !closed {
			open++
		}
	}
	held := map[string]bool{}
	for _, k := range chainOrder {
		held[k.message] = true
	}
	for _, m := range b.Manifest.Messages {
		if !held[m] {
			chainFail = append(chainFail, fmt.Sprintf("the manifest names message %s, but the bundle has none of its records", m))
		}
		delete(held, m)
	}
	for m := range held {
		chainFail = append(chainFail, fmt.Sprintf("the bundle has records of message %s, which the manifest does not name", m))
	}
	detail := fmt.Sprintf("%d message chains, each complete from its first record, %d closed", len(chainOrder), len(chainOrder)-open)
	if open > 0 {
		detail += fmt.Sprintf(", %d still open (the message had not reached its final state at export)", open)
	}
	sumUp("chains", chainFail, detail)
	sumUp("inclusion", inclFail, fmt.Sprintf("every record is in its checkpoint's Merkle tree (RFC 6962 audit paths, %d logs)", len(b.Manifest.Logs)))
	sumUp("checkpoint", cpFail, "each checkpoint and latest checkpoint is signed by "+keyNote)
	sumUp("consistency", consFail, "each checkpoint's tree is a prefix of the latest checkpoint's (consistency proof)")
	switch {
	case len(anchorFail) > 0:
		sumUp("time stamp", anchorFail, "")
	case nAnchored == 0:
		v.add(Check{"time stamp", true, "no RFC 3161 time stamp: the checkpoint is signed but not anchored in time by a third party"})
	case opts.TSA != nil:
		v.add(Check{"time stamp", true, fmt.Sprintf("%d RFC 3161 tokens, each over its checkpoint, signed by a TSA the given roots vouch for", nAnchored)})
	default:
		v.add(Check{"time stamp", true, fmt.Sprintf("%d RFC 3161 tokens, each over its checkpoint; the TSA's chain was not checked (give --tsa-roots)", nAnchored)})
	}
	if pdf, ok := b.Files[BundleCertificate]; ok {
		switch {
		case opts.Certificate == nil:
			v.add(Check{"certificate", true, BundleCertificate + " present, not compared with the records"})
		default:
			if err := opts.Certificate(pdf, b); err != nil {
				v.add(Check{"certificate", false, err.Error()})
			} else {
				v.add(Check{"certificate", true, BundleCertificate + " states what the records say"})
			}
		}
	}
	if v.res.First != nil {
		return v.res.Checks, fmt.Errorf("%w: %s", ErrVerify, v.res.First)
	}
	return v.res.Checks, nil
}

func strictJSON(data []byte, v any) error {
	if data == nil {
		return fmt.Errorf("missing")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// cmpIndex orders record files by their index, then by name.
func cmpIndex(a, b string) int {
	ia, ea := strconv.ParseInt(strings.TrimSuffix(path.Base(a), ".json"), 10, 64)
	ib, eb := strconv.ParseInt(strings.TrimSuffix(path.Base(b), ".json"), 10, 64)
	if ea == nil && eb == nil && ia != ib {
		return int(ia - ib)
	}
	return strings.Compare(a, b)
}

// checkManifest: the format, every file listed with its hash and size,
// no file unlisted.
func checkManifest(b *Bundle) Check {
	m := b.Manifest
	if m.Format != BundleFormat || m.HashAlgorithm != HashAlgorithm {
		return Check{"manifest", false, fmt.Sprintf("format %q hash %q, not %q %q", m.Format, m.HashAlgorithm, BundleFormat, HashAlgorithm)}
	}
	var fails []string
	listed := map[string]bool{}
	for _, f := range m.Files {
		if listed[f.Name] {
			fails = append(fails, f.Name+" is listed twice")
			continue
		}
		listed[f.Name] = true
		data, ok := b.Files[f.Name]
		if !ok {
			fails = append(fails, f.Name+" is listed but not in the bundle")
			continue
		}
		sum := sha256.Sum256(data)
		if hex.EncodeToString(sum[:]) != f.SHA256 || int64(len(data)) != f.Size {
			fails = append(fails, fmt.Sprintf("%s has SHA-256 %x (%d bytes), the manifest says %s (%d bytes): it was changed", f.Name, sum, len(data), f.SHA256, f.Size))
		}
	}
	for name := range b.Files {
		if name != bundleManifest && name != BundleCertificate && !listed[name] {
			fails = append(fails, name+" is in the bundle but not in the manifest")
		}
	}
	for _, lg := range m.Logs {
		if !listed[lg.Dir+"/"+logProofs] || !listed[lg.Dir+"/"+logCheckpoint] {
			fails = append(fails, fmt.Sprintf("log %s (%s) has no proofs or checkpoint", lg.Origin, lg.Dir))
		}
	}
	if len(m.Logs) == 0 {
		fails = append(fails, "no log")
	}
	if len(fails) > 0 {
		slices.Sort(fails)
		return Check{"manifest", false, strings.Join(fails, "; ")}
	}
	return Check{"manifest", true, fmt.Sprintf("%d files, each with the SHA-256 the manifest states (manifest SHA-256 %s)", len(m.Files), b.ManifestSHA256)}
}

func decodeHashes(b64 []string) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(b64))
	for i, s := range b64 {
		h, err := base64.StdEncoding.DecodeString(s)
		if err != nil || len(h) != tlog.HashSize {
			return nil, fmt.Errorf("hash %q is not a base64 SHA-256", s)
		}
		copy(out[i][:], h)
	}
	return out, nil
}

func checkInclusion(path []string, pr Proofs, index int64, record []byte) error {
	p, err := decodeHashes(path)
	if err != nil {
		return err
	}
	root, err := decodeHashes([]string{pr.CheckpointRoot})
	if err != nil {
		return err
	}
	return tlog.CheckRecord(p, pr.CheckpointSize, root[0], index, tlog.RecordHash(record))
}

func checkConsistency(pr Proofs) error {
	p, err := decodeHashes(pr.Consistency)
	if err != nil {
		return err
	}
	roots, err := decodeHashes([]string{pr.CheckpointRoot, pr.LatestRoot})
	if err != nil {
		return err
	}
	if pr.LatestSize == pr.CheckpointSize {
		if roots[0] != roots[1] || len(p) != 0 {
			return fmt.Errorf("two trees of size %d with different roots: the log was forked", pr.LatestSize)
		}
		return nil
	}
	return tlog.CheckTree(p, pr.LatestSize, roots[1], pr.CheckpointSize, roots[0])
}

// checkImprint checks only that a token stamps this checkpoint: without
// trusted roots its signer cannot be judged.
func checkImprint(token, msg []byte) error {
	ts, err := timestamp.Parse(token)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrAnchor, err)
	}
	sum := sha256.Sum256(msg)
	if !bytes.Equal(ts.HashedMessage, sum[:]) {
		return fmt.Errorf("%w: the token stamps %x, not this checkpoint (SHA-256 %x)", ErrAnchor, ts.HashedMessage, sum)
	}
	return nil
}

// checkBundleChain: the message's records, by position, start at 1, each
// links to the one before, and a closing record counts what precedes it.
func checkBundleChain(rs []*BundleRecord) (fail string, closed bool) {
	slices.SortFunc(rs, func(a, b *BundleRecord) int { return int(a.Record.Chain.Position - b.Record.Chain.Position) })
	prev := ""
	for i, r := range rs {
		c := r.Record.Chain
		switch {
		case c.Position != int64(i+1):
			return fmt.Sprintf("record %d is number %d of the chain, but %d records come before it in the bundle: a record is missing", r.Index, c.Position, i), false
		case c.PreviousRecordHash != prev:
			return fmt.Sprintf("record %d links to %s, not to the record before it %s: records were removed, swapped or changed", r.Index, c.PreviousRecordHash, prev), false
		case r.Record.Closing != nil && (r.Record.Closing.Records != int64(i) || r.Record.Closing.LastRecordHash != prev):
			return fmt.Sprintf("closing record %d counts %d records ending in %s; the chain has %d ending in %s", r.Index, r.Record.Closing.Records, r.Record.Closing.LastRecordHash, i, prev), false
		case (r.Record.Closing != nil) != (r.Record.ERDSEventId == EventChainClosing):
			return fmt.Sprintf("record %d: event %s with closing %v", r.Index, r.Record.ERDSEventId, r.Record.Closing != nil), false
		}
		if i > 0 && rs[i-1].Index >= r.Index {
			return fmt.Sprintf("record %d comes after record %d in the chain but before it in the log: records were swapped", r.Index, rs[i-1].Index), false
		}
		prev = r.Hash
	}
	return "", len(rs) > 0 && rs[len(rs)-1].Record.Closing != nil
}
