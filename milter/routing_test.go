package milter

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mailtrace/mailtrace/postfixconf"
	"github.com/mailtrace/mailtrace/postfixtest"
	"github.com/mailtrace/mailtrace/resolver/dnstest"
)

// TestPoolRoutingKeepsPostfixRoutes runs the milter in front of a real
// Postfix set up as deploy/postfix describes, with no next hop configured
// anywhere: remote mail finds its MX through a DNS server the test runs.
// One legal (VERP) message has four recipients: a remote one, which must
// leave through smtp-legal from the pool's IP; a mydestination one, which
// must land in its mailbox; a transport_maps one, which must reach its
// mapped relay through the plain smtp transport; and a virtual mailbox
// one. A transactional message (no VERP) must leave as Postfix routes it,
// not through the pool. It runs without relayhost, with one (the pool's
// transport sends to it) and with sender_dependent_relayhost_maps keyed
// by the bounce domain (VERP mail goes to that relay, the rest to
// relayhost).
func TestPoolRoutingKeepsPostfixRoutes(t *testing.T) {
	if why := postfixtest.Available(); why != "" {
		t.Skip(why)
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("unshare (util-linux) is not installed")
	}
	// 127.0.0.9 stands for the Internet: Postfix listens on 127.0.0.1
	// only, so an MX there is not taken for itself.
	internet := postfixtest.StartReceiverAt(t, "127.0.0.9:0")
	_, mxPort, _ := strings.Cut(internet.Addr, ":")
	dnstest.StartAt(t, "127.0.53.53:53",
		"remote.example. 300 IN MX 10 mx.remote.example.",
		"mx.remote.example. 300 IN A 127.0.0.9")
	partner := postfixtest.StartReceiver(t)

	cfg := testConfig()
	cfg.VERP.Domain = "bounces.test.example"
	signer, err := cfg.Signer()
	if err != nil {
		t.Fatal(err)
	}
	rec := newRecorder(t, migratedChdb(t), RecorderOptions{})
	_, milterAddr := startFilter(t, cfg, rec)
	setup := &postfixconf.Setup{Milter: "inet:" + milterAddr, BounceDomain: cfg.VERP.Domain,
		Pools:   []postfixconf.Pool{{Name: "legal", SourceIP: "127.0.0.2", HeloName: "legal.mx1.test.example"}},
		Classes: []postfixconf.Class{{Name: "legal", Pool: "legal", VERP: true}, {Name: "transactional", Pool: "transactional"}}}

	tests := []struct {
		name string
		// relayhost, the sender-dependent relay and default_transport's
		// next hop (nil: not set)
		relayhost, senderRelay, defaultNexthop *postfixtest.Receiver
	}{
		{name: "no relayhost"},
		{name: "relayhost", relayhost: postfixtest.StartReceiver(t)},
		{name: "sender_dependent_relayhost_maps", relayhost: postfixtest.StartReceiver(t), senderRelay: postfixtest.StartReceiver(t)},
		// default_transport's next hop comes before relayhost (postconf(5));
		// the pools' transports keep it.
		{name: "default_transport with a next hop", relayhost: postfixtest.StartReceiver(t), defaultNexthop: postfixtest.StartReceiver(t)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			boxes, err := os.MkdirTemp("", "mailtrace-boxes-")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.RemoveAll(boxes) })
			os.Chmod(boxes, 0o755)
			spool, vmail := filepath.Join(boxes, "mail"), filepath.Join(boxes, "vmail")
			os.Mkdir(spool, 0o1777)
			os.Chmod(spool, 0o1777)
			os.Mkdir(vmail, 0o755)
			os.Chown(vmail, 65534, 65534)
			main := map[string]string{
				"mydestination":           "$myhostname",
				"mail_spool_directory":    spool,
				"transport_maps":          "inline:{ partner.example=smtp:[127.0.0.1]:" + port(partner.Addr) + " }",
				"virtual_mailbox_domains": "virt.example",
				"virtual_mailbox_base":    vmail,
				"virtual_mailbox_maps":    "inline:{ dave@virt.example=dave }",
				"virtual_uid_maps":        "static:65534",
				"virtual_gid_maps":        "static:65534",
				"smtp_tcp_port":           mxPort,
			}
			relay := ""
			if tt.relayhost != nil {
				relay = tt.relayhost.Addr
			}
			if tt.defaultNexthop != nil {
				main["default_transport"] = "smtp:[127.0.0.1]:" + port(tt.defaultNexthop.Addr)
			}
			if tt.senderRelay != nil {
				main["sender_dependent_relayhost_maps"] = "inline:{ @" + cfg.VERP.Domain + "=[127.0.0.1]:" + port(tt.senderRelay.Addr) + " }"
			}
			setup := *setup
			if tt.defaultNexthop != nil {
				// The sender table repeats default_transport's next hop: its
				// answer replaces default_transport whole.
				setup.DefaultNexthop = postfixconf.NexthopOf(main["default_transport"])
			}
			pf := postfixtest.Start(t, postfixtest.Options{Relay: relay, Resolver: "127.0.53.53", Main: main, Mailtrace: &setup})
			legalID := fmt.Sprintf("<routing-%d@court.example>", time.Now().UnixNano())
			txID := strings.Replace(legalID, "court", "corp", 1)
			to := []string{"bob@remote.example", "root@mx1.test.example", "carol@partner.example", "dave@virt.example"}
			if refused := pf.Send(t, "clerk@court.example", to, legalID, "Summons"); len(refused) > 0 {
				t.Fatalf("refused: %v", refused)
			}
			if refused := pf.Send(t, "app@corp.example", []string{"ted@remote.example"}, txID, "Receipt"); len(refused) > 0 {
				t.Fatalf("refused: %v", refused)
			}
			pf.WaitIdle(t, 60*time.Second)
			logText, _ := os.ReadFile(pf.Log)

			// The remote recipient leaves through the pool: its transport,
			// its IP and HELO, its VERP sender; to the relay Postfix
			// would use, or the recipient domain's MX.
			remote := tt.relayhost
			if tt.senderRelay != nil {
				remote = tt.senderRelay
			}
			if tt.defaultNexthop != nil {
				remote = tt.defaultNexthop
			}
			if remote == nil {
				remote = internet
			}
			d := received(remote, "bob@remote.example", legalID)
			if d == nil {
				t.Fatalf("bob@remote.example did not reach %s; log:\n%s", remote.Addr, logText)
			}
			if _, pool, err := signer.ParsePool(d.From); d.SourceIP != "127.0.0.2" || d.Helo != "legal.mx1.test.example" || err != nil || pool != "legal" {
				t.Errorf("bob@remote.example arrived from %s (HELO %s), sender %s (pool %q, %v); want the legal pool's 127.0.0.2 and a legal VERP sender",
					d.SourceIP, d.Helo, d.From, pool, err)
			}
			wantVia(t, pf, "bob@remote.example", "postfix-legal/smtp[", "[127.0.0.")
			for _, other := range []*postfixtest.Receiver{internet, tt.relayhost, tt.senderRelay, tt.defaultNexthop} {
				if other != nil && other != remote && received(other, "bob@remote.example", legalID) != nil {
					t.Errorf("bob@remote.example also reached %s", other.Addr)
				}
			}

			// The local recipient is in its mailbox, delivered by local.
			wantInFile(t, filepath.Join(spool, "root"), legalID)
			wantVia(t, pf, "root@mx1.test.example", "postfix/local[", "status=sent")
			// The virtual one in its virtual mailbox.
			wantInFile(t, filepath.Join(vmail, "dave"), legalID)
			wantVia(t, pf, "dave@virt.example", "postfix/virtual[", "status=sent")
			// The transport_maps one at its mapped relay, through plain smtp
			// from the default source address.
			if d := received(partner, "carol@partner.example", legalID); d == nil || d.SourceIP != "127.0.0.1" {
				t.Errorf("carol@partner.example at her mapped relay: %+v; want it from 127.0.0.1", d)
			}
			wantVia(t, pf, "carol@partner.example", "postfix/smtp[", "relay=127.0.0.1[127.0.0.1]:"+port(partner.Addr))

			// A class without VERP leaves as Postfix routes it: plain smtp,
			// default source address, relayhost (the sender-dependent relay
			// is keyed by the bounce domain, not its sender) or the MX.
			txDest := internet
			if tt.relayhost != nil {
				txDest = tt.relayhost
			}
			if tt.defaultNexthop != nil {
				txDest = tt.defaultNexthop
			}
			if d := received(txDest, "ted@remote.example", txID); d == nil || d.SourceIP != "127.0.0.1" || d.From != "app@corp.example" {
				t.Errorf("transactional mail at %s: %+v; want it from 127.0.0.1 with its own sender", txDest.Addr, d)
			}
			wantVia(t, pf, "ted@remote.example", "postfix/smtp[", "status=sent")
		})
	}
}

func port(addr string) string {
	_, p, _ := strings.Cut(addr, ":")
	return p
}

// received is what a receiver got for a recipient in the message, or nil.
func received(r *postfixtest.Receiver, rcpt, messageID string) *postfixtest.Delivery {
	for _, d := range r.Received() {
		for _, to := range d.To {
			if to == rcpt && d.Header("Message-ID") == messageID {
				return &d
			}
		}
	}
	return nil
}

// wantVia checks the recipient's one delivery line: sent, by the program
// named, with what else it must say.
func wantVia(t *testing.T, pf *postfixtest.Instance, rcpt, program, more string) {
	t.Helper()
	lines := pf.Deliveries(t, rcpt) // a fresh Postfix per case: its lines only
	if len(lines) != 1 || !strings.Contains(lines[0], " "+program) || !strings.Contains(lines[0], more) || !strings.Contains(lines[0], "status=sent") {
		t.Errorf("delivery of %s: %q; want one line by %s, sent, with %q", rcpt, lines, program, more)
	}
}

func wantInFile(t *testing.T, path, messageID string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil || !strings.Contains(string(data), "Message-ID: "+messageID) {
		t.Errorf("mailbox %s: %v; want the message %s in it", path, err, messageID)
	}
}
