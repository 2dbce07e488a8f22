package milter

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/mailtrace/mailtrace/postfixconf"
	"github.com/mailtrace/mailtrace/postfixtest"
)

// BenchmarkPostfix pushes b.N messages through a real Postfix, from 8 SMTP
// connections, to a receiver, and reports delivered msgs/s: without a
// milter, with mailtrace's milter (and its embedded store) in
// smtpd_milters over TCP and over a Unix socket, and with the minimal
// go-milter filter, all else equal. Each Postfix instance runs a little
// slower than the one before it on this machine, so the variants run in a
// palindrome (each twice, at mirrored positions): bench/milter.sh averages
// the two runs of each and prints the ratios.
func BenchmarkPostfix(b *testing.B) {
	for _, variant := range []string{"without-milter", "with-milter", "with-milter-unix", "with-minimal-milter",
		"with-minimal-milter", "with-milter-unix", "with-milter", "without-milter"} {
		name := variant
		withMilter := strings.HasPrefix(variant, "with-milter")
		b.Run(name, func(b *testing.B) {
			if why := postfixtest.Available(); why != "" {
				b.Skip(why)
			}
			recv := postfixtest.StartReceiver(b)
			setup := &postfixconf.Setup{Milter: "inet:127.0.0.1:1", Pools: []postfixconf.Pool{
				{Name: "legal", SourceIP: "127.0.0.2"}, {Name: "collections", SourceIP: "127.0.0.3"},
				{Name: "transactional", SourceIP: "127.0.0.4"}, {Name: "bulk", SourceIP: "127.0.0.5"}}}
			main := map[string]string{"smtpd_milters": "", "non_smtpd_milters": "", "default_process_limit": "100"}
			if withMilter {
				rec := newRecorder(b, migratedChdb(b), RecorderOptions{MaxDelay: time.Second, MaxBatch: 5000})
				if variant == "with-milter-unix" {
					dir, _ := os.MkdirTemp("", "mailtrace-milter-")
					os.Chmod(dir, 0o755)
					defer os.RemoveAll(dir)
					f, err := New(testConfig(), rec, nil, nil)
					if err != nil {
						b.Fatal(err)
					}
					ln, err := Listen("unix:" + dir + "/milter.sock")
					if err != nil {
						b.Fatal(err)
					}
					go f.Serve(ln)
					defer f.Shutdown(context.Background())
					setup.Milter = "unix:" + dir + "/milter.sock"
				} else {
					_, addr := startFilter(b, testConfig(), rec)
					setup.Milter = "inet:" + addr
				}
				main = map[string]string{"default_process_limit": "100"}
			}
			if variant == "with-minimal-milter" {
				setup.Milter = "inet:" + startMinimal(b)
				main = map[string]string{"default_process_limit": "100"}
			}
			pf := postfixtest.Start(b, postfixtest.Options{Relay: recv.Addr, Main: main, Mailtrace: setup})
			before := len(recv.Received())
			b.ResetTimer()
			start := time.Now()
			var next atomic.Int64
			var wg sync.WaitGroup
			errs := make(chan error, 8)
			for range 8 {
				wg.Go(func() {
					if err := submit(pf.SMTPAddr, &next, int64(b.N)); err != nil {
						errs <- err
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				b.Fatal(err)
			}
			deadline := time.Now().Add(5 * time.Minute)
			for len(recv.Received())-before < b.N {
				if time.Now().After(deadline) {
					b.Fatalf("%d of %d messages delivered after 5 minutes", len(recv.Received())-before, b.N)
				}
				time.Sleep(5 * time.Millisecond)
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
		})
	}
}

// submit sends messages over one SMTP connection until n are sent.
func submit(addr string, next *atomic.Int64, n int64) error {
	c, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Hello("app.test.example"); err != nil {
		return err
	}
	senders := []string{"clerk@court.example", "news@corp.example", "app@corp.example"}
	for i := next.Add(1); i <= n; i = next.Add(1) {
		from := senders[i%3]
		var body strings.Builder
		fmt.Fprintf(&body, "From: <%s>\r\nTo: <r%d@gmail.test>\r\nSubject: Notice %d\r\nMessage-ID: <b%d@corp.example>\r\n", from, i, i, i)
		if i%3 == 1 {
			body.WriteString("List-Unsubscribe: <mailto:u@corp.example>\r\n")
		}
		body.WriteString("\r\n" + benchBody)
		if err := c.SendMail(from, []string{fmt.Sprintf("r%d@gmail.test", i)}, strings.NewReader(body.String())); err != nil {
			return fmt.Errorf("message %d: %w", i, err)
		}
	}
	return c.Quit()
}
