// Command mailtrace is the Postfix sidecar that proves what happened to every
// message: one binary, one subcommand per job (see `mailtrace help`).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"sort"
	"strings"
	"syscall"
)

// version is set at build time (make build).
var version = "dev"

// command is one subcommand.
type command struct {
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

var commands = map[string]command{
	"version":  {"print the version", runVersion},
	"migrate":  {"create or upgrade the store's tables (--print shows the DDL, --cluster NAME renders it for a cluster)", runMigrate},
	"sql":      {"run a read-only SELECT on the store (--format tsv|csv|json)", runSQL},
	"run":      {"run the sidecar: milter, log collector, bounce intake, API and web UI in one process, with metrics", runRun},
	"milter":   {"run the milter alone (--listen inet:127.0.0.1:8894)", runMilter},
	"collect":  {"follow the Postfix log into the store, across rotations (--log FILE)", runCollect},
	"api":      {"run the query API and web UI alone (--listen 127.0.0.1:8025)", runAPI},
	"import":   {"backfill the store from old Postfix logs (plain, .gz or journalctl -o export); importing again adds nothing", runImport},
	"trace":    {"show one message's timeline by trace ID, Message-ID, queue ID or recipient (--json)", runTrace},
	"blocks":   {"list block incidents: open ones, or --all opened in a range (--json)", runBlocks},
	"classify": {"show how a receiver's reply is classified: category, block signal, provider (--mx HOST)", runClassify},
	"dsn":      {"read bounce reports from files: dsn parse FILE... [--json] shows them, dsn ingest FILE... stores them", runDSN},
	"reports":  {"read DMARC aggregate/failure and SMTP TLS reports: reports parse FILE... [--json], reports ingest FILE..., reports list", runReports},
	"evidence": {"the evidence ledger: evidence keygen makes a signing key, evidence verify re-checks every record, checkpoint and time stamp, evidence status shows where each log stands, evidence export ID writes one message's proof bundle", runEvidence},
	"doctor":   {"check the Postfix configuration, the log and the store (--print-postfix prints the lines to add)", runDoctor},
}

// errUsage marks errors in how the command was called (exit status 2).
var errUsage = errors.New("usage")

// errHelp ends a command whose help was asked for.
var errHelp = errors.New("help shown")

func main() {
	if path := os.Getenv("MAILTRACE_CPUPROFILE"); path != "" {
		// For performance work: a CPU profile of the whole command.
		if f, err := os.Create(path); err == nil {
			pprof.StartCPUProfile(f)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := dispatch(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	pprof.StopCPUProfile()
	os.Exit(exitCode(err))
}

func exitCode(err error) int {
	switch {
	case err == nil, errors.Is(err, errHelp):
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintln(os.Stderr, "mailtrace:", err)
		return 2
	default:
		fmt.Fprintln(os.Stderr, "mailtrace:", err)
		return 1
	}
}

func dispatch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	globals, args, err := splitGlobal(args)
	if err != nil {
		usage(stderr)
		return err
	}
	if len(args) == 0 && len(globals) > 0 {
		usage(stderr)
		return fmt.Errorf("%w: no command after %s", errUsage, strings.Join(globals, " "))
	}
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "-help" || args[0] == "--help" {
		usage(stdout)
		return nil
	}
	name := args[0]
	if name == "--version" {
		name = "version"
	}
	cmd, ok := commands[name]
	if !ok {
		usage(stderr)
		return fmt.Errorf("%w: unknown command %q", errUsage, name)
	}
	if cmd.run == nil {
		return nil
	}
	// The global flags go first: the command's own, after them, win.
	return cmd.run(ctx, append(globals, args[1:]...), stdout, stderr)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "mailtrace: message-by-message proof of delivery for Postfix")
	fmt.Fprintln(w, "\nUsage: mailtrace [--config FILE] [--store DSN] COMMAND [args] [flags]\n\nCommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-9s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nEvery command takes --config FILE (default /etc/mailtrace/mailtrace.yaml), --store DSN,")
	fmt.Fprintln(w, "--chdb-library FILE and --log-level LEVEL, before or after its name. Flags may come before or")
	fmt.Fprintln(w, "after the arguments; -- ends them (an argument that starts with - goes after it).")
	fmt.Fprintln(w, "`mailtrace COMMAND -h` lists the command's flags.")
}

func runVersion(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	var c common
	c.register(fs) // taken, as by every command, and not needed
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: mailtrace version")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: version takes no arguments", errUsage)
	}
	fmt.Fprintf(stdout, "mailtrace %s\n", version)
	return nil
}

// newLogger logs to stderr at the configured level.
func newLogger(level string, w io.Writer) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.ToUpper(level))); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}
