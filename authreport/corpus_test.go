package authreport

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

var updateGolden = flag.Bool("update", false, "rewrite testdata/corpus.golden.jsonl from the corpus")

// corpusDir is the shared corpus of real reports (shared/corpora/reports,
// beside the source tree), or "" when it is not there.
func corpusDir() string {
	for _, d := range []string{"../../shared/corpora/reports", "../../../shared/corpora/reports", "/work/shared/corpora/reports"} {
		if fi, err := os.Stat(d); err == nil && fi.IsDir() {
			return d
		}
	}
	return ""
}

// Every report of the shared corpus (real reports and parsers' samples from
// five projects) reads as it was checked to read, field by field (the
// golden file, checked against Python's own XML and JSON readers when it
// was made); none is refused.
func TestCorpus(t *testing.T) {
	dir := corpusDir()
	if dir == "" {
		t.Skip("no shared/corpora/reports beside the source tree")
	}
	var files []string
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && !strings.HasSuffix(path, ".md") {
			files = append(files, path)
		}
		return nil
	})
	sort.Strings(files)
	if len(files) < 39 {
		t.Fatalf("only %d files in %s", len(files), dir)
	}
	var got bytes.Buffer
	enc := json.NewEncoder(&got)
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(dir, f)
		for _, r := range Read(rel, raw) {
			if r.Err != nil {
				t.Errorf("%s refused: %v", rel, r.Err)
			}
			enc.Encode(r.JSON())
		}
	}
	golden := filepath.Join("testdata", "corpus.golden.jsonl")
	if *updateGolden {
		os.WriteFile(golden, got.Bytes(), 0o644)
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	gl, wl := strings.Split(got.String(), "\n"), strings.Split(string(want), "\n")
	if len(gl) != len(wl) {
		t.Errorf("%d reports read, golden has %d", len(gl)-1, len(wl)-1)
	}
	for i := range min(len(gl), len(wl)) {
		if gl[i] != wl[i] {
			t.Errorf("report %d differs:\ngot  %s\nwant %s", i+1, gl[i], wl[i])
		}
	}
}
