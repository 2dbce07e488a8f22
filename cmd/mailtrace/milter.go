package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mailtrace/mailtrace/config"
	"github.com/mailtrace/mailtrace/milter"
	"github.com/mailtrace/mailtrace/store"
)

func runMilter(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("milter", flag.ContinueOnError)
	var c common
	c.register(fs)
	listen := fs.String("listen", "", "where Postfix connects: inet:127.0.0.1:8894 or unix:/PATH (config: milter.listen)")
	metricsAddr := fs.String("metrics-listen", "", "serve Prometheus metrics at http://ADDR/metrics (config: metrics_listen)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: mailtrace milter [--listen inet:127.0.0.1:8894] [--metrics-listen ADDR]")
		fmt.Fprintln(stderr, "Runs the milter alone: stamps, classifies and records every message Postfix hands it.")
		fmt.Fprintln(stderr, "With the embedded store, run `mailtrace run` instead to also follow the log in the same process.")
		fs.PrintDefaults()
	}
	cfg, err := c.loadNoArgs(fs, args, stderr, func(cfg *config.Config) {
		set(&cfg.Milter.Listen, *listen)
		set(&cfg.MetricsListen, *metricsAddr)
	})
	if err != nil {
		return err
	}
	return serve(ctx, cfg, stderr, serveMilter)
}

// serveMilter runs the milter until ctx ends, then lets open sessions
// finish and stores or spools every record it took.
func serveMilter(ctx context.Context, cfg config.Config, st store.Store, reg *prometheus.Registry, logger *slog.Logger) error {
	logger = logger.With("part", "milter")
	rec, err := milter.NewRecorder(st, milter.RecorderOptions{SpoolDir: cfg.Milter.SpoolDir, QueueSize: cfg.Milter.QueueSize, Logger: logger})
	if err != nil {
		return err
	}
	milter.RegisterRecorder(reg, rec)
	f, err := milter.New(cfg.Milter, rec, milter.NewMetrics(reg), logger)
	if err != nil {
		rec.Close(context.Background())
		return err
	}
	ln, err := milter.Listen(cfg.Milter.Listen)
	if err != nil {
		rec.Close(context.Background())
		return err
	}
	logger.Info("milter listening", "listen", cfg.Milter.Listen, "classes", len(cfg.Milter.Classes), "rules", len(cfg.Milter.Rules))
	served := make(chan error, 1)
	go func() { served <- f.Serve(ln) }()
	select {
	case err = <-served:
	case <-ctx.Done():
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	f.Shutdown(shutCtx)
	closeCtx, cancel2 := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel2()
	if cerr := rec.Close(closeCtx); cerr != nil {
		logger.Error("accept records still queued at exit could not all be stored or spooled", "err", cerr)
	}
	s := rec.Stats()
	logger.Info("milter stopped", "stored", s.Stored, "spooled", s.Spooled, "replayed", s.Replayed, "lost", s.Lost, "spool_files", rec.SpoolFiles())
	if err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("milter: %w", err)
	}
	return nil
}
