package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/mailtrace/mailtrace/config"
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
	return serve(ctx, cfg, stderr, evidencePart, blocksPart, collectorPart)
}
