package evidence

import (
	"bytes"
	"errors"
	"math"
	"strconv"
	"testing"
)

// The number vectors of RFC 8785 appendix B: IEEE 754 bit patterns and
// the text ECMAScript writes for them.
func TestFormatNumberRFC8785Vectors(t *testing.T) {
	tests := []struct {
		bits string
		want string
	}{
		{"0000000000000000", "0"},
		{"8000000000000000", "0"},
		{"0000000000000001", "5e-324"},
		{"8000000000000001", "-5e-324"},
		{"7fefffffffffffff", "1.7976931348623157e+308"},
		{"ffefffffffffffff", "-1.7976931348623157e+308"},
		{"4340000000000000", "9007199254740992"},
		{"c340000000000000", "-9007199254740992"},
		{"4430000000000000", "295147905179352830000"},
		{"44b52d02c7e14af5", "9.999999999999997e+22"},
		{"44b52d02c7e14af6", "1e+23"},
		{"44b52d02c7e14af7", "1.0000000000000001e+23"},
		{"444b1ae4d6e2ef4e", "999999999999999700000"},
		{"444b1ae4d6e2ef4f", "999999999999999900000"},
		{"444b1ae4d6e2ef50", "1e+21"},
		{"3eb0c6f7a0b5ed8c", "9.999999999999997e-7"},
		{"3eb0c6f7a0b5ed8d", "0.000001"},
		{"41b3de4355555553", "333333333.3333332"},
		{"41b3de4355555554", "333333333.33333325"},
		{"41b3de4355555555", "333333333.3333333"},
		{"41b3de4355555556", "333333333.3333334"},
		{"41b3de4355555557", "333333333.33333343"},
		{"becbf647612f3696", "-0.0000033333333333333333"},
		{"43143ff3c1cb0959", "1424953923781206.2"},
	}
	for _, tt := range tests {
		t.Run(tt.bits, func(t *testing.T) {
			u, err := strconv.ParseUint(tt.bits, 16, 64)
			if err != nil {
				t.Fatal(err)
			}
			got, err := formatNumber(math.Float64frombits(u))
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("formatNumber(%s) = %s, want %s", tt.bits, got, tt.want)
			}
		})
	}
	for _, bits := range []uint64{0x7fffffffffffffff, 0x7ff0000000000000, 0xfff0000000000000} {
		if _, err := formatNumber(math.Float64frombits(bits)); !errors.Is(err, ErrNotCanonical) {
			t.Errorf("formatNumber(%x): err %v, want ErrNotCanonical", bits, err)
		}
	}
}

func TestCanonicalize(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{
			name: "RFC 8785 section 3.2.4 example",
			in: `{
  "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
  "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
  "literals": [null, true, false]
}`,
			want: `{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}`,
		},
		{
			name: "RFC 8785 section 3.2.3 sorting by UTF-16 code units",
			in: `{
  "\u20ac": "Euro Sign",
  "\r": "Carriage Return",
  "\ufb33": "Hebrew Letter Dalet With Dagesh",
  "1": "One",
  "\ud83d\ude00": "Emoji: Grinning Face",
  "\u0080": "Control",
  "\u00f6": "Latin Small Letter O With Diaeresis"
}`,
			want: "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u0080\":\"Control\",\"\u00f6\":\"Latin Small Letter O With Diaeresis\",\"\u20ac\":\"Euro Sign\",\"\U0001F600\":\"Emoji: Grinning Face\",\"\ufb33\":\"Hebrew Letter Dalet With Dagesh\"}",
		},
		{name: "nested and empty", in: ` { "b" : [ {}, [] ], "a" : { "d": 1, "c": -0 } } `, want: `{"a":{"c":0,"d":1},"b":[{},[]]}`},
		{name: "html characters stay literal", in: `"<a href=\"x\">&</a>\u2028"`, want: "\"<a href=\\\"x\\\">&</a>\u2028\""},
		{name: "controls", in: `"\u0000\u001f\b\f\t"`, want: `"\u0000\u001f\b\f\t"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Canonicalize([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("Canonicalize:\n got %s\nwant %s", got, tt.want)
			}
			again, err := Canonicalize(got)
			if err != nil || string(again) != string(got) {
				t.Errorf("canonical form is not a fixed point: %s, %v", again, err)
			}
		})
	}
}

func TestCanonicalizeRefuses(t *testing.T) {
	tests := []struct{ name, in string }{
		{"invalid UTF-8", "\"\xff\""},
		{"duplicate member", `{"a":1,"a":2}`},
		{"trailing data", `{} {}`},
		{"not JSON", `{"a":}`},
		{"huge number", `1e400`},
		{"empty", ``},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Canonicalize([]byte(tt.in)); !errors.Is(err, ErrNotCanonical) {
				t.Errorf("Canonicalize(%q): err %v, want ErrNotCanonical", tt.in, err)
			}
		})
	}
}

func FuzzCanonicalize(f *testing.F) {
	for _, s := range []string{`{"a":[1,2.5,"x"]}`, `"\u00e9"`, `1e21`, `[null,true]`, `{"b":{"a":-0.0}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		out, err := Canonicalize(data)
		if err != nil {
			return
		}
		again, err := Canonicalize(out)
		if err != nil {
			t.Fatalf("canonical form %q refused: %v", out, err)
		}
		if string(again) != string(out) {
			t.Fatalf("not a fixed point: %q -> %q", out, again)
		}
	})
}

func TestCheckCanonical(t *testing.T) {
	tests := []struct {
		name, in string
		ok       bool
	}{
		{"canonical", `{"a":[1,2.5,"x\n\u001f"],"b":{"":null,"c":true}}`, true},
		{"sorted by UTF-16", "{\"\\r\":1,\"1\":2,\"\u0080\":3,\"\U0001F600\":4,\"\ufb33\":5}", true},
		{"whitespace", `{"a": 1}`, false},
		{"unsorted", `{"b":1,"a":2}`, false},
		{"duplicate", `{"a":1,"a":2}`, false},
		{"escaped slash", `"\/"`, false},
		{"escaped letter", `"\u0041"`, false},
		{"long form of a short escape", `"\u000a"`, false},
		{"upper-case hex", `"\u001F"`, false},
		{"number not canonical", `1.50`, false},
		{"exponent not canonical", `1E30`, false},
		{"negative zero", `-0`, false},
		{"trailing", `{}x`, false},
		{"cut", `{"a":`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := CheckCanonical([]byte(tt.in)); (err == nil) != tt.ok {
				t.Errorf("CheckCanonical(%s): %v, want ok %v", tt.in, err, tt.ok)
			}
		})
	}
}

func FuzzCheckCanonical(f *testing.F) {
	for _, s := range []string{`{"a":[1,2.5,"x"]}`, `"\u00e9"`, `1e21`, `[null,true]`, `{"b":{"a":-0.0}}`, `"\u001f\n"`, `{"a":1,"b":2}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		canon, cerr := Canonicalize(data)
		same := cerr == nil && bytes.Equal(canon, data)
		if err := CheckCanonical(data); (err == nil) != same {
			t.Fatalf("CheckCanonical(%q) = %v, but Canonicalize gives %q, %v", data, err, canon, cerr)
		}
	})
}
