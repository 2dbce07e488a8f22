package bounce

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emersion/go-smtp"

	"github.com/mailtrace/mailtrace/authreport"
	"github.com/mailtrace/mailtrace/pool"
	"github.com/mailtrace/mailtrace/store"
	"github.com/mailtrace/mailtrace/store/storetest"
	"github.com/mailtrace/mailtrace/trace/tracetest"
)

const aggregate = `<?xml version="1.0"?><feedback><report_metadata><org_name>google.com</org_name><email>noreply-dmarc-support@google.com</email>
<report_id>REPORT-ID</report_id><date_range><begin>1767225600</begin><end>1767311999</end></date_range></report_metadata>
<policy_published><domain>example.com</domain><p>none</p></policy_published>
<record><row><source_ip>127.0.0.2</source_ip><count>3</count><policy_evaluated><disposition>none</disposition><dkim>pass</dkim><spf>pass</spf></policy_evaluated></row>
<identifiers><header_from>example.com</header_from></identifiers><auth_results><dkim><domain>example.com</domain><result>pass</result></dkim><spf><domain>example.com</domain><result>pass</result></spf></auth_results></record></feedback>`

// reportMail is an aggregate report as Google sends it, to rcpt, with
// subject (empty: none that names it a report).
func reportMail(rcpt, subject, id string) []byte {
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	w.Write([]byte(strings.Replace(aggregate, "REPORT-ID", id, 1)))
	w.Close()
	h := "From: noreply-dmarc-support@google.com\r\nTo: " + rcpt + "\r\n"
	if subject != "" {
		h += "Subject: " + subject + "\r\n"
	}
	return []byte(h + "MIME-Version: 1.0\r\nContent-Type: application/gzip; name=r.xml.gz\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
		base64.StdEncoding.EncodeToString(gz.Bytes()) + "\r\n")
}

// Reports to the rua address, or in a report's form, go to the report
// intake over LMTP and from a Maildir; a file leaves new/ only once the
// store has it.
func TestReportsRouted(t *testing.T) {
	f := tracetest.New(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	newIn := func(up bool) *Intake {
		var st store.Store = f.Store
		if !up {
			st = failingStore{f.Store}
		}
		rep := authreport.NewIntake(st, authreport.Options{Pools: []pool.Pool{{Name: "legal", SourceIP: "127.0.0.2"}}})
		return NewIntake(st, Options{Signer: signer(t, testKey), Reports: authreport.NewRouter(authreport.Config{Addresses: []string{"dmarc@example.com"}}, rep)})
	}
	in, down := newIn(true), newIn(false)

	// LMTP, to the rua address, no telling subject.
	srv, err := ListenLMTP(Config{Listen: "127.0.0.1:0"}, in)
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ctx)
	srvDown, err := ListenLMTP(Config{Listen: "127.0.0.1:0"}, down)
	if err != nil {
		t.Fatal(err)
	}
	go srvDown.Serve(ctx)
	send := func(addr string, raw []byte) error {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			return err
		}
		c := smtp.NewClientLMTP(conn)
		defer c.Close()
		if err := c.Hello("postfix.test"); err != nil {
			return err
		}
		return c.SendMail("", []string{"dmarc@example.com"}, bytes.NewReader(raw))
	}
	var se *smtp.SMTPError
	if err := send(srvDown.Addr().String(), reportMail("dmarc@example.com", "", "lmtp-1")); !errors.As(err, &se) || se.Code != 451 {
		t.Errorf("store down: %v, want 451", err)
	}
	if err := send(srv.Addr().String(), reportMail("dmarc@example.com", "", "lmtp-1")); err != nil {
		t.Fatalf("LMTP: %v", err)
	}
	if n := storetest.Count(t, f.Store, "SELECT count() FROM dmarc_records WHERE report_id = 'lmtp-1' AND pool = 'legal' AND count = 3"); n != 1 {
		t.Errorf("LMTP report rows: %d", n)
	}

	// Maildir: one to another address but with a report's subject.
	dir := t.TempDir()
	for _, sub := range []string{"new", "cur", "tmp"} {
		os.Mkdir(filepath.Join(dir, sub), 0o700)
	}
	os.WriteFile(filepath.Join(dir, "new", "1.report"), reportMail("postmaster@example.com", "Report domain: example.com Submitter: google.com Report-ID: <maildir-1>", "maildir-1"), 0o600)
	if n, err := down.scanMaildir(ctx, dir); err == nil || n != 0 {
		t.Errorf("store down: %d %v", n, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "new", "1.report")); err != nil {
		t.Errorf("a report the store did not take left new/: %v", err)
	}
	if n := storetest.Count(t, f.Store, "SELECT count() FROM auth_reports WHERE report_id = 'maildir-1'"); n != 0 {
		t.Errorf("the store that was down has %d rows", n)
	}
	if n, err := in.scanMaildir(ctx, dir); err != nil || n != 1 {
		t.Fatalf("maildir: %d %v", n, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "cur", "1.report:2,S")); err != nil {
		t.Errorf("stored report not in cur/: %v", err)
	}
	if n := storetest.Count(t, f.Store, "SELECT count() FROM dmarc_records WHERE report_id = 'maildir-1'"); n != 1 {
		t.Errorf("Maildir report rows: %d", n)
	}
	// A bounce is still a bounce.
	if n := storetest.Count(t, f.Store, "SELECT count() FROM bounces"); n != 0 {
		t.Errorf("reports were stored as bounces too: %d", n)
	}
}
