package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"unsafe"

	"github.com/ebitengine/purego"
)

// ChdbVersion is the libchdb release the embedded store is built and tested
// against; scripts/setup-chdb.sh installs exactly this one.
const ChdbVersion = "26.5.3"

// DefaultChdbLibrary is where `make build` tells the binary that set-up put
// libchdb.so (set with -ldflags -X). Empty in other builds.
var DefaultChdbLibrary string

// The embedded engine is bound by hand, over purego, rather than through
// chdb-go's binding package: that package opens libchdb in an init function
// and panics when it is missing, which would stop every command of the binary
// on a machine that stores to a ClickHouse server. Here the library is
// opened only when a chdb store is.
type chdbLib struct {
	connect      func(argc int, argv **byte) unsafe.Pointer
	closeConn    func(conn unsafe.Pointer)
	queryN       func(conn unsafe.Pointer, query *byte, queryLen uintptr, format *byte, formatLen uintptr) unsafe.Pointer
	resultBuffer func(res unsafe.Pointer) *byte
	resultLength func(res unsafe.Pointer) uintptr
	resultError  func(res unsafe.Pointer) *byte
	destroy      func(res unsafe.Pointer)
	streamQuery  func(conn unsafe.Pointer, query string, format string) unsafe.Pointer
	streamFetch  func(conn unsafe.Pointer, res unsafe.Pointer) unsafe.Pointer
	streamCancel func(conn unsafe.Pointer, res unsafe.Pointer)
}

var (
	chdbOnce    sync.Once
	chdbLoaded  *chdbLib
	chdbLoadErr error
)

// FindChdbLibrary returns the libchdb.so to load: the configured path if
// any, else MAILTRACE_CHDB_LIBRARY — a path named so is the only one
// tried — else the path set-up recorded at build time, next to the
// executable, and the usual system directories.
func FindChdbLibrary(configured string) (string, []string) {
	if named := namedChdbLibrary(configured); named != "" {
		if st, err := os.Stat(named); err == nil && !st.IsDir() {
			return named, []string{named}
		}
		return "", []string{named}
	}
	var tried []string
	candidates := []string{DefaultChdbLibrary}
	if exe, err := os.Executable(); err == nil {
		dir := filepath.Dir(exe)
		candidates = append(candidates,
			filepath.Join(dir, "libchdb.so"),
			filepath.Join(dir, "..", "lib", "mailtrace", "libchdb.so"),
			filepath.Join(dir, "..", ".cache", "chdb", ChdbVersion, "libchdb.so"))
	}
	candidates = append(candidates, "/usr/local/lib/mailtrace/libchdb.so", "/usr/lib/mailtrace/libchdb.so", "/usr/local/lib/libchdb.so")
	for _, c := range candidates {
		if c == "" {
			continue
		}
		tried = append(tried, c)
		if st, err := os.Stat(c); err == nil && !st.IsDir() {
			return c, tried
		}
	}
	return "", tried
}

// namedChdbLibrary is the library the configuration names: configured,
// else MAILTRACE_CHDB_LIBRARY; empty when none is named.
func namedChdbLibrary(configured string) string {
	if configured != "" {
		return configured
	}
	return os.Getenv("MAILTRACE_CHDB_LIBRARY")
}

// ErrChdbLibrary means the libchdb.so the configuration names is not
// there: a mistake the search of other places would hide.
var ErrChdbLibrary = errors.New("store: libchdb.so not found")

// CheckChdbLibrary reports a libchdb.so named by the configuration (or
// MAILTRACE_CHDB_LIBRARY) that is missing or not a file, without loading
// it. Nothing named is fine: the usual places are searched at open.
func CheckChdbLibrary(configured string) error {
	named := namedChdbLibrary(configured)
	if named == "" {
		return nil
	}
	st, err := os.Stat(named)
	if err == nil && st.IsDir() {
		err = errors.New("it is a directory")
	}
	if err != nil {
		return fmt.Errorf("%w: %s (chdb_library, --chdb-library or MAILTRACE_CHDB_LIBRARY): %v; point it at libchdb.so of chDB %s "+
			"(installed as /usr/local/lib/mailtrace/libchdb.so, or by `make setup` under the source tree's .cache/chdb/), "+
			"or leave it unset to look where the build put it%s", ErrChdbLibrary, named, unwrapPathError(err), ChdbVersion, homeHint([]string{named}))
	}
	return nil
}

// homeHint explains why a library under a home directory may be missing
// for a service although it is there in a shell.
func homeHint(paths []string) string {
	for _, p := range paths {
		if strings.HasPrefix(p, "/root/") || strings.HasPrefix(p, "/home/") {
			return " (a service with ProtectHome=yes, as deploy/mailtrace.service runs, does not see /root or /home: " +
				"install the library as /usr/local/lib/mailtrace/libchdb.so, see docs/deploying.md)"
		}
	}
	return ""
}

// unwrapPathError drops the path an *os.PathError repeats.
func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func loadChdb(configured string) (*chdbLib, error) {
	chdbOnce.Do(func() {
		if err := CheckChdbLibrary(configured); err != nil {
			chdbLoadErr = err
			return
		}
		path, tried := FindChdbLibrary(configured)
		if path == "" {
			chdbLoadErr = fmt.Errorf("the embedded store needs libchdb.so (chDB %s) and it is not installed; looked in: %s.\n"+
				"Install it with `make setup` (or scripts/setup-chdb.sh) from the mailtrace source tree, point chdb_library in the config "+
				"or MAILTRACE_CHDB_LIBRARY at it, or store to a ClickHouse server with --store clickhouse://user:pass@host:9000/db%s",
				ChdbVersion, strings.Join(tried, ", "), homeHint(tried))
			return
		}
		h, err := purego.Dlopen(path, purego.RTLD_NOW|purego.RTLD_GLOBAL)
		if err != nil {
			chdbLoadErr = fmt.Errorf("loading %s: %w: it is not a linux-x64 libchdb.so of chDB %s; point chdb_library (--chdb-library, MAILTRACE_CHDB_LIBRARY) at one, or reinstall it with `make setup`",
				path, err, ChdbVersion)
			return
		}
		lib := &chdbLib{}
		for name, fn := range map[string]any{
			"chdb_connect":              &lib.connect,
			"chdb_close_conn":           &lib.closeConn,
			"chdb_query_n":              &lib.queryN,
			"chdb_result_buffer":        &lib.resultBuffer,
			"chdb_result_length":        &lib.resultLength,
			"chdb_result_error":         &lib.resultError,
			"chdb_destroy_query_result": &lib.destroy,
			"chdb_stream_query":         &lib.streamQuery,
			"chdb_stream_fetch_result":  &lib.streamFetch,
			"chdb_stream_cancel_query":  &lib.streamCancel,
		} {
			if _, err := purego.Dlsym(h, name); err != nil {
				chdbLoadErr = fmt.Errorf("%s lacks %s: it is not a libchdb this mailtrace supports (want %s)", path, name, ChdbVersion)
				return
			}
			purego.RegisterLibFunc(fn, h, name)
		}
		chdbLoaded = lib
	})
	return chdbLoaded, chdbLoadErr
}

// chdbResult is one query's result, owned by libchdb until destroyed.
type chdbResult struct {
	lib *chdbLib
	res unsafe.Pointer
}

// bytes is the result's buffer; valid until free.
func (r chdbResult) bytes() []byte {
	if r.res == nil {
		return nil
	}
	p, n := r.lib.resultBuffer(r.res), r.lib.resultLength(r.res)
	if p == nil || n == 0 {
		return nil
	}
	return unsafe.Slice(p, n)
}

func (r chdbResult) free() {
	if r.res != nil {
		r.lib.destroy(r.res)
	}
}

// query runs one statement. The query travels with its length, so it may
// hold any bytes, NUL included (inline RowBinary data relies on this).
func (l *chdbLib) query(conn unsafe.Pointer, query []byte, format string) (chdbResult, error) {
	if len(query) == 0 {
		return chdbResult{}, errors.New("empty query")
	}
	f := []byte(format + "\x00")
	res := l.queryN(conn, &query[0], uintptr(len(query)), &f[0], uintptr(len(format)))
	runtime.KeepAlive(query)
	runtime.KeepAlive(f)
	r := chdbResult{lib: l, res: res}
	if res == nil {
		return r, nil
	}
	if msg := cString(l.resultError(res)); msg != "" {
		r.free()
		return chdbResult{}, errors.New(strings.TrimSpace(msg))
	}
	return r, nil
}

func cString(p *byte) string {
	if p == nil {
		return ""
	}
	n := 0
	for *(*byte)(unsafe.Add(unsafe.Pointer(p), n)) != 0 {
		n++
	}
	return string(unsafe.Slice(p, n))
}
