package dsn

import (
	"bytes"
	"strings"

	"github.com/emersion/go-message"

	"github.com/mailtrace/mailtrace/reply"
)

// A signature tells the mail system that wrote a report, whatever
// convention it followed (a standard report, prose, a template of its
// own): a header it adds, the domain it sends from, the reporting MTA's
// domain, or a sentence of its template. Each is written from what the
// system's reports look like (its documentation, published samples); the
// first that matches names the system. The name says who wrote the
// report, not what it means: the reason comes from its words.
type signature struct {
	name string
	// headers are header field names (lowercased; a trailing '*' for a
	// prefix) the system adds; a value after '=' must be in the field's
	// value (lowercased).
	headers []string
	// domains are the domains (and their subdomains) of the report's From
	// or of its Reporting-MTA.
	domains []string
	// subjects are words of the subject its template gives, lowercased.
	subjects []string
	// phrases are sentences of the system's template, lowercased, looked
	// for at the start of each human-readable part.
	phrases []string
}

// signatureProse bounds the human-readable text looked at for a
// template's sentence: templates say who they are at their start.
const signatureProse = 512

var signatures = []signature{
	{name: "mimecast", headers: []string{"x-mc-unique"}, domains: []string{"mimecast.com", "mimecast-offshore.com"}},
	{name: "proofpoint", headers: []string{"x-proofpoint-*"}, domains: []string{"pphosted.com", "ppops.net", "ppe-hosted.com"}},
	{name: "messagelabs", headers: []string{"x-msg-ref=messagelabs"}, domains: []string{"messagelabs.com"}},
	{name: "mcafee", headers: []string{"x-nai-header"}, domains: []string{"mcafee.com", "mxlogic.net"}},
	{name: "sophos", headers: []string{"x-sophos-*"}, domains: []string{"sophos.com"}, phrases: []string{"sophos email appliance", "puremessage"}},
	{name: "barracuda", headers: []string{"x-barracuda-*"}, subjects: []string{"message you sent blocked by our bulk email filter"}, domains: []string{"barracudanetworks.com", "barracuda.com", "cudamail.com"}},
	{name: "trend-micro", headers: []string{"x-tm-as-*", "x-tmase-*"}, domains: []string{"trendmicro.com", "trendmicro.eu", "tmes.trendmicro.com"},
		phrases: []string{"interscan e-mail viruswall", "interscan messaging security"}},
	{name: "mailmarshal", headers: []string{"x-mailer=mailmarshal"}, phrases: []string{"mailmarshal"}},
	{name: "groupwise", headers: []string{"x-mailer=groupwise"}, phrases: []string{"novell groupwise", "the message that you sent was undeliverable to the following"}},
	{name: "domino", headers: []string{"x-mailer=domino", "x-mimetrack", "x-notes-item"}},
	{name: "courier", phrases: []string{"running the courier mail server"}},
	{name: "opensmtpd", phrases: []string{"this is the mailer-daemon, please do not reply to this e-mail", "this is the mailer-daemon, please do not reply to this email"}},
	{name: "zoho", headers: []string{"x-zohomail*"}, domains: []string{"zoho.com", "zohomail.com", "zoho.eu", "zoho.in", "zohomail.eu", "zohomail.in"}},
	{name: "verizon", domains: []string{"vtext.com", "vzwpix.com", "verizon.net", "verizonwireless.com"}},
	{name: "mail.ru", domains: []string{"mail.ru", "inbox.ru", "list.ru", "bk.ru", "internet.ru"}},
	{name: "yandex", domains: []string{"yandex.ru", "yandex.net", "yandex.com", "ya.ru", "yandex.ua", "yandex.kz", "yandex.by"}},
	{name: "gmx-webde", domains: []string{"gmx.net", "gmx.de", "gmx.com", "gmx.at", "gmx.ch", "web.de"}},
	{name: "amazon-ses", domains: []string{"amazonses.com"}},
	{name: "imail", headers: []string{"x-mailer=smtp32"}},
	{name: "mdaemon", headers: []string{"x-mdaemon-*", "x-mdsend-*"}},
	{name: "messaging-server", subjects: []string{"delivery notification: delivery has failed", "delivery notification: delay"}},
	{name: "netscape-messaging-server", subjects: []string{"mail system error - returned mail"}},
	{name: "exchange", headers: []string{"x-dsncontext"}},
	// The mailbox providers, by their own domains.
	{name: "gmail", domains: []string{"googlemail.com", "google.com", "gmail.com"}},
	{name: "office365", domains: []string{"outlook.com", "hotmail.com", "office365.com", "outlook.office365.com"}},
	{name: "yahoo", domains: []string{"yahoo.com", "yahoodns.net", "yahoo.net", "ymail.com"}},
	{name: "icloud", domains: []string{"icloud.com", "me.com", "mac.com", "apple.com"}},
}

// templates are the sentences of the MTAs' own templates, looked at last:
// a gateway or a provider built on one of these MTAs sends its template,
// and the gateway's or provider's own signature says more.
var templates = []signature{
	{name: "gmail", phrases: []string{"delivery to the following recipient failed permanently", "** address not found **", "** message not delivered **"}},
	{name: "exchange", phrases: []string{"diagnostic information for administrators", "did not reach the following recipient",
		"your message did not reach some or all of the intended recipients", "delivery has failed to these recipients or groups"}},
	{name: "communigate", phrases: []string{"failed to deliver to '"}},
	{name: "postfix", phrases: []string{"this is the mail system at host", "this is the postfix program at host"}},
	{name: "exim", phrases: []string{"this message was created automatically by mail delivery software"}},
	{name: "qmail", phrases: []string{"this is the qmail-send program"}},
	{name: "sendmail", phrases: []string{"the following addresses had permanent fatal errors", "the original message was received at"}},
}

// signaturePhrases finds the templates' sentences; phraseOf maps its
// phrases to their signatures. signatureDomains maps each domain to its
// signature, signatureHeaders lists the header fields.
var (
	signaturePhrases, phraseOf = func() (*reply.Phrases, []int) {
		var all []string
		var of []int
		for i, s := range signatures {
			for _, p := range s.phrases {
				all = append(all, p)
				of = append(of, i)
			}
		}
		return reply.NewPhrases(all), of
	}()
	templatePhrases, templateOf = func() (*reply.Phrases, []int) {
		var all []string
		var of []int
		for i, s := range templates {
			for _, p := range s.phrases {
				all = append(all, p)
				of = append(of, i)
			}
		}
		return reply.NewPhrases(all), of
	}()
	signatureDomains = func() map[string]int {
		m := map[string]int{}
		for i, s := range signatures {
			for _, d := range s.domains {
				if _, ok := m[d]; !ok {
					m[d] = i
				}
			}
		}
		return m
	}()
	signatureHeaders = func() []headerSignature {
		var out []headerSignature
		for i, s := range signatures {
			for _, h := range s.headers {
				name, value, _ := strings.Cut(h, "=")
				prefix, isPrefix := strings.CutSuffix(name, "*")
				out = append(out, headerSignature{i, prefix, isPrefix, value})
			}
		}
		return out
	}()
)

// headerSignature is a header field of a signature: its name (or the
// prefix of its name), and what its value must hold.
type headerSignature struct {
	signature int
	name      string
	prefix    bool
	value     string
}

func (hs *headerSignature) matches(key string, value func() string) bool {
	if hs.prefix {
		if len(key) < len(hs.name) || !strings.EqualFold(key[:len(hs.name)], hs.name) {
			return false
		}
	} else if !strings.EqualFold(key, hs.name) {
		return false
	}
	return hs.value == "" || strings.Contains(strings.ToLower(value()), hs.value)
}

// identify names the mail system that wrote a report by its signature, or
// "". The domains and the template's sentences are looked at first: a
// header may have been added on the way in, by the receiving side's own
// filter, and says less.
func identify(rep *Report, h message.Header, w *walker) string {
	best := min(domainSignature(domainOf(rep.From)), domainSignature(strings.ToLower(rep.ReportingMTA)))
	if best < len(signatures) {
		return signatures[best].name
	}
	subject := ""
	for i := range signatures[:best] {
		for _, sub := range signatures[i].subjects {
			if subject == "" {
				subject = strings.ToLower(rep.Subject)
			}
			if strings.Contains(subject, sub) {
				return signatures[i].name
			}
		}
	}
	for _, t := range w.humanTexts() {
		if i := signaturePhrases.In(t[:min(len(t), signatureProse)]); i >= 0 && phraseOf[i] < best {
			best = phraseOf[i]
		}
	}
	if best < len(signatures) {
		return signatures[best].name
	}
	if x400(w.status) {
		return "x400"
	}
	// The header once: only X- fields are signatures.
	for f := h.Fields(); f.Next(); {
		key := f.Key()
		if len(key) < 3 || key[1] != '-' || (key[0] != 'x' && key[0] != 'X') {
			continue
		}
		for i := range signatureHeaders {
			if hs := &signatureHeaders[i]; hs.signature < best && hs.matches(key, f.Value) {
				best = hs.signature
			}
		}
	}
	if best < len(signatures) {
		return signatures[best].name
	}
	tmpl := len(templates)
	for _, t := range w.humanTexts() {
		if i := templatePhrases.In(t[:min(len(t), signatureProse)]); i >= 0 && templateOf[i] < tmpl {
			tmpl = templateOf[i]
		}
	}
	if tmpl < len(templates) {
		return templates[tmpl].name
	}
	return ""
}

// domainSignature is the signature of a domain or of its parent domains,
// or len(signatures).
func domainSignature(name string) int {
	for name != "" {
		if i, ok := signatureDomains[name]; ok {
			return i
		}
		dot := strings.IndexByte(name, '.')
		if dot < 0 {
			break
		}
		name = name[dot+1:]
	}
	return len(signatures)
}

// domainOf is the lowercased domain of the address in a From field, or
// "".
func domainOf(from string) string {
	at := strings.LastIndexByte(from, '@')
	if at < 0 {
		return ""
	}
	d := from[at+1:]
	if i := strings.IndexAny(d, "> \t\"),;"); i >= 0 {
		d = d[:i]
	}
	return strings.ToLower(d)
}

// x400 tells a report from an X.400 gateway: its delivery-status part has
// the X400- fields or X.400 addresses that RFC 3464 section 2.1.2 and
// RFC 2156 describe.
func x400(status []byte) bool {
	s := status[:min(len(status), 4096)]
	return bytes.Contains(s, []byte("X400")) || bytes.Contains(s, []byte("x400"))
}
