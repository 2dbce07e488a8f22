package store

import (
	"fmt"
	"math"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// SQLLimits bound every query an analyst gives mailtrace (`mailtrace sql`,
// /api/v1/sql). The engine applies them to that query alone: the embedded
// engine runs inside the sidecar, next to the milter, and a query that ran
// for hours or took all memory would hold up mail.
type SQLLimits struct {
	// MaxExecutionTime stops a query that runs longer (default 30s).
	MaxExecutionTime time.Duration `yaml:"max_execution_time"`
	// MaxMemory stops a query that needs more memory (default 2GiB).
	MaxMemory ByteSize `yaml:"max_memory"`
	// MaxResultRows stops a query whose answer has more rows (default
	// 1000000); add a LIMIT or an aggregate to ask for less.
	MaxResultRows uint64 `yaml:"max_result_rows"`
	// MaxThreads is how many cores one query may use (default half of
	// them, at least 1), so that the milter and the collector keep some.
	MaxThreads int `yaml:"max_threads"`
}

// DefaultSQLLimits are the limits without configuration.
func DefaultSQLLimits() SQLLimits {
	return SQLLimits{MaxExecutionTime: 30 * time.Second, MaxMemory: 2 << 30, MaxResultRows: 1_000_000,
		MaxThreads: max(1, runtime.NumCPU()/2)}
}

// Validate reports the first limit that cannot work.
func (l SQLLimits) Validate() error {
	switch {
	case l.MaxExecutionTime < time.Second:
		return fmt.Errorf("sql.max_execution_time is %v; give at least 1s (default 30s)", l.MaxExecutionTime)
	case l.MaxMemory < 16<<20:
		return fmt.Errorf("sql.max_memory is %v; give at least 16MiB (default 2GiB)", l.MaxMemory)
	case l.MaxResultRows < 1:
		return fmt.Errorf("sql.max_result_rows is 0; give a positive number of rows (default 1000000)")
	case l.MaxThreads < 1:
		return fmt.Errorf("sql.max_threads is %d; give a positive number of threads", l.MaxThreads)
	}
	return nil
}

// engineSetting is one setting mailtrace puts on an analyst's query.
type engineSetting struct {
	name, value string // value as SQL text
}

// settings are the engine settings that carry the limits. readonly = 1
// comes last: the engine's read-only mode refuses writes and, beyond what
// mailtrace's own check refuses, every table function that reaches files
// or hosts (file, url, s3...) and the file-backed default database of the
// embedded engine.
func (l SQLLimits) settings() []engineSetting {
	secs := int64(math.Ceil(l.MaxExecutionTime.Seconds()))
	return []engineSetting{
		{"max_execution_time", strconv.FormatInt(secs, 10)},
		{"timeout_overflow_mode", "'throw'"},
		{"max_memory_usage", strconv.FormatInt(int64(l.MaxMemory), 10)},
		{"max_result_rows", strconv.FormatUint(l.MaxResultRows, 10)},
		{"result_overflow_mode", "'throw'"},
		{"max_threads", strconv.Itoa(l.MaxThreads)},
		{"readonly", "1"},
	}
}

// settingsClause renders the settings as a SETTINGS clause.
func (l SQLLimits) settingsClause() string {
	var b strings.Builder
	b.WriteString("SETTINGS ")
	for i, s := range l.settings() {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(s.name + " = " + s.value)
	}
	return b.String()
}

// ByteSize is an amount of memory: a number of bytes, or a number with
// one of the units B, KiB, MiB, GiB, TiB (powers of 1024) or KB, MB, GB,
// TB (powers of 1000), as in 2GiB or 512MiB.
type ByteSize int64

var byteUnits = []struct {
	suffix string
	factor int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}, {"B", 1},
}

// UnmarshalText reads a size such as 2GiB.
func (b *ByteSize) UnmarshalText(text []byte) error {
	s := strings.TrimSpace(string(text))
	factor := int64(1)
	for _, u := range byteUnits {
		if strings.HasSuffix(s, u.suffix) {
			s, factor = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.factor
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > math.MaxInt64/factor {
		return fmt.Errorf("size %q: give a number of bytes, or a number with KiB, MiB, GiB or TiB (as in 2GiB)", string(text))
	}
	*b = ByteSize(n * factor)
	return nil
}

// String shows the size in the largest binary unit that divides it.
func (b ByteSize) String() string {
	for _, u := range []struct {
		suffix string
		factor int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if b != 0 && int64(b)%u.factor == 0 {
			return strconv.FormatInt(int64(b)/u.factor, 10) + u.suffix
		}
	}
	return strconv.FormatInt(int64(b), 10) + "B"
}
