package traceid

import (
	"strings"
	"testing"
	"time"
)

func TestNewIsVersion7AndSorts(t *testing.T) {
	before := time.Now().Add(-time.Millisecond)
	prev := New()
	for range 1000 {
		id := New()
		if id[6]>>4 != 7 || id[8]>>6 != 2 {
			t.Fatalf("%s: not a version 7, RFC 9562 variant UUID", id)
		}
		if id.String() <= prev.String() {
			t.Fatalf("%s made after %s sorts before it", id, prev)
		}
		prev = id
	}
	if got := prev.Time(); got.Before(before.Truncate(time.Millisecond)) || got.After(time.Now()) {
		t.Fatalf("Time() = %s, want about now", got)
	}
}

func TestParse(t *testing.T) {
	id := New()
	tests := []struct {
		in string
		ok bool
	}{
		{id.String(), true},
		{strings.ToUpper(id.String()), true},
		{"  " + id.String() + "\r\n", true},
		{"", false},
		{id.String()[:35], false},
		{id.String() + "0", false},
		{"0190c7a2-9b1d-7xyz-8abc-0123456789ab", false},
		{"0190c7a29b1d-7abc-8abc-0123456789abc", false},
		{"{" + id.String()[1:35] + "}", false},
	}
	for _, tt := range tests {
		got, ok := Parse(tt.in)
		if ok != tt.ok {
			t.Errorf("Parse(%q) ok = %v, want %v", tt.in, ok, tt.ok)
			continue
		}
		if ok && got != id {
			t.Errorf("Parse(%q) = %s, want %s", tt.in, got, id)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add(New().String())
	f.Add("0190c7a2-9b1d-7abc-8abc-0123456789ab")
	f.Add("-------------------------------------")
	f.Fuzz(func(t *testing.T, s string) {
		id, ok := Parse(s)
		if !ok {
			return
		}
		again, ok := Parse(id.String())
		if !ok || again != id {
			t.Fatalf("%q parsed to %s, which does not parse back", s, id)
		}
	})
}
