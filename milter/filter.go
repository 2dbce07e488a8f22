package milter

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strings"
	"time"

	gomilter "github.com/d--j/go-milter"
)

// Filter is the milter server: Postfix connects to it, one session per
// connection.
type Filter struct {
	cfg Config
	compiled
	recorder *Recorder
	metrics  *Metrics
	logger   *slog.Logger
	server   *gomilter.Server
}

// New builds a Filter from its configuration. Accept records go to rec.
func New(cfg Config, rec *Recorder, metrics *Metrics, logger *slog.Logger) (*Filter, error) {
	if err := cfg.checkSettings(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.Default()
	}
	if metrics == nil {
		metrics = NewMetrics(nil)
	}
	comp, err := cfg.compile()
	if err != nil {
		return nil, err
	}
	f := &Filter{cfg: cfg, compiled: comp, recorder: rec, metrics: metrics, logger: logger}
	for _, cl := range cfg.Unrouted() {
		logger.Warn("class names a pool but has no verp: true; its mail leaves as Postfix routes it, not through the pool (the pool is named in the VERP return path)",
			"class", cl.Name, "pool", cl.Pool)
	}
	// The milter reads every stage but answers none of them before the end
	// of the message: fewer round trips, and Postfix never waits on it
	// between commands. It never sees the body: everything it decides on
	// is in the envelope and the headers, and a body of any size costs it
	// nothing (measured: taking a 4 KB body cost 10-15% of throughput).
	protocol := gomilter.OptNoConnReply | gomilter.OptNoHeloReply | gomilter.OptNoMailReply | gomilter.OptNoRcptReply |
		gomilter.OptNoDataReply | gomilter.OptNoHeaderReply | gomilter.OptNoEOHReply | gomilter.OptNoBodyReply |
		gomilter.OptNoUnknown | gomilter.OptNoUnknownReply | gomilter.OptNoBody
	f.server = gomilter.NewServer(
		gomilter.WithDynamicMilter(func(uint32, gomilter.OptAction, gomilter.OptProtocol, gomilter.DataSize) gomilter.Milter {
			return &session{f: f}
		}),
		gomilter.WithActions(gomilter.OptAddHeader|gomilter.OptChangeHeader|gomilter.OptChangeFrom),
		gomilter.WithProtocols(protocol),
		gomilter.WithMacroRequest(gomilter.StageConnect, []gomilter.MacroName{gomilter.MacroMTAFQDN}),
		gomilter.WithMacroRequest(gomilter.StageMail, []gomilter.MacroName{gomilter.MacroAuthAuthen}),
		gomilter.WithMacroRequest(gomilter.StageData, []gomilter.MacroName{gomilter.MacroQueueId}),
		gomilter.WithMacroRequest(gomilter.StageEOM, []gomilter.MacroName{gomilter.MacroQueueId}),
		// Postfix's milter_*_timeout default to seconds; an idle
		// connection between messages is fine, a dead one is dropped.
		gomilter.WithReadTimeout(10*time.Minute),
		gomilter.WithWriteTimeout(30*time.Second),
	)
	return f, nil
}

// Listen opens the listener for cfg.Listen. A stale Unix socket left by a
// previous run is replaced.
func Listen(spec string) (net.Listener, error) {
	network, address, err := ParseListen(spec)
	if err != nil {
		return nil, err
	}
	if network == "unix" {
		if fi, err := os.Lstat(address); err == nil && fi.Mode()&os.ModeSocket != 0 {
			if c, err := net.Dial("unix", address); err == nil {
				c.Close()
				return nil, fmt.Errorf("milter socket %s is in use by another process", address)
			}
			os.Remove(address)
		}
	}
	ln, err := net.Listen(network, address)
	if err != nil {
		return nil, fmt.Errorf("milter listen %s: %w", spec, err)
	}
	if network == "unix" {
		// Postfix's smtpd runs as the postfix user.
		os.Chmod(address, 0o666)
	}
	return ln, nil
}

// Serve answers Postfix on ln until Shutdown.
func (f *Filter) Serve(ln net.Listener) error {
	err := f.server.Serve(batchingListener{ln})
	if errors.Is(err, gomilter.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops accepting connections and waits for open sessions to end
// (or ctx), then closes them.
func (f *Filter) Shutdown(ctx context.Context) error {
	err := f.server.Shutdown(ctx)
	if err != nil {
		f.server.Close()
	}
	return err
}

// trustsClassHeader tells whether the client may name its class itself.
func (f *Filter) trustsClassHeader(clientIP, saslUser string) bool {
	if f.cfg.ClassHeader.TrustAuthenticated && saslUser != "" {
		return true
	}
	ip, _ := netip.ParseAddr(clientIP)
	return inNetworks(f.trusted, ip)
}

// onError is the answer when the milter itself fails.
func (f *Filter) onError() *gomilter.Response {
	if f.cfg.OnError == "tempfail" {
		return gomilter.RespTempFail
	}
	return gomilter.RespAccept
}

// host names this Postfix as its log does: the configured host, else the
// first label of myhostname (macro j).
func (f *Filter) host(m gomilter.Modifier) string {
	if f.cfg.Host != "" {
		return f.cfg.Host
	}
	h, _, _ := strings.Cut(m.Get(gomilter.MacroMTAFQDN), ".")
	return h
}
