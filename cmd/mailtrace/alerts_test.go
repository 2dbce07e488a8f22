package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

const alertsDir = "../../deploy/prometheus"

// TestAlertRules checks the shipped Prometheus rules with promtool and
// runs their unit tests, then checks that every metric they use is one
// mailtrace defines and that every runbook link has its entry.
func TestAlertRules(t *testing.T) {
	rules, err := os.ReadFile(filepath.Join(alertsDir, "mailtrace-alerts.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := exec.LookPath("promtool"); err != nil {
		t.Skip("promtool is not installed (make setup installs Debian's prometheus)")
	}
	for _, args := range [][]string{{"check", "rules", "mailtrace-alerts.yml"}, {"test", "rules", "mailtrace-alerts.test.yml"}} {
		cmd := exec.Command("promtool", args...)
		cmd.Dir = alertsDir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}

	if n := checkMetricNames(t, "the alert rules", string(rules)); n < 8 {
		t.Errorf("the alert rules use only %d metrics", n)
	}
	runbook, err := os.ReadFile("../../docs/runbook.md")
	if err != nil {
		t.Fatal(err)
	}
	anchors := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^## (Mailtrace[A-Za-z]+)`).FindAllStringSubmatch(string(runbook), -1) {
		anchors["#"+strings.ToLower(m[1])] = true
	}
	links := regexp.MustCompile(`runbook_url: \S+/docs/runbook\.md(#[a-z]+)`).FindAllStringSubmatch(string(rules), -1)
	alerts := regexp.MustCompile(`- alert: (\S+)`).FindAllStringSubmatch(string(rules), -1)
	if len(links) != len(alerts) {
		t.Errorf("%d alerts, %d runbook links", len(alerts), len(links))
	}
	for _, l := range links {
		if !anchors[l[1]] {
			t.Errorf("runbook link %s has no entry in docs/runbook.md", l[1])
		}
	}
}

// TestDashboardMetrics checks that every PromQL expression of the Grafana
// dashboards names only metrics mailtrace defines.
func TestDashboardMetrics(t *testing.T) {
	files, _ := filepath.Glob("../../dashboards/json/*.json")
	if len(files) == 0 {
		t.Fatal("no dashboards")
	}
	total := 0
	defer func() {
		if total < 15 {
			t.Errorf("the dashboards name only %d metrics", total)
		}
	}()
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var exprs []string
		for _, m := range regexp.MustCompile(`"expr": "((?:[^"\\]|\\.)*)"`).FindAllStringSubmatch(string(raw), -1) {
			exprs = append(exprs, m[1])
		}
		if strings.Contains(f, "operations") && len(exprs) < 10 {
			t.Errorf("%s: only %d PromQL expressions", f, len(exprs))
		}
		total += checkMetricNames(t, filepath.Base(f), strings.Join(exprs, "\n"))
	}
}

// checkMetricNames fails for mailtrace_* names in promql that no metric
// defined in the code (a Name: "..." in non-test Go files) has, allowing a
// histogram's _bucket, _sum and _count series. It returns how many names
// promql uses.
func checkMetricNames(t *testing.T, what, promql string) int {
	t.Helper()
	defined := map[string]bool{}
	nameRe := regexp.MustCompile(`Name:\s*"(mailtrace_[a-z0-9_]+)"`)
	filepath.WalkDir("../..", func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() && strings.HasPrefix(d.Name(), ".") && path != "../.." {
			return filepath.SkipDir
		}
		if strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, "_test.go") {
			src, _ := os.ReadFile(path)
			for _, m := range nameRe.FindAllStringSubmatch(string(src), -1) {
				defined[m[1]] = true
			}
		}
		return nil
	})
	used := map[string]bool{}
	for _, m := range regexp.MustCompile(`\bmailtrace_[a-z0-9_]+`).FindAllString(promql, -1) {
		used[m] = true
	}
	var unknown []string
	for name := range used {
		base := name
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if b, ok := strings.CutSuffix(name, suffix); ok && defined[b] {
				base = b
			}
		}
		if !defined[base] {
			unknown = append(unknown, name)
		}
	}
	sort.Strings(unknown)
	if len(unknown) > 0 {
		t.Errorf("%s use metrics mailtrace does not define: %v", what, unknown)
	}
	return len(used)
}
