// Package certificate renders an evidence bundle's delivery certificate
// ("Certificado de trazabilidad de entrega"), a PDF in Spanish or English
// that states, per recipient and to the second, what the bundle's
// evidence records prove, each statement citing its record; and checks
// that a certificate states what the records say (with pdftotext).
package certificate

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/go-pdf/fpdf"
	"golang.org/x/text/encoding/charmap"

	"github.com/mailtrace/mailtrace/evidence"
)

// ErrCertificate means a certificate does not state what the records say,
// or cannot be read or made.
var ErrCertificate = errors.New("certificate")

// Options choose the certificate's language and the second time zone.
type Options struct {
	Lang string         // "es" (default) or "en"
	Zone *time.Location // default America/Bogota
}

func (o *Options) defaults() error {
	if o.Lang == "" {
		o.Lang = "es"
	}
	if o.Lang != "es" && o.Lang != "en" {
		return fmt.Errorf("%w: language %q: es or en", ErrCertificate, o.Lang)
	}
	if o.Zone == nil {
		z, err := time.LoadLocation("America/Bogota")
		if err != nil {
			return fmt.Errorf("%w: time zone America/Bogota: %w", ErrCertificate, err)
		}
		o.Zone = z
	}
	return nil
}

// Statement is one fact the certificate states, with the record that
// proves it.
type Statement struct {
	Recipient string // "" for the message as a whole
	Time      time.Time
	Text      string
	Record    string // the record's EvidenceIdentifier
}

// Section is the statements about one recipient (or the whole message),
// in order.
type Section struct {
	Recipient  string
	Statements []Statement
}

// Sections turns the records into the certificate's statements: first
// what concerns the whole message (acceptance), then each recipient in
// the order the message named them, then the message leaving the queue.
func Sections(records []evidence.BundleRecord, opts Options) ([]Section, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	rs := slices.Clone(records)
	// Times are ordered to the second (what the certificate prints, and
	// all a whole-second log line knows); within a second the ledger's
	// order decides, never digits a source did not have.
	second := func(r *evidence.Record) int64 {
		t, _ := time.Parse(time.RFC3339Nano, r.EventTime)
		return t.Unix()
	}
	slices.SortStableFunc(rs, func(a, b evidence.BundleRecord) int {
		if c := cmp.Compare(second(&a.Record), second(&b.Record)); c != 0 {
			return c
		}
		return cmp.Compare(a.Index, b.Index)
	})
	var head, tail []Statement
	byRcpt := map[string][]Statement{}
	var order []string
	addRcpt := func(r string) {
		if !slices.Contains(order, r) {
			order = append(order, r)
		}
	}
	for _, br := range rs {
		r := &br.Record
		t, _ := time.Parse(time.RFC3339Nano, r.EventTime)
		st := Statement{Time: t, Text: statementText(r, opts.Lang), Record: r.EvidenceIdentifier}
		switch {
		case r.ERDSEventId == evidence.EventSubmissionAcceptance:
			for _, p := range r.RecipientDetails {
				addRcpt(p.Address)
			}
			head = append(head, st)
		case len(r.RecipientDetails) == 1 && r.ERDSEventId != "urn:mailtrace:event:QueueRemoved":
			rc := r.RecipientDetails[0].Address
			addRcpt(rc)
			st.Recipient = rc
			byRcpt[rc] = append(byRcpt[rc], st)
		default:
			tail = append(tail, st)
		}
	}
	out := []Section{{Statements: head}}
	for _, rc := range order {
		if len(byRcpt[rc]) > 0 {
			out = append(out, Section{Recipient: rc, Statements: byRcpt[rc]})
		}
	}
	return append(out, Section{Statements: tail}), nil
}

func fact(r *evidence.Record, name string) string {
	v, ok := r.Facts[name]
	if !ok || v == nil {
		return ""
	}
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return fmt.Sprint(x)
	}
	return fmt.Sprint(v)
}

func or(s, dflt string) string {
	if s == "" {
		return dflt
	}
	return s
}

// statementText is the sentence for one record.
func statementText(r *evidence.Record, lang string) string {
	es := lang == "es"
	pick := func(s, e string) string {
		if es {
			return s
		}
		return e
	}
	relay := fact(r, "relayHost")
	if ip := fact(r, "relayIP"); ip != "" {
		relay += " [" + ip + "]"
	}
	reply := fact(r, "response")
	tls := or(fact(r, "tls"), pick("sin TLS", "no TLS"))
	rcpts := make([]string, len(r.RecipientDetails))
	for i, p := range r.RecipientDetails {
		rcpts[i] = p.Address
	}
	sender := ""
	if r.SenderDetails != nil {
		sender = r.SenderDetails.Address
	}
	switch r.ERDSEventId {
	case evidence.EventSubmissionAcceptance:
		client := fact(r, "clientName")
		if ip := fact(r, "clientIP"); ip != "" {
			client += " [" + ip + "]"
		}
		return fmt.Sprintf(pick("Aceptado por nuestro servidor: cliente %s, remitente %s, destinatarios %s, Message-ID %s.",
			"Accepted by our server: client %s, sender %s, recipients %s, Message-ID %s."),
			or(client, "-"), or(sender, "<>"), strings.Join(rcpts, ", "), or(r.MessageIdentifier, "-"))
	case evidence.EventRelayToNonERDS:
		return fmt.Sprintf(pick("Entregado al servidor de correo del destinatario %s, %s; su respuesta completa: %s",
			"Delivered to the recipient's mail server %s, %s; its whole reply: %s"), or(relay, "-"), tls, or(reply, "-"))
	case evidence.EventDeferred:
		return fmt.Sprintf(pick("Intento fallido temporalmente (se reintenta) con %s: %s %s",
			"Attempt failed temporarily (retried) with %s: %s %s"), or(relay, "-"), fact(r, "dsn"), or(reply, "-"))
	case evidence.EventRelayToNonERDSFailure:
		if fact(r, "table") == "bounces" {
			return fmt.Sprintf(pick("Informe de no entrega recibido (%s, %s %s, informado por %s): %s",
				"Non-delivery report received (%s, %s %s, reported by %s): %s"), fact(r, "kind"), fact(r, "action"),
				fact(r, "status"), or(fact(r, "reportingMTA"), "-"), or(fact(r, "diagnostic"), "-"))
		}
		if fact(r, "status") == "expired" {
			return fmt.Sprintf(pick("No entregado: el mensaje expiró en la cola; último motivo: %s %s",
				"Not delivered: the message expired in the queue; last reason: %s %s"), fact(r, "dsn"), or(reply, "-"))
		}
		return fmt.Sprintf(pick("No entregado: rechazo permanente de %s: %s %s",
			"Not delivered: permanent refusal by %s: %s %s"), or(relay, "-"), fact(r, "dsn"), or(reply, "-"))
	case evidence.EventDeliveryReport, evidence.EventComplaint, evidence.EventAutoReply, evidence.EventReadReceipt:
		return fmt.Sprintf(pick("Informe recibido (%s, %s %s): %s", "Report received (%s, %s %s): %s"),
			fact(r, "kind"), fact(r, "action"), fact(r, "status"), or(fact(r, "diagnostic"), or(fact(r, "disposition"), "-")))
	case evidence.EventSenderNotification:
		return fmt.Sprintf(pick("Postfix envió un aviso al remitente (cola %s).", "Postfix sent a notification to the sender (queue %s)."),
			fact(r, "notificationQueueId"))
	case "urn:mailtrace:event:QueueRemoved":
		return fmt.Sprintf(pick("El mensaje salió de la cola de nuestro servidor (%s).", "The message left our server's queue (%s)."), fact(r, "state"))
	case evidence.EventChainClosing:
		n := int64(0)
		if r.Closing != nil {
			n = r.Closing.Records
		}
		return fmt.Sprintf(pick("Cierre de la cadena de evidencias del mensaje: %d registros antes de este.",
			"The message's chain of evidence closes: %d records before this one."), n)
	case evidence.EventHandoff:
		return fmt.Sprintf(pick("Entregado a otro proceso de nuestro servidor (%s).", "Handed to another process on our server (%s)."), or(relay, fact(r, "relayPath")))
	}
	return fmt.Sprintf(pick("Evento %s.", "Event %s."), r.ERDSEventId)
}

// texts are the certificate's fixed texts.
var texts = map[string]map[string]string{
	"es": {
		"title":    "Certificado de trazabilidad de entrega",
		"intro":    "Este certificado resume los registros de evidencia del paquete que lo contiene. Cada afirmación cita el registro que la prueba (EvidenceIdentifier). Horas al segundo en UTC y en la zona indicada.",
		"zone":     "Zona horaria: ",
		"message":  "Mensaje",
		"rcpt":     "Destinatario: ",
		"final":    "Salida de la cola y cierre",
		"record":   "registro ",
		"notprove": "Lo que este certificado no prueba",
		"notproveText": "No prueba que el destinatario haya leído el mensaje, ni su entrega más allá del servidor de correo del destinatario: " +
			"la entrega a ese servidor es lo último que un remitente puede constatar. Un acuse de lectura (MDN) es una confirmación que el programa del destinatario puede negarse a enviar.",
		"verify":     "Cómo verificarlo",
		"verifyText": "El paquete (zip) contiene los registros, sus pruebas de inclusión en un registro Merkle firmado (RFC 6962, Ed25519) y, si lo tiene, el sello de tiempo RFC 3161 de una autoridad independiente. Se verifica sin red: mailtrace evidence verify paquete.zip --key log.pub --tsa-roots raiz.pem, o con scripts/verify-bundle.py; el formato está en docs/evidence-format.md.",
		"manifest":   "SHA-256 del manifiesto (manifest.json): ",
	},
	"en": {
		"title":    "Delivery traceability certificate",
		"intro":    "This certificate sums up the evidence records of the bundle that holds it. Every statement cites the record that proves it (EvidenceIdentifier). Times to the second in UTC and in the zone given.",
		"zone":     "Time zone: ",
		"message":  "Message",
		"rcpt":     "Recipient: ",
		"final":    "Leaving the queue, and closing",
		"record":   "record ",
		"notprove": "What this certificate does not prove",
		"notproveText": "It does not prove that the recipient read the message, nor delivery past the recipient's mail server: " +
			"delivery to that server is the last thing a sender can establish. A read receipt (MDN) is an acknowledgement that the recipient's program may refuse to send.",
		"verify":     "How to verify it",
		"verifyText": "The bundle (zip) holds the records, their inclusion proofs in a signed Merkle log (RFC 6962, Ed25519) and, when it has one, the RFC 3161 time stamp of an independent authority. It verifies offline: mailtrace evidence verify bundle.zip --key log.pub --tsa-roots roots.pem, or with scripts/verify-bundle.py; the format is in docs/evidence-format.md.",
		"manifest":   "SHA-256 of the manifest (manifest.json): ",
	},
}

// printable keeps what the PDF's font (Windows-1252) can show; anything
// else becomes "?", the same in the PDF and in the check.
func printable(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r == '\n' || r == '\t' {
			b.WriteRune(' ')
			continue
		}
		if _, ok := charmap.Windows1252.EncodeRune(r); !ok || !unicode.IsPrint(r) {
			b.WriteRune('?')
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func stamp(t time.Time, zone *time.Location) string {
	return t.UTC().Format("2006-01-02 15:04:05") + " UTC / " + t.In(zone).Format("2006-01-02 15:04:05 -07:00")
}

// Render makes the certificate PDF.
func Render(records []evidence.BundleRecord, manifestSHA256 string, opts Options) ([]byte, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	sections, err := Sections(records, opts)
	if err != nil {
		return nil, err
	}
	tx := texts[opts.Lang]
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetTitle(tx["title"], true)
	pdf.SetCreator("mailtrace", true)
	pdf.SetCreationDate(time.Unix(0, 0).UTC())
	pdf.SetAutoPageBreak(true, 15)
	tr := pdf.UnicodeTranslatorFromDescriptor("")
	write := func(style string, size float64, h float64, s string) {
		pdf.SetFont("Helvetica", style, size)
		pdf.MultiCell(0, h, tr(printable(s)), "", "L", false)
	}
	pdf.AddPage()
	write("B", 16, 8, tx["title"])
	pdf.Ln(2)
	write("", 9, 4.5, tx["intro"])
	write("", 9, 4.5, tx["zone"]+opts.Zone.String())
	if len(records) > 0 {
		r := records[0].Record
		write("", 9, 4.5, tx["message"]+": "+or(r.MessageIdentifier, "-")+" ("+chainOf(records)+")")
	}
	pdf.Ln(3)
	for i, s := range sections {
		if len(s.Statements) == 0 {
			continue
		}
		switch {
		case s.Recipient != "":
			write("B", 11, 6, tx["rcpt"]+s.Recipient)
		case i > 0:
			write("B", 11, 6, tx["final"])
		}
		for _, st := range s.Statements {
			write("B", 8.5, 4.2, stamp(st.Time, opts.Zone))
			write("", 8.5, 4.2, st.Text)
			pdf.SetTextColor(90, 90, 90)
			write("", 7.5, 3.8, "("+tx["record"]+st.Record+")")
			pdf.SetTextColor(0, 0, 0)
			pdf.Ln(1.5)
		}
		pdf.Ln(2)
	}
	write("B", 11, 6, tx["notprove"])
	write("", 8.5, 4.2, tx["notproveText"])
	pdf.Ln(2)
	write("B", 11, 6, tx["verify"])
	write("", 8.5, 4.2, tx["verifyText"])
	write("B", 8.5, 4.2, tx["manifest"]+manifestSHA256)
	var out bytes.Buffer
	if err := pdf.Output(&out); err != nil {
		return nil, fmt.Errorf("%w: rendering: %w", ErrCertificate, err)
	}
	return out.Bytes(), nil
}

func chainOf(records []evidence.BundleRecord) string {
	var keys []string
	for _, r := range records {
		if r.Record.Chain != nil && !slices.Contains(keys, r.Record.Chain.Message) {
			keys = append(keys, r.Record.Chain.Message)
		}
	}
	return strings.Join(keys, ", ")
}

// Text extracts a PDF's text with pdftotext (poppler-utils).
func Text(pdf []byte) (string, error) {
	cmd := exec.Command("pdftotext", "-enc", "UTF-8", "-", "-")
	cmd.Stdin = bytes.NewReader(pdf)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			return "", fmt.Errorf("%w: pdftotext is not installed (apt-get install poppler-utils): %w", ErrCertificate, err)
		}
		return "", fmt.Errorf("%w: pdftotext: %w: %s", ErrCertificate, err, strings.TrimSpace(stderr.String()))
	}
	return out.String(), nil
}

// squeeze drops all white space: line breaks fall where the layout puts
// them.
func squeeze(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s)
}

// Check reads the certificate's text and checks that it states, for every
// record of the bundle, the statement the records make, with its times
// and record, and the manifest's hash. The language and zone are read
// from the certificate.
func Check(pdf []byte, b *evidence.Bundle) error {
	text, err := Text(pdf)
	if err != nil {
		return err
	}
	var opts Options
	switch {
	case strings.Contains(text, texts["es"]["title"]):
		opts.Lang = "es"
	case strings.Contains(text, texts["en"]["title"]):
		opts.Lang = "en"
	default:
		return fmt.Errorf("%w: %s has no certificate title", ErrCertificate, evidence.BundleCertificate)
	}
	tx := texts[opts.Lang]
	i := strings.Index(text, tx["zone"])
	if i < 0 {
		return fmt.Errorf("%w: the certificate names no time zone", ErrCertificate)
	}
	name := strings.Fields(text[i+len(tx["zone"]):])[0]
	if opts.Zone, err = time.LoadLocation(name); err != nil {
		return fmt.Errorf("%w: the certificate's time zone %q: %w", ErrCertificate, name, err)
	}
	flat := squeeze(text)
	if !strings.Contains(flat, squeeze(tx["manifest"]+b.ManifestSHA256)) {
		return fmt.Errorf("%w: the certificate does not state this bundle's manifest SHA-256 %s", ErrCertificate, b.ManifestSHA256)
	}
	sections, err := Sections(b.Records, opts)
	if err != nil {
		return err
	}
	pos := 0
	n := 0
	for _, s := range sections {
		for _, st := range s.Statements {
			want := squeeze(printable(stamp(st.Time, opts.Zone) + st.Text + "(" + tx["record"] + st.Record + ")"))
			j := strings.Index(flat[pos:], want)
			if j < 0 {
				return fmt.Errorf("%w: the certificate does not state, in order, what record %s says: %q", ErrCertificate, st.Record,
					printable(stamp(st.Time, opts.Zone)+" "+st.Text))
			}
			pos += j + len(want)
			n++
		}
	}
	if got := strings.Count(flat, squeeze("("+tx["record"])); got != n {
		return fmt.Errorf("%w: the certificate cites %d records, the bundle proves %d", ErrCertificate, got, n)
	}
	return nil
}
