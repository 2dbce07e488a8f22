package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/mailtrace/mailtrace/config"
)

// runRun is the sidecar: every part in one process, sharing one store
// (an embedded store can only be opened by one process).
func runRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	var c common
	c.register(fs)
	listen := fs.String("listen", "", "milter address: inet:127.0.0.1:8894 or unix:/PATH (config: milter.listen)")
	var logs stringList
	fs.Var(&logs, "log", "Postfix log file to follow (repeatable; config: collector.logs)")
	metricsAddr := fs.String("metrics-listen", "", "serve Prometheus metrics at http://ADDR/metrics (config: metrics_listen)")
	bouncesListen := fs.String("bounces-listen", "", "LMTP listener for bounce reports: host:port or unix:/PATH (config: bounces.listen, default 127.0.0.1:8026; \"off\" serves none)")
	apiListen := fs.String("api-listen", "", "host:port of the API and web UI (config: api.listen, default 127.0.0.1:8025; \"off\" serves none)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: mailtrace run [--listen inet:127.0.0.1:8894] [--log FILE]... [--api-listen ADDR] [--bounces-listen ADDR] [--metrics-listen ADDR]")
		fmt.Fprintln(stderr, "Runs the sidecar: the milter, the log collector, the bounce intake, the API and web UI in one process, until stopped.")
		fs.PrintDefaults()
	}
	cfg, err := c.loadNoArgs(fs, args, stderr, func(cfg *config.Config) {
		set(&cfg.Milter.Listen, *listen)
		set(&cfg.MetricsListen, *metricsAddr)
		set(&cfg.API.Listen, *apiListen)
		set(&cfg.Bounces.Listen, *bouncesListen)
		if len(logs) > 0 {
			cfg.Collector.Logs = logs
		}
	})
	if err != nil {
		return err
	}
	// Parts start in this order and stop in the reverse one (see sidecar.go).
	parts := []startPart{evidencePart, blocksPart, reportsPart, collectorPart, bouncesPart, milterPart}
	if cfg.API.Listen != "off" {
		parts = append(parts, apiPart)
	}
	return serve(ctx, cfg, stderr, parts...)
}
