package postfixlog

import (
	"bytes"
	"testing"
)

// BenchmarkParse parses the realistic sample mix, line by line.
func BenchmarkParse(b *testing.B) {
	lines := bytes.Split([]byte(sampleLog), []byte("\n"))
	size := 0
	for _, l := range lines {
		size += len(l) + 1
	}
	p := Parser{Reference: ref}
	var r Record
	b.SetBytes(int64(size))
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		for _, l := range lines {
			p.Parse(l, &r)
		}
		n += len(lines)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "lines/s")
}

func FuzzParse(f *testing.F) {
	for _, l := range bytes.Split([]byte(sampleLog), []byte("\n")) {
		f.Add(l)
	}
	f.Add([]byte("2026-11-25T10:00:00.123456+01:00 h postfix/smtp[1]: ABC123DEF: to=<"))
	f.Add([]byte("Nov 25 10:00:00 h postfix/cleanup[1]: ABC123DEF: reject: header ; from=<"))
	f.Fuzz(func(t *testing.T, line []byte) {
		p := Parser{Reference: ref}
		var r Record
		p.Parse(line, &r)
		// Every field points into the line.
		for _, f := range [][]byte{r.Host, r.Program, r.QueueID, r.To, r.From, r.Response, r.HeaderValue, r.Child, r.ActionText} {
			if len(f) > len(line) {
				t.Fatalf("field longer than the line")
			}
		}
	})
}
