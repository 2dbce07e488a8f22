package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/mailtrace/mailtrace/config"
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
	return serve(ctx, cfg, stderr, evidencePart, milterPart)
}
