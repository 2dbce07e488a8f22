package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestClassifyCommand(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "mailtrace.yaml")
	if err := os.WriteFile(cfg, []byte("classify:\n  providers:\n    - {name: inhouse, hosts: [mx.example.org]}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"--mx", "mx4.hotmail.com", "550 5.7.1 Unfortunately, messages from [192.0.2.1] weren't sent. (S3150)"},
			[]string{"category:   blocklisted", "block:      yes", "provider:   microsoft", `text pattern "(s3150)"`}},
		{[]string{"--mx", "a.mx.example.org", "550 5.1.1 <x@example.org>"},
			[]string{"category:   bad-mailbox", "block:      no", "provider:   inhouse", "enhanced status code 5.1.1"}},
		{[]string{"--json", "--rcpt", "x@gmail.com", "250 2.0.0 OK"}, []string{`"category": ""`, `"provider": "google"`}},
		{[]string{"--mx", "gmail-smtp-in.l.google.com", "421-4.7.30 Your email has been rate limited because DKIM authentication didn't pass for this message. 421 4.7.30 gsmtp"},
			[]string{"category:   policy-related", "auth:       dkim failed", "provider:   google"}},
	} {
		r := run(t, nil, append([]string{"classify", "--config", cfg}, tc.args...)...)
		if r.code != 0 {
			t.Fatalf("%v: exit %d: %s", tc.args, r.code, r.stderr)
		}
		for _, w := range tc.want {
			if !strings.Contains(r.stdout, w) {
				t.Errorf("%v: output lacks %q:\n%s", tc.args, w, r.stdout)
			}
		}
	}
	if r := run(t, nil, "classify", "--config", cfg); r.code != 2 {
		t.Errorf("without a reply: exit %d, want 2", r.code)
	}
}
