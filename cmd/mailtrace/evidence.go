package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/mod/sumdb/note"

	"github.com/mailtrace/mailtrace/config"
	"github.com/mailtrace/mailtrace/evidence"
	"github.com/mailtrace/mailtrace/store"
)

// runEvidence manages the evidence ledger: keygen makes a signing key,
// verify re-checks the stored logs, status shows where they stand.
func runEvidence(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("evidence", flag.ContinueOnError)
	var c common
	c.register(fs)
	keyFile := fs.String("key", "", "keygen: where to write the key (default evidence.key_file, or evidence.key beside the embedded store); verify BUNDLE: the log's public key file")
	origin := fs.String("origin", "", "verify, status: only this log (default every log in the store)")
	var bf bundleFlags
	fs.StringVar(&bf.out, "out", "", "export: the bundle file (default evidence-ID.zip), or a directory for one bundle per message")
	fs.StringVar(&bf.from, "from", "", "export: start of the time range a recipient is looked up in (RFC 3339 or YYYY-MM-DD)")
	fs.StringVar(&bf.to, "to", "", "export: end of the time range")
	fs.StringVar(&bf.tsaRoots, "tsa-roots", "", "verify BUNDLE: PEM file of the TSA roots to check time stamps against")
	fs.StringVar(&bf.lang, "lang", "", "export: the certificate's language, es or en (config: evidence.certificate_lang, default es)")
	fs.StringVar(&bf.zone, "zone", "", "export: the certificate's time zone beside UTC (config: evidence.certificate_zone, default America/Bogota)")
	fs.BoolVar(&bf.noCertificate, "no-certificate", false, "export: leave the certificate PDF out")
	fs.StringVar(&bf.manifestSHA256, "manifest-sha256", "", "verify BUNDLE: the manifest's SHA-256 as received by another way (the certificate)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: mailtrace evidence keygen [--key FILE]  make a checkpoint signing key (mode 0600) and print its public key")
		fmt.Fprintln(stderr, "       mailtrace evidence verify [--origin O]  re-check every record, chain, checkpoint and time stamp; exit 1 on the first failure")
		fmt.Fprintln(stderr, "       mailtrace evidence status [--origin O]  size, last checkpoint and last time stamp of each log")
		fmt.Fprintln(stderr, "       mailtrace evidence export ID [--out FILE] [--from T --to T] [--lang es|en]  one message's evidence bundle (zip) with its certificate; ID as trace takes it")
		fmt.Fprintln(stderr, "       mailtrace evidence verify BUNDLE.zip [--key log.pub] [--tsa-roots roots.pem]  check a bundle offline: no store, no network")
		fmt.Fprintln(stderr, "verify without a bundle and status read the store itself: an embedded store only while no mailtrace run holds it.")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	verb := fs.Arg(0)
	if verb == "verify" && fs.NArg() == 2 {
		// A bundle is checked with what it holds and the flags: no
		// configuration, no store.
		return verifyBundleFile(fs.Arg(1), *keyFile, bf, stdout)
	}
	if verb == "export" && fs.NArg() != 2 {
		return fmt.Errorf("%w: evidence export takes one ID (a trace ID, Message-ID, queue ID, or a recipient with --from and --to)", errUsage)
	}
	if fs.NArg() > 1 && verb != "export" {
		return fmt.Errorf("%w: evidence %s takes no arguments", errUsage, verb)
	}
	cfg, err := c.load()
	if err != nil {
		return err
	}
	switch verb {
	case "export":
		// The flags, else the configuration, else Spanish and Bogotá.
		lang, zone := cmp.Or(cfg.Evidence.CertificateLang, "es"), cmp.Or(cfg.Evidence.CertificateZone, "America/Bogota")
		set(&lang, bf.lang)
		set(&zone, bf.zone)
		bf.lang, bf.zone = lang, zone
		return exportEvidence(ctx, cfg, fs.Arg(1), bf, cfg.Evidence.KeyPath(cfg.Store), stdout, stderr)
	case "keygen":
		path := cfg.Evidence.KeyPath(cfg.Store)
		set(&path, *keyFile)
		k, err := evidence.WriteKey(path, cfg.Evidence.Origin(""))
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("%w: %s exists and is kept; to replace the key, move it away first (with mailtrace stopped) and add its public key to evidence.verifier_keys, or write the new one elsewhere with --key FILE", evidence.ErrKey, path)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s (mode 0600)\nkey ID:     %s\npublic key: %s\n", path, k.ID(), k.Public)
		fmt.Fprintln(stdout, "Keep the public key with whoever verifies; after replacing a key, add the old public key to evidence.verifier_keys.")
		return nil
	case "verify", "status":
	case "":
		fs.Usage()
		return fmt.Errorf("%w: evidence needs keygen, verify, status or export", errUsage)
	default:
		fs.Usage()
		return fmt.Errorf("%w: evidence takes keygen, verify, status or export, not %q", errUsage, verb)
	}
	st, err := openReadOnly(ctx, cfg)
	if err != nil {
		return heldBySidecar(err, "evidence "+verb)
	}
	defer st.Close()
	storage := evidence.NewStoreStorage(st, store.WriterOptions{})
	defer storage.Close(ctx)
	origins := []string{*origin}
	if *origin == "" {
		if origins, err = storage.Origins(ctx); err != nil {
			return err
		}
		if len(origins) == 0 {
			fmt.Fprintln(stdout, "no evidence log in the store: the ledger starts when a mailtrace with evidence.enabled first writes")
			return nil
		}
	}
	known, ids, err := trustedKeys(cfg.Evidence, cfg.Evidence.KeyPath(cfg.Store))
	if err != nil {
		return err
	}
	var tsa *evidence.TSAVerifier
	if len(cfg.Evidence.TSARoots) > 0 {
		roots, err := evidence.LoadTSARoots(cfg.Evidence.TSARoots...)
		if err != nil {
			return err
		}
		tsa = &evidence.TSAVerifier{Roots: roots}
	}
	if verb == "status" {
		return evidenceStatus(ctx, storage, origins, cfg.Evidence, stdout)
	}
	fmt.Fprintf(stdout, "trusted checkpoint keys: %v\n", ids)
	var failed []string
	for _, o := range origins {
		fmt.Fprintf(stdout, "log %s\n", o)
		opts := evidence.VerifyOptions{Origin: o, Verifiers: known, Report: func(ch evidence.Check) { fmt.Fprintln(stdout, "  "+ch.String()) }}
		if tsa != nil {
			opts.CheckAnchor = tsa.CheckAnchor
		}
		res, err := evidence.Verify(ctx, storage, opts)
		switch {
		case errors.Is(err, evidence.ErrVerify):
			fmt.Fprintf(stdout, "  first failure: %s: %s\n", res.First.Name, res.First.Detail)
			failed = append(failed, o)
		case err != nil:
			return err
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("%w: log %v", evidence.ErrVerify, failed)
	}
	fmt.Fprintf(stdout, "all %d logs verified\n", len(origins))
	return nil
}

// trustedKeys are the checkpoint keys a verification trusts: the current
// key's public half (when its file can be read) and the configured
// earlier ones.
func trustedKeys(cfg evidence.Config, keyFile string) (note.Verifiers, []string, error) {
	publics := append([]string(nil), cfg.VerifierKeys...)
	if k, err := evidence.LoadKey(keyFile); err == nil {
		publics = append(publics, k.Public)
	} else if len(publics) == 0 && errors.Is(err, os.ErrNotExist) {
		// A new key would verify nothing already signed.
		return nil, nil, fmt.Errorf("%w: no checkpoint key to verify with: %s does not exist and evidence.verifier_keys is empty; "+
			"give the public keys that signed the checkpoints in evidence.verifier_keys (mailtrace logged each at first start; evidence keygen printed it)", evidence.ErrKey, keyFile)
	} else if len(publics) == 0 {
		return nil, nil, fmt.Errorf("no checkpoint key to verify with: %w; give the public keys in evidence.verifier_keys", err)
	}
	return evidence.Verifiers(publics...)
}

func evidenceStatus(ctx context.Context, storage *evidence.StoreStorage, origins []string, cfg evidence.Config, stdout io.Writer) error {
	now := time.Now()
	for _, o := range origins {
		size, err := storage.Size(ctx, o)
		if err != nil {
			return err
		}
		var last *evidence.Checkpoint
		storage.Checkpoints(ctx, o, func(c *evidence.Checkpoint) error { last = c; return nil })
		var anchor *evidence.Anchor
		storage.Anchors(ctx, o, func(a *evidence.Anchor) error { anchor = a; return nil })
		fmt.Fprintf(stdout, "log %s: %d records\n", o, size)
		if last == nil {
			fmt.Fprintln(stdout, "  no signed checkpoint yet")
		} else {
			fmt.Fprintf(stdout, "  last checkpoint: size %d, signed %s (%s ago) by %s; %d records after it\n",
				last.Tree.N, last.Time.Format(time.RFC3339), now.Sub(last.Time).Round(time.Second), last.KeyID, size-last.Tree.N)
		}
		switch {
		case anchor != nil:
			fmt.Fprintf(stdout, "  last time stamp: checkpoint %d, %s (%s ago) by %s\n", anchor.Size, anchor.Time.Format(time.RFC3339),
				now.Sub(anchor.Time).Round(time.Second), anchor.TSAURL)
		case cfg.TSAURL == "":
			fmt.Fprintln(stdout, "  not anchored: no TSA configured (evidence.tsa_url); checkpoints are signed but have no third-party time")
		default:
			fmt.Fprintf(stdout, "  no time stamp yet from %s\n", cfg.TSAURL)
		}
	}
	return nil
}

// openLedgers starts the evidence ledger of a process that stores facts
// (when evidence.enabled, the default): the signing key, made at first
// start; the per-host logs; checkpoints every interval; time stamps when a
// TSA is configured; metrics on reg (nil: none). The returned function
// signs the last checkpoints, waits a little for their time stamps, and
// stops. Without appends, or with the ledger off, it returns nil Ledgers.
func openLedgers(ctx context.Context, cfg config.Config, st store.Store, reg prometheus.Registerer, logger *slog.Logger, appends bool) (*evidence.Ledgers, func() error, error) {
	if !appends || !cfg.Evidence.Enabled {
		return nil, func() error { return nil }, nil
	}
	logger = logger.With("part", "evidence")
	key, err := evidence.EnsureKey(cfg.Evidence.KeyPath(cfg.Store), cfg.Evidence.Origin(""), logger)
	if err != nil {
		return nil, nil, err
	}
	storage := evidence.NewStoreStorage(st, store.WriterOptions{Logger: logger})
	runCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	var (
		anchorer *evidence.Anchorer
		metrics  *evidence.Metrics
		wg       sync.WaitGroup
	)
	if cfg.Evidence.TSAURL != "" {
		roots, err := evidence.LoadTSARoots(cfg.Evidence.TSARoots...)
		if err != nil {
			stop()
			return nil, nil, err
		}
		anchorer = evidence.NewAnchorer(evidence.AnchorerOptions{URL: cfg.Evidence.TSAURL, Storage: storage,
			Verifier: &evidence.TSAVerifier{Roots: roots}, Logger: logger,
			OnError: func(err error) {
				if metrics != nil {
					metrics.TSAError(err)
				}
			},
			OnAnchor: func(a *evidence.Anchor) {
				if metrics != nil {
					metrics.AnchorStored(a)
				}
			}})
		wg.Go(func() { anchorer.Run(runCtx) })
	}
	opts := evidence.LedgersOptions{Config: cfg.Evidence, Storage: storage, Key: key, Version: version, Logger: logger}
	if anchorer != nil {
		opts.OnCheckpoint = anchorer.Enqueue
	}
	ls := evidence.NewLedgers(opts)
	if reg != nil {
		metrics = evidence.RegisterMetrics(reg, ls, anchorer, nil)
	}
	wg.Go(func() { ls.Run(runCtx) })
	if anchorer != nil {
		logger.Info("evidence ledger on", "key_id", key.ID(), "tsa", cfg.Evidence.TSAURL)
	} else {
		logger.Info("evidence ledger on; checkpoints are signed but not anchored in time: no TSA configured (evidence.tsa_url)", "key_id", key.ID())
	}
	return ls, func() error {
		closeCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		err := ls.Close(closeCtx)
		for anchorer != nil && anchorer.Waiting() > 0 && closeCtx.Err() == nil {
			time.Sleep(50 * time.Millisecond) // the last checkpoints' time stamps, if the TSA answers
		}
		stop()
		wg.Wait()
		if cerr := storage.Close(closeCtx); err == nil {
			err = cerr
		}
		if err != nil {
			logger.Error("evidence: the last checkpoint could not be signed or stored", "err", err)
		}
		return err
	}, nil
}
