package main

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailtrace/mailtrace/config"
)

var update = flag.Bool("update", false, "rewrite deploy/postfix's snippets from deploy/mailtrace.yaml")

// The Postfix snippets in deploy/postfix are what `mailtrace doctor
// --print-postfix` prints for the example configuration: this keeps the
// files, the generator and the doctor's checks in step.
func TestDeploySnippets(t *testing.T) {
	data, err := os.ReadFile("../../deploy/mailtrace.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	key := filepath.Join(dir, "verp-1.key")
	os.WriteFile(key, []byte("an example key of enough bytes\n"), 0o600)
	path := filepath.Join(dir, "mailtrace.yaml")
	os.WriteFile(path, []byte(strings.ReplaceAll(string(data), "/etc/mailtrace/verp-1.key", key)), 0o600)
	t.Setenv("MAILTRACE_CONFIG", "")
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	setup := postfixSetup(cfg)
	for name, want := range map[string]string{
		"main.cf":                 setup.MainCF(),
		"master.cf":               setup.MasterCF(),
		"mailtrace_header_checks": setup.HeaderChecksTable(),
	} {
		file := filepath.Join("../../deploy/postfix", name)
		if *update {
			if err := os.WriteFile(file, []byte(want), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(file)
		if err != nil || string(got) != want {
			t.Errorf("%s differs from what the example configuration generates; run `go test ./cmd/mailtrace -run TestDeploySnippets -update`\n--- generated:\n%s", file, want)
		}
	}
}
