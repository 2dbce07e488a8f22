package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/mailtrace/mailtrace/config"
	"github.com/mailtrace/mailtrace/evidence"
	"github.com/mailtrace/mailtrace/postfixconf"
	"github.com/mailtrace/mailtrace/schema"
	"github.com/mailtrace/mailtrace/store"
)

func runDoctor(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("doctor", flag.ContinueOnError)
	var c common
	c.register(fs)
	pfDir := fs.String("postfix-config", "/etc/postfix", "Postfix configuration directory to check")
	print := fs.Bool("print-postfix", false, "print the main.cf, master.cf and table lines for this config (merged with what --postfix-config sets) instead of checking; reads no secret")
	printRecords := fs.Bool("print-records", false, "with auth: print the SPF, DMARC and TLS-RPT records that fit the config instead of checking")
	noStore := fs.Bool("skip-store", false, "do not check the store")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: mailtrace doctor [--postfix-config DIR] [--print-postfix] [--skip-store]")
		fmt.Fprintln(stderr, "       mailtrace doctor auth [--postfix-config DIR] [--print-records] [--skip-store]")
		fmt.Fprintln(stderr, "Checks that Postfix sends every message through mailtrace's milter and out through its pool,")
		fmt.Fprintln(stderr, "that the log is readable and the store reachable; prints the lines that fix what is wrong.")
		fmt.Fprintln(stderr, "auth checks SPF, DKIM, DMARC, reverse DNS, HELO and TLS for every class's domains and every")
		fmt.Fprintln(stderr, "pool's IP over DNS (dns_resolver), and prints the DNS record or Postfix line for each problem;")
		fmt.Fprintln(stderr, "the plain doctor runs these checks too once auth.classes names the From domains.")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if fs.NArg() > 1 || fs.NArg() == 1 && fs.Arg(0) != "auth" {
		return fmt.Errorf("%w: doctor takes no argument but auth (see mailtrace doctor -h)", errUsage)
	}
	if *print && fs.Arg(0) == "" {
		// Printing needs the pools, classes and bounce domain, not the
		// keys: it reads the file without validating its secrets.
		cfg, err := config.Read(c.configPath)
		if err != nil {
			return err
		}
		return printPostfix(postfixSetup(cfg, *pfDir), *pfDir, stdout, stderr)
	}
	cfg, err := c.load()
	if err != nil {
		return err
	}
	if fs.Arg(0) == "auth" {
		return runDoctorAuth(ctx, cfg, *pfDir, *printRecords, *noStore, stdout)
	}
	if *printRecords {
		return fmt.Errorf("%w: --print-records goes with doctor auth", errUsage)
	}
	setup := postfixSetup(cfg, *pfDir)
	pc, err := postfixconf.Read(*pfDir)
	if err != nil {
		return err
	}
	logs := cfg.Collector.Logs
	if cfg.Collector.Journal {
		logs = nil
	}
	findings := setup.Check(pc, logs)
	if !*noStore {
		findings = append(findings, checkStore(ctx, cfg))
	}
	findings = append(findings, checkEvidence(cfg))
	if authConfigured(cfg) {
		more, err := authFindings(ctx, cfg, pc, !*noStore)
		if err != nil {
			return err
		}
		findings = append(findings, more...)
	}
	if problems := printFindings(stdout, findings); problems > 0 {
		return fmt.Errorf("%d problem(s) found in %s; after fixing them run `postfix reload`", problems, *pfDir)
	}
	fmt.Fprintln(stdout, "no problems found")
	return nil
}

// printPostfix prints the Postfix configuration for setup. Where Postfix
// runs with a configuration in dir, its settings are kept: a list gets
// mailtrace's entry added, a map the entry to add to it.
func printPostfix(setup postfixconf.Setup, dir string, stdout, stderr io.Writer) error {
	var set map[string]string
	if pc, err := postfixconf.Read(dir); err == nil {
		set = pc.Set
		setup.DefaultNexthop = postfixconf.NexthopOf(pc.Main["default_transport"])
		for _, w := range pc.Warnings {
			fmt.Fprintln(stderr, w)
		}
	} else {
		fmt.Fprintf(stderr, "(no Postfix configuration read from %s: %v; printing lines for a main.cf that sets none of them)\n", dir, err)
	}
	main := setup.MainCF()
	if set != nil {
		main = setup.MainCFFor(set)
	}
	fmt.Fprintf(stdout, "### main.cf (%s)\n%s\n### master.cf (%s)\n%s\n### %s\n%s", filepath.Join(dir, "main.cf"), main,
		filepath.Join(dir, "master.cf"), setup.MasterCF(), setup.HeaderChecksPath(), setup.HeaderChecksTable())
	if len(setup.RoutedPools()) > 0 {
		fmt.Fprintf(stdout, "\n### %s\n%s", setup.SenderTransportPath(), setup.SenderTransportTable())
	}
	for _, c := range setup.Unrouted() {
		fmt.Fprintf(stderr, "class %s names pool %s but has no verp: true: its mail leaves as Postfix routes it, not through the pool\n", c.Name, c.Pool)
	}
	return nil
}

// postfixSetup is the Postfix configuration mailtrace's config calls for,
// with its tables in the Postfix configuration directory dir. Without a
// pools section, the classes' pools are listed without IPs.
func postfixSetup(cfg config.Config, dir string) postfixconf.Setup {
	s := postfixconf.Setup{Milter: cfg.Milter.Listen, BounceDomain: cfg.Milter.VERP.Domain, VERPPrefix: cfg.Milter.VERP.Prefix, Dir: dir}
	for _, cl := range cfg.Milter.Classes {
		s.Classes = append(s.Classes, postfixconf.Class{Name: cl.Name, Pool: cl.Pool, VERP: cl.VERP})
	}
	if s.BounceDomain != "" {
		s.BounceTransport = cfg.Bounces.PostfixTransport()
	}
	s.Pools = append(s.Pools, cfg.Pools...)
	if len(s.Pools) == 0 {
		seen := map[string]bool{}
		for _, cl := range cfg.Milter.Classes {
			if cl.Pool != "" && cl.VERP && !seen[cl.Pool] {
				seen[cl.Pool] = true
				s.Pools = append(s.Pools, postfixconf.Pool{Name: cl.Pool})
			}
		}
	}
	return s
}

// checkStore opens the store and reads its schema version. An embedded
// store owned by a running mailtrace cannot be opened twice: that is
// reported as such, not as a failure.
func checkStore(ctx context.Context, cfg config.Config) postfixconf.Finding {
	st, err := openReadOnly(ctx, cfg)
	if err != nil {
		if errors.Is(err, store.ErrInUse) {
			return postfixconf.Finding{Severity: postfixconf.OK, Message: "store " + cfg.Store + " is held by a running mailtrace"}
		}
		return postfixconf.Finding{Severity: postfixconf.Problem, Message: err.Error()}
	}
	defer st.Close()
	applied, err := schema.Status(ctx, st, schema.Options{Database: st.Database()})
	if err != nil {
		return postfixconf.Finding{Severity: postfixconf.Problem, Message: "store: " + err.Error()}
	}
	all, _ := schema.Migrations(schema.Options{Database: st.Database()})
	if len(applied) < len(all) {
		return postfixconf.Finding{Severity: postfixconf.Warning, Fix: "a shell:\nmailtrace migrate",
			Message: fmt.Sprintf("store has %d of %d migrations (mailtrace run applies them at start)", len(applied), len(all))}
	}
	if fi, err := os.Stat(cfg.Milter.SpoolDir); err == nil && !fi.IsDir() {
		return postfixconf.Finding{Severity: postfixconf.Problem, Message: "milter.spool_dir " + cfg.Milter.SpoolDir + " is not a directory"}
	}
	return postfixconf.Finding{Severity: postfixconf.OK, Message: fmt.Sprintf("store %s is reachable, schema up to date", cfg.Store)}
}

// checkEvidence says whether the evidence ledger can sign and anchor: its
// key (refused when others may read it; made at first start when missing)
// and its TSA.
func checkEvidence(cfg config.Config) postfixconf.Finding {
	ev := cfg.Evidence
	if !ev.Enabled {
		return postfixconf.Finding{Severity: postfixconf.Warning, Fix: "mailtrace.yaml:\nevidence:\n  enabled: true",
			Message: "the evidence ledger is off (evidence.enabled: false): what is stored is not tamper-evident"}
	}
	path := ev.KeyPath(cfg.Store)
	key, err := evidence.LoadKey(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return postfixconf.Finding{Severity: postfixconf.OK, Message: "evidence key " + path + " will be made at first start (or: mailtrace evidence keygen)"}
	case err != nil:
		return postfixconf.Finding{Severity: postfixconf.Problem, Message: err.Error()}
	case ev.TSAURL == "":
		return postfixconf.Finding{Severity: postfixconf.Warning, Fix: "mailtrace.yaml:\nevidence:\n  tsa_url: https://TSA/\n  tsa_roots: [/etc/mailtrace/tsa-root.pem]",
			Message: "evidence checkpoints are signed (key " + key.ID() + ") but not anchored in time: no TSA configured (evidence.tsa_url)"}
	}
	return postfixconf.Finding{Severity: postfixconf.OK, Message: "evidence checkpoints signed by " + key.ID() + " and time-stamped by " + ev.TSAURL}
}
