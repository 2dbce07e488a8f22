package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mailtrace/mailtrace/store/storetest"
)

// TestCollectSurvivesSIGKILL kills the collector at random moments while
// Postfix keeps logging and the log is rotated by rename (every fifth
// round, once the collector has read and committed the file: as logrotate
// does, not twice before the collector ever ran), restarts it each time,
// and checks that every attempt is stored and counted exactly once, and
// that the evidence ledger holds each fact once, every message closed,
// with the attempt's log line. Rounds last 0.3 to 2.5 s, so that kills
// fall before the first commit, between commits and while a rotated file
// is drained. MAILTRACE_TEST_KILLS sets the number of kills (default 20).
func TestCollectSurvivesSIGKILL(t *testing.T) {
	kills := 20
	if s := os.Getenv("MAILTRACE_TEST_KILLS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("MAILTRACE_TEST_KILLS=%q: want a number of kills, at least 1", s)
		}
		kills = n
	}
	dir := t.TempDir()
	logPath := filepath.Join(dir, "mail.log")
	cfgPath := filepath.Join(dir, "mailtrace.yaml")
	cfg := fmt.Sprintf("store: chdb://%s\nchdb_library: %s\ncollector:\n  grace: 100ms\n  timezone: UTC\n",
		filepath.Join(dir, "store"), storetest.ChdbLibrary(t))
	os.WriteFile(cfgPath, []byte(cfg), 0o644)

	rnd := rand.New(rand.NewPCG(1, 2))
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	attempts, messages := 0, 0
	writeMessages := func(n int, minute int) {
		w := bufio.NewWriter(logf)
		for range n {
			messages++
			qid := fmt.Sprintf("%X", 0xA00000000+messages)
			rcpts := 1 + rnd.IntN(3)
			fmt.Fprintf(w, "Nov 25 10:%02d:00 mx1 postfix/qmgr[44]: %s: from=<s@court.example>, size=100, nrcpt=%d (queue active)\n", minute, qid, rcpts)
			for i := range rcpts {
				attempts++
				fmt.Fprintf(w, "Nov 25 10:%02d:01 mx1 postfix-legal/smtp[%d]: %s: to=<r%d@x.example>, relay=mx.x.example[192.0.2.9]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 ok %s)\n", minute, 100+i, qid, i, qid)
			}
			fmt.Fprintf(w, "Nov 25 10:%02d:01 mx1 postfix/qmgr[44]: %s: removed\n", minute, qid)
		}
		w.Flush()
	}

	start := func() (*exec.Cmd, string) {
		port := freePort(t)
		cmd := exec.Command(binary, "collect", "--config", cfgPath, "--log", logPath, "--metrics-listen", "127.0.0.1:"+port)
		cmd.Env = filteredEnv()
		cmd.Stderr = io.Discard
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd, port
	}
	rotations := 0
	rotate := func() {
		// As logrotate's create: the file is renamed away and a new one
		// takes its name; a name of its own each time, so that none is
		// overwritten.
		rotations++
		logf.Close()
		if err := os.Rename(logPath, fmt.Sprintf("%s.%d", logPath, rotations)); err != nil {
			t.Fatal(err)
		}
		if logf, err = os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for round := range kills {
		cmd, port := start()
		deadline := time.Now().Add(time.Duration(300+rnd.IntN(2200)) * time.Millisecond)
		if round%5 == 4 {
			// The collector reads what is there and commits it; then
			// the file is rotated and the round goes on in the new one.
			writeMessages(10+rnd.IntN(100), round%59)
			read := float64(time.Date(time.Now().Year(), 11, 25, 10, round%59, 1, 0, time.UTC).Unix())
			waitMetric(t, port, "mailtrace_collector_last_line_timestamp_seconds", read)
			time.Sleep(1500 * time.Millisecond) // past CommitEvery
			rotate()
			deadline = time.Now().Add(time.Duration(rnd.IntN(2500)) * time.Millisecond)
		}
		for time.Now().Before(deadline) {
			writeMessages(10+rnd.IntN(100), round%59)
			time.Sleep(time.Duration(rnd.IntN(50)) * time.Millisecond)
		}
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
	}
	// The last message carries a later time: once the collector has read
	// it, it has read everything.
	writeMessages(1, 59)
	cmd, port := start()
	want := float64(time.Date(time.Now().Year(), 11, 25, 10, 59, 1, 0, time.UTC).Unix())
	waitMetric(t, port, "mailtrace_collector_last_line_timestamp_seconds", want)
	time.Sleep(1500 * time.Millisecond) // a commit, and the grace window for the last message
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("collector did not stop cleanly on SIGTERM: %v", err)
	}

	env := append(filteredEnv(), "MAILTRACE_CONFIG="+cfgPath)
	for q, want := range map[string]int{
		"SELECT count() FROM delivery_events":                            attempts,
		"SELECT uniqExact(event_id) FROM delivery_events":                attempts,
		"SELECT sum(attempts) FROM delivery_minutely":                    attempts,
		"SELECT count() FROM messages FINAL WHERE state = 'removed'":     messages,
		"SELECT uniqExact(queue_id) FROM messages":                       messages,
		"SELECT count() FROM id_lookup FINAL WHERE id_kind = 'queue_id'": messages,
		// The evidence ledger (on by default) holds each fact once, with
		// no gap and no duplicate in its index, every message closed.
		"SELECT countIf(event = 'http://uri.etsi.org/19522/Event/RelayToNonERDS') FROM evidence_records": attempts,
		"SELECT countIf(event = 'urn:mailtrace:event:ChainClosing') FROM evidence_records":               messages,
		"SELECT count() - uniqExact(fact_id) FROM evidence_records":                                      0,
		"SELECT count() - uniqExact(log_index) + (max(log_index) + 1 - count()) FROM evidence_records":   0,
		// Each attempt's record carries the line it was read from.
		"SELECT countIf(JSONExtractString(record, 'facts', 'line') LIKE '% status=sent (250 ok %') FROM evidence_records": attempts,
	} {
		cmd := exec.Command(binary, "sql", q)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v: %s", q, err, out)
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if got := lines[len(lines)-1]; got != fmt.Sprint(want) {
			t.Errorf("after %d kills and %d rotations: %s = %s, want %d", kills, rotations, q, got, want)
		}
	}
	cmd = exec.Command(binary, "evidence", "verify")
	cmd.Env = env
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("evidence verify after %d kills: %v\n%s", kills, err, out)
	}
	t.Logf("%d messages, %d attempts through %d SIGKILLs and %d rotations", messages, attempts, kills, rotations)
}

func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
}

// waitMetric polls the collector's /metrics until name reaches want. A
// name with labels ({...}) names one series exactly.
func waitMetric(t *testing.T, port, name string, want float64) {
	t.Helper()
	// A name alone matches its series with any labels, or its only one.
	prefixes := []string{name + "{", name + " "}
	if strings.HasSuffix(name, "}") {
		prefixes = []string{name + " "}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	last := ""
	for ctx.Err() == nil {
		resp, err := http.Get("http://127.0.0.1:" + port + "/metrics")
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			for _, line := range strings.Split(string(body), "\n") {
				if strings.HasPrefix(line, prefixes[0]) || strings.HasPrefix(line, prefixes[len(prefixes)-1]) {
					last = line
					var v float64
					fmt.Sscan(line[strings.LastIndexByte(line, ' ')+1:], &v)
					if v >= want {
						return
					}
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s never reached %v (last: %q)", name, want, last)
}
