// Command demo is `make demo`: a sandbox Postfix with three dedicated-IP
// pools and fake receivers that answer like Google, Microsoft and Yahoo
// (one of which blocks the bulk pool's IP), `mailtrace run` next to it on an
// embedded store, and a mixed stream of mail: delivered, deferred, bounced
// and blocked. It prints the web UI's address and one message's trace, keeps
// sending a message now and then, and removes everything on Ctrl-C.
//
// It runs Debian's Postfix from a temporary directory, as root.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mailtrace/mailtrace/postfixconf"
	"github.com/mailtrace/mailtrace/postfixtest"
)

// demoT stands in for a test: a failure stops the demo after cleaning up.
// Cleaning up runs once, whoever asks first (a failure, or the user
// stopping the demo), and whoever asks next waits for it. A cleanup
// function must not call Fatal.
type demoT struct {
	mu       sync.Mutex
	cleanups []func()
	cleaned  chan struct{}  // made when cleaning up starts, closed when done
	late     sync.WaitGroup // cleanups registered after it started, run at once
	stopping atomic.Bool    // the user stopped the demo: what fails now is its cleanup's doing
}

func (d *demoT) Helper() {}
func (d *demoT) Cleanup(f func()) {
	d.mu.Lock()
	if d.cleaned != nil { // the demo is stopping: what started meanwhile goes at once
		d.late.Add(1)
		d.mu.Unlock()
		defer d.late.Done()
		f()
		return
	}
	defer d.mu.Unlock()
	d.cleanups = append(d.cleanups, f)
}
func (d *demoT) Fatal(args ...any) {
	if d.stopping.Load() {
		d.stop()
	}
	fmt.Fprintln(os.Stderr, append([]any{"demo:"}, args...)...)
	d.cleanup()
	os.Exit(1)
}
func (d *demoT) Fatalf(format string, args ...any) { d.Fatal(fmt.Sprintf(format, args...)) }
func (d *demoT) Skip(args ...any)                  { d.Fatal(args...) }
func (d *demoT) cleanup() {
	d.mu.Lock()
	if d.cleaned != nil {
		done := d.cleaned
		d.mu.Unlock()
		<-done
		return
	}
	d.cleaned = make(chan struct{})
	list := d.cleanups
	d.cleanups = nil
	d.mu.Unlock()
	for i := len(list) - 1; i >= 0; i-- {
		list[i]()
	}
	d.late.Wait()
	close(d.cleaned)
}

// stop ends the demo as the user asked: everything removed, exit status 0.
func (d *demoT) stop() {
	d.stopping.Store(true)
	d.cleanup()
	os.Exit(0)
}

// say is where the demo tells what it does: standard output, silent once
// the user stopped the demo (what goes on meanwhile is being undone).
var say io.Writer = os.Stdout

type quiet struct{ t *demoT }

func (q quiet) Write(b []byte) (int, error) {
	if q.t.stopping.Load() {
		return len(b), nil
	}
	return os.Stdout.Write(b)
}

// keysStop makes Ctrl-C (and Ctrl-\, Ctrl-D, q) on the terminal a key the
// demo reads rather than a signal: a signal would reach make too, which
// then reports the demo as failed (make: *** Error 1, or Interrupt) however
// cleanly it stopped. It returns a function that puts the terminal back,
// and does nothing when standard input is not a terminal (SIGINT and
// SIGTERM stop the demo then).
func keysStop(stop func()) (restore func()) {
	saved, err := unix.IoctlGetTermios(0, unix.TCGETS)
	if err != nil {
		return func() {}
	}
	raw := *saved
	raw.Lflag &^= unix.ISIG | unix.ICANON | unix.ECHO
	raw.Cc[unix.VMIN], raw.Cc[unix.VTIME] = 1, 0
	if err := unix.IoctlSetTermios(0, unix.TCSETS, &raw); err != nil {
		return func() {}
	}
	var once sync.Once
	restore = func() { once.Do(func() { unix.IoctlSetTermios(0, unix.TCSETS, saved) }) }
	go func() {
		b := make([]byte, 1)
		for {
			if n, err := os.Stdin.Read(b); err != nil || n == 1 && (b[0] == 3 || b[0] == 4 || b[0] == 0x1c || b[0] == 'q') {
				stop()
				return
			}
		}
	}()
	return restore
}

func main() {
	bin := flag.String("bin", "bin/mailtrace", "the mailtrace binary")
	apiAddr := flag.String("api", "127.0.0.1:8025", "where the web UI and API listen")
	flag.Parse()
	t := &demoT{}
	defer t.cleanup()
	say = quiet{t}
	// Ctrl-C stops the demo at any point, cleanly (exit status 0).
	ctx, cancel := context.WithCancel(context.Background())
	ctx, stopSignals := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stopSignals()
	restoreTerminal := keysStop(cancel)
	t.Cleanup(restoreTerminal)
	go func() {
		<-ctx.Done()
		t.stopping.Store(true)
		restoreTerminal()
		fmt.Fprintln(os.Stdout, "\ndemo: stopping and cleaning up")
		t.stop()
	}()
	if why := postfixtest.Available(); why != "" {
		t.Fatal("cannot start the sandbox Postfix:", why)
	}
	if ln, err := net.Listen("tcp", *apiAddr); err != nil {
		t.Fatalf("%s is taken (%v); give another address with API=host:port", *apiAddr, err)
	} else {
		ln.Close()
	}
	absBin, _ := filepath.Abs(*bin)

	recv := postfixtest.StartReceiver(t)
	recv.Block("microsoft", "127.0.0.4")
	milterAddr, bouncesAddr := freeAddr(t), freeAddr(t)
	pf := postfixtest.Start(t, postfixtest.Options{Relay: recv.Addr,
		// Deferred mail is retried for a few minutes before it expires.
		Main: map[string]string{"maximal_queue_lifetime": "3m", "bounce_queue_lifetime": "3m", "queue_run_delay": "20s",
			"minimal_backoff_time": "20s", "maximal_backoff_time": "40s"},
		Mailtrace: &postfixconf.Setup{Milter: "inet:" + milterAddr, BounceDomain: "bounces.demo.example",
			BounceTransport: "lmtp:inet:" + bouncesAddr, Pools: []postfixconf.Pool{
				{Name: "legal", SourceIP: "127.0.0.2", HeloName: "legal.mx1.test.example"},
				{Name: "collections", SourceIP: "127.0.0.3", HeloName: "collections.mx1.test.example"},
				{Name: "bulk", SourceIP: "127.0.0.4", HeloName: "bulk.mx1.test.example"}}}})

	dir, err := os.MkdirTemp("", "mailtrace-demo-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	cfgPath, keyPath := filepath.Join(dir, "mailtrace.yaml"), filepath.Join(dir, "verp.key")
	if err := os.WriteFile(keyPath, []byte("the demo's VERP signing key, not secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`store: chdb://%s
log_level: warn
collector:
  logs: [%s]
  grace: 1s
pools:
  - {name: legal, source_ip: 127.0.0.2, helo_name: legal.mx1.test.example}
  - {name: collections, source_ip: 127.0.0.3, helo_name: collections.mx1.test.example}
  - {name: bulk, source_ip: 127.0.0.4, helo_name: bulk.mx1.test.example}
api:
  listen: %s
  # A sandbox for one user: requests without a token may run SQL too
  # (mailtrace logs a warning about it at start). Elsewhere they are
  # analysts, and SQL needs an admin token in api.tokens.
  anonymous_role: admin
bounces:
  listen: %s
classify:
  providers:
    - {name: google, domains: [gmail.test]}
    - {name: microsoft, domains: [outlook.test]}
    - {name: yahoo, domains: [yahoo.test]}
blocks:
  min_blocks: 2
  min_ratio: 0.5
  dnsbl: {zones: []}
milter:
  listen: inet:%s
  spool_dir: %s
  default_class: transactional
  verp:
    domain: bounces.demo.example
    keys: [{id: 1, secret_file: %s}]
  # A pool is named in the VERP return path, which Postfix routes by:
  # every class that leaves through a pool has verp: true.
  classes:
    - {name: legal, pool: legal, verp: true}
    - {name: collections, pool: collections, verp: true}
    - {name: transactional, pool: legal, verp: true}
    - {name: marketing, pool: bulk, verp: true}
  rules:
    - {name: court, class: legal, sender: ["@court.example"]}
    - {name: dunning, class: collections, sender: ["@dunning.example"]}
    - {name: newsletters, class: marketing, header: {List-Unsubscribe: "."}}
`, filepath.Join(dir, "store"), pf.Log, *apiAddr, bouncesAddr, milterAddr, filepath.Join(dir, "spool"), keyPath)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}

	run := exec.Command(absBin, "run", "--config", cfgPath)
	run.Stdout, run.Stderr = os.Stdout, os.Stderr
	if err := run.Start(); err != nil {
		t.Fatalf("starting %s: %v (run `make build` first)", absBin, err)
	}
	t.Cleanup(func() {
		run.Process.Signal(syscall.SIGTERM)
		run.Wait()
	})
	waitListening(t, milterAddr)
	waitListening(t, *apiAddr)

	fmt.Fprintln(say, "demo: sending a mixed stream of mail through the sandbox Postfix...")
	sent := sendMix(t, pf)
	waitSearch(t, *apiAddr, sent)

	url := "http://" + *apiAddr + "/"
	fmt.Fprintf(say, "\ndemo: web UI at %s (search, then open a trace)\n", url)
	fmt.Fprintln(say, "demo: one message's trace, as `mailtrace trace` prints it:")
	tr := exec.Command(absBin, "trace", "<demo-2@shop.example>", "--config", cfgPath)
	tr.Stdout, tr.Stderr = say, say
	if !t.stopping.Load() {
		tr.Run()
	}
	printIncidents(*apiAddr)
	printCommands(*bin, cfgPath, pf.Config)
	fmt.Fprintf(say, "\ndemo: running until Ctrl-C; a new message every 15 s. Web UI: %s\n", url)

	// Ctrl-C ends the demo (the goroutine above): this loop only sends.
	for round := 1; ; round++ {
		time.Sleep(15 * time.Second)
		to := []string{fmt.Sprintf("live%d@gmail.test", round)}
		pf.Send(t, "clerk@court.example", to, fmt.Sprintf("<live-%d@court.example>", round), "Live notice")
	}
}

// printCommands prints the config file the demo wrote and commands to
// paste in another terminal while it runs: they find the store held by
// the demo's `mailtrace run` and ask its API.
func printCommands(bin, cfgPath, postfixConfig string) {
	if wd, err := os.Getwd(); err == nil {
		if abs, err := filepath.Abs(bin); err == nil {
			if rel, err := filepath.Rel(wd, abs); err == nil && !strings.HasPrefix(rel, "..") {
				bin = rel
			}
		}
	}
	if !strings.Contains(bin, "/") {
		bin = "./" + bin
	}
	today := time.Now().UTC()
	bundle := filepath.Join(filepath.Dir(cfgPath), "demo-0-evidence.zip") // removed with the demo
	mt := shellQuote(bin) + " --config " + shellQuote(cfgPath)
	fmt.Fprintf(say, "\ndemo: the demo's config is %s; while it runs, try in another terminal:\n", cfgPath)
	for _, c := range [][]string{
		{"trace", "<demo-0@court.example>"},
		{"trace", "anna@gmail.test", "--from", today.Format("2006-01-02"), "--to", today.AddDate(0, 0, 1).Format("2006-01-02")},
		{"trace", "<demo-2@shop.example>", "--json"},
		{"blocks"},
		{"sql", "SELECT status, pool, provider, count() AS attempts FROM delivery_events GROUP BY ALL ORDER BY attempts DESC"},
		{"doctor", "--postfix-config", postfixConfig},
		// A bundle needs a signed checkpoint: one a minute (evidence.checkpoint_interval).
		{"evidence", "export", "<demo-0@court.example>", "--out", bundle},
		{"evidence", "verify", bundle},
	} {
		args := make([]string, len(c))
		for i, a := range c {
			args[i] = shellQuote(a)
		}
		fmt.Fprintf(say, "  %s %s\n", mt, strings.Join(args, " "))
	}
	fmt.Fprintln(say, "  (evidence export works once the first checkpoint is signed, a minute after the start; evidence verify")
	fmt.Fprintln(say, "  and status without a bundle need the store to themselves, which the demo's mailtrace holds until Ctrl-C removes it)")
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%+=:,./_-") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// sendMix sends messages of every class and outcome; it returns how many
// delivery attempts they make at least.
func sendMix(t *demoT, pf *postfixtest.Instance) int {
	type mail struct {
		from    string
		to      []string
		subject string
		headers []string
	}
	mails := []mail{
		{"clerk@court.example", []string{"anna@gmail.test", "bounce-ben@outlook.test"}, "Summons to appear, case 4 C 123/26", nil},
		{"agent@dunning.example", []string{"carla@outlook.test", "dave@yahoo.test"}, "Payment reminder 2026-0815", nil},
		{"news@shop.example", []string{"erin@outlook.test", "defer-fred@gmail.test"}, "November offers", []string{"List-Unsubscribe: <mailto:u@shop.example>"}},
		{"news@shop.example", []string{"kim@outlook.test"}, "Black Friday", []string{"List-Unsubscribe: <mailto:u@shop.example>"}},
		{"noreply@bank.example", []string{"gina@yahoo.test", "bounce-hank@gmail.test"}, "Your statement", nil},
		{"clerk@court.example", []string{"defer-ida@yahoo.test"}, "Tax assessment notice", nil},
		{"agent@dunning.example", []string{"jan@gmail.test"}, "Final notice before collection", nil},
	}
	attempts := 0
	for i, m := range mails {
		_, domain, _ := strings.Cut(m.from, "@")
		pf.SendWith(t, m.from, m.to, fmt.Sprintf("<demo-%d@%s>", i, domain), m.subject, m.headers)
		attempts += len(m.to)
	}
	return attempts
}

func freeAddr(t *demoT) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func waitListening(t *demoT, addr string) {
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return
		}
	}
	t.Fatalf("mailtrace run never listened on %s", addr)
}

// waitSearch waits until the API shows at least n attempts of the last
// hour: the collector has read the log.
// printIncidents shows the open block incidents, as /api/v1/blocks gives
// them (Microsoft blocks the bulk pool's IP).
func printIncidents(addr string) {
	res, err := http.Get("http://" + addr + "/api/v1/blocks")
	if err != nil {
		return
	}
	defer res.Body.Close()
	var blocks struct {
		Incidents []struct {
			Pool, Provider, Category, Sample string
			SourceIP                         string `json:"source_ip"`
		}
	}
	json.NewDecoder(res.Body).Decode(&blocks)
	fmt.Fprintf(say, "\ndemo: open block incidents (GET %s/api/v1/blocks): %d\n", "http://"+addr, len(blocks.Incidents))
	for _, inc := range blocks.Incidents {
		fmt.Fprintf(say, "  %s blocks %s (pool %s): %s\n    %s\n", inc.Provider, inc.SourceIP, inc.Pool, inc.Category, inc.Sample)
	}
}

func waitSearch(t *demoT, addr string, n int) {
	for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		res, err := http.Get("http://" + addr + "/api/v1/search?limit=1000&from=" + time.Now().Add(-time.Hour).UTC().Format(time.RFC3339))
		if err != nil {
			continue
		}
		var page struct{ Rows []json.RawMessage }
		json.NewDecoder(res.Body).Decode(&page)
		res.Body.Close()
		if len(page.Rows) >= n {
			return
		}
	}
	fmt.Fprintln(say, "demo: the collector has not read every attempt yet; the UI fills in as it does")
}
