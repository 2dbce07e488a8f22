package evidence

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

var updateVectors = flag.Bool("update-vectors", false, "write the bundle test vectors in testdata/bundles anew")

const vectorDir = "testdata/bundles"

// bundleVector is one test vector: a mutation of the valid bundle and
// the check it must fail.
type bundleVector struct {
	name   string
	fails  string // the check it is made to fail ("" for the valid bundle)
	mutate func(t *testing.T, b *Bundle, other *bundleVectorKeys) []byte
}

type bundleVectorKeys struct {
	otherKey   *Key
	otherToken []byte
}

var bundleVectors = []bundleVector{
	{"valid", "", func(t *testing.T, b *Bundle, _ *bundleVectorKeys) []byte { return rezip(t, b, false) }},
	{"manifest-hash", "manifest", func(t *testing.T, b *Bundle, _ *bundleVectorKeys) []byte {
		name := vectorRecords(b)[3]
		b.Files[name] = bytes.Replace(b.Files[name], []byte("Greylisted"), []byte("greylisted"), 1)
		return rezip(t, b, false)
	}},
	{"record-not-canonical", "records", func(t *testing.T, b *Bundle, _ *bundleVectorKeys) []byte {
		name := vectorRecords(b)[3]
		b.Files[name] = bytes.Replace(b.Files[name], []byte(`","`), []byte(`", "`), 1)
		return rezip(t, b, true)
	}},
	{"records-swapped", "records", func(t *testing.T, b *Bundle, _ *bundleVectorKeys) []byte {
		rs := vectorRecords(b)
		b.Files[rs[4]], b.Files[rs[5]] = b.Files[rs[5]], b.Files[rs[4]]
		return rezip(t, b, true)
	}},
	{"record-removed", "chains", func(t *testing.T, b *Bundle, _ *bundleVectorKeys) []byte {
		name := vectorRecords(b)[6]
		delete(b.Files, name)
		var pr Proofs
		json.Unmarshal(b.Files["logs/1/proofs.json"], &pr)
		pr.Inclusion = slices.DeleteFunc(pr.Inclusion, func(p ProofPath) bool { return strings.HasSuffix(name, "/"+strconv.FormatInt(p.Index, 10)+".json") })
		b.Files["logs/1/proofs.json"], _ = json.MarshalIndent(pr, "", "  ")
		return rezip(t, b, true)
	}},
	{"record-changed", "inclusion", func(t *testing.T, b *Bundle, _ *bundleVectorKeys) []byte {
		rs := vectorRecords(b)
		name := rs[len(rs)-3]
		b.Files[name] = bytes.Replace(b.Files[name], []byte("250 2.0.0 Ok"), []byte("250 2.0.0 OK"), 1)
		return rezip(t, b, true)
	}},
	{"checkpoint-other-key", "checkpoint", func(t *testing.T, b *Bundle, k *bundleVectorKeys) []byte {
		b.Files["keys/log.pub"] = []byte(k.otherKey.Public + "\n")
		return rezip(t, b, true)
	}},
	{"consistency-broken", "consistency", func(t *testing.T, b *Bundle, _ *bundleVectorKeys) []byte {
		var pr Proofs
		json.Unmarshal(b.Files["logs/1/proofs.json"], &pr)
		h, _ := base64.StdEncoding.DecodeString(pr.Consistency[0])
		h[0] ^= 1
		pr.Consistency[0] = base64.StdEncoding.EncodeToString(h)
		b.Files["logs/1/proofs.json"], _ = json.MarshalIndent(pr, "", "  ")
		return rezip(t, b, true)
	}},
	{"token-other-checkpoint", "time stamp", func(t *testing.T, b *Bundle, k *bundleVectorKeys) []byte {
		b.Files["logs/1/checkpoint.tsr"] = k.otherToken
		return rezip(t, b, true)
	}},
}

func vectorRecords(b *Bundle) []string {
	var out []string
	for n := range b.Files {
		if strings.HasPrefix(n, "logs/1/records/") {
			out = append(out, n)
		}
	}
	slices.SortFunc(out, cmpIndex)
	return out
}

// writeVectors makes the vectors from a fresh log, TSA and keys.
func writeVectors(t *testing.T) {
	tsa := startTSA(t)
	key, other := testKey(t), testKey(t)
	st, notice := bundleLog(t, key, tsa, 2)
	data, _ := exportBundle(t, st, key, notice)
	var pr Proofs
	json.Unmarshal(readBundle(t, data).Files["logs/1/proofs.json"], &pr)
	keys := &bundleVectorKeys{otherKey: other}
	for _, a := range st.anchors[testOrigin] {
		if a.Size != pr.CheckpointSize {
			keys.otherToken = a.Token
		}
	}
	os.RemoveAll(vectorDir)
	os.MkdirAll(vectorDir, 0o755)
	for _, v := range bundleVectors {
		os.WriteFile(filepath.Join(vectorDir, v.name+".zip"), v.mutate(t, readBundle(t, data), keys), 0o644)
	}
	os.WriteFile(filepath.Join(vectorDir, "log.pub"), []byte(key.Public+"\n"), 0o644)
	root, _ := os.ReadFile(tsa.Root)
	os.WriteFile(filepath.Join(vectorDir, "tsa-root.pem"), root, 0o644)
}

func failedChecks(checks []Check) []string {
	var out []string
	for _, c := range checks {
		if !c.OK {
			out = append(out, c.Name)
		}
	}
	return out
}

// TestBundleVectors checks every vector with VerifyBundle and with the
// independent verifier scripts/verify-bundle.py: each mutation fails the
// check it was made for, and both verifiers fail the same checks.
func TestBundleVectors(t *testing.T) {
	if *updateVectors {
		writeVectors(t)
	}
	pub, err := os.ReadFile(filepath.Join(vectorDir, "log.pub"))
	if err != nil {
		t.Fatalf("%v (make them with go test ./evidence -run TestBundleVectors -update-vectors)", err)
	}
	vs, _, err := Verifiers(string(pub))
	if err != nil {
		t.Fatal(err)
	}
	roots, err := LoadTSARoots(filepath.Join(vectorDir, "tsa-root.pem"))
	if err != nil {
		t.Fatal(err)
	}
	python, pyErr := exec.LookPath("python3")
	for _, v := range bundleVectors {
		t.Run(v.name, func(t *testing.T) {
			path := filepath.Join(vectorDir, v.name+".zip")
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			opts := BundleVerifyOptions{Verifiers: vs, TSA: &TSAVerifier{Roots: roots}}
			if v.name == "checkpoint-other-key" { // with the bundle's own key: no --key
				opts.Verifiers = nil
			}
			checks, err := verifyBytes(t, data, opts)
			goFailed := failedChecks(checks)
			if v.fails == "" && err != nil || v.fails != "" && !slices.Contains(goFailed, v.fails) {
				t.Fatalf("Go verifier failed %v, want %q:\n%v", goFailed, v.fails, checks)
			}
			if pyErr != nil {
				t.Skip("python3 is not installed: the second verifier is not compared")
			}
			args := []string{"../scripts/verify-bundle.py", path, "--tsa-roots", filepath.Join(vectorDir, "tsa-root.pem")}
			if v.name != "checkpoint-other-key" {
				args = append(args, "--key", filepath.Join(vectorDir, "log.pub"))
			}
			out, err := exec.Command(python, args...).CombinedOutput()
			var pyFailed []string
			for _, line := range strings.Split(string(out), "\n") {
				if name, ok := strings.CutPrefix(line, "FAIL  "); ok {
					pyFailed = append(pyFailed, strings.SplitN(name, ":", 2)[0])
				}
			}
			if (err == nil) != (len(goFailed) == 0) || !slices.Equal(pyFailed, goFailed) {
				t.Errorf("verify-bundle.py failed %v (%v), the Go verifier %v:\n%s", pyFailed, err, goFailed, out)
			}
		})
	}
}
