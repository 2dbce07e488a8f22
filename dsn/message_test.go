package dsn

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckMessage(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want string // in the ErrNotMessage error; "" accepts
	}{
		{name: "a bounce", raw: "From: MAILER-DAEMON@mx.example\r\nSubject: failure\r\n\r\nbody\r\n"},
		{name: "LF line ends", raw: "Date: Mon, 1 Dec 2025 10:00:00 +0000\nX-Other: y\n\nbody\n"},
		{name: "folded field", raw: "Received: from a\n\tby b\n  with c\nFrom: x@y\n\nbody"},
		{name: "header only", raw: "Message-ID: <a@b>\n"},
		{name: "mbox separator first", raw: "From MAILER-DAEMON Mon Dec  1 10:00:00 2025\nFrom: a@b\n\nbody\n"},
		{name: "obsolete blank before colon", raw: "Subject : hi\nFrom: a@b\n\n"},
		{name: "field names in any case", raw: "FROM: a@b\n\n"},
		{name: "8-bit and ESC in a value", raw: "Subject: \x1b$B%F%9%H\x1b(B \xe9t\xe9\nFrom: a@b\n\n"},
		{name: "binary in the body", raw: "From: a@b\n\n\x00\x01\x02\xff"},
		{name: "empty", raw: "", want: "the file is empty"},
		{name: "blank", raw: "\n\r\n  \n", want: "the file is empty"},
		{name: "binary", raw: "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", want: "does not start with a header"},
		{name: "NUL in the header", raw: "From: a@b\nSubject: x\x00y\n\n", want: "header line 2 holds a NUL byte"},
		{name: "NUL alone", raw: "\x00\x00\x00\x00", want: "NUL byte"},
		{name: "plain text", raw: "Hi. This is the qmail-send program at mx.example.net.\n<gone@example.net>:\n", want: "does not start with a header"},
		{name: "a body saved without its header", raw: "\nThis is the mail system at host mx.\n", want: "does not start with a header"},
		{name: "indented first line", raw: "  folded\nFrom: a@b\n\n", want: "its first line \"  folded\" is indented"},
		{name: "blank lines and a byte-order mark first", raw: "\xef\xbb\xbf\n   \nFrom: a@b\n\nbody"},
		{name: "a value cut without folding", raw: "Received-SPF: pass (mx: domain of b.example designates\n192.0.2.1 as permitted sender)\nFrom: a@b\n\n"},
		{name: "no common field", raw: "Note: remember the milk\nAlso: eggs\n\nthanks\n", want: "has none of From, Date"},
		{name: "colon first", raw: ": value\n\n", want: "does not start with a header"},
		{name: "space in a name", raw: "Bad Name: value\nFrom: a@b\n\n", want: "does not start with a header"},
		{name: "JSON", raw: "{\"from\": \"a@b\"}\n", want: "has none of From"},
		{name: "a debugging dump", raw: "--------------\n2010-03-01 07:09:00\nmatches: Array\n", want: "does not start with a header"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckMessage([]byte(tt.raw))
			if tt.want == "" {
				if err != nil {
					t.Errorf("CheckMessage(%q) = %v, want it accepted", tt.raw, err)
				}
				return
			}
			if !errors.Is(err, ErrNotMessage) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("CheckMessage(%q) = %v, want ErrNotMessage saying %q", tt.raw, err, tt.want)
			}
		})
	}
}

// Every real report is a message; the body-only texts of the shared
// corpus (bounce texts without their header) are not.
func TestCheckMessageCorpus(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(corpus, "*.txt"))
	shared := "../../../shared/corpora/bounces"
	if _, err := os.Stat(shared); err != nil {
		shared = "/work/shared/corpora/bounces"
	}
	var bodyOnly []string
	if f, err := os.Open(filepath.Join(shared, "index.tsv")); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			path, _, _ := strings.Cut(sc.Text(), "\t")
			if path == "file" {
				continue
			}
			if strings.HasPrefix(path, "body-only/") {
				bodyOnly = append(bodyOnly, filepath.Join(shared, path))
			} else {
				files = append(files, filepath.Join(shared, path))
			}
		}
		f.Close()
	}
	if len(files) == 0 {
		t.Skip("no bounce corpus (make setup installs Debian's python3-flufl.bounce)")
	}
	// Files the corpus counts as messages that are not: a PHP program's
	// dump of an unsubscribe request.
	notMessages := map[string]bool{"cfortune-PHP-Bounce-Handler/unsubscribe.txt": true}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		err = CheckMessage(raw)
		if name, _ := filepath.Rel(shared, f); notMessages[name] {
			if err == nil {
				t.Errorf("%s: taken for a message", f)
			}
		} else if err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	refused := 0
	for _, f := range bodyOnly {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := CheckMessage(raw); err != nil {
			refused++
		} else {
			t.Errorf("%s: a body without its header taken for a message", f)
		}
	}
	t.Logf("%d messages accepted, %d body-only texts refused", len(files), refused)
}

func FuzzCheckMessage(f *testing.F) {
	f.Add([]byte("From: a@b\r\nSubject: x\r\n\r\nbody"))
	f.Add([]byte("From x\nDate: y\n folded\n\n"))
	f.Add([]byte("\x00\x89PNG"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		err := CheckMessage(raw)
		if err != nil && !errors.Is(err, ErrNotMessage) {
			t.Fatalf("error %v is not ErrNotMessage", err)
		}
		if err == nil && !strings.Contains(strings.ToLower(string(raw)), ":") {
			t.Fatalf("accepted %q, which has no header field", raw)
		}
	})
}
