package dsn

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/mailtrace/mailtrace/reply"
)

// corpus is flufl.bounce's collection of real bounces from dozens of MTAs
// (Debian's python3-flufl.bounce; make setup installs it).
const corpus = "/usr/lib/python3/dist-packages/flufl/bounce/tests/data"

// TestAgreesWithSisimai compares, per recipient, the enhanced status code
// read here with what Sisimai (Debian's libsisimai-perl), a mature bounce
// library, reads from the same files. Where the bounce carries no code,
// Sisimai makes one up from its reason (5.0.9xx, "pseudo"): then only the
// class is compared. The goal is agreement on at least 9 recipients in 10.
func TestAgreesWithSisimai(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(corpus, "*.txt"))
	if len(files) == 0 {
		t.Skip("no bounce corpus (make setup installs Debian's python3-flufl.bounce)")
	}
	if exec.Command("perl", "-MSisimai", "-e1").Run() != nil {
		t.Skip("Sisimai is not installed (make setup installs Debian's libsisimai-perl)")
	}
	out, err := exec.Command("perl", append([]string{"testdata/sisimai.pl"}, files...)...).Output()
	if err != nil {
		t.Fatalf("sisimai: %v", err)
	}
	type key struct{ file, addr string }
	want := map[key]string{} // status, or "vacation" for an automatic reply
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(line, "\t")
		if len(f) == 4 && f[1] != "-" {
			if f[3] == "vacation" {
				f[2] = "vacation"
			}
			want[key{filepath.Base(f[0]), strings.ToLower(f[1])}] = f[2]
		}
	}
	var agree, exact, exactAgree, missing int
	var disagreements []string
	for _, path := range files {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		rep, err := ParseBytes(raw)
		if err != nil {
			t.Errorf("%s: %v", filepath.Base(path), err)
			continue
		}
		got := map[string]string{}
		for _, r := range rep.Recipients {
			got[strings.ToLower(r.Address)] = r.Status
			if rep.Kind == KindAutoReply {
				got[strings.ToLower(r.Address)] = "vacation"
			}
		}
		for k, status := range want {
			if k.file != filepath.Base(path) {
				continue
			}
			mine, ok := got[k.addr]
			pseudo := len(status) > 5 && status[1:5] == ".0.9"
			if !pseudo {
				exact++
			}
			switch {
			case !ok:
				missing++
				disagreements = append(disagreements, k.file+" "+k.addr+": not found ("+string(rep.Kind)+")")
			case pseudo && mine != "" && mine[0] == status[0], !pseudo && strings.EqualFold(mine, status):
				agree++
				if !pseudo {
					exactAgree++
				}
			default:
				disagreements = append(disagreements, k.file+" "+k.addr+": "+mine+", Sisimai "+status)
			}
		}
	}
	sort.Strings(disagreements)
	for _, d := range disagreements {
		t.Log(d)
	}
	t.Logf("%d files, %d recipients read by Sisimai: %d agree (%.1f%%); %d carry a real code, %d of them equal; %d not found here",
		len(files), len(want), agree, 100*float64(agree)/float64(len(want)), exact, exactAgree, missing)
	if float64(agree) < 0.9*float64(len(want)) {
		t.Errorf("agreement %d of %d is under 9 in 10", agree, len(want))
	}
}

// BenchmarkParseCorpus parses flufl.bounce's real bounces, all of them per
// iteration (bench/dsn.sh compares it with Sisimai on the same files).
func BenchmarkParseCorpus(b *testing.B) {
	files, _ := filepath.Glob(filepath.Join(corpus, "*.txt"))
	if len(files) == 0 {
		b.Skip("no bounce corpus (make setup installs Debian's python3-flufl.bounce)")
	}
	var raws [][]byte
	var size int64
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		raws = append(raws, raw)
		size += int64(len(raw))
	}
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		for _, raw := range raws {
			if _, err := ParseBytes(raw); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.N*len(raws))/b.Elapsed().Seconds(), "reports/s")
}

// BenchmarkParseClassifyCorpus is BenchmarkParseCorpus with every report
// classified as well, as the intake does: the figure that counts for a
// report received.
func BenchmarkParseClassifyCorpus(b *testing.B) {
	files, _ := filepath.Glob(filepath.Join(corpus, "*.txt"))
	if len(files) == 0 {
		b.Skip("no bounce corpus (make setup installs Debian's python3-flufl.bounce)")
	}
	var raws [][]byte
	var size int64
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		raws = append(raws, raw)
		size += int64(len(raw))
	}
	c := reply.Default()
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		for _, raw := range raws {
			rep, err := ParseBytes(raw)
			if err != nil {
				b.Fatal(err)
			}
			rep.Classify(c)
		}
	}
	b.ReportMetric(float64(b.N*len(raws))/b.Elapsed().Seconds(), "reports/s")
}
