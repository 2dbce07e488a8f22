package milter

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gomilter "github.com/d--j/go-milter"
	"github.com/d--j/go-milter/mailfilter"
)

// The milter benchmarks drive a milter the way Postfix does, over loopback
// with go-milter's client: each connection sends message after message
// (connect, HELO, MAIL, two RCPTs, ten headers, a 4 KB body, end of
// message). "mailtrace" is this package's filter with a real embedded
// store behind it; "minimal" is the smallest useful go-milter filter, one
// that adds one header at the end of the headers and skips the body. Both
// run in the same process, on the same machine, in the same run:
// bench/milter.sh prints their ratio.
//
// Reported: msgs/s, and with one connection the p99 decision time (from
// end of message sent to answer read, as Postfix waits for it).

var benchBody = strings.Repeat("Sehr geehrte Damen und Herren, hiermit stellen wir Ihnen den Bescheid zu.\r\n", 55)

var benchHeaders = [][2]string{
	{"From", "Amtsgericht <clerk@court.example>"}, {"To", "<recipient@gmail.test>"}, {"Subject", "Zustellung Az. 4 C 123/26"},
	{"Date", "Thu, 26 Nov 2026 08:00:00 +0100"}, {"Message-ID", "<bench@court.example>"}, {"MIME-Version", "1.0"},
	{"Content-Type", "text/plain; charset=utf-8"}, {"Content-Transfer-Encoding", "8bit"},
	{"X-Application", "notices-7"}, {"List-Unsubscribe", "<mailto:u@court.example>"},
}

func BenchmarkMilter(b *testing.B) {
	for _, conns := range []int{1, 8} {
		b.Run(fmt.Sprintf("minimal/conns=%d", conns), func(b *testing.B) {
			drive(b, startMinimal(b), conns)
		})
		b.Run(fmt.Sprintf("mailtrace/conns=%d", conns), func(b *testing.B) {
			st := migratedChdb(b)
			rec := newRecorder(b, st, RecorderOptions{MaxDelay: time.Second, MaxBatch: 5000})
			_, addr := startFilter(b, testConfig(), rec)
			drive(b, addr, conns)
			b.StopTimer()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			rec.Close(ctx)
			if s := rec.Stats(); s.Stored+s.Spooled < uint64(b.N) || s.Lost > 0 {
				b.Fatalf("%d messages, records stored %d spooled %d lost %d", b.N, s.Stored, s.Spooled, s.Lost)
			}
		})
	}
}

// startMinimal starts the minimal filter: it adds one header at the end of
// the headers and asks for no body.
func startMinimal(b *testing.B) string {
	f, err := mailfilter.New("tcp", "127.0.0.1:0", func(_ context.Context, trx mailfilter.Trx) (mailfilter.Decision, error) {
		trx.Headers().Add("X-Minimal", "1")
		return mailfilter.Accept, nil
	}, mailfilter.WithDecisionAt(mailfilter.DecisionAtEndOfHeaders), mailfilter.WithoutBody())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(f.Close)
	return f.Addr().String()
}

// drive sends b.N messages over conns connections and reports msgs/s and,
// for one connection, the p99 end-of-message latency.
func drive(b *testing.B, addr string, conns int) {
	var next atomic.Int64
	var mu sync.Mutex
	var latencies []time.Duration
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	b.ResetTimer()
	start := time.Now()
	for c := range conns {
		wg.Go(func() {
			lat, err := clientSession(addr, c, &next, int64(b.N))
			if err != nil {
				errs <- err
			}
			mu.Lock()
			latencies = append(latencies, lat...)
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
	if conns == 1 && len(latencies) > 0 {
		slices.Sort(latencies)
		b.ReportMetric(float64(latencies[len(latencies)*99/100].Microseconds())/1000, "p99-ms")
	}
}

// clientSession is one Postfix connection sending messages until n are sent.
func clientSession(addr string, conn int, next *atomic.Int64, n int64) ([]time.Duration, error) {
	macros := gomilter.NewMacroBag()
	macros.Set(gomilter.MacroMTAFQDN, "mx1.test.example")
	client := gomilter.NewClient("tcp", addr, gomilter.WithActions(gomilter.AllClientSupportedActionMasks))
	s, err := client.Session(macros)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	if _, err := s.Conn("app.test.example", gomilter.FamilyInet, 40000, fmt.Sprintf("10.0.0.%d", conn+1)); err != nil {
		return nil, err
	}
	if _, err := s.Helo("app.test.example"); err != nil {
		return nil, err
	}
	var lat []time.Duration
	for i := next.Add(1); i <= n; i = next.Add(1) {
		macros.Set(gomilter.MacroQueueId, fmt.Sprintf("4X%08X", i))
		if _, err := s.Mail("<clerk@court.example>", ""); err != nil {
			return nil, err
		}
		for _, r := range []string{"<a@gmail.test>", "<b@outlook.test>"} {
			if _, err := s.Rcpt(r, ""); err != nil {
				return nil, err
			}
		}
		if _, err := s.DataStart(); err != nil {
			return nil, err
		}
		for _, h := range benchHeaders {
			if _, err := s.HeaderField(h[0], " "+h[1], nil); err != nil {
				return nil, err
			}
		}
		if _, err := s.HeaderEnd(); err != nil {
			return nil, err
		}
		if _, err := s.BodyChunk([]byte(benchBody)); err != nil {
			return nil, err
		}
		t0 := time.Now()
		if _, act, err := s.End(); err != nil {
			return nil, err
		} else if act.Type != gomilter.ActionAccept && act.Type != gomilter.ActionContinue {
			return nil, fmt.Errorf("answer %v", act)
		}
		lat = append(lat, time.Since(t0))
	}
	return lat, nil
}
