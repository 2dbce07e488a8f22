package dsn

import (
	"bytes"
	"strings"

	"github.com/emersion/go-message"
)

// Some mail systems write bounces that the prose reader (plain.go) cannot
// read alone: recipients named without a domain, or only in a quoted
// header, or in labelled fields. Each has a small reader of its own, in a
// file named after the system, found by its signature (its sender, a
// header it adds, or a sentence of its template). A reader returns the
// recipients it read, with what it read of their reasons; when it reads
// none, the prose reader reads the report as any other.
type system struct {
	name string
	// is tells the system's reports by their signature.
	is func(v *view) bool
	// read reads the recipients.
	read func(v *view) []Recipient
}

// view is what a system reader looks at: the report's header and its
// human-readable text before the quoted original.
type view struct {
	w       *walker
	h       message.Header
	from    string // lowercased
	subject string // lowercased
	texts   [][]byte
	low     string // the texts, lowercased, up to the first quoted original
	bounce  bool   // its sender or subject is a bounce's
	domain  string // of the From address, lowercased
}

func newView(rep *Report, h message.Header, w *walker) *view {
	v := &view{w: w, h: h, from: strings.ToLower(rep.From), subject: strings.ToLower(rep.Subject), texts: w.humanTexts(), bounce: looksLikeBounce(rep, h)}
	if a := address(v.from); strings.LastIndexByte(a, '@') >= 0 {
		v.domain = a[strings.LastIndexByte(a, '@')+1:]
	}
	var b strings.Builder
	for _, t := range w.lowTexts() {
		if b.Len() > maxProse {
			break
		}
		b.WriteString(t)
		b.WriteByte('\n')
	}
	v.low = b.String()
	return v
}

// fromDomain tells whether the report's From is at one of the domains or
// below.
func (v *view) fromDomain(domains ...string) bool {
	d := v.domain
	if d == "" {
		return false
	}
	for _, x := range domains {
		if d == x || strings.HasSuffix(d, "."+x) {
			return true
		}
	}
	return false
}

// systems are tried in order; the first whose signature matches reads.
var systems = []system{aol, yahoo, james, messagingServer, fml, mailMarshal, verizon, kddi, docomo, softbank, biglobe}

// readSystem reads a report with the reader of the system that wrote it,
// if one is known; it tells whether it read any recipient.
func readSystem(rep *Report, h message.Header, w *walker) bool {
	v := newView(rep, h, w)
	for _, s := range systems {
		if !s.is(v) {
			continue
		}
		rcpts := s.read(v)
		if len(rcpts) == 0 {
			return false
		}
		rep.Kind, rep.Format, rep.System = KindDSN, s.name, s.name
		for _, rc := range rcpts {
			finishRecipient(&rc)
			rep.add(rc)
		}
		return true
	}
	return false
}

// linesAfter returns the trimmed lines of a text that follow the first
// line containing marker (lowercased), up to a line containing any of
// the stops, at most n.
func linesAfter(text []byte, marker string, n int, stops ...string) []string {
	var out []string
	found := false
	for line := range bytes.Lines(text) {
		s := strings.TrimSpace(string(line))
		low := strings.ToLower(s)
		if !found {
			found = strings.Contains(low, marker)
			continue
		}
		for _, stop := range stops {
			if strings.Contains(low, stop) {
				return out
			}
		}
		if quoted(low) || len(out) >= n {
			return out
		}
		out = append(out, s)
	}
	return out
}

// sentence is the text from marker up to the end of its sentence (a
// colon or full stop followed by a space or line end), on one line,
// bounded; "" when marker is not in low.
func sentence(low, marker string) string {
	i := strings.Index(low, marker)
	if i < 0 {
		return ""
	}
	rest := low[i:]
	if len(rest) > 400 {
		rest = rest[:400]
	}
	for j := 0; j+1 < len(rest); j++ {
		if (rest[j] == '.' || rest[j] == ':') && (rest[j+1] == ' ' || rest[j+1] == '\n' || rest[j+1] == '\r') {
			rest = rest[:j]
			break
		}
	}
	return clip(rest)
}

// carrier is a reader for a mobile carrier or provider whose bounces come
// from its own domains and name recipients in prose or in angle brackets:
// the prose reader finds them, the sentence after each names the reason.
func carrier(name string, domains ...string) system {
	return system{
		name: name,
		is:   func(v *view) bool { return v.bounce && v.fromDomain(domains...) },
		read: func(v *view) []Recipient {
			for i := range v.texts {
				if rcpts := v.w.recipientLines(i); len(rcpts) > 0 {
					return rcpts
				}
			}
			// Only addresses in the prose: take those at the carrier.
			var out []Recipient
			for _, a := range addrRe.FindAllString(v.low, MaxRecipient+1) {
				for _, d := range domains {
					if strings.HasSuffix(a, "@"+d) || strings.HasSuffix(a, "."+d) {
						out = append(out, Recipient{Address: a})
					}
				}
			}
			return out
		},
	}
}
