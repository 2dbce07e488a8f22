package store

import (
	"strings"
	"testing"
	"time"
)

func TestQuote(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", `''`},
		{"plain", `'plain'`},
		{"it's", `'it\'s'`},
		{`back\slash`, `'back\\slash'`},
		{"nul\x00byte", `'nul\0byte'`},
		{"tab\tnl\ncr\r", `'tab\tnl\ncr\r'`},
		{"bell\x07del\x7f", `'bell\x07del\x7F'`},
		{"\xff\xfe invalid", "'\xff\xfe invalid'"},
		{"héllo", "'héllo'"},
	}
	for _, tt := range tests {
		if got := Quote(tt.in); got != tt.want {
			t.Errorf("Quote(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestQuoteIdent(t *testing.T) {
	tests := []struct{ in, want string }{
		{"delivery_events", "`delivery_events`"},
		{"we`ird", "`we\\`ird`"},
		{`a\b`, "`a\\\\b`"},
	}
	for _, tt := range tests {
		if got := QuoteIdent(tt.in); got != tt.want {
			t.Errorf("QuoteIdent(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestBindParams(t *testing.T) {
	at := time.Date(2026, 11, 25, 10, 0, 0, 123456000, time.UTC)
	tests := []struct {
		query   string
		params  Params
		want    string
		wantErr string
	}{
		{"SELECT {s:String}", Params{"s": "a'b"}, `SELECT CAST('a\'b' AS String)`, ""},
		{"SELECT {n:UInt32}, {n:UInt32}", Params{"n": 7}, "SELECT CAST('7' AS UInt32), CAST('7' AS UInt32)", ""},
		{"SELECT * FROM {t:Identifier}", Params{"t": "x`y"}, "SELECT * FROM `x\\`y`", ""},
		{"SELECT {t:DateTime64(6, 'UTC')}", Params{"t": at}, "SELECT CAST('2026-11-25 10:00:00.123456' AS DateTime64(6, 'UTC'))", ""},
		{"SELECT '{s:String}', {s:String}", Params{"s": "x"}, "SELECT '{s:String}', CAST('x' AS String)", ""},
		{"SELECT 1 -- {s:String}\n", nil, "SELECT 1 -- {s:String}\n", ""},
		{"SELECT {a:Array(String)}", Params{"a": []string{"x'", "y"}}, `SELECT CAST('[\'x\\\'\',\'y\']' AS Array(String))`, ""},
		{"SELECT {missing:String}", Params{}, "", `"missing" has no value`},
		{"SELECT {f:Float64}", Params{"f": struct{}{}}, "", "not supported"},
		{"SELECT map('a', 1)['a'], {x}", nil, "SELECT map('a', 1)['a'], {x}", ""},
	}
	for _, tt := range tests {
		got, err := bindParams(tt.query, tt.params)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("bindParams(%q) error = %v, want %q", tt.query, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("bindParams(%q) = %s, %v; want %s", tt.query, got, err, tt.want)
		}
	}
}

func TestReadOnlyQuery(t *testing.T) {
	tests := []struct {
		in, want, wantErr string
	}{
		{"SELECT 1", "SELECT 1", ""},
		{"  select 1 ;; ", "select 1", ""},
		{"WITH x AS (SELECT 1) SELECT * FROM x", "WITH x AS (SELECT 1) SELECT * FROM x", ""},
		{"-- who\n/* bounced */ (SELECT 1)", "-- who\n/* bounced */ (SELECT 1)", ""},
		{"SELECT ';' AS semi", "SELECT ';' AS semi", ""},
		{"INSERT INTO delivery_events VALUES (1)", "", "refused: INSERT"},
		{"drop table accept_records", "", "refused: DROP"},
		{"ALTER TABLE x DELETE WHERE 1", "", "refused: ALTER"},
		{"SYSTEM STOP MERGES", "", "refused: SYSTEM"},
		{"/* x */ TRUNCATE TABLE bounces", "", "refused: TRUNCATE"},
		{"SELECT 1; DROP TABLE bounces", "", "more than one statement"},
		{"SELECT 1 # ' \n) ; DROP TABLE x; --", "", "more than one statement"},
		{"SELECT $$ ; $$", "SELECT $$ ; $$", ""},
		{"SELECT $t$ '$t$; DROP TABLE x", "", "more than one statement"},
		{"SELECT 'a\\'; DROP TABLE x", "", "unterminated"},
		{"SELECT 1 /* /* */ ; */", "SELECT 1 /* /* */ ; */", ""},
		{"SELECT 1 /* ; ", "", "unterminated comment"},
		{"SHOW TABLES", "", "SHOW is not supported"},
		{"", "", "empty query"},
		{"-- only a comment", "", "empty query"},
	}
	for _, tt := range tests {
		got, err := readOnlyQuery(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("readOnlyQuery(%q) error = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("readOnlyQuery(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestSplitStatements(t *testing.T) {
	got := SplitStatements("CREATE TABLE a (x String DEFAULT ';');\n-- comment; here\n;\nSELECT 'b\\';'; -- tail")
	want := []string{"CREATE TABLE a (x String DEFAULT ';')", "SELECT 'b\\';'"}
	if len(got) != len(want) {
		t.Fatalf("got %d statements %q, want %q", len(got), got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("statement %d = %q, want %q", i, got[i], want[i])
		}
	}
}

func TestParseType(t *testing.T) {
	tests := []struct {
		in, name string
		args     int
		size     int
		wantErr  bool
	}{
		{"String", "String", 0, 0, false},
		{"LowCardinality(String)", "LowCardinality", 1, 0, false},
		{"Array(LowCardinality(Nullable(String)))", "Array", 1, 0, false},
		{"DateTime64(6, 'UTC')", "DateTime64", 0, 6, false},
		{"FixedString(32)", "FixedString", 0, 32, false},
		{"SimpleAggregateFunction(min, DateTime64(6, 'UTC'))", "DateTime64", 0, 6, false},
		{"SimpleAggregateFunction(min)", "", 0, 0, true},
		{"Map(String, Array(UInt64))", "Map", 2, 0, false},
		{"Tuple(a String, b UInt8)", "Tuple", 2, 0, false},
		{"Enum8('a' = 1, 'b,c' = -2)", "Enum8", 0, 0, false},
		{"Array(String", "", 0, 0, true},
		{"DateTime64(x)", "", 0, 0, true},
		{"Nullable()", "", 0, 0, true},
		{"", "", 0, 0, true},
	}
	for _, tt := range tests {
		got, err := parseType(tt.in)
		if tt.wantErr {
			if err == nil {
				t.Errorf("parseType(%q) = %+v, want an error", tt.in, got)
			}
			continue
		}
		if err != nil || got.name != tt.name || len(got.args) != tt.args || got.size != tt.size {
			t.Errorf("parseType(%q) = %+v, %v", tt.in, got, err)
		}
	}
	e, _ := parseType("Enum8('a' = 1, 'b,c' = -2)")
	if e.enum[1] != "a" || e.enum[-2] != "b,c" {
		t.Errorf("enum values = %v", e.enum)
	}
}

// TestEncodeDecode checks the encoder against the decoder for every type
// mailtrace writes.
func TestEncodeDecode(t *testing.T) {
	at := time.Date(2026, 11, 25, 10, 0, 0, 123456000, time.UTC)
	table := &Table{Name: "t", Columns: []Column{
		{"s", "String"}, {"lc", "LowCardinality(String)"}, {"a", "Array(String)"}, {"u8", "UInt8"},
		{"u16", "UInt16"}, {"u32", "UInt32"}, {"u64", "UInt64"}, {"f", "Float32"}, {"t", "DateTime64(6, 'UTC')"},
		{"id", "UUID"}, {"fx", "FixedString(3)"},
	}}
	e := NewEncoder(table)
	uuid := [16]byte{0x01, 0x93, 0x4f, 0x6a, 0, 0, 0x70, 0, 0x80, 0, 0, 0, 0, 0, 0, 0xff}
	e.String("a\x00'\\\xff")
	e.String("legal")
	e.StringArray([]string{"x", ""})
	e.UInt8(200)
	e.UInt16(25)
	e.UInt32(1 << 31)
	e.UInt64(1<<64 - 1)
	e.Float32(1.5)
	e.DateTime64(at, 6)
	e.UUID(uuid)
	e.FixedBytes([]byte("abc"))
	b, err := e.Seal()
	if err != nil {
		t.Fatal(err)
	}
	rows, err := decodeBlock(b)
	if err != nil {
		t.Fatal(err)
	}
	r := rows[0]
	want := []any{"a\x00'\\\xff", "legal", []string{"x", ""}, uint8(200), uint16(25), uint32(1 << 31), uint64(1<<64 - 1),
		float32(1.5), at, "01934f6a-0000-7000-8000-0000000000ff", "abc"}
	for i := range want {
		if !equal(r[i], want[i]) {
			t.Errorf("column %s = %#v, want %#v", table.Columns[i].Name, r[i], want[i])
		}
	}
	b.Data = b.Data[:len(b.Data)-1]
	if _, err := decodeBlock(b); err == nil {
		t.Error("decoding truncated data: want an error")
	}
	e.String("only one column")
	if _, err := e.Seal(); err == nil {
		t.Error("sealing a partial row: want an error")
	}
}

func equal(a, b any) bool {
	if as, ok := a.([]string); ok {
		bs, ok := b.([]string)
		if !ok || len(as) != len(bs) {
			return false
		}
		for i := range as {
			if as[i] != bs[i] {
				return false
			}
		}
		return true
	}
	if at, ok := a.(time.Time); ok {
		bt, ok := b.(time.Time)
		return ok && at.Equal(bt)
	}
	return a == b
}

func FuzzParseType(f *testing.F) {
	for _, s := range []string{"String", "Array(LowCardinality(Nullable(String)))", "DateTime64(6, 'UTC')",
		"Enum8('a' = 1)", "Map(String, UInt64)", "Tuple(a String, b Array(UInt8))", "((", "Enum8('\\'' = 1)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		parseType(s) // must not panic
	})
}

// FuzzRowBinaryRows feeds arbitrary bytes to the result reader, which reads
// what libchdb sends back.
func FuzzRowBinaryRows(f *testing.F) {
	var seed []byte
	for _, s := range []string{"a", "b", "Array(Nullable(String))", "Map(String, UInt64)"} {
		seed = appendString(seed, s)
	}
	f.Add(append([]byte{2}, append(seed, 1, 1, 'x', 0)...))
	f.Add([]byte{1, 1, 'x', 6, 'S', 't', 'r', 'i', 'n', 'g', 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, data []byte) {
		d := &decoder{b: data}
		_, types, err := readHeader(d)
		if err != nil {
			return
		}
		for i := 0; i < 1000 && d.i < len(d.b); i++ {
			for _, ty := range types {
				if _, err := d.value(ty); err != nil {
					return
				}
			}
		}
	})
}

func FuzzReadOnlyQuery(f *testing.F) {
	for _, s := range []string{"SELECT 1", "WITH a AS (SELECT 1) SELECT * FROM a", "DROP TABLE x", "SELECT 1; DROP TABLE x", "/* */ -- \n SELECT"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, err := readOnlyQuery(s)
		if err != nil {
			return
		}
		w := strings.ToUpper(firstKeyword(q))
		if w != "SELECT" && w != "WITH" {
			t.Fatalf("accepted %q starting with %q", s, w)
		}
		if strings.Contains(q, ";") {
			semi := false
			scanSQL(q, func(i int) int { semi = semi || q[i] == ';'; return i })
			if semi {
				t.Fatalf("accepted %q with a semicolon outside literals", s)
			}
		}
	})
}

// FuzzDecodeBlock feeds arbitrary bytes to the Native block reader, which
// reads dead-lettered files and blocks bound for a server.
func FuzzDecodeBlock(f *testing.F) {
	table := &Table{Name: "t", Columns: []Column{{"s", "String"}, {"a", "Array(String)"}, {"n", "UInt64"}}}
	e := NewEncoder(table)
	e.String("x")
	e.StringArray([]string{"y", "z"})
	e.UInt64(7)
	b, _ := e.Seal()
	f.Add(b.Data, 1)
	f.Add([]byte{3, 1, 1, 's', 6, 'S', 't', 'r', 'i', 'n', 'g', 0xff, 0xff, 0xff, 0xff, 0x0f}, 1)
	f.Fuzz(func(t *testing.T, data []byte, rows int) {
		decodeBlock(&NativeBlock{Table: table, Rows: rows, Data: data}) // must not panic
	})
}

func TestScanValue(t *testing.T) {
	var s string
	var u uint64
	var i int64
	var b bool
	var f float64
	var ts time.Time
	var arr []string
	now := time.Now()
	ok := []struct {
		dst, v any
		check  func() bool
	}{
		{&s, "x", func() bool { return s == "x" }},
		{&u, uint32(7), func() bool { return u == 7 }},
		{&i, int8(-2), func() bool { return i == -2 }},
		{&b, uint8(1), func() bool { return b }},
		{&b, false, func() bool { return !b }},
		{&f, float32(1.5), func() bool { return f == 1.5 }},
		{&ts, now, func() bool { return ts.Equal(now) }},
		{&arr, []string{"a"}, func() bool { return len(arr) == 1 }},
	}
	for _, tt := range ok {
		if err := scanValue(tt.dst, tt.v); err != nil || !tt.check() {
			t.Errorf("scanValue(%T, %#v): %v", tt.dst, tt.v, err)
		}
	}
	for _, tt := range []struct{ dst, v any }{{&s, 1}, {&u, "1"}, {&f, 1}, {&ts, "2026-01-01"}, {&arr, "a"}, {new(int), 1}} {
		if err := scanValue(tt.dst, tt.v); err == nil {
			t.Errorf("scanValue(%T, %#v) accepted", tt.dst, tt.v)
		}
	}
}
