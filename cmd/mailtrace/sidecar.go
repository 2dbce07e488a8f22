package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/mailtrace/mailtrace/api"
	"github.com/mailtrace/mailtrace/authreport"
	"github.com/mailtrace/mailtrace/block"
	"github.com/mailtrace/mailtrace/bounce"
	"github.com/mailtrace/mailtrace/collector"
	"github.com/mailtrace/mailtrace/config"
	"github.com/mailtrace/mailtrace/evidence"
	"github.com/mailtrace/mailtrace/milter"
	"github.com/mailtrace/mailtrace/schema"
	"github.com/mailtrace/mailtrace/senderauth"
	"github.com/mailtrace/mailtrace/store"
)

// The sidecar is its parts, one per component, in one process on one
// store: block detection, the reports intake, the collector, the bounce
// intake, the milter and the API. `mailtrace run` starts them all; `collect`,
// `milter` and `api` start some. Parts start in the order given and stop in
// the reverse order, each after the ones that feed it have stopped: the
// collector stops before block detection (which stores the incidents the
// collector's last lines opened), the bounce intake before the reports
// intake (which finishes the lookups of the reports it was handed).

// part is one running component of the sidecar.
type part struct {
	name   string
	run    func(ctx context.Context) error // serves until ctx ends, then stores what it holds
	cancel context.CancelFunc
	done   chan struct{}
	err    error
}

// startPart makes a part: its constructor checks the configuration and
// prepares the component, so that a mistake stops the sidecar before
// anything serves; it returns nil for a part that has nothing to run.
type startPart func(ctx context.Context, s *sidecar) (*part, error)

// sidecar is what the parts share, and the parts that feed others.
type sidecar struct {
	cfg     config.Config
	st      store.Store
	reg     *prometheus.Registry
	log     *slog.Logger
	blocks  *block.Detector    // fed by the collector, when block detection runs
	reports *authreport.Intake // fed by the bounce intake, when the reports intake runs
	// evidence is fed by the collector, the bounce intake and the milter,
	// when the evidence ledger runs.
	evidence *evidence.Ledgers
}

func (p *part) start(failed chan<- *part) {
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel, p.done = cancel, make(chan struct{})
	go func() {
		defer close(p.done)
		p.err = p.run(ctx)
		failed <- p
	}()
}

// stop ends the part and waits until it has stopped.
func (p *part) stop() error {
	p.cancel()
	<-p.done
	return p.err
}

// serve runs parts on the migrated store, with metrics served at
// metrics_listen, until ctx ends.
func serve(ctx context.Context, cfg config.Config, stderr io.Writer, parts ...startPart) error {
	st, err := openMigrated(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	return serveOn(ctx, cfg, st, stderr, parts...)
}

// serveOn runs parts on st, opened by the caller, as serve does. One part
// stopping by itself stops the others: a sidecar half running would look
// healthy while it is not.
func serveOn(ctx context.Context, cfg config.Config, st store.Store, stderr io.Writer, parts ...startPart) error {
	logger := newLogger(cfg.LogLevel, stderr)
	reg := newRegistry()
	stopMetrics, err := serveMetrics(cfg.MetricsListen, reg, logger)
	if err != nil {
		return err
	}
	defer stopMetrics()
	s := &sidecar{cfg: cfg, st: st, reg: reg, log: logger}
	var running []*part
	stopAll := func() error {
		var errs []error
		for i := len(running) - 1; i >= 0; i-- {
			errs = append(errs, running[i].stop())
		}
		return errors.Join(errs...)
	}
	failed := make(chan *part, len(parts))
	for _, start := range parts {
		p, err := start(ctx, s)
		if err != nil {
			return errors.Join(err, stopAll())
		}
		if p != nil {
			p.start(failed)
			running = append(running, p)
		}
	}
	select {
	case <-ctx.Done():
	case p := <-failed:
		if p.err != nil {
			logger.Error("a part of the sidecar stopped; stopping the others", "part", p.name, "err", p.err)
		} else {
			logger.Warn("a part of the sidecar stopped; stopping the others", "part", p.name)
		}
	}
	return stopAll()
}

// evidencePart runs the evidence ledger (when evidence.enabled, the
// default): the parts that store facts hand them to it, so it starts
// before them and stops after them, signing the last checkpoints once
// their last facts are in.
func evidencePart(ctx context.Context, s *sidecar) (*part, error) {
	ls, closeLedger, err := openLedgers(ctx, s.cfg, s.st, s.reg, s.log, true)
	if err != nil || ls == nil {
		return nil, err
	}
	s.evidence = ls
	return &part{name: "evidence", run: func(ctx context.Context) error {
		<-ctx.Done()
		return closeLedger()
	}}, nil
}

// blocksPart runs block detection: the detector (fed by the collector),
// the incident webhook and the DNS blocklist checks.
func blocksPart(ctx context.Context, s *sidecar) (*part, error) {
	logger := s.log.With("part", "blocks")
	m := block.NewMetrics(s.reg)
	hook, err := block.NewWebhook(s.cfg.Blocks.Webhook, m, logger)
	if err != nil {
		return nil, err
	}
	detector := block.NewDetector(s.cfg.Blocks, s.st, block.Options{Webhook: hook, Metrics: m, Logger: logger})
	if err := detector.Restore(ctx); err != nil {
		return nil, err
	}
	var targets []block.Target
	for _, p := range s.cfg.Pools {
		if p.SourceIP != "" {
			targets = append(targets, block.Target{Pool: p.Name, IP: p.SourceIP})
		}
	}
	dnsbl := s.cfg.Blocks.DNSBL
	if dnsbl.Resolver == "" {
		dnsbl.Resolver = s.cfg.DNSResolver // the project's resolver, unless the lists need their own
	}
	checker, err := block.NewChecker(dnsbl, targets, detector, logger)
	if err != nil {
		return nil, err
	}
	s.blocks = detector
	return &part{name: "blocks", run: func(ctx context.Context) error {
		var wg sync.WaitGroup
		wg.Go(func() { detector.Run(ctx) }) // stores the last incident changes after ctx ends
		wg.Go(func() { hook.Run(ctx) })
		wg.Go(func() { checker.Run(ctx) })
		wg.Wait()
		return nil
	}}, nil
}

// reportsPart runs the DMARC and TLS reports intake, fed by the bounce
// intake; stopping waits for the reverse DNS lookups of the reports taken.
func reportsPart(ctx context.Context, s *sidecar) (*part, error) {
	in, err := newReportIntake(s.cfg, s.st, s.reg, s.log.With("part", "reports"))
	if err != nil {
		return nil, err
	}
	s.reports = in
	return &part{name: "reports", run: func(ctx context.Context) error {
		<-ctx.Done()
		in.Wait()
		return nil
	}}, nil
}

// collectorPart follows the configured logs (and journald), feeding block
// detection and the sender refusals metrics.
func collectorPart(ctx context.Context, s *sidecar) (*part, error) {
	cfg, logger := s.cfg, s.log.With("part", "collector")
	loc, err := cfg.Collector.Location()
	if err != nil {
		return nil, err
	}
	classifier, err := cfg.Classify.Classifier()
	if err != nil {
		return nil, err
	}
	metrics := collector.NewMetrics(s.reg)
	retention, err := schema.Retention(ctx, s.st)
	if err != nil {
		return nil, err
	}
	classes := map[string]string{}
	for _, cl := range cfg.Milter.Classes {
		classes[cl.Name] = cl.Pool
	}
	refusals := senderauth.NewRefusals(s.reg, classifier, classes)
	observe := refusals.Observe
	if detector := s.blocks; detector != nil {
		observe = func(e *schema.DeliveryEvent) {
			detector.Observe(e)
			refusals.Observe(e)
		}
	}
	// Live logs announce queued messages, so that they can be found before
	// they leave the queue.
	liveOptions := func(source string) collector.PipelineOptions {
		o := pipelineOptions(cfg, loc, classifier, logger.With("log", source))
		o.Announce, o.Metrics, o.Observer, o.RetentionDays = true, metrics, observe, retention
		o.Evidence = s.evidence
		return o
	}
	type source struct {
		name   string
		p      *collector.Pipeline
		follow func(ctx context.Context) error
	}
	var sources []source
	for _, path := range cfg.Collector.Logs {
		p := collector.NewPipeline(s.st, liveOptions(path))
		s.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "mailtrace_store_insert_retries_total",
			Help:        "Inserts into the store that failed and were retried (the same batch, deduplicated), by log.",
			ConstLabels: prometheus.Labels{"source": path}}, func() float64 {
			e, m := p.StoreStats()
			return float64(e.Retries + m.Retries)
		}))
		sources = append(sources, source{name: path, p: p, follow: func(ctx context.Context) error {
			return collector.Follow(ctx, p, path, collector.FollowOptions{Logger: logger.With("log", path)})
		}})
	}
	if cfg.Collector.Journal {
		p := collector.NewPipeline(s.st, liveOptions("journald"))
		sources = append(sources, source{name: "journald", p: p, follow: func(ctx context.Context) error {
			return collector.FollowJournal(ctx, p, collector.JournalOptions{Args: cfg.Collector.JournalArgs, Logger: logger.With("log", "journald")})
		}})
	}
	return &part{name: "collector", run: func(ctx context.Context) error {
		var wg sync.WaitGroup
		errs := make([]error, len(sources))
		for i, src := range sources {
			wg.Go(func() {
				err := src.follow(ctx)
				closeCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				src.p.Close(closeCtx)
				cancel()
				if err != nil && !errors.Is(err, context.Canceled) {
					errs[i] = fmt.Errorf("%s: %w", src.name, err)
				}
			})
		}
		wg.Wait()
		return errors.Join(errs...)
	}}, nil
}

// bouncesPart runs the bounce intake (LMTP listener, Maildir watcher),
// handing DMARC and TLS reports to the reports intake when it runs.
func bouncesPart(ctx context.Context, s *sidecar) (*part, error) {
	cfg, logger := s.cfg, s.log.With("part", "bounces")
	in, err := newIntake(cfg, s.st, s.reports, s.evidence, s.reg, logger)
	if err != nil {
		return nil, err
	}
	srv, err := bounce.ListenLMTP(cfg.Bounces, in)
	if err != nil {
		return nil, fmt.Errorf("bounce intake: %w", err)
	}
	return &part{name: "bounces", run: func(ctx context.Context) error {
		var wg sync.WaitGroup
		var lmtpErr, maildirErr error
		if srv != nil {
			logger.Info("taking bounce reports over LMTP", "listen", srv.Addr().String(), "postfix_transport", cfg.Bounces.PostfixTransport())
			wg.Go(func() { lmtpErr = srv.Serve(ctx) })
		}
		if cfg.Bounces.Maildir != "" {
			logger.Info("watching a Maildir for bounce reports", "maildir", cfg.Bounces.Maildir)
			wg.Go(func() { maildirErr = bounce.WatchMaildir(ctx, cfg.Bounces.Maildir, cfg.Bounces.PollInterval, in) })
		}
		if srv == nil && cfg.Bounces.Maildir == "" {
			<-ctx.Done() // nothing to take in; returning would stop the sidecar
		}
		wg.Wait()
		return errors.Join(lmtpErr, maildirErr)
	}}, nil
}

// milterPart runs the milter; stopping lets open sessions finish and
// stores or spools every record it took.
func milterPart(ctx context.Context, s *sidecar) (*part, error) {
	cfg, logger := s.cfg, s.log.With("part", "milter")
	rec, err := milter.NewRecorder(s.st, milter.RecorderOptions{SpoolDir: cfg.Milter.SpoolDir, QueueSize: cfg.Milter.QueueSize, Logger: logger,
		Evidence: s.evidence})
	if err != nil {
		return nil, err
	}
	milter.RegisterRecorder(s.reg, rec)
	f, err := milter.New(cfg.Milter, rec, milter.NewMetrics(s.reg), logger)
	if err != nil {
		rec.Close(context.Background())
		return nil, err
	}
	ln, err := milter.Listen(cfg.Milter.Listen)
	if err != nil {
		rec.Close(context.Background())
		return nil, err
	}
	logger.Info("milter listening", "listen", cfg.Milter.Listen, "classes", len(cfg.Milter.Classes), "rules", len(cfg.Milter.Rules))
	return &part{name: "milter", run: func(ctx context.Context) error {
		err := serveUntil(ctx, func() error { return f.Serve(ln) }, f.Shutdown)
		closeCtx, cancel2 := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel2()
		if cerr := rec.Close(closeCtx); cerr != nil {
			logger.Error("accept records still queued at exit could not all be stored or spooled", "err", cerr)
		}
		st := rec.Stats()
		logger.Info("milter stopped", "stored", st.Stored, "spooled", st.Spooled, "replayed", st.Replayed, "lost", st.Lost, "spool_files", rec.SpoolFiles())
		if err != nil && !errors.Is(err, context.Canceled) {
			return fmt.Errorf("milter: %w", err)
		}
		return nil
	}}, nil
}

// apiPart serves the API and web UI.
func apiPart(ctx context.Context, s *sidecar) (*part, error) {
	cfg, logger := s.cfg, s.log.With("part", "api")
	apiCfg := cfg.API
	apiCfg.SQL = cfg.SQL
	if cfg.Evidence.Enabled {
		// Bundles carry the log's public keys: the current key's, when
		// this process can read the key file, and the earlier ones.
		publics := append([]string(nil), cfg.Evidence.VerifierKeys...)
		if k, err := evidence.LoadKey(cfg.Evidence.KeyPath(cfg.Store)); err == nil {
			publics = append(publics, k.Public)
		}
		zone, err := time.LoadLocation(cmp.Or(cfg.Evidence.CertificateZone, "America/Bogota"))
		if err != nil {
			return nil, fmt.Errorf("evidence.certificate_zone: %w", err)
		}
		apiCfg.Evidence = &api.EvidenceOptions{PublicKeys: publics, Lang: cfg.Evidence.CertificateLang, Zone: zone,
			CheckpointInterval: cfg.Evidence.CheckpointInterval}
	}
	a, err := api.New(s.st, apiCfg, s.reg, logger)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.API.Listen)
	if err != nil {
		return nil, fmt.Errorf("api listen %s: %w", cfg.API.Listen, err)
	}
	srv := &http.Server{Handler: a.Handler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	logger.Info("web UI and API", "url", "http://"+ln.Addr().String()+"/", "auth", len(cfg.API.Tokens) > 0)
	return &part{name: "api", run: func(ctx context.Context) error {
		err := serveUntil(ctx, func() error { return srv.Serve(ln) }, srv.Shutdown)
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	}}, nil
}

// serveUntil runs serve until it returns or ctx ends, then shuts the server
// down, giving connections in progress 10 s to finish. It returns serve's
// error, nil when ctx ended it.
func serveUntil(ctx context.Context, serve func() error, shutdown func(context.Context) error) error {
	served := make(chan error, 1)
	go func() { served <- serve() }()
	var err error
	select {
	case err = <-served:
	case <-ctx.Done():
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	shutdown(shutCtx)
	return err
}

func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// serveMetrics serves reg at http://addr/metrics; an empty addr serves
// nothing. The returned function stops it.
func serveMetrics(addr string, reg *prometheus.Registry, logger *slog.Logger) (func(), error) {
	if addr == "" {
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics listener: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	logger.Info("serving metrics", "url", "http://"+ln.Addr().String()+"/metrics")
	return func() { srv.Close() }, nil
}
