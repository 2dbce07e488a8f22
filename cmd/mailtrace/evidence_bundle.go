package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mailtrace/mailtrace/api"
	"github.com/mailtrace/mailtrace/certificate"
	"github.com/mailtrace/mailtrace/config"
	"github.com/mailtrace/mailtrace/evidence"
	"github.com/mailtrace/mailtrace/store"
	"github.com/mailtrace/mailtrace/trace"
)

// bundleFlags are export's and the offline verify's options.
type bundleFlags struct {
	out, from, to, tsaRoots, manifestSHA256 string
	lang, zone                              string
	noCertificate                           bool
}

// exportEvidence writes the bundle of each message the ID names.
func exportEvidence(ctx context.Context, cfg config.Config, id string, f bundleFlags, keyFile string, stdout, stderr io.Writer) error {
	var q trace.Query
	var err error
	q.ID = id
	if q.From, err = trace.ParseTime(f.from); err != nil {
		return fmt.Errorf("%w: --from %v", errUsage, err)
	}
	if q.To, err = trace.ParseTime(f.to); err != nil {
		return fmt.Errorf("%w: --to %v", errUsage, err)
	}
	st, err := openReadOnly(ctx, cfg)
	if errors.Is(err, store.ErrInUse) {
		return exportByAPI(ctx, cfg, q, f, stdout, stderr)
	}
	if err != nil {
		return err
	}
	defer st.Close()
	msgs, err := trace.NewReader(st).Find(ctx, q)
	if err != nil {
		return err
	}
	if len(msgs) == 0 {
		return errors.New(strings.Replace(trace.NotFoundHint(q), "(from and to)", "(--from and --to)", 1))
	}
	groups := api.GroupMessages(msgs)
	outDir := ""
	if fi, err := os.Stat(f.out); err == nil && fi.IsDir() {
		outDir = f.out
	} else if len(groups) > 1 {
		var names []string
		for _, g := range groups {
			names = append(names, g.Name)
		}
		return fmt.Errorf("%w: %q names %d messages (%s): export one by its trace ID, or give --out a directory for one bundle each",
			errUsage, id, len(groups), strings.Join(names, ", "))
	}
	publics := append([]string(nil), cfg.Evidence.VerifierKeys...)
	if k, err := evidence.LoadKey(keyFile); err == nil {
		publics = append(publics, k.Public)
	} else if len(publics) == 0 {
		return fmt.Errorf("no public key of the log for the bundle: %w; give the public keys in evidence.verifier_keys", err)
	}
	var certify func(*evidence.BundleContents) ([]byte, error)
	if !f.noCertificate {
		zone, err := time.LoadLocation(f.zone)
		if err != nil {
			return fmt.Errorf("%w: --zone %q: %v", errUsage, f.zone, err)
		}
		opts := certificate.Options{Lang: f.lang, Zone: zone}
		certify = func(bc *evidence.BundleContents) ([]byte, error) {
			return certificate.Render(bc.Records, bc.ManifestSHA256, opts)
		}
	}
	storage := evidence.NewStoreStorage(st, store.WriterOptions{})
	defer storage.Close(ctx)
	for _, g := range groups {
		path := f.out
		if path == "" || outDir != "" {
			path = filepath.Join(outDir, "evidence-"+safeName(g.Name)+".zip")
		}
		var buf bytes.Buffer
		bc, err := evidence.Export(ctx, &buf, evidence.ExportOptions{Storage: storage, Messages: g.Keys, Query: id, PublicKeys: publics, Now: time.Now(),
			Certificate: certify})
		if err != nil {
			return fmt.Errorf("message %s: %w", g.Name, err)
		}
		if err := writeFileAtomic(path, buf.Bytes()); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s: message %s, %d records, %d bytes, manifest SHA-256 %s\n", path, g.Name, len(bc.Records), buf.Len(), bc.ManifestSHA256)
	}
	return nil
}

// exportByAPI asks a running mailtrace, which holds the embedded store,
// for the bundle (with its certificate, in the zone the API uses).
func exportByAPI(ctx context.Context, cfg config.Config, q trace.Query, f bundleFlags, stdout, stderr io.Writer) error {
	u := "http://" + cfg.API.Listen
	fmt.Fprintf(stderr, "mailtrace: the store is held by a running mailtrace; asking its API at %s\n", u)
	var buf bytes.Buffer
	if err := api.NewClient(u, os.Getenv("MAILTRACE_API_TOKEN")).Evidence(ctx, q, f.lang, &buf); err != nil {
		return apiHint(err)
	}
	path := f.out
	if fi, err := os.Stat(path); path == "" || err == nil && fi.IsDir() {
		path = filepath.Join(path, "evidence-"+safeName(q.ID)+".zip")
	}
	if err := writeFileAtomic(path, buf.Bytes()); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: %d bytes\n", path, buf.Len())
	return nil
}

func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || r == '.' || r == '_' || ('0' <= r && r <= '9') || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') {
			return r
		}
		return '_'
	}, s)
}

// writeFileAtomic writes data to path through a temporary file, so that
// a bundle is there whole or not at all.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".evidence-*.zip")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Chmod(tmp.Name(), 0o640); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// verifyBundleFile checks a bundle offline: no store, no network.
func verifyBundleFile(path, keyFile string, f bundleFlags, stdout io.Writer) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	b, err := evidence.ReadBundle(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		fmt.Fprintf(stdout, "FAIL  bundle: %v\n", err)
		return fmt.Errorf("%w: %s: %w", evidence.ErrVerify, path, err)
	}
	opts := evidence.BundleVerifyOptions{ManifestSHA256: f.manifestSHA256, Certificate: certificate.Check,
		Report: func(c evidence.Check) { fmt.Fprintln(stdout, c.String()) }}
	if keyFile != "" {
		pub, err := os.ReadFile(keyFile)
		if err != nil {
			return fmt.Errorf("--key: %w", err)
		}
		vs, ids, err := evidence.Verifiers(string(pub))
		if err != nil {
			return fmt.Errorf("--key %s: %w", keyFile, err)
		}
		if len(ids) == 0 {
			return fmt.Errorf("--key %s holds no public key (one name+hash+key line per key)", keyFile)
		}
		opts.Verifiers = vs
	}
	if f.tsaRoots != "" {
		roots, err := evidence.LoadTSARoots(f.tsaRoots)
		if err != nil {
			return err
		}
		opts.TSA = &evidence.TSAVerifier{Roots: roots}
	}
	fmt.Fprintf(stdout, "bundle %s: manifest SHA-256 %s\n", path, b.ManifestSHA256)
	if _, err := evidence.VerifyBundle(b, opts); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "bundle verified")
	return nil
}
