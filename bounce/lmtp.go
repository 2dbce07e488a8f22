package bounce

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/mailtrace/mailtrace/dsn"
)

// LMTPServer takes reports from Postfix over LMTP.
type LMTPServer struct {
	in  *Intake
	srv *smtp.Server
	ln  net.Listener
}

// ListenLMTP listens where the config says; it returns nil, nil when the
// listener is off.
func ListenLMTP(c Config, in *Intake) (*LMTPServer, error) {
	network, addr, err := c.network()
	if c.Listen == "" || c.Listen == "off" {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if network == "unix" {
		os.Remove(addr) // a socket left by a previous run
	}
	ln, err := net.Listen(network, addr)
	if err != nil {
		return nil, err
	}
	if network == "unix" {
		// Postfix's lmtp client runs as postfix.
		os.Chmod(addr, 0o666)
	}
	s := &LMTPServer{in: in, ln: ln}
	s.srv = smtp.NewServer(s)
	s.srv.LMTP = true
	s.srv.Domain = "mailtrace"
	s.srv.MaxMessageBytes = dsn.MaxSize
	s.srv.MaxRecipients = 100
	s.srv.ReadTimeout = 5 * time.Minute
	s.srv.WriteTimeout = time.Minute
	return s, nil
}

// Addr is where the server listens.
func (s *LMTPServer) Addr() net.Addr { return s.ln.Addr() }

// Serve serves until ctx ends.
func (s *LMTPServer) Serve(ctx context.Context) error {
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s.srv.Shutdown(shut)
	}()
	err := s.srv.Serve(s.ln)
	if errors.Is(err, smtp.ErrServerClosed) || ctx.Err() != nil {
		return nil
	}
	return err
}

// NewSession implements smtp.Backend.
func (s *LMTPServer) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &lmtpSession{s: s}, nil
}

type lmtpSession struct {
	s     *LMTPServer
	rcpts []string
}

func (ss *lmtpSession) Reset()                                         { ss.rcpts = nil }
func (ss *lmtpSession) Logout() error                                  { return nil }
func (ss *lmtpSession) Mail(from string, opts *smtp.MailOptions) error { return nil }
func (ss *lmtpSession) Rcpt(to string, opts *smtp.RcptOptions) error {
	ss.rcpts = append(ss.rcpts, to)
	return nil
}

// Data stores the report before answering: a 250 means it is kept, a 451
// makes Postfix keep it and try again.
func (ss *lmtpSession) Data(r io.Reader) error {
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, r); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := ss.s.in.Ingest(ctx, buf.Bytes(), ss.rcpts); err != nil {
		if m := ss.s.in.metrics; m != nil {
			m.Errors.WithLabelValues("lmtp").Inc()
		}
		ss.s.in.log.Error("report not stored; Postfix will offer it again", "err", err)
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "report not stored yet, try again later"}
	}
	return nil
}
