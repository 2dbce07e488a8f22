package certificate_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mailtrace/mailtrace/certificate"
	"github.com/mailtrace/mailtrace/evidence"
	"github.com/mailtrace/mailtrace/schema"
)

var t0 = time.Date(2026, 11, 30, 14, 5, 6, 0, time.UTC)

type attempt struct {
	after          time.Duration
	status         schema.DeliveryStatus
	dsn            string
	reply          string
	tls, relayHost string
}

// story is one message to one or two recipients, its attempts, and the
// reports that came back.
type story struct {
	name     string
	rcpts    []string
	attempts map[string][]attempt
	bounce   *schema.Bounce
	state    string
}

var trace = [16]byte{0x01, 0x9a, 0xbc, 0xde, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}

func (s story) facts() []evidence.Fact {
	const host, qid = "mx1", "4Fq9Z2"
	mid := "<notice-2026-00123@court.example>"
	facts := []evidence.Fact{evidence.AcceptFact(&schema.AcceptRecord{Time: t0, TraceID: trace, Host: host, QueueID: qid, MessageID: mid,
		Sender: "clerk@court.example", Recipients: s.rcpts, ClientIP: "10.1.2.3", ClientName: "app1.court.example", Class: "legal"})}
	var n uint64
	for _, rc := range s.rcpts {
		for _, a := range s.attempts[rc] {
			n++
			facts = append(facts, evidence.DeliveryFact(&schema.DeliveryEvent{Time: t0.Add(a.after), EventID: n, Host: host, QueueID: qid,
				TraceID: trace, MessageID: mid, Sender: "clerk@court.example", Recipient: rc, Status: a.status, DSN: a.dsn,
				RelayHost: a.relayHost, RelayIP: "192.0.2.25", RelayPort: 25, Response: a.reply, TLS: a.tls}))
		}
	}
	if s.bounce != nil {
		b := *s.bounce
		b.TraceID, b.Host, b.QueueID = trace, host, qid
		facts = append(facts, evidence.BounceFact(&b))
	}
	statuses := []string{}
	for _, rc := range s.rcpts {
		as := s.attempts[rc]
		statuses = append(statuses, string(as[len(as)-1].status))
	}
	return append(facts, evidence.MessageFacts(&schema.MessageRecord{FirstSeen: t0, LastSeen: t0.Add(3 * time.Hour), Host: host, QueueID: qid,
		TraceID: trace, MessageID: mid, Sender: "clerk@court.example", Recipients: s.rcpts, Statuses: statuses, State: s.state})...)
}

const sentReply = "250 2.0.0 Ok: queued as 4XyZQq1 (mx.debtor.example; ñandú)"

var stories = []story{
	{name: "delivered", rcpts: []string{"ana@debtor.example"}, state: "removed", attempts: map[string][]attempt{
		"ana@debtor.example": {{1 * time.Second, "sent", "2.0.0", sentReply, "TLSv1.3 TLS_AES_256_GCM_SHA384", "mx.debtor.example"}}}},
	{name: "bounced", rcpts: []string{"luis@debtor.example"}, state: "removed", attempts: map[string][]attempt{
		"luis@debtor.example": {{2 * time.Second, "bounced", "5.1.1", "550 5.1.1 <luis@debtor.example>: Recipient address rejected: User unknown", "", "mx.debtor.example"}}}},
	{name: "expired", rcpts: []string{"eva@gone.example"}, state: "expired", attempts: map[string][]attempt{
		"eva@gone.example": {
			{time.Minute, "deferred", "4.4.1", "connect to mx.gone.example[192.0.2.25]:25: Connection timed out", "", "mx.gone.example"},
			{5 * 24 * time.Hour, "expired", "4.4.1", "connect to mx.gone.example[192.0.2.25]:25: Connection timed out", "", "mx.gone.example"}}},
		bounce: &schema.Bounce{Time: t0.Add(5*24*time.Hour + time.Minute), EventID: 77, Kind: "dsn", Recipient: "eva@gone.example", Action: "failed",
			Status: "4.4.1", Diagnostic: "delivery time expired", ReportingMTA: "mx1.court.example", ReportSHA256: [32]byte{1}}},
	{name: "deferred-then-delivered", rcpts: []string{"ana@debtor.example", "luis@debtor.example"}, state: "removed", attempts: map[string][]attempt{
		"ana@debtor.example": {
			{time.Second, "deferred", "4.7.1", "451 4.7.1 Greylisted, please try again in 300 seconds", "TLSv1.3", "mx.debtor.example"},
			{10 * time.Minute, "sent", "2.0.0", sentReply, "TLSv1.3 TLS_AES_256_GCM_SHA384", "mx.debtor.example"}},
		"luis@debtor.example": {
			{2 * time.Second, "deferred", "4.7.1", "451 4.7.1 Greylisted, please try again in 300 seconds", "TLSv1.3", "mx.debtor.example"},
			{11 * time.Minute, "sent", "2.0.0", "250 2.0.0 Ok: queued as 4XyZQq2", "TLSv1.3 TLS_AES_256_GCM_SHA384", "mx.debtor.example"}}}},
}

// bundleOf writes the story's records to a ledger and exports its bundle
// with a certificate.
func bundleOf(t testing.TB, s story, opts certificate.Options) ([]byte, *evidence.BundleContents) {
	t.Helper()
	ctx := context.Background()
	private, _, _ := evidence.GenerateKey("mailtrace.test")
	key, _ := evidence.ParseKey(private)
	st := evidence.NewMemoryStorage()
	l, err := evidence.Open(ctx, evidence.Options{Origin: "mailtrace.test/mx1", Host: "mx1", Storage: st, Key: key})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range s.facts() {
		if _, err := l.Append(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := l.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	bc, err := evidence.Export(ctx, &buf, evidence.ExportOptions{Storage: st, Messages: []string{evidence.MessageKey(trace, "", "")},
		PublicKeys: []string{key.Public}, Now: t0.Add(6 * 24 * time.Hour),
		Certificate: func(bc *evidence.BundleContents) ([]byte, error) {
			return certificate.Render(bc.Records, bc.ManifestSHA256, opts)
		}})
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), bc
}

// verified reads and verifies a bundle (which parses its records).
func verified(t *testing.T, data []byte) *evidence.Bundle {
	t.Helper()
	b, err := evidence.ReadBundle(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := evidence.VerifyBundle(b, evidence.BundleVerifyOptions{}); err != nil {
		t.Fatal(err)
	}
	return b
}

func needPoppler(t *testing.T) {
	if _, err := exec.LookPath("pdftotext"); err != nil {
		t.Fatal("pdftotext is not installed: run make setup (poppler-utils)")
	}
}

func artifacts(t *testing.T) string {
	dir := os.Getenv("MAILTRACE_ARTIFACTS")
	if dir == "" {
		dir, _ = filepath.Abs("../.artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestCertificateStatesTheRecords(t *testing.T) {
	needPoppler(t)
	bogota, _ := time.LoadLocation("America/Bogota")
	want := map[string][]string{
		"delivered": {"Certificado de trazabilidad de entrega", "Zona horaria: America/Bogota",
			"2026-11-30 14:05:06 UTC / 2026-11-30 09:05:06 -05:00", "Aceptado por nuestro servidor: cliente app1.court.example [10.1.2.3], remitente clerk@court.example",
			"Destinatario: ana@debtor.example", "2026-11-30 14:05:07 UTC / 2026-11-30 09:05:07 -05:00",
			"Entregado al servidor de correo del destinatario mx.debtor.example [192.0.2.25], TLSv1.3 TLS_AES_256_GCM_SHA384; su respuesta completa: " + sentReply,
			"Lo que este certificado no prueba", "leído el mensaje", "SHA-256 del manifiesto"},
		"bounced": {"Destinatario: luis@debtor.example", "No entregado: rechazo permanente de mx.debtor.example [192.0.2.25]: 5.1.1 550 5.1.1 <luis@debtor.example>: Recipient address rejected: User unknown"},
		"expired": {"Intento fallido temporalmente (se reintenta) con mx.gone.example [192.0.2.25]: 4.4.1 connect to",
			"No entregado: el mensaje expiró en la cola; último motivo: 4.4.1", "Informe de no entrega recibido (dsn, failed 4.4.1, informado por mx1.court.example): delivery time expired",
			"El mensaje salió de la cola de nuestro servidor (expired)."},
		"deferred-then-delivered": {"Destinatario: ana@debtor.example", "Destinatario: luis@debtor.example", "451 4.7.1 Greylisted",
			"2026-11-30 14:15:06 UTC / 2026-11-30 09:15:06 -05:00", "su respuesta completa: 250 2.0.0 Ok: queued as 4XyZQq2"},
	}
	for _, s := range stories {
		t.Run(s.name, func(t *testing.T) {
			data, bc := bundleOf(t, s, certificate.Options{Zone: bogota})
			b, err := evidence.ReadBundle(bytes.NewReader(data), int64(len(data)))
			if err != nil {
				t.Fatal(err)
			}
			pdf := b.Files[evidence.BundleCertificate]
			text, err := certificate.Text(pdf)
			if err != nil {
				t.Fatal(err)
			}
			flat := strings.Join(strings.Fields(text), " ")
			for _, w := range append(want[s.name], "SHA-256 del manifiesto (manifest.json): "+bc.ManifestSHA256) {
				if !strings.Contains(strings.ReplaceAll(flat, " ", ""), strings.ReplaceAll(w, " ", "")) {
					t.Errorf("the certificate does not state %q:\n%s", w, text)
				}
			}
			for _, r := range bc.Records {
				if !strings.Contains(flat, r.Record.EvidenceIdentifier) {
					t.Errorf("record %s is not cited", r.Record.EvidenceIdentifier)
				}
			}
			checks, err := evidence.VerifyBundle(b, evidence.BundleVerifyOptions{Certificate: certificate.Check})
			if err != nil {
				t.Fatalf("verify: %v\n%v", err, checks)
			}
			if last := checks[len(checks)-1]; last.Name != "certificate" || !last.OK {
				t.Errorf("last check %v, want certificate ok", last)
			}
			png := filepath.Join(artifacts(t), "certificate-"+s.name)
			cmd := exec.Command("pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile", "-", png)
			cmd.Stdin = bytes.NewReader(pdf)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("pdftoppm: %v %s", err, out)
			}
		})
	}
}

func TestCertificateEnglish(t *testing.T) {
	needPoppler(t)
	data, _ := bundleOf(t, stories[0], certificate.Options{Lang: "en", Zone: time.UTC})
	b := verified(t, data)
	text, _ := certificate.Text(b.Files[evidence.BundleCertificate])
	for _, w := range []string{"Delivery traceability certificate", "Time zone: UTC", "Delivered to the recipient's mail server mx.debtor.example",
		"What this certificate does not prove"} {
		if !strings.Contains(text, w) {
			t.Errorf("no %q in:\n%s", w, text)
		}
	}
	if err := certificate.Check(b.Files[evidence.BundleCertificate], b); err != nil {
		t.Error(err)
	}
}

// A certificate that states something the records do not, or another
// bundle's manifest, or leaves a record out, fails the check.
func TestCertificateCheckRefuses(t *testing.T) {
	needPoppler(t)
	data, bc := bundleOf(t, stories[3], certificate.Options{})
	b := verified(t, data)
	tests := []struct {
		name string
		pdf  func() []byte
		want string
	}{
		{"a reply changed", func() []byte {
			rs := make([]evidence.BundleRecord, len(bc.Records))
			copy(rs, bc.Records)
			for i := range rs {
				if rs[i].Record.ERDSEventId == evidence.EventDeferred {
					r := rs[i].Record
					r.Facts = map[string]any{}
					for k, v := range rs[i].Record.Facts {
						r.Facts[k] = v
					}
					r.Facts["response"] = "250 2.0.0 Ok"
					rs[i].Record = r
					break
				}
			}
			pdf, _ := certificate.Render(rs, bc.ManifestSHA256, certificate.Options{})
			return pdf
		}, "does not state, in order"},
		{"a record left out", func() []byte {
			pdf, _ := certificate.Render(bc.Records[:len(bc.Records)-3], bc.ManifestSHA256, certificate.Options{})
			return pdf
		}, "does not state"},
		{"another manifest", func() []byte {
			pdf, _ := certificate.Render(bc.Records, strings.Repeat("0", 64), certificate.Options{})
			return pdf
		}, "manifest SHA-256"},
		{"not a PDF", func() []byte { return []byte("%PDF-1.4 broken") }, "pdftotext"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := certificate.Check(tt.pdf(), b)
			if !errors.Is(err, certificate.ErrCertificate) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("check: %v, want %q", err, tt.want)
			}
		})
	}
}

func BenchmarkRender(b *testing.B) {
	_, bc := bundleOf(b, stories[3], certificate.Options{})
	for b.Loop() {
		if _, err := certificate.Render(bc.Records, bc.ManifestSHA256, certificate.Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCheck(b *testing.B) {
	data, _ := bundleOf(b, stories[3], certificate.Options{})
	bd, _ := evidence.ReadBundle(bytes.NewReader(data), int64(len(data)))
	evidence.VerifyBundle(bd, evidence.BundleVerifyOptions{})
	pdf := bd.Files[evidence.BundleCertificate]
	for b.Loop() {
		if err := certificate.Check(pdf, bd); err != nil {
			b.Fatal(err)
		}
	}
}

// TestSectionsOrderWithinASecondByTheLedger checks that statements of one
// second keep the ledger's order whatever digits their times have: a
// whole-second log line ("…36Z") appended before a line with
// milliseconds ("…36.200Z") comes first, though its text sorts after.
func TestSectionsOrderWithinASecondByTheLedger(t *testing.T) {
	rc := []evidence.Party{{Address: "ana@debtor.example"}}
	rec := func(index int64, id, at string) evidence.BundleRecord {
		return evidence.BundleRecord{Index: index, Record: evidence.Record{EvidenceIdentifier: id, ERDSEventId: evidence.EventDeferred,
			EventTime: at, RecipientDetails: rc, EventReasons: []evidence.Reason{{Code: "4.7.1", Text: "451 4.7.1 try later"}}}}
	}
	tests := []struct {
		name    string
		records []evidence.BundleRecord
		want    []string
	}{
		{"same second, fewer digits first in the ledger", []evidence.BundleRecord{rec(3, "b", "2026-12-02T05:04:36.200Z"), rec(2, "a", "2026-12-02T05:04:36Z")},
			[]string{"a", "b"}},
		{"same second, more digits first in the ledger", []evidence.BundleRecord{rec(3, "b", "2026-12-02T05:04:36Z"), rec(2, "a", "2026-12-02T05:04:36.900Z")},
			[]string{"a", "b"}},
		{"an earlier second first", []evidence.BundleRecord{rec(2, "b", "2026-12-02T05:04:37Z"), rec(3, "a", "2026-12-02T05:04:36.999999Z")},
			[]string{"a", "b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			secs, err := certificate.Sections(tt.records, certificate.Options{Lang: "en"})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, s := range secs {
				for _, st := range s.Statements {
					got = append(got, st.Record)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("order %v, want %v", got, tt.want)
			}
		})
	}
}
