package dsn

import (
	"strings"

	"github.com/emersion/go-message"
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
	// phrases are sentences of the system's template, lowercased, looked
	// for at the start of its human-readable part.
	phrases []string
}

// signatureProse bounds the human-readable text looked at for a
// template's sentence: templates say who they are at their start.
const signatureProse = 2 << 10

var signatures = []signature{
	{name: "mimecast", headers: []string{"x-mc-unique"}, domains: []string{"mimecast.com", "mimecast-offshore.com"}},
	{name: "proofpoint", headers: []string{"x-proofpoint-*"}, domains: []string{"pphosted.com", "ppops.net", "ppe-hosted.com"}},
	{name: "messagelabs", headers: []string{"x-msg-ref=messagelabs"}, domains: []string{"messagelabs.com"}},
	{name: "mcafee", headers: []string{"x-nai-header"}, domains: []string{"mcafee.com", "mxlogic.net"}},
	{name: "sophos", headers: []string{"x-sophos-*"}, domains: []string{"sophos.com"}, phrases: []string{"sophos email appliance", "puremessage"}},
	{name: "barracuda", headers: []string{"x-barracuda-*"}, domains: []string{"barracudanetworks.com", "barracuda.com", "cudamail.com"}},
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
}

// identify names the mail system that wrote a report by its signature, or
// "". The domains and the template's sentences are looked at first: a
// header may have been added on the way in, by the receiving side's own
// filter, and says less.
func identify(rep *Report, h message.Header, w *walker) string {
	from := address(strings.ToLower(rep.From))
	fromDomain := ""
	if i := strings.LastIndexByte(from, '@'); i >= 0 {
		fromDomain = from[i+1:]
	}
	mta := strings.ToLower(rep.ReportingMTA)
	prose, proseRead := "", false
	for _, s := range signatures {
		if underDomain(fromDomain, s.domains) || underDomain(mta, s.domains) {
			return s.name
		}
		if len(s.phrases) > 0 && !proseRead {
			prose, proseRead = proseStart(w), true
		}
		for _, p := range s.phrases {
			if strings.Contains(prose, p) {
				return s.name
			}
		}
	}
	if x400(w.status) {
		return "x400"
	}
	var names []string // the header's field names, lowercased
	for f := h.Fields(); f.Next(); {
		names = append(names, strings.ToLower(f.Key()))
	}
	for _, s := range signatures {
		if s.hasHeader(h, names) {
			return s.name
		}
	}
	return ""
}

func (s *signature) hasHeader(h message.Header, names []string) bool {
	for _, want := range s.headers {
		name, value, _ := strings.Cut(want, "=")
		prefix := strings.HasSuffix(name, "*")
		name = strings.TrimSuffix(name, "*")
		for _, n := range names {
			if n != name && !(prefix && strings.HasPrefix(n, name)) {
				continue
			}
			if value == "" || strings.Contains(strings.ToLower(h.Get(n)), value) {
				return true
			}
		}
	}
	return false
}

// underDomain tells whether name is one of the domains or below one.
func underDomain(name string, domains []string) bool {
	if name == "" {
		return false
	}
	for _, d := range domains {
		if strings.HasSuffix(name, d) && (len(name) == len(d) || name[len(name)-len(d)-1] == '.') {
			return true
		}
	}
	return false
}

// proseStart is the start of the report's human-readable text,
// lowercased.
func proseStart(w *walker) string {
	var b strings.Builder
	for _, t := range w.lowTexts() {
		if b.Len() >= signatureProse {
			break
		}
		b.WriteString(t[:min(len(t), signatureProse-b.Len())])
		b.WriteByte('\n')
	}
	return b.String()
}

// x400 tells a report from an X.400 gateway: its delivery-status part has
// the X400- fields or X.400 addresses that RFC 3464 section 2.1.2 and
// RFC 2156 describe.
func x400(status []byte) bool {
	if len(status) == 0 {
		return false
	}
	s := strings.ToLower(string(status[:min(len(status), 4096)]))
	return strings.Contains(s, "\nx400-") || strings.Contains(s, "; x400") || strings.Contains(s, ":x400;") || strings.Contains(s, ": x400;")
}
