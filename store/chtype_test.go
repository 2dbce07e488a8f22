package store_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/mailtrace/mailtrace/store/storetest"
)

// Every type the decoder reads, read back from the embedded ClickHouse's
// own output: a known answer for each.
func TestDecodeTypes(t *testing.T) {
	st := storetest.Chdb(t)
	day := time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name, expr string
		want       any
	}{
		{"String", "'a\\0b'", "a\x00b"},
		{"FixedString", "toFixedString('ab', 3)", "ab\x00"},
		{"LowCardinality", "toLowCardinality('x')", "x"},
		{"Nullable null", "CAST(NULL AS Nullable(String))", nil},
		{"Nullable value", "CAST('v' AS Nullable(String))", "v"},
		{"Bool", "true", true},
		{"UInt8", "toUInt8(200)", uint8(200)},
		{"Int8", "toInt8(-3)", int8(-3)},
		{"Enum8", "CAST('b' AS Enum8('a' = 1, 'b' = -2))", "b"},
		{"UInt16", "toUInt16(65000)", uint16(65000)},
		{"Int16", "toInt16(-300)", int16(-300)},
		{"Date", "toDate('2024-01-02')", day},
		{"Enum16", "CAST('z' AS Enum16('z' = 1000))", "z"},
		{"UInt32", "toUInt32(4000000000)", uint32(4000000000)},
		{"Int32", "toInt32(-70000)", int32(-70000)},
		{"Float32", "toFloat32(1.5)", float32(1.5)},
		{"Date32", "toDate32('1960-01-02')", time.Date(1960, 1, 2, 0, 0, 0, 0, time.UTC)},
		{"DateTime", "toDateTime('2024-01-02 03:04:05', 'UTC')", time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)},
		{"IPv4", "toIPv4('192.0.2.7')", "192.0.2.7"},
		{"UInt64", "toUInt64(18000000000000000000)", uint64(18000000000000000000)},
		{"Int64", "toInt64(-5000000000)", int64(-5000000000)},
		{"Float64", "toFloat64(-2.25)", -2.25},
		{"DateTime64", "toDateTime64('2024-01-02 03:04:05.123456', 6, 'UTC')", time.Date(2024, 1, 2, 3, 4, 5, 123456000, time.UTC)},
		{"UUID", "toUUID('0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b')", "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"},
		{"IPv6", "toIPv6('2001:db8::1')", "2001:db8::1"},
		{"IPv6 mapped IPv4", "toIPv6('::ffff:192.0.2.7')", "192.0.2.7"},
		{"Array(String)", "['a', 'b']", []string{"a", "b"}},
		{"Array(UInt8)", "[toUInt8(1), 2]", []any{uint8(1), uint8(2)}},
		{"Tuple", "tuple('a', toUInt8(1))", []any{"a", uint8(1)}},
		{"Map", "map('k', toUInt8(1))", map[string]any{"k": uint8(1)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, err := st.Query(context.Background(), "SELECT "+tt.expr, nil)
			if err != nil {
				t.Fatal(err)
			}
			all, err := rows.All()
			if err != nil || len(all) != 1 || len(all[0]) != 1 {
				t.Fatalf("%d rows, %v", len(all), err)
			}
			if got := all[0][0]; !reflect.DeepEqual(got, tt.want) {
				t.Errorf("SELECT %s = %#v (%T), want %#v (%T)", tt.expr, got, got, tt.want, tt.want)
			}
		})
	}
}
