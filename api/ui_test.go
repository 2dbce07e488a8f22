package api

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mailtrace/mailtrace/schema"
	"github.com/mailtrace/mailtrace/trace/tracetest"
	"github.com/mailtrace/mailtrace/traceid"
)

// chromium runs Debian's chromium headless on url and returns the page as
// its scripts left it; with shot set it also saves a screenshot there.
func chromium(t *testing.T, url, shot string) string {
	t.Helper()
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium is not installed (make setup installs Debian's chromium)")
	}
	args := []string{"--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
		"--user-data-dir=" + t.TempDir(), "--virtual-time-budget=15000", "--window-size=1280,1400"}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	// The page shows times in the browser's zone, and says which.
	env := append(os.Environ(), "TZ=Europe/Berlin")
	dump := exec.CommandContext(ctx, bin, append(args, "--dump-dom", url)...)
	dump.Env = env
	out, err := dump.Output()
	if err != nil {
		t.Fatalf("chromium --dump-dom %s: %v", url, err)
	}
	if shot != "" {
		cmd := exec.CommandContext(ctx, bin, append(args, "--screenshot="+shot, url)...)
		cmd.Env = env
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("chromium --screenshot: %v\n%s", err, b)
		}
	}
	return string(out)
}

// artifacts is where UI tests keep their screenshots: $MAILTRACE_ARTIFACTS,
// or .artifacts at the top of the source tree.
func artifacts(t *testing.T) string {
	dir := os.Getenv("MAILTRACE_ARTIFACTS")
	if dir == "" {
		dir, _ = filepath.Abs("../.artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestWebUI(t *testing.T) {
	if _, err := exec.LookPath("chromium"); err != nil {
		t.Skip("chromium is not installed (make setup installs Debian's chromium)")
	}
	ts := start(t, DefaultConfig())
	dir := artifacts(t)

	from := "2026-11-20T08:00:00.000Z"
	to := "2026-11-20T10:00:00.000Z"
	search := chromium(t, ts.URL+"/#/search?from="+from+"&to="+to, filepath.Join(dir, "ui-search.png"))
	for _, want := range []string{`id="results-table"`, "anna@gmail.test", "bob@outlook.test", "RESOLVER.ADR.RecipientNotFound",
		"eve@gmail.test", `href="#/trace/` + ts.fx.Legal.String() + `"`, `href="#/trace/4XCC1"`, "Times in Europe/Berlin",
		"2026-11-20 10:00:01.000 +01:00", "Export CSV"} {
		if !strings.Contains(search, want) {
			t.Errorf("search page lacks %q", want)
		}
	}

	page := chromium(t, ts.URL+"/#/trace/"+ts.fx.Legal.String(), filepath.Join(dir, "ui-trace.png"))
	for _, want := range []string{"Summons", ts.fx.Legal.String(), "4XAA1 on mx1", `class="lane sent"`, `class="lane bounced"`,
		`class="lane expired"`, "Anna@gmail.test", "550 5.1.1 RESOLVER.ADR.RecipientNotFound", "421 4.7.0 [TSS04] try later",
		"non-delivery notification 4XBB1", "pool legal, from 203.0.113.10", "10.0.0.5"} {
		if !strings.Contains(page, want) {
			t.Errorf("trace page lacks %q", want)
		}
	}
	if strings.Count(page, `class="attempt"`) != 5 {
		t.Errorf("trace page shows %d attempts, want 5 (4 of the message, 1 of its notification)", strings.Count(page, `class="attempt"`))
	}
	logOnly := chromium(t, ts.URL+"/#/trace/4XCC1", "")
	if !strings.Contains(logOnly, "no accept record") {
		t.Error("a message the milter never saw does not say so")
	}
	// Block incidents: one open, one closed.
	now := time.Now().UTC()
	tracetest.Insert(t, ts.fx.Store, schema.Incidents,
		&schema.Incident{ID: traceid.New(), Kind: "replies", Pool: "bulk", SourceIP: "203.0.113.12", Provider: "microsoft", OpenedAt: now.Add(-time.Hour),
			LastSignal: now.Add(-time.Minute), Signals: 7, Attempts: 9, Category: "blocklisted", Sample: "550 5.7.1 ... our block list (S3150)", UpdatedAt: now},
		&schema.Incident{ID: traceid.New(), Kind: "dnsbl", Pool: "legal", SourceIP: "203.0.113.10", Provider: "zen.spamhaus.org", OpenedAt: now.Add(-48 * time.Hour),
			ClosedAt: now.Add(-24 * time.Hour), LastSignal: now.Add(-48 * time.Hour), Signals: 2, Category: "127.0.0.2", CloseReason: "delisted", UpdatedAt: now})
	blocks := chromium(t, ts.URL+"/#/blocks", filepath.Join(dir, "ui-blocks.png"))
	open, recent, _ := strings.Cut(blocks, `id="blocks-recent"`)
	for _, want := range []string{`id="blocks-open"`, "203.0.113.12", "microsoft", "(S3150)", `class="status open"`} {
		if !strings.Contains(open, want) {
			t.Errorf("block incidents page, open now, lacks %q", want)
		}
	}
	if strings.Contains(open, "zen.spamhaus.org") {
		t.Error("a closed incident is listed as open")
	}
	for _, want := range []string{"zen.spamhaus.org", "(delisted)", "203.0.113.12"} {
		if !strings.Contains(recent, want) {
			t.Errorf("block incidents page, last 30 days, lacks %q", want)
		}
	}
	t.Logf("screenshots in %s", dir)
	if t.Failed() {
		os.WriteFile(filepath.Join(dir, "ui-blocks.html"), []byte(blocks), 0o644)
		os.WriteFile(filepath.Join(dir, "ui-trace.html"), []byte(page), 0o644)
		os.WriteFile(filepath.Join(dir, "ui-search.html"), []byte(search), 0o644)
	}
}
