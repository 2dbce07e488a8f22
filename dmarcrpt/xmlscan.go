package dmarcrpt

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"

	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/unicode"
)

// A small XML tokenizer for reports. encoding/xml reads about 20,000
// records a second here, too slow for reports of a hundred thousand records
// arriving by the dozen; this one reads only what reports use (elements,
// attributes skipped, text, the five predefined entities and character
// references, CDATA, comments, processing instructions, a DOCTYPE skipped)
// and checks that every end tag matches its start tag. Names are reduced to
// their local part: reports come with and without namespaces and prefixes.

type tokKind uint8

const (
	tokEOF tokKind = iota
	tokStart
	tokEnd
	tokText
)

type xmlScanner struct {
	data  []byte
	pos   int
	stack [][]byte // qualified names of open elements
	// selfClosed is set after a start tag that ended with "/>": its end
	// token comes next.
	selfClosed bool
	name       []byte // local name of the last start or end token
	text       []byte // the last text token, entities decoded
	buf        []byte
}

var errXML = errors.New("XML syntax error")

func (s *xmlScanner) fail(format string, args ...any) error {
	line := 1 + bytes.Count(s.data[:min(s.pos, len(s.data))], []byte("\n"))
	return fmt.Errorf("%w on line %d: %s", errXML, line, fmt.Sprintf(format, args...))
}

func localName(q []byte) []byte {
	if i := bytes.LastIndexByte(q, ':'); i >= 0 {
		return q[i+1:]
	}
	return q
}

// next returns the next token.
func (s *xmlScanner) next() (tokKind, error) {
	if s.selfClosed {
		s.selfClosed = false
		s.stack = s.stack[:len(s.stack)-1]
		return tokEnd, nil
	}
	for {
		if s.pos >= len(s.data) {
			if len(s.stack) > 0 {
				return tokEOF, s.fail("the document ends inside <%s>", s.stack[len(s.stack)-1])
			}
			return tokEOF, nil
		}
		if s.data[s.pos] != '<' {
			end := bytes.IndexByte(s.data[s.pos:], '<')
			if end < 0 {
				end = len(s.data) - s.pos
			}
			raw := s.data[s.pos : s.pos+end]
			s.pos += end
			if bytes.IndexByte(raw, '&') < 0 {
				s.text = raw
			} else {
				var err error
				if s.text, err = s.unescape(raw); err != nil {
					return tokEOF, err
				}
			}
			return tokText, nil
		}
		rest := s.data[s.pos:]
		switch {
		case bytes.HasPrefix(rest, []byte("<!--")):
			end := bytes.Index(rest[4:], []byte("-->"))
			if end < 0 {
				return tokEOF, s.fail("a comment does not end")
			}
			s.pos += 4 + end + 3
		case bytes.HasPrefix(rest, []byte("<![CDATA[")):
			end := bytes.Index(rest[9:], []byte("]]>"))
			if end < 0 {
				return tokEOF, s.fail("a CDATA section does not end")
			}
			s.text = rest[9 : 9+end]
			s.pos += 9 + end + 3
			return tokText, nil
		case bytes.HasPrefix(rest, []byte("<?")):
			end := bytes.Index(rest[2:], []byte("?>"))
			if end < 0 {
				return tokEOF, s.fail("a processing instruction does not end")
			}
			s.pos += 2 + end + 2
		case bytes.HasPrefix(rest, []byte("<!")):
			// DOCTYPE and other declarations, with an internal subset in [...].
			depth := 0
			i := 2
			for ; i < len(rest); i++ {
				if c := rest[i]; c == '[' {
					depth++
				} else if c == ']' {
					depth--
				} else if c == '>' && depth <= 0 {
					break
				}
			}
			if i >= len(rest) {
				return tokEOF, s.fail("a declaration does not end")
			}
			s.pos += i + 1
		case len(rest) > 1 && rest[1] == '/':
			i := 2
			for i < len(rest) && rest[i] != '>' && !isSpace(rest[i]) {
				i++
			}
			q := rest[2:i]
			for i < len(rest) && isSpace(rest[i]) {
				i++
			}
			if i >= len(rest) || rest[i] != '>' {
				return tokEOF, s.fail("an end tag does not end")
			}
			if len(s.stack) == 0 {
				return tokEOF, s.fail("end tag </%s> without a start tag", q)
			}
			if open := s.stack[len(s.stack)-1]; !bytes.Equal(open, q) {
				return tokEOF, s.fail("element <%s> closed by </%s>", open, q)
			}
			s.stack = s.stack[:len(s.stack)-1]
			s.name = localName(q)
			s.pos += i + 1
			return tokEnd, nil
		default:
			i := 1
			for i < len(rest) && rest[i] != '>' && rest[i] != '/' && !isSpace(rest[i]) {
				i++
			}
			q := rest[1:i]
			if len(q) == 0 {
				return tokEOF, s.fail("a '<' that starts no element")
			}
			// Attributes: skipped, quoted values honoured.
			for i < len(rest) && rest[i] != '>' && rest[i] != '/' {
				if c := rest[i]; c == '"' || c == '\'' {
					end := bytes.IndexByte(rest[i+1:], c)
					if end < 0 {
						return tokEOF, s.fail("an attribute value of <%s> does not end", q)
					}
					i += end + 1
				}
				i++
			}
			if i >= len(rest) {
				return tokEOF, s.fail("the start tag <%s> does not end", q)
			}
			if rest[i] == '/' {
				if i+1 >= len(rest) || rest[i+1] != '>' {
					return tokEOF, s.fail("a stray '/' in <%s>", q)
				}
				s.selfClosed = true
				i++
			}
			s.stack = append(s.stack, q)
			s.name = localName(q)
			s.pos += i + 1
			return tokStart, nil
		}
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// unescape decodes entity and character references.
func (s *xmlScanner) unescape(raw []byte) ([]byte, error) {
	s.buf = s.buf[:0]
	for len(raw) > 0 {
		amp := bytes.IndexByte(raw, '&')
		if amp < 0 {
			s.buf = append(s.buf, raw...)
			break
		}
		s.buf = append(s.buf, raw[:amp]...)
		raw = raw[amp:]
		semi := bytes.IndexByte(raw, ';')
		if semi < 0 || semi > 12 {
			return nil, s.fail("an '&' that starts no entity")
		}
		ent := string(raw[1:semi])
		raw = raw[semi+1:]
		switch ent {
		case "amp":
			s.buf = append(s.buf, '&')
		case "lt":
			s.buf = append(s.buf, '<')
		case "gt":
			s.buf = append(s.buf, '>')
		case "quot":
			s.buf = append(s.buf, '"')
		case "apos":
			s.buf = append(s.buf, '\'')
		default:
			var n uint64
			var err error
			switch {
			case len(ent) > 2 && (ent[:2] == "#x" || ent[:2] == "#X"):
				n, err = strconv.ParseUint(ent[2:], 16, 32)
			case len(ent) > 1 && ent[0] == '#':
				n, err = strconv.ParseUint(ent[1:], 10, 32)
			default:
				return nil, s.fail("unknown entity &%s;", ent)
			}
			if err != nil || n == 0 || n > utf8.MaxRune {
				return nil, s.fail("invalid character reference &%s;", ent)
			}
			s.buf = utf8.AppendRune(s.buf, rune(n))
		}
	}
	return s.buf, nil
}

// toUTF8 converts a document in UTF-16 (with its byte-order mark) or
// whose XML declaration names another charset.
func toUTF8(data []byte) ([]byte, error) {
	if bytes.HasPrefix(data, []byte{0xff, 0xfe}) || bytes.HasPrefix(data, []byte{0xfe, 0xff}) {
		out, err := unicode.UTF16(unicode.BigEndian, unicode.ExpectBOM).NewDecoder().Bytes(data)
		if err != nil {
			return nil, fmt.Errorf("the XML is not valid UTF-16: %v", err)
		}
		// Its declaration still says UTF-16; the text is UTF-8 now.
		return bytes.Replace(out, []byte(`encoding="UTF-16"`), []byte(`encoding="UTF-8"`), 1), nil
	}
	if !bytes.HasPrefix(data, []byte("<?xml")) {
		return data, nil
	}
	end := bytes.Index(data, []byte("?>"))
	if end < 0 {
		return data, nil
	}
	decl := data[:end]
	i := bytes.Index(decl, []byte("encoding"))
	if i < 0 {
		return data, nil
	}
	rest := bytes.TrimLeft(decl[i+len("encoding"):], " \t\r\n=")
	if len(rest) == 0 || (rest[0] != '"' && rest[0] != '\'') {
		return data, nil
	}
	q := rest[0]
	j := bytes.IndexByte(rest[1:], q)
	if j < 0 {
		return data, nil
	}
	label := string(bytes.ToLower(bytes.TrimSpace(rest[1 : 1+j])))
	switch label {
	case "utf-8", "utf8", "us-ascii", "ascii", "", "utf-16", "utf16":
		return data, nil
	}
	enc, err := htmlindex.Get(label)
	if err != nil {
		return nil, fmt.Errorf("the XML declares charset %q, which is unknown", clip(label))
	}
	out, err := enc.NewDecoder().Bytes(data)
	if err != nil {
		return nil, fmt.Errorf("the XML is not in the charset %q it declares: %v", label, err)
	}
	return out, nil
}
