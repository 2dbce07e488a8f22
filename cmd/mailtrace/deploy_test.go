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
	"github.com/mailtrace/mailtrace/postfixconf"
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
	setup := postfixSetup(cfg, "/etc/postfix")
	for name, want := range map[string]string{
		"main.cf":                       setup.MainCF(),
		"master.cf":                     setup.MasterCF(),
		postfixconf.HeaderChecksFile:    setup.HeaderChecksTable(),
		postfixconf.SenderTransportFile: setup.SenderTransportTable(),
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

// --print-postfix reads no secret (the VERP key file is missing here) and
// never replaces what the running main.cf sets: its lists get mailtrace's
// entry added, its maps are left with the entry to add.
func TestPrintPostfixKeepsRunningSettings(t *testing.T) {
	if _, err := osexec.LookPath("postconf"); err != nil {
		t.Skip("postconf is not installed")
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "mailtrace.yaml")
	os.WriteFile(cfg, []byte(`milter:
  default_class: legal
  classes:
    - {name: legal, pool: legal, verp: true}
    - {name: notices, pool: notices}
  verp:
    domain: bounces.example.com
    keys: [{id: 1, secret_file: `+filepath.Join(dir, "no-such.key")+`}]
`), 0o644)
	pfDir := filepath.Join(dir, "postfix")
	os.Mkdir(pfDir, 0o755)
	os.WriteFile(filepath.Join(pfDir, "main.cf"), []byte("compatibility_level = 3.6\nsmtpd_milters = inet:127.0.0.1:8891\n"+
		"transport_maps = hash:/etc/postfix/transport\nrelay_domains = partner.example\nrelay_domains = partner.example, other.example\n"), 0o644)
	stock, _ := os.ReadFile("/usr/share/postfix/master.cf.dist")
	os.WriteFile(filepath.Join(pfDir, "master.cf"), stock, 0o644)
	r := run(t, nil, "doctor", "--config", cfg, "--print-postfix", "--postfix-config", pfDir)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	for _, want := range []string{
		"smtpd_milters = inet:127.0.0.1:8891, { inet:127.0.0.1:8894,",
		"# transport_maps is set (hash:/etc/postfix/transport): do not replace it; add to your map:\n#   bounces.example.com lmtp:inet:127.0.0.1:8026",
		"relay_domains = partner.example, other.example, bounces.example.com",
		"### " + filepath.Join(pfDir, "mailtrace_sender_transport") + "\n",
		`/^mt-legal-.*@bounces\.example\.com$/ smtp-legal`,
		"sender_dependent_default_transport_maps = regexp:" + filepath.Join(pfDir, "mailtrace_sender_transport"),
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("--print-postfix lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "\ntransport_maps =") || strings.Contains(r.stdout, "notices") && strings.Contains(r.stdout, "smtp-notices\n") {
		t.Errorf("--print-postfix replaces transport_maps or routes a class without VERP:\n%s", r.stdout)
	}
	for _, want := range []string{"overriding earlier entry: relay_domains=partner.example", "class notices names pool notices but has no verp: true"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
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
	for name, path := range map[string]string{"store": storeDir, "milter.spool_dir": def.Milter.SpoolDir,
		"evidence key": def.Evidence.KeyPath(def.Store)} {
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
