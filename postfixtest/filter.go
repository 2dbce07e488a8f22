package postfixtest

import (
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"
)

// FreePort returns a loopback TCP port free at the time of the call.
func FreePort(t T) string {
	t.Helper()
	return freePort(t)
}

// Filter is a content filter as amavis runs one: Postfix hands it every
// message (content_filter = smtp:[127.0.0.1]:PORT), and it re-injects each
// into a second smtpd (Reinject, in master.cf with content_filter= and
// receive_override_options as amavis setups have it), answering Postfix
// with that smtpd's reply wrapped the way amavis wraps it: "250 2.0.0 from
// MTA(smtp:[127.0.0.1]:10025): 250 2.0.0 Ok: queued as 3F2A81C0B2".
type Filter struct {
	Addr     string // where Postfix hands messages over
	Reinject string // the smtpd it re-injects into
	srv      *smtp.Server
	mu       sync.Mutex
	replies  []string
}

// Replies lists the re-injecting smtpd's replies, one per message.
func (f *Filter) Replies() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.replies...)
}

// StartFilter starts a filter on a free loopback port that re-injects
// into reinject (host:port).
func StartFilter(t T, reinject string) *Filter {
	t.Helper()
	f := &Filter{Reinject: reinject}
	f.srv = smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) { return &filterSession{f: f}, nil }))
	f.srv.Domain = "filter.test"
	f.srv.ReadTimeout, f.srv.WriteTimeout = 30*time.Second, 30*time.Second
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.Addr = ln.Addr().String()
	go f.srv.Serve(ln)
	t.Cleanup(func() { f.srv.Close() })
	return f
}

type filterSession struct {
	f    *Filter
	from string
	to   []string
}

func (s *filterSession) Mail(from string, _ *smtp.MailOptions) error { s.from = from; return nil }
func (s *filterSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}
func (s *filterSession) Reset()        { s.from, s.to = "", nil }
func (s *filterSession) Logout() error { return nil }

// Data re-injects the message, scanned as clean, and answers with the
// re-injecting smtpd's reply.
func (s *filterSession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	data = append([]byte("X-Virus-Scanned: postfixtest filter\r\n"), data...)
	reply, err := send(s.f.Reinject, "filter.test", s.from, s.to, data)
	if err != nil {
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 5, 0}, Message: "re-injection failed: " + err.Error()}
	}
	s.f.mu.Lock()
	s.f.replies = append(s.f.replies, reply)
	s.f.mu.Unlock()
	host, port, _ := net.SplitHostPort(s.f.Reinject)
	return &smtp.SMTPError{Code: 250, EnhancedCode: smtp.EnhancedCode{2, 0, 0},
		Message: fmt.Sprintf("from MTA(smtp:[%s]:%s): 250 2.0.0 %s", host, port, reply)}
}

// send submits one message and returns the server's reply to its DATA.
func send(addr, helo, from string, to []string, data []byte) (string, error) {
	c, err := smtp.Dial(addr)
	if err != nil {
		return "", err
	}
	defer c.Close()
	if err := c.Hello(helo); err != nil {
		return "", err
	}
	if err := c.Mail(from, nil); err != nil {
		return "", err
	}
	for _, r := range to {
		if err := c.Rcpt(r, nil); err != nil {
			return "", err
		}
	}
	w, err := c.Data()
	if err != nil {
		return "", err
	}
	if _, err := w.Write(data); err != nil {
		return "", err
	}
	resp, err := w.CloseWithResponse()
	if err != nil {
		return "", err
	}
	c.Quit()
	// go-smtp keeps the enhanced code in the text: "2.0.0 Ok: queued as X".
	return strings.TrimPrefix(resp.StatusText, "2.0.0 "), nil
}

// ReinjectService is the master.cf entry of the smtpd a filter re-injects
// into, on addr (127.0.0.1:PORT), with the overrides amavis' documentation
// gives it: no content filter again, no address, header or milter checks a
// second time.
func ReinjectService(addr string) string {
	return addr + ` inet n - n - - smtpd
  -o content_filter=
  -o receive_override_options=no_unknown_recipient_checks,no_header_body_checks,no_milters
  -o smtpd_helo_restrictions=
  -o smtpd_client_restrictions=
  -o smtpd_sender_restrictions=
  -o smtpd_recipient_restrictions=permit_mynetworks,reject
  -o smtpd_relay_restrictions=permit_mynetworks,reject
  -o mynetworks=127.0.0.0/8
  -o syslog_name=postfix/reinject
`
}

// LMTP is a mailbox server speaking LMTP on UNIX-domain sockets, as
// Dovecot's does for Postfix's lmtp(8).
type LMTP struct {
	Sockets []string
	mu      sync.Mutex
	got     []Delivery
}

// Received lists what was delivered so far.
func (l *LMTP) Received() []Delivery {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Delivery(nil), l.got...)
}

// StartLMTP serves LMTP on each socket path (created world-writable, so
// that Postfix's lmtp client, running as the postfix user, can connect).
func StartLMTP(t T, paths ...string) *LMTP {
	t.Helper()
	l := &LMTP{Sockets: paths}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) { return &lmtpSession{l: l}, nil }))
	srv.LMTP, srv.Domain = true, "mailbox.test"
	srv.ReadTimeout, srv.WriteTimeout = 30*time.Second, 30*time.Second
	for _, p := range paths {
		os.Remove(p)
		ln, err := net.Listen("unix", p)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, 0o777); err != nil {
			t.Fatal(err)
		}
		go srv.Serve(ln)
	}
	t.Cleanup(func() { srv.Close() })
	return l
}

type lmtpSession struct {
	l    *LMTP
	from string
	to   []string
}

func (s *lmtpSession) Mail(from string, _ *smtp.MailOptions) error { s.from = from; return nil }
func (s *lmtpSession) Rcpt(to string, _ *smtp.RcptOptions) error   { s.to = append(s.to, to); return nil }
func (s *lmtpSession) Reset()                                      { s.from, s.to = "", nil }
func (s *lmtpSession) Logout() error                               { return nil }

func (s *lmtpSession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.l.mu.Lock()
	s.l.got = append(s.l.got, Delivery{From: s.from, To: s.to, Data: data})
	s.l.mu.Unlock()
	return nil
}
