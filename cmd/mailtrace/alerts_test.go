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
	for _, m := range regexp.MustCompile(`\bmailtrace_[a-z0-9_]+`).FindAllString(string(rules), -1) {
		used[m] = true
	}
	var unknown []string
	for name := range used {
		if !defined[name] {
			unknown = append(unknown, name)
		}
	}
	sort.Strings(unknown)
	if len(unknown) > 0 || len(used) < 8 {
		t.Errorf("the rules use %d metrics; not defined by mailtrace: %v", len(used), unknown)
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
