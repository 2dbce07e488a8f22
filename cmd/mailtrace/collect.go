package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/mailtrace/mailtrace/block"
	"github.com/mailtrace/mailtrace/collector"
	"github.com/mailtrace/mailtrace/config"
	"github.com/mailtrace/mailtrace/schema"
	"github.com/mailtrace/mailtrace/senderauth"
	"github.com/mailtrace/mailtrace/store"
)

// stringList is a repeatable flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func runCollect(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("collect", flag.ContinueOnError)
	var c common
	c.register(fs)
	var logs stringList
	fs.Var(&logs, "log", "Postfix log file to follow (repeatable; default from config: collector.logs)")
	journal := fs.Bool("journal", false, "follow journald (journalctl) instead of log files (config: collector.journal)")
	metricsAddr := fs.String("metrics-listen", "", "serve Prometheus metrics at http://ADDR/metrics, e.g. 127.0.0.1:9465 (config: metrics_listen)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: mailtrace collect [--log FILE]... [--journal] [--metrics-listen ADDR]")
		fmt.Fprintln(stderr, "Follows the Postfix log from where the last run stopped, across rotations, until stopped.")
		fs.PrintDefaults()
	}
	cfg, err := c.loadNoArgs(fs, args, stderr, func(cfg *config.Config) {
		if len(logs) > 0 {
			cfg.Collector.Logs = logs
		}
		if *journal {
			cfg.Collector.Journal = true
			if len(logs) == 0 {
				cfg.Collector.Logs = nil
			}
		}
		set(&cfg.MetricsListen, *metricsAddr)
	})
	if err != nil {
		return err
	}
	return serve(ctx, cfg, stderr, followLogs)
}

// followLogs runs the collector on the configured logs (and journald),
// with block detection fed by it, until ctx ends.
func followLogs(ctx context.Context, cfg config.Config, st store.Store, reg *prometheus.Registry, baseLogger *slog.Logger) error {
	logger := baseLogger.With("part", "collector")
	loc, err := cfg.Collector.Location()
	if err != nil {
		return err
	}
	classifier, err := cfg.Classify.Classifier()
	if err != nil {
		return err
	}
	metrics := collector.NewMetrics(reg)
	retention, err := schema.Retention(ctx, st)
	if err != nil {
		return err
	}
	// Block detection outlives the pipelines: it stops after they have
	// closed (and fed it their last attempts).
	blocksCtx, stopBlocks := context.WithCancel(context.WithoutCancel(ctx))
	blocks, err := startBlocks(blocksCtx, cfg, st, reg, baseLogger.With("part", "blocks"))
	if err != nil {
		stopBlocks()
		return err
	}
	defer func() {
		stopBlocks()
		blocks.wait()
	}()
	// Live logs announce queued messages, so that they can be found before
	// they leave the queue.
	classes := map[string]string{}
	for _, cl := range cfg.Milter.Classes {
		classes[cl.Name] = cl.Pool
	}
	refusals := senderauth.NewRefusals(reg, classifier, classes)
	observe := func(e *schema.DeliveryEvent) {
		blocks.detector.Observe(e)
		refusals.Observe(e)
	}
	liveOptions := func(source string) collector.PipelineOptions {
		o := pipelineOptions(cfg, loc, classifier, logger.With("log", source))
		o.Announce, o.Metrics, o.Observer, o.RetentionDays = true, metrics, blocks.detector.Observe, retention
		o.Announce, o.Metrics, o.Observer = true, metrics, observe
		return o
	}
	var wg sync.WaitGroup
	errs := make([]error, len(cfg.Collector.Logs))
	for i, path := range cfg.Collector.Logs {
		p := collector.NewPipeline(st, liveOptions(path))
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "mailtrace_store_insert_retries_total",
			Help:        "Inserts into the store that failed and were retried (the same batch, deduplicated), by log.",
			ConstLabels: prometheus.Labels{"source": path}}, func() float64 {
			e, m := p.StoreStats()
			return float64(e.Retries + m.Retries)
		}))
		wg.Go(func() {
			err := collector.Follow(ctx, p, path, collector.FollowOptions{Logger: logger.With("log", path)})
			closeCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			p.Close(closeCtx)
			cancel()
			if err != nil && !errors.Is(err, context.Canceled) {
				errs[i] = fmt.Errorf("%s: %w", path, err)
			}
		})
	}
	var journalErr error
	if cfg.Collector.Journal {
		p := collector.NewPipeline(st, liveOptions("journald"))
		wg.Go(func() {
			err := collector.FollowJournal(ctx, p, collector.JournalOptions{Args: cfg.Collector.JournalArgs, Logger: logger.With("log", "journald")})
			closeCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			p.Close(closeCtx)
			cancel()
			if err != nil && !errors.Is(err, context.Canceled) {
				journalErr = fmt.Errorf("journald: %w", err)
			}
		})
	}
	wg.Wait()
	return errors.Join(append(errs, journalErr)...)
}

// blocks runs block detection next to a collector: the detector (fed by
// the pipelines), the incident webhook and the DNS blocklist checks.
type blocks struct {
	detector *block.Detector
	wg       sync.WaitGroup
}

func startBlocks(ctx context.Context, cfg config.Config, st store.Store, reg prometheus.Registerer, logger *slog.Logger) (*blocks, error) {
	m := block.NewMetrics(reg)
	hook, err := block.NewWebhook(cfg.Blocks.Webhook, m, logger)
	if err != nil {
		return nil, err
	}
	b := &blocks{detector: block.NewDetector(cfg.Blocks, st, block.Options{Webhook: hook, Metrics: m, Logger: logger})}
	if err := b.detector.Restore(ctx); err != nil {
		return nil, err
	}
	var targets []block.Target
	for _, p := range cfg.Pools {
		if p.SourceIP != "" {
			targets = append(targets, block.Target{Pool: p.Name, IP: p.SourceIP})
		}
	}
	dnsbl := cfg.Blocks.DNSBL
	if dnsbl.Resolver == "" {
		dnsbl.Resolver = cfg.DNSResolver // the project's resolver, unless the lists need their own
	}
	checker, err := block.NewChecker(dnsbl, targets, b.detector, logger)
	if err != nil {
		return nil, err
	}
	b.wg.Go(func() { b.detector.Run(ctx) })
	b.wg.Go(func() { hook.Run(ctx) })
	b.wg.Go(func() { checker.Run(ctx) })
	return b, nil
}

// wait waits for the parts to stop (after ctx ended) and store the last
// incident changes.
func (b *blocks) wait() { b.wg.Wait() }

// part is one piece of the sidecar (milter, collector, bounce intake,
// API): it serves until ctx ends.
type part func(ctx context.Context, cfg config.Config, st store.Store, reg *prometheus.Registry, logger *slog.Logger) error

// serve runs parts together on the migrated store, with metrics served at
// metrics_listen, until ctx ends. One part stopping stops the others: a
// sidecar half running would look healthy while it is not.
func serve(ctx context.Context, cfg config.Config, stderr io.Writer, parts ...part) error {
	st, err := openMigrated(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	return serveOn(ctx, cfg, st, stderr, parts...)
}

// serveOn runs parts on st, opened by the caller, as serve does.
func serveOn(ctx context.Context, cfg config.Config, st store.Store, stderr io.Writer, parts ...part) error {
	logger := newLogger(cfg.LogLevel, stderr)
	reg := newRegistry()
	stopMetrics, err := serveMetrics(cfg.MetricsListen, reg, logger)
	if err != nil {
		return err
	}
	defer stopMetrics()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make([]error, len(parts))
	var wg sync.WaitGroup
	for i, p := range parts {
		wg.Go(func() {
			errs[i] = p(ctx, cfg, st, reg, logger)
			cancel()
		})
	}
	wg.Wait()
	return errors.Join(errs...)
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
