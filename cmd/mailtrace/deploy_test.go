package main

import (
	"flag"
	"os"
	osexec "os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mailtrace/mailtrace/config"
	"github.com/mailtrace/mailtrace/store"
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

// The systemd unit, docs/deploying.md and the binary's defaults agree on
// where things are: the binary, the config, the library (a place the
// binary looks), and that everything the service writes by default lies
// within ReadWritePaths and outside what ProtectHome hides.
func TestDeployUnit(t *testing.T) {
	data, err := os.ReadFile("../../deploy/mailtrace.service")
	if err != nil {
		t.Fatal(err)
	}
	unit := map[string][]string{}
	for _, line := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			unit[k] = append(unit[k], strings.Fields(v)...)
		}
	}
	docs, err := os.ReadFile("../../docs/deploying.md")
	if err != nil {
		t.Fatal(err)
	}
	exec := unit["ExecStart"]
	if len(exec) < 4 || exec[1] != "run" || exec[2] != "--config" || exec[3] != config.DefaultPath {
		t.Errorf("ExecStart %q: want BINARY run --config %s", exec, config.DefaultPath)
	}
	const lib = "/usr/local/lib/mailtrace/libchdb.so"
	for _, p := range []string{exec[0], config.DefaultPath, lib, "/var/lib/mailtrace"} {
		if !strings.Contains(string(docs), p) {
			t.Errorf("docs/deploying.md does not mention %s", p)
		}
	}
	// The library's install place is one the binary looks in.
	t.Setenv("MAILTRACE_CHDB_LIBRARY", "")
	if _, tried := store.FindChdbLibrary(""); !slices.Contains(tried, lib) {
		t.Errorf("the binary does not look for %s (it tries %q)", lib, tried)
	}
	writable := unit["ReadWritePaths"]
	within := func(path string) bool {
		for _, w := range writable {
			if path == w || strings.HasPrefix(path, w+"/") {
				return true
			}
		}
		return false
	}
	def := config.Default()
	storeDir := strings.TrimPrefix(def.Store, "chdb://")
	for name, path := range map[string]string{"store": storeDir, "milter.spool_dir": def.Milter.SpoolDir} {
		if !within(path) {
			t.Errorf("the default %s %s is not in the unit's ReadWritePaths %q", name, path, writable)
		}
	}
	if got := unit["StateDirectory"]; len(got) != 1 || "/var/lib/"+got[0] != filepath.Dir(storeDir) {
		t.Errorf("StateDirectory %q does not make %s", got, filepath.Dir(storeDir))
	}
	if got := unit["ProtectHome"]; len(got) != 1 || got[0] != "yes" {
		t.Errorf("ProtectHome %q", got)
	}
	for _, p := range []string{exec[0], config.DefaultPath, lib, storeDir} {
		if strings.HasPrefix(p, "/root/") || strings.HasPrefix(p, "/home/") {
			t.Errorf("%s is hidden from the service by ProtectHome=yes", p)
		}
	}
}

// systemd accepts the unit (with ExecStart pointing at a binary that is
// there: verify checks that it is executable).
func TestDeployUnitVerifies(t *testing.T) {
	if _, err := osexec.LookPath("systemd-analyze"); err != nil {
		t.Skip("systemd-analyze is not installed")
	}
	data, err := os.ReadFile("../../deploy/mailtrace.service")
	if err != nil {
		t.Fatal(err)
	}
	unit := filepath.Join(t.TempDir(), "mailtrace.service")
	os.WriteFile(unit, []byte(strings.ReplaceAll(string(data), "/usr/local/bin/mailtrace", binary)), 0o644)
	out, err := osexec.Command("systemd-analyze", "verify", unit).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}
