package api

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mailtrace/mailtrace/schema"
	"github.com/mailtrace/mailtrace/trace/tracetest"
	"github.com/mailtrace/mailtrace/traceid"
)

// chromium runs Debian's chromium headless on url in a window width px
// wide and returns the page as its scripts left it; with shot set it also
// saves a screenshot there (1000 px tall, or 2400 for a trace page).
func chromium(t *testing.T, url, shot string, width int) string {
	t.Helper()
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium is not installed (make setup installs Debian's chromium)")
	}
	args := []string{"--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
		"--user-data-dir=" + t.TempDir(), "--virtual-time-budget=15000", fmt.Sprintf("--window-size=%d,%d", width, windowHeight(shot)), "--hide-scrollbars"}
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

func windowHeight(shot string) int {
	if strings.Contains(filepath.Base(shot), "trace") {
		return 2400
	}
	return 1000
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

// probeJS measures the search results as laid out and writes what it found
// into <pre id="layout-report"> (the page's CSP lets only scripts of the
// server run: the test serves this one beside the UI). With ?probe=expand
// it only expands the longest reply, for a screenshot; with
// ?probe=lookup it types an address into the lookup box and submits it.
const probeJS = `"use strict";
(function () {
  const mode = new URLSearchParams(location.search).get("probe");
  const report = (o) => { const pre = document.createElement("pre"); pre.id = "layout-report"; pre.textContent = JSON.stringify(o); document.body.append(pre); };
  if (mode === "lookup") {
    setTimeout(() => {
      document.getElementById("lookup-id").value = "anna@gmail.test";
      document.getElementById("lookup-days").value = "7";
      document.getElementById("lookup").requestSubmit();
      setTimeout(() => report({ hash: location.hash }), 50);
    }, 100);
    return;
  }
  let tries = 0;
  function check() {
    const rows = document.querySelectorAll("#results-table tbody tr");
    if (rows.length === 0) { if (++tries < 200) setTimeout(check, 50); else report({ error: "no results table" }); return; }
    let longest = null;
    for (const r of document.querySelectorAll("#results-table .reply")) if (!longest || r.textContent.length > longest.textContent.length) longest = r;
    if (mode === "expand") { longest.click(); return; }
    const vw = document.documentElement.clientWidth;
    const out = { viewport: vw, scrollWidth: document.documentElement.scrollWidth, rows: [] };
    for (const tr of rows) {
      const tl = tr.querySelector("a.trace-link").getBoundingClientRect(), rl = tr.querySelector("a.rcpt-link");
      const rr = rl.getBoundingClientRect();
      out.rows.push({ recipient: rl.textContent, height: tr.getBoundingClientRect().height,
        timeLeft: tl.left, timeRight: tl.right, rcptLeft: rr.left, rcptRight: rr.right });
    }
    const before = longest.getBoundingClientRect().height;
    longest.click();
    out.expand = { chars: longest.textContent.length, before, after: longest.getBoundingClientRect().height,
      expanded: longest.classList.contains("expanded"), lineHeight: parseFloat(getComputedStyle(longest).lineHeight) };
    longest.click();
    out.collapsedAgain = longest.getBoundingClientRect().height;
    report(out);
  }
  check();
})();
`

// withProbe serves the UI's page with probeJS added after the UI's script.
func withProbe(next http.Handler) http.Handler {
	index, _ := uiFiles.ReadFile("ui/index.html")
	page := strings.Replace(string(index), `</head>`, `<script src="/ui-test/probe.js" defer></script>`+"\n</head>", 1)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/":
			if r.URL.Query().Has("probe") {
				w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'")
				w.Header().Set("Content-Type", "text/html; charset=utf-8")
				fmt.Fprint(w, page)
				return
			}
		case "/ui-test/probe.js":
			w.Header().Set("Content-Type", "text/javascript")
			fmt.Fprint(w, probeJS)
			return
		}
		next.ServeHTTP(w, r)
	})
}

type layoutReport struct {
	Error       string  `json:"error"`
	Viewport    float64 `json:"viewport"`
	ScrollWidth float64 `json:"scrollWidth"`
	Rows        []struct {
		Recipient                                        string
		Height, TimeLeft, TimeRight, RcptLeft, RcptRight float64
	} `json:"rows"`
	Expand struct {
		Chars                     int
		Before, After, LineHeight float64
		Expanded                  bool
	} `json:"expand"`
	CollapsedAgain float64 `json:"collapsedAgain"`
	Hash           string  `json:"hash"`
}

var reportRE = regexp.MustCompile(`<pre id="layout-report">([^<]*)</pre>`)

func readReport(t *testing.T, dom string) layoutReport {
	t.Helper()
	m := reportRE.FindStringSubmatch(dom)
	if m == nil {
		t.Fatalf("the probe wrote no report:\n%s", dom)
	}
	var r layoutReport
	if err := json.Unmarshal([]byte(html.UnescapeString(m[1])), &r); err != nil || r.Error != "" {
		t.Fatalf("probe report %s: %v %s", m[1], err, r.Error)
	}
	return r
}

// longRow is an attempt with a receiver's reply as long as real ones get
// and a long address, for the layout.
func longRow(t *testing.T, ts *testServer) string {
	rcpt := "a.very.long.recipient.mailbox.name.for.layout@subdomain.outlook.test"
	reply := "550 5.7.1 Unfortunately, messages from [203.0.113.10] weren't sent. Please contact your Internet service provider since part of their network is on our block list (S3150). You can also refer your provider to http://mail.live.com/mail/troubleshooting.aspx#errors. " +
		strings.Repeat("[Name=Protocol Filter Agent][AGT=PFA][MxId=11BA7D1F0A2B3C4D] [DB8EUR05FT012.eop-eur05.prod.protection.outlook.com 2026-11-20T09:50:00.000Z 08DCF1A2B3C4D5E6] ", 12)
	tracetest.Insert(t, ts.fx.Store, schema.DeliveryEvents,
		&schema.DeliveryEvent{Time: tracetest.T0.Add(50 * time.Minute), EventID: 4242, Host: "mx1", QueueID: "4XGG1", Sender: "collections@dunning.example",
			Recipient: rcpt, Status: "bounced", DSN: "5.7.1", Response: reply, Pool: "collections", SourceIP: "203.0.113.11", Provider: "microsoft",
			Service: "postfix-collections/smtp", RelayHost: "outlook-com.olc.protection.outlook.com"})
	return rcpt
}

// TestSearchLayout lays out the search results in Chromium at 1024 and 1400
// px: every row's trace links in the window, no horizontal scrolling, rows
// of bounded height with a long reply clamped, and the reply expanding on
// a click.
func TestSearchLayout(t *testing.T) {
	if _, err := exec.LookPath("chromium"); err != nil {
		t.Skip("chromium is not installed (make setup installs Debian's chromium)")
	}
	ts := startWrapped(t, DefaultConfig(), withProbe)
	rcpt := longRow(t, ts)
	dir := artifacts(t)
	hash := "#/search?from=2026-11-20T08:00:00.000Z&to=2026-11-20T10:00:00.000Z"
	for _, width := range []int{1024, 1400} {
		t.Run(fmt.Sprintf("%d px", width), func(t *testing.T) {
			dom := chromium(t, ts.URL+"/?probe=measure"+hash, "", width)
			r := readReport(t, dom)
			t.Logf("layout at %d px: %+v", width, r)
			if r.Viewport != float64(width) {
				t.Errorf("viewport %v px wide, want %d", r.Viewport, width)
			}
			if r.ScrollWidth > r.Viewport {
				t.Errorf("the page is %v px wide in a %v px window: it scrolls sideways", r.ScrollWidth, r.Viewport)
			}
			if len(r.Rows) != 7 {
				t.Errorf("%d rows, want 7", len(r.Rows))
			}
			lineHeight := r.Expand.LineHeight
			for _, row := range r.Rows {
				if row.TimeLeft < 0 || row.TimeRight > r.Viewport || row.RcptLeft < 0 || row.RcptRight > r.Viewport {
					t.Errorf("%s: links at %v-%v and %v-%v, outside the %v px window", row.Recipient, row.TimeLeft, row.TimeRight, row.RcptLeft, row.RcptRight, r.Viewport)
				}
				if row.Height > 7*lineHeight {
					t.Errorf("%s: row %v px tall, over 7 lines of %v px", row.Recipient, row.Height, lineHeight)
				}
			}
			if e := r.Expand; e.Chars < 2000 || e.Before > 2.5*e.LineHeight || !e.Expanded || e.After < 5*e.Before {
				t.Errorf("the longest reply (%d chars): %v px clamped, %v px expanded (%v), line %v px", e.Chars, e.Before, e.After, e.Expanded, e.LineHeight)
			}
			if r.CollapsedAgain != r.Expand.Before {
				t.Errorf("a second click leaves the reply %v px tall, not %v", r.CollapsedAgain, r.Expand.Before)
			}
			chromium(t, ts.URL+"/"+hash, filepath.Join(dir, fmt.Sprintf("ui-search-%d.png", width)), width)
			chromium(t, ts.URL+"/?probe=expand"+hash, filepath.Join(dir, fmt.Sprintf("ui-search-expanded-%d.png", width)), width)
		})
	}
	if !strings.Contains(chromium(t, ts.URL+"/"+hash, "", 1024), rcpt) {
		t.Error("the long row is missing")
	}
}

func TestWebUI(t *testing.T) {
	if _, err := exec.LookPath("chromium"); err != nil {
		t.Skip("chromium is not installed (make setup installs Debian's chromium)")
	}
	ts := startWrapped(t, DefaultConfig(), withProbe)
	dir := artifacts(t)

	from := "2026-11-20T08:00:00.000Z"
	to := "2026-11-20T10:00:00.000Z"
	search := chromium(t, ts.URL+"/#/search?from="+from+"&to="+to, "", 1280)
	legalLink := `href="#/trace/` + ts.fx.Legal.String() + `"`
	for _, want := range []string{`id="results-table"`, "anna@gmail.test", "bob@outlook.test", "RESOLVER.ADR.RecipientNotFound",
		"eve@gmail.test", legalLink + ` class="trace-link"`, legalLink + ` class="rcpt-link"`, `href="#/trace/4XCC1"`, "Times in Europe/Berlin",
		`<span class="clock">10:00:00 +01:00</span>`, "Export CSV", "clerk@court.example", "via " + tracetest.VERP, "Summons", `name="subject"`} {
		if !strings.Contains(search, want) {
			t.Errorf("search page lacks %q", want)
		}
	}
	if strings.Contains(search, "10:00:00.000") {
		t.Error("a whole-second log time is shown with invented milliseconds")
	}
	bySender := chromium(t, ts.URL+"/#/search?from="+from+"&to="+to+"&sender=%40court.example&subject=summ", "", 1280)
	if n := strings.Count(bySender, `class="rcpt-link"`); n != 4 || strings.Contains(bySender, "eve@gmail.test") {
		t.Errorf("search by the application's domain and Subject shows %d rows, want the legal notice's 4", n)
	}

	for _, width := range []int{1024, 1400} {
		page := chromium(t, ts.URL+"/#/trace/"+ts.fx.Legal.String(), filepath.Join(dir, fmt.Sprintf("ui-trace-%d.png", width)), width)
		for _, want := range []string{"Summons", ts.fx.Legal.String(), "4XAA1 on mx1", `class="lane sent"`, `class="lane bounced"`,
			`class="lane expired"`, "Anna@gmail.test", "550 5.1.1 RESOLVER.ADR.RecipientNotFound", "421 4.7.0 [TSS04] try later",
			"non-delivery notification 4XBB1", "pool legal, from 203.0.113.10", "10.0.0.5",
			"<dt>Envelope sender</dt><dd>" + tracetest.VERP, "<dd>2026-11-20 10:00:00.412345 +01:00</dd>", `class="timeline"`,
			`class="secondary evidence">Evidence</button>`} {
			if !strings.Contains(page, want) {
				t.Errorf("trace page at %d px lacks %q", width, want)
			}
		}
		if strings.Count(page, `class="attempt"`) != 5 {
			t.Errorf("trace page shows %d attempts, want 5 (4 of the message, 1 of its notification)", strings.Count(page, `class="attempt"`))
		}
		// The timeline starts with the acceptance, 0.41 s into the second
		// of the first whole-second attempts.
		if i, j := strings.Index(page, "<td>accepted</td>"), strings.Index(page, "<td>attempt</td>"); i < 0 || j < i {
			t.Errorf("the timeline does not put the acceptance (%d) before the attempts (%d)", i, j)
		}
		if t.Failed() {
			os.WriteFile(filepath.Join(dir, "ui-trace.html"), []byte(page), 0o644)
		}
	}
	logOnly := chromium(t, ts.URL+"/#/trace/4XCC1", "", 1280)
	if !strings.Contains(logOnly, "no accept record") || strings.Contains(logOnly, "Envelope sender") {
		t.Error("a message the milter never saw does not say so, or names an envelope sender apart")
	}

	// The lookup box takes a recipient with a range.
	lookup := readReport(t, chromium(t, ts.URL+"/?probe=lookup#/search", "", 1280))
	m := regexp.MustCompile(`^#/trace/anna%40gmail\.test\?from=([^&]+)&to=(.+)$`).FindStringSubmatch(lookup.Hash)
	if m == nil {
		t.Fatalf("the lookup box went to %q", lookup.Hash)
	}
	f, _ := time.Parse(time.RFC3339, strings.ReplaceAll(m[1], "%3A", ":"))
	tt, _ := time.Parse(time.RFC3339, strings.ReplaceAll(m[2], "%3A", ":"))
	if d := tt.Sub(f); d != 7*24*time.Hour {
		t.Errorf("the lookup's range is %v, want the 7 days chosen", d)
	}
	byRcpt := chromium(t, ts.URL+"/#/trace/anna%40gmail.test?from=2026-11-19T00:00:00Z&to=2026-11-21T00:00:00Z", "", 1280)
	if !strings.Contains(byRcpt, "4XAA1 on mx1") {
		t.Error("a recipient with a range finds nothing")
	}

	// Not found: the page offers searches.
	notFound := chromium(t, ts.URL+"/#/trace/nobody%40court.example?from=2026-11-19T00:00:00Z&to=2026-11-21T00:00:00Z",
		filepath.Join(dir, "ui-not-found.png"), 1024)
	for _, want := range []string{"no message is known", `href="#/search?from=2026-11-19T00%3A00%3A00Z&amp;to=2026-11-21T00%3A00%3A00Z&amp;recipient=nobody%40court.example" id="suggest-recipient"`,
		`id="suggest-sender"`, `id="suggest-domain"`, `href="#/trace/nobody%40court.example" id="suggest-any-time"`} {
		if !strings.Contains(notFound, want) {
			t.Errorf("the not-found page lacks %q", want)
		}
	}
	if q := chromium(t, ts.URL+"/#/trace/4XZZ9", "", 1280); !strings.Contains(q, `id="suggest-search"`) {
		t.Error("an unknown queue ID offers no search")
	}

	// Block incidents: one open, one closed.
	now := time.Now().UTC()
	tracetest.Insert(t, ts.fx.Store, schema.Incidents,
		&schema.Incident{ID: traceid.New(), Kind: "replies", Pool: "bulk", SourceIP: "203.0.113.12", Provider: "microsoft", OpenedAt: now.Add(-time.Hour),
			LastSignal: now.Add(-time.Minute), Signals: 7, Attempts: 9, Category: "blocklisted", Sample: "550 5.7.1 ... our block list (S3150)", UpdatedAt: now},
		&schema.Incident{ID: traceid.New(), Kind: "dnsbl", Pool: "legal", SourceIP: "203.0.113.10", Provider: "zen.spamhaus.org", OpenedAt: now.Add(-48 * time.Hour),
			ClosedAt: now.Add(-24 * time.Hour), LastSignal: now.Add(-48 * time.Hour), Signals: 2, Category: "127.0.0.2", CloseReason: "delisted", UpdatedAt: now})
	blocks := chromium(t, ts.URL+"/#/blocks", filepath.Join(dir, "ui-blocks.png"), 1280)
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
		os.WriteFile(filepath.Join(dir, "ui-search.html"), []byte(search), 0o644)
		os.WriteFile(filepath.Join(dir, "ui-not-found.html"), []byte(notFound), 0o644)
	}
}

// The reports page shows what DMARC reports say per reporter, day and
// pool, the unknown sources and the reports received, refused ones with
// their reason.
func TestReportsPage(t *testing.T) {
	if _, err := exec.LookPath("chromium"); err != nil {
		t.Skip("chromium is not installed (make setup installs Debian's chromium)")
	}
	ts := start(t, DefaultConfig())
	now := time.Now().UTC()
	day := now.Truncate(24 * time.Hour).Add(-24 * time.Hour)
	base := schema.DMARCRecord{Day: day, Org: "google.com", ReportID: "r1", Provider: "google", Domain: "example.com", Begin: day,
		End: day.Add(24*time.Hour - time.Second), HeaderFrom: "example.com", ReceivedAt: now}
	ours, stranger := base, base
	ours.SourceIP, ours.Pool, ours.Count, ours.DKIMPass, ours.DKIMAligned, ours.DMARCPass = "203.0.113.10", "legal", 4, true, true, true
	stranger.RecordIndex, stranger.SourceIP, stranger.Count = 1, "198.51.100.99", 7
	tracetest.Insert(t, ts.fx.Store, schema.DMARCRecords, &ours, &stranger)
	tracetest.Insert(t, ts.fx.Store, schema.SourceNames, &schema.SourceName{SourceIP: "198.51.100.99", PTR: "spoofer.example.net", LookedUpAt: now})
	tracetest.Insert(t, ts.fx.Store, schema.AuthReports,
		&schema.AuthReport{ReceivedAt: now, Kind: "dmarc-aggregate", Org: "google.com", ReportKey: "r1", ReportID: "r1", Domain: "example.com", Records: 2, Messages: 11},
		&schema.AuthReport{ReceivedAt: now, Kind: "unknown", ReportKey: "sha256:00", Error: "authreport: decompresses to more than 20 MiB (a decompression bomb?)"})
	page := chromium(t, ts.URL+"/#/reports", filepath.Join(artifacts(t), "ui-reports.png"), 1280)
	summary, rest, _ := strings.Cut(page, `id="reports-unknown"`)
	for _, want := range []string{`id="reports-summary"`, "google.com", "legal", "no pool", "100.0%", "0.0%"} {
		if !strings.Contains(summary, want) {
			t.Errorf("reports page, summary, lacks %q", want)
		}
	}
	for _, want := range []string{"198.51.100.99", "spoofer.example.net", `id="reports-received"`, "decompression bomb", "r1"} {
		if !strings.Contains(rest, want) {
			t.Errorf("reports page lacks %q", want)
		}
	}
	if t.Failed() {
		os.WriteFile(filepath.Join(artifacts(t), "ui-reports.html"), []byte(page), 0o644)
	}
}
