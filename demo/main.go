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
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/mailtrace/mailtrace/postfixconf"
	"github.com/mailtrace/mailtrace/postfixtest"
)

// demoT stands in for a test: a failure stops the demo after cleaning up.
type demoT struct{ cleanups []func() }

func (d *demoT) Helper()          {}
func (d *demoT) Cleanup(f func()) { d.cleanups = append(d.cleanups, f) }
func (d *demoT) Fatal(args ...any) {
	fmt.Fprintln(os.Stderr, append([]any{"demo:"}, args...)...)
	d.cleanup()
	os.Exit(1)
}
func (d *demoT) Fatalf(format string, args ...any) { d.Fatal(fmt.Sprintf(format, args...)) }
func (d *demoT) Skip(args ...any)                  { d.Fatal(args...) }
func (d *demoT) cleanup() {
	for i := len(d.cleanups) - 1; i >= 0; i-- {
		d.cleanups[i]()
	}
	d.cleanups = nil
}

func main() {
	bin := flag.String("bin", "bin/mailtrace", "the mailtrace binary")
	apiAddr := flag.String("api", "127.0.0.1:8025", "where the web UI and API listen")
	flag.Parse()
	t := &demoT{}
	defer t.cleanup()
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
  classes:
    - {name: legal, pool: legal, verp: true}
    - {name: collections, pool: collections}
    - {name: transactional, pool: legal}
    - {name: marketing, pool: bulk}
  rules:
    - {name: court, class: legal, sender: ["@court.example"]}
    - {name: dunning, class: collections, sender: ["@dunning.example"]}
    - {name: newsletters, class: marketing, header: {List-Unsubscribe: "."}}
`, filepath.Join(dir, "store"), pf.Log, *apiAddr, bouncesAddr, milterAddr, filepath.Join(dir, "spool"), keyPath)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
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

	fmt.Println("demo: sending a mixed stream of mail through the sandbox Postfix...")
	sent := sendMix(t, pf)
	waitSearch(t, *apiAddr, sent)

	url := "http://" + *apiAddr + "/"
	fmt.Printf("\ndemo: web UI at %s (search, then open a trace)\n", url)
	fmt.Println("demo: one message's trace, as `mailtrace trace` prints it:")
	tr := exec.Command(absBin, "trace", "<demo-2@shop.example>", "--config", cfgPath)
	tr.Stdout, tr.Stderr = os.Stdout, os.Stderr
	tr.Run()
	printIncidents(*apiAddr)
	fmt.Printf("\ndemo: running until Ctrl-C; a new message every 15 s. Web UI: %s\n", url)

	tick := time.NewTicker(15 * time.Second)
	defer tick.Stop()
	for round := 1; ; round++ {
		select {
		case <-ctx.Done():
			fmt.Println("\ndemo: stopping and cleaning up")
			return
		case <-tick.C:
			to := []string{fmt.Sprintf("live%d@gmail.test", round)}
			pf.Send(t, "clerk@court.example", to, fmt.Sprintf("<live-%d@court.example>", round), "Live notice")
		}
	}
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
	fmt.Printf("\ndemo: open block incidents (GET %s/api/v1/blocks): %d\n", "http://"+addr, len(blocks.Incidents))
	for _, inc := range blocks.Incidents {
		fmt.Printf("  %s blocks %s (pool %s): %s\n    %s\n", inc.Provider, inc.SourceIP, inc.Pool, inc.Category, inc.Sample)
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
	fmt.Println("demo: the collector has not read every attempt yet; the UI fills in as it does")
}
