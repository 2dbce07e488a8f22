// Package postfixtest runs a real, private Postfix for tests: Debian's
// postfix package started from a configuration directory under the test's
// temporary directory, on loopback ports, logging to its own maillog_file,
// relaying to a fake receiver written with go-smtp that answers like the
// receiving side of the Internet would. Without a relay it routes as in
// production, by the recipient domain's MX, asking a DNS server the test
// runs (Options.Resolver): Postfix then runs in a mount namespace of its
// own where /etc/resolv.conf names that server.
package postfixtest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/mailtrace/mailtrace/postfixconf"
)

// T is what the harness needs from its caller: a *testing.T or *testing.B,
// or the demo's stand-in.
type T interface {
	Helper()
	Fatal(args ...any)
	Fatalf(format string, args ...any)
	Skip(args ...any)
	Cleanup(func())
}

// Available reports why Postfix cannot run here, or "" when it can.
func Available() string {
	if _, err := exec.LookPath("postfix"); err != nil {
		if _, err := os.Stat("/usr/sbin/postfix"); err != nil {
			return "postfix is not installed (make setup installs Debian's postfix package)"
		}
	}
	if os.Geteuid() != 0 {
		return "a private Postfix instance must be started as root"
	}
	return ""
}

// Delivery is one message the fake receiver accepted.
type Delivery struct {
	From     string
	To       []string
	EnvID    string // the DSN envelope ID the sender gave (ENVID=)
	SourceIP string
	Helo     string
	Data     []byte
}

// Header returns the first value of a header of the delivered message.
func (d Delivery) Header(name string) string {
	msg, err := mail.ReadMessage(bytes.NewReader(d.Data))
	if err != nil {
		return ""
	}
	return msg.Header.Get(name)
}

// Receiver is a fake receiving MTA for every provider at once. It answers
// each recipient by its domain's provider and its local part:
//
//   - defer...: a temporary failure (Google: 421 4.7.28 rate limited;
//     elsewhere 450 4.2.1 mailbox busy);
//   - reject... or bounce...: 550 5.1.1, unknown user, in the provider's words;
//   - anything else is accepted, unless the sending IP is blocked for the
//     provider: 550 5.7.1 ... block list (S3150), as Microsoft answers.
//
// Providers by domain: gmail.test and googlemail.test are Google;
// outlook.test and hotmail.test Microsoft; yahoo.test and aol.test Yahoo;
// anything else a generic MTA.
type Receiver struct {
	Addr    string
	srv     *smtp.Server
	mu      sync.Mutex
	got     []Delivery
	blocked map[string]bool // "provider source-ip"
}

// Received lists what was accepted so far.
func (r *Receiver) Received() []Delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Delivery(nil), r.got...)
}

// Block makes a provider refuse all mail from one source IP.
func (r *Receiver) Block(provider, sourceIP string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.blocked[provider+" "+sourceIP] = true
}

// Provider names the provider a recipient domain belongs to.
func Provider(address string) string {
	_, domain, _ := strings.Cut(strings.ToLower(address), "@")
	switch domain {
	case "gmail.test", "googlemail.test":
		return "google"
	case "outlook.test", "hotmail.test":
		return "microsoft"
	case "yahoo.test", "aol.test":
		return "yahoo"
	}
	return "generic"
}

// StartReceiver starts a receiver on a free loopback port.
func StartReceiver(t T) *Receiver {
	t.Helper()
	return StartReceiverAt(t, "127.0.0.1:0")
}

// StartReceiverAt starts a receiver on addr (host:port, port 0 for a free
// one): another loopback address stands for a remote MX, which Postfix
// will not take for itself.
func StartReceiverAt(t T, addr string) *Receiver {
	t.Helper()
	r := &Receiver{blocked: map[string]bool{}}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		host, _, _ := net.SplitHostPort(c.Conn().RemoteAddr().String())
		return &session{r: r, conn: c, sourceIP: host}, nil
	}))
	srv.Domain = "receiver.test"
	srv.EnableDSN = true
	srv.ReadTimeout, srv.WriteTimeout = 30*time.Second, 30*time.Second
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	r.Addr, r.srv = ln.Addr().String(), srv
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return r
}

type session struct {
	r        *Receiver
	conn     *smtp.Conn
	sourceIP string
	from     string
	envID    string
	to       []string
}

func (s *session) Mail(from string, opts *smtp.MailOptions) error {
	s.from = from
	if opts != nil {
		s.envID = opts.EnvelopeID
	}
	return nil
}

func smtpErr(code int, enhanced smtp.EnhancedCode, msg string) error {
	return &smtp.SMTPError{Code: code, EnhancedCode: enhanced, Message: msg}
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	local := strings.ToLower(to)
	provider := Provider(to)
	s.r.mu.Lock()
	blocked := s.r.blocked[provider+" "+s.sourceIP]
	s.r.mu.Unlock()
	switch {
	case blocked:
		return smtpErr(550, smtp.EnhancedCode{5, 7, 1}, "Unfortunately, messages from ["+s.sourceIP+"] weren't sent. Please contact your Internet service provider since part of their network is on our block list (S3150). You can also refer your provider to http://mail.live.com/mail/troubleshooting.aspx#errors.")
	case strings.HasPrefix(local, "defer") && provider == "google":
		return smtpErr(421, smtp.EnhancedCode{4, 7, 28}, "["+s.sourceIP+"] Our system has detected an unusual rate of unsolicited mail originating from your IP address. To protect our users from spam, mail sent from your IP address has been temporarily rate limited. https://support.google.com/mail/?p=UnsolicitedRateLimitError")
	case strings.HasPrefix(local, "defer"):
		return smtpErr(450, smtp.EnhancedCode{4, 2, 1}, "mailbox busy ("+to+"), try again later")
	case (strings.HasPrefix(local, "reject") || strings.HasPrefix(local, "bounce")) && provider == "google":
		return smtpErr(550, smtp.EnhancedCode{5, 1, 1}, "The email account that you tried to reach does not exist. Please try double-checking the recipient's email address for typos or unnecessary spaces. https://support.google.com/mail/?p=NoSuchUser")
	case (strings.HasPrefix(local, "reject") || strings.HasPrefix(local, "bounce")) && provider == "microsoft":
		return smtpErr(550, smtp.EnhancedCode{5, 1, 1}, "RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup")
	case (strings.HasPrefix(local, "reject") || strings.HasPrefix(local, "bounce")) && provider == "yahoo":
		return smtpErr(550, smtp.EnhancedCode{5, 1, 1}, "<"+to+">: Recipient address rejected: User unknown in relay recipient table")
	case strings.HasPrefix(local, "reject") || strings.HasPrefix(local, "bounce"):
		return smtpErr(550, smtp.EnhancedCode{5, 1, 1}, "<"+to+">: no such user here")
	}
	s.to = append(s.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.r.mu.Lock()
	s.r.got = append(s.r.got, Delivery{From: s.from, To: s.to, EnvID: s.envID, SourceIP: s.sourceIP, Helo: s.conn.Hostname(), Data: data})
	s.r.mu.Unlock()
	return nil
}

func (s *session) Reset()        { s.from, s.envID, s.to = "", "", nil }
func (s *session) Logout() error { return nil }

// Instance is a running private Postfix.
type Instance struct {
	Dir      string // everything lives here
	Config   string // its configuration directory
	Log      string // its maillog_file
	SMTPAddr string // its smtpd, on loopback
	// ClientAddr: see Options.
	ClientAddr string
}

// Options shape an instance.
type Options struct {
	// Relay is where it relays all mail (host:port, the fake receiver) as
	// relayhost; empty sets no relayhost (and no next hop anywhere).
	Relay string
	// Resolver is the IP address of a DNS server listening on port 53
	// (resolv.conf names no port; e.g. dnstest.StartAt(t,
	// "127.0.53.53:53")) that Postfix asks for MX and A records instead of
	// the system's: Postfix runs under unshare -m with
	// a resolv.conf naming it bind-mounted over /etc/resolv.conf.
	Resolver string
	Main     map[string]string // extra main.cf settings
	// Mailtrace, when set, installs mailtrace's configuration as
	// deploy/postfix describes it: milters, pool transports, the
	// milter_header_checks and sender-dependent transport tables (written
	// into the config directory).
	Mailtrace *postfixconf.Setup
	// Master is appended to master.cf: more services (a content filter's
	// re-injection smtpd, see ReinjectService).
	Master string
	// ClientAddr is the loopback address messages are submitted from
	// (default: the system's choice, 127.0.0.1).
	ClientAddr string
}

// Start starts a private Postfix, stopped at the end of the test.
func Start(t T, opts Options) *Instance {
	t.Helper()
	if why := Available(); why != "" {
		t.Skip(why)
	}
	dir, err := os.MkdirTemp("", "mailtrace-postfix-")
	if err != nil {
		t.Fatal(err)
	}
	// Postfix's daemons run as the postfix user and must reach their
	// directories.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	inst := &Instance{Dir: dir, Config: filepath.Join(dir, "etc"), Log: filepath.Join(dir, "log", "maillog")}
	for _, d := range []string{"etc", "queue", "data", "log"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	exec.Command("chown", "postfix", filepath.Join(dir, "data")).Run()
	port := freePort(t)
	inst.SMTPAddr = "127.0.0.1:" + port
	main := map[string]string{
		"compatibility_level":                "3.6",
		"queue_directory":                    filepath.Join(dir, "queue"),
		"data_directory":                     filepath.Join(dir, "data"),
		"myhostname":                         "mx1.test.example",
		"mydomain":                           "test.example",
		"myorigin":                           "test.example",
		"inet_interfaces":                    "127.0.0.1",
		"inet_protocols":                     "ipv4",
		"mynetworks":                         "127.0.0.0/8",
		"mydestination":                      "",
		"maillog_file":                       inst.Log,
		"maillog_file_prefixes":              dir,
		"queue_run_delay":                    "1s",
		"minimal_backoff_time":               "1s",
		"maximal_backoff_time":               "2s",
		"maximal_queue_lifetime":             "0",
		"bounce_queue_lifetime":              "0",
		"smtp_connect_timeout":               "2s",
		"smtpd_relay_restrictions":           "permit_mynetworks, reject",
		"smtpd_recipient_restrictions":       "check_recipient_access inline:{ { door-reject@dest.example = 554 5.7.1 refused by policy } }, permit_mynetworks, reject",
		"smtp_tls_security_level":            "none",
		"smtpd_tls_security_level":           "none",
		"alias_maps":                         "",
		"alias_database":                     "",
		"smtputf8_enable":                    "no",
		"biff":                               "no",
		"append_dot_mydomain":                "no",
		"readme_directory":                   "no",
		"smtpd_banner":                       "$myhostname ESMTP",
		"notify_classes":                     "",
		"delay_warning_time":                 "0h",
		"smtp_destination_concurrency_limit": "4",
	}
	if opts.Relay != "" {
		main["relayhost"] = "[" + strings.Replace(opts.Relay, ":", "]:", 1)
	}
	var services string
	if opts.Mailtrace != nil {
		setup := *opts.Mailtrace
		setup.Dir = inst.Config
		for _, p := range setup.Main() {
			main[p.Name] = p.Value
		}
		for path, table := range map[string]string{setup.HeaderChecksPath(): setup.HeaderChecksTable(), setup.SenderTransportPath(): setup.SenderTransportTable()} {
			if err := os.WriteFile(path, []byte(table), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		services = setup.MasterCF()
	}
	for k, v := range opts.Main {
		main[k] = v
	}
	keys := make([]string, 0, len(main))
	for k := range main {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var mc bytes.Buffer
	for _, k := range keys {
		fmt.Fprintf(&mc, "%s = %s\n", k, main[k])
	}
	if err := os.WriteFile(filepath.Join(inst.Config, "main.cf"), mc.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	master, err := masterCF(port)
	if err != nil {
		t.Fatal(err)
	}
	master = append(master, services...)
	master = append(master, opts.Master...)
	inst.ClientAddr = opts.ClientAddr
	if err := os.WriteFile(filepath.Join(inst.Config, "master.cf"), master, 0o644); err != nil {
		t.Fatal(err)
	}
	start := exec.Command("postfix", "-c", inst.Config, "start")
	if opts.Resolver != "" {
		// Postfix's resolver reads /etc/resolv.conf and nothing else; in a
		// mount namespace of its own (inherited by master and every
		// daemon it starts) that file names the test's DNS server.
		resolv := filepath.Join(dir, "resolv.conf")
		if err := os.WriteFile(resolv, []byte("nameserver "+opts.Resolver+"\noptions attempts:1 timeout:2\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		start = exec.Command("unshare", "--mount", "--propagation", "private", "sh", "-c",
			`mount --bind "$1" /etc/resolv.conf && exec postfix -c "$2" start`, "sh", resolv, inst.Config)
	}
	if out, err := start.CombinedOutput(); err != nil {
		log, _ := os.ReadFile(inst.Log)
		t.Fatalf("postfix start: %v\n%s\n%s", err, out, log)
	}
	t.Cleanup(func() {
		exec.Command("postfix", "-c", inst.Config, "stop").Run()
		time.Sleep(200 * time.Millisecond)
		os.RemoveAll(dir)
	})
	inst.waitListening(t)
	return inst
}

// masterCF is Debian's master.cf with smtpd on port, nothing chrooted, and
// postlogd for maillog_file.
func masterCF(port string) ([]byte, error) {
	data, err := os.ReadFile("/etc/postfix/master.cf")
	if err != nil {
		data, err = os.ReadFile("/usr/share/postfix/master.cf.dist")
		if err != nil {
			return nil, err
		}
	}
	var out bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		f := strings.Fields(line)
		if len(f) >= 8 && !strings.HasPrefix(line, "#") && !strings.HasPrefix(line, " ") {
			if f[0] == "smtp" && f[1] == "inet" {
				f[0] = "127.0.0.1:" + port
			}
			if f[0] == "postlog" {
				continue
			}
			f[4] = "n" // not chrooted: the queue is not where chroot expects it
			line = strings.Join(f, " ")
		}
		out.WriteString(line + "\n")
	}
	out.WriteString("postlog unix-dgram n - n - 1 postlogd\n")
	return out.Bytes(), sc.Err()
}

func (i *Instance) waitListening(t T) {
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.Dial("tcp", i.SMTPAddr); err == nil {
			c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	log, _ := os.ReadFile(i.Log)
	t.Fatalf("postfix smtpd never listened on %s; log:\n%s", i.SMTPAddr, log)
}

// Send submits one message over SMTP. Recipients the server refuses are
// returned with its answer; the message goes to the others.
func (i *Instance) Send(t T, from string, to []string, messageID, subject string) map[string]string {
	return i.SendWith(t, from, to, messageID, subject, nil)
}

// SendWith is Send with extra header lines ("Name: value").
func (i *Instance) SendWith(t T, from string, to []string, messageID, subject string, headers []string) map[string]string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "From: <%s>\r\nTo: undisclosed-recipients:;\r\nSubject: %s\r\nMessage-ID: %s\r\nDate: %s\r\n",
		from, subject, messageID, time.Now().Format(time.RFC1123Z))
	for _, h := range headers {
		fmt.Fprintf(&b, "%s\r\n", h)
	}
	b.WriteString("\r\nThis notice is served on you.\r\n")
	return i.submit(t, "app.test.example", from, to, []byte(b.String()))
}

// SendRaw submits a whole message as it is (a bounce report a remote MTA
// sends, say), with the null sender when from is empty.
func (i *Instance) SendRaw(t T, from string, to []string, raw []byte) {
	t.Helper()
	if refused := i.submit(t, "mx.receiver.test", from, to, raw); len(refused) > 0 {
		t.Fatalf("recipients refused: %v", refused)
	}
}

// submit hands a message to the instance's smtpd; it returns the refused
// recipients with Postfix's answers, and sends nothing when all are.
func (i *Instance) submit(t T, helo, from string, to []string, raw []byte) map[string]string {
	t.Helper()
	d := net.Dialer{Timeout: 10 * time.Second}
	if i.ClientAddr != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(i.ClientAddr)}
	}
	conn, err := d.Dial("tcp", i.SMTPAddr)
	if err != nil {
		t.Fatal(err)
	}
	c := smtp.NewClient(conn)
	defer c.Close()
	if err := c.Hello(helo); err != nil {
		t.Fatal(err)
	}
	if err := c.Mail(from, nil); err != nil {
		t.Fatal(err)
	}
	refused := map[string]string{}
	for _, r := range to {
		if err := c.Rcpt(r, nil); err != nil {
			refused[r] = err.Error()
		}
	}
	if len(refused) == len(to) {
		return refused
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(raw); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	c.Quit()
	return refused
}

// WaitIdle waits until the queue is empty and the log has been quiet for
// a moment.
func (i *Instance) WaitIdle(t T, timeout time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var lastSize int64 = -1
	quiet := 0
	for ctx.Err() == nil {
		out, _ := exec.Command("postqueue", "-c", i.Config, "-j").Output()
		st, _ := os.Stat(i.Log)
		size := int64(0)
		if st != nil {
			size = st.Size()
		}
		if len(bytes.TrimSpace(out)) == 0 && size == lastSize {
			quiet++
			if quiet >= 3 {
				return
			}
		} else {
			quiet = 0
		}
		lastSize = size
		time.Sleep(300 * time.Millisecond)
	}
	out, _ := exec.Command("postqueue", "-c", i.Config, "-j").Output()
	t.Fatalf("postfix queue not empty after %s: %s", timeout, out)
}

// Deliveries returns the log's delivery lines for a recipient (those with
// status=), in order.
func (i *Instance) Deliveries(t T, recipient string) []string {
	t.Helper()
	data, err := os.ReadFile(i.Log)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		if strings.Contains(line, " to=<"+recipient+">") && strings.Contains(line, " status=") {
			out = append(out, line)
		}
	}
	return out
}

// QueueIDs returns the queue IDs the log mentions for a Message-ID.
func (i *Instance) QueueIDs(t T, messageID string) []string {
	data, err := os.ReadFile(i.Log)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`: ([0-9A-Za-z]+): message-id=` + regexp.QuoteMeta(messageID))
	var out []string
	for _, m := range re.FindAllSubmatch(data, -1) {
		out = append(out, string(m[1]))
	}
	return out
}

func freePort(t T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
}
