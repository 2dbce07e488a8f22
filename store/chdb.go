package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// chdbStore is the embedded backend: libchdb running in this process on a
// data directory. libchdb holds one session per process, so one chdb store
// may be open at a time; other processes reach it through this one's API.
type chdbStore struct {
	mu   sync.Mutex // libchdb runs one statement at a time per session
	lib  *chdbLib
	conn unsafe.Pointer // chdb_connection (the handle chdb_connect points to)
	hold unsafe.Pointer // what chdb_connect returned, for chdb_close_conn
	path string
}

var (
	chdbOpenMu   sync.Mutex
	chdbOpenPath string
)

// chdbDatabase is the database that holds mailtrace's tables in an embedded store.
const chdbDatabase = "mailtrace"

func openChdb(path string, opts Options) (Store, error) {
	if opts.ReadOnly {
		// Before loading the library: a missing store is the news.
		if err := chdbStoreExists(path); err != nil {
			return nil, err
		}
	}
	lib, err := loadChdb(opts.ChdbLibrary)
	if err != nil {
		return nil, err
	}
	chdbOpenMu.Lock()
	defer chdbOpenMu.Unlock()
	if chdbOpenPath != "" {
		return nil, fmt.Errorf("embedded store %s is already open in this process; libchdb holds one session per process", chdbOpenPath)
	}
	if !opts.ReadOnly {
		if err := os.MkdirAll(path, 0o750); err != nil {
			return nil, fmt.Errorf("embedded store: creating %s: %w", path, err)
		}
	}
	if heldElsewhere(path) {
		return nil, fmt.Errorf("embedded store %s: %w", path, ErrInUse)
	}
	args := []string{"clickhouse", "--path=" + path}
	argv := make([]*byte, len(args)+1)
	keep := make([][]byte, len(args))
	for i, a := range args {
		keep[i] = append([]byte(a), 0)
		argv[i] = &keep[i][0]
	}
	hold := lib.connect(len(args), &argv[0])
	if hold == nil || *(*unsafe.Pointer)(hold) == nil {
		return nil, fmt.Errorf("embedded store: libchdb could not open %s (%w?)", path, ErrInUse)
	}
	s := &chdbStore{lib: lib, hold: hold, conn: *(*unsafe.Pointer)(hold), path: path}
	// Unqualified table names in analysts' queries mean mailtrace's tables.
	if !opts.ReadOnly {
		err = s.exec("CREATE DATABASE IF NOT EXISTS " + QuoteIdent(chdbDatabase))
	}
	if err == nil {
		err = s.exec("USE " + QuoteIdent(chdbDatabase))
	}
	if err == nil {
		// Parameters are bound as literals here: let a query carry a few
		// megabytes of them (a whole response text, a list of recipients).
		err = s.exec("SET max_query_size = 67108864")
	}
	if err != nil {
		lib.closeConn(hold)
		return nil, fmt.Errorf("embedded store %s: %w", path, err)
	}
	chdbOpenPath = path
	return s, nil
}

func (s *chdbStore) Backend() string  { return "chdb" }
func (s *chdbStore) Database() string { return chdbDatabase }

func (s *chdbStore) run(query []byte, format string) (chdbResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn == nil {
		return chdbResult{}, ErrClosed
	}
	return s.lib.query(s.conn, query, format)
}

func (s *chdbStore) exec(q string) error {
	r, err := s.run([]byte(q), "RowBinary")
	r.free()
	return err
}

func (s *chdbStore) Exec(ctx context.Context, query string, params Params) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	q, err := bindParams(query, params)
	if err != nil {
		return err
	}
	return s.exec(q)
}

// explain runs an EXPLAIN statement, which libchdb does not stream, and
// returns its lines.
func (s *chdbStore) explain(ctx context.Context, query string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r, err := s.run([]byte(query), "TSVRaw")
	if err != nil {
		return nil, err
	}
	defer r.free()
	out := strings.TrimSuffix(string(r.bytes()), "\n")
	if out == "" {
		return nil, nil
	}
	return strings.Split(out, "\n"), nil
}

// Query streams the result: libchdb hands it over in chunks of about a
// megabyte, each a RowBinaryWithNamesAndTypes block, so that a result of
// any size is read in bounded memory. The session runs one statement at a
// time: the store is busy until the Rows are read to the end or closed.
func (s *chdbStore) Query(ctx context.Context, query string, params Params) (*Rows, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	q, err := bindParams(query, params)
	if err != nil {
		return nil, err
	}
	if strings.IndexByte(q, 0) >= 0 {
		return nil, errors.New("query holds a NUL byte; pass such values as parameters")
	}
	s.mu.Lock()
	if s.conn == nil {
		s.mu.Unlock()
		return nil, ErrClosed
	}
	st := &chdbStream{s: s, handle: s.lib.streamQuery(s.conn, q, "RowBinaryWithNamesAndTypes")}
	if st.handle == nil {
		s.mu.Unlock()
		return nil, errors.New("libchdb did not start the query")
	}
	if msg := cString(s.lib.resultError(st.handle)); msg != "" {
		st.failed = true
		st.close()
		return nil, errors.New(strings.TrimSpace(msg))
	}
	// The first chunk names the columns (and holds no rows when there are none).
	if err := st.fetch(); err != nil {
		st.close()
		return nil, err
	}
	return &Rows{columns: st.columns, next: st.next, close: st.close}, nil
}

// chdbStream reads a streamed result chunk by chunk.
type chdbStream struct {
	s       *chdbStore
	handle  unsafe.Pointer
	chunk   chdbResult
	dec     *decoder
	columns []Column
	types   []*chType
	done    bool
	failed  bool // the engine reported an error
	closed  bool
}

// fetch moves to the next chunk and reads its header.
func (st *chdbStream) fetch() error {
	st.chunk.free()
	st.chunk, st.dec = chdbResult{}, nil
	res := st.s.lib.streamFetch(st.s.conn, st.handle)
	if res == nil {
		st.done = true
		return nil
	}
	st.chunk = chdbResult{lib: st.s.lib, res: res}
	data := st.chunk.bytes()
	if msg := cString(st.s.lib.resultError(res)); msg != "" && !(len(data) == 0 && strings.Contains(msg, "No active streaming query")) {
		st.done, st.failed = true, true
		return errors.New(strings.TrimSpace(msg))
	}
	if len(data) == 0 {
		// The end (libchdb may add "No active streaming query").
		st.done = true
		return nil
	}
	d := &decoder{b: data}
	cols, types, err := readHeader(d)
	if err != nil {
		return err
	}
	if st.columns == nil {
		st.columns, st.types = cols, types
	}
	st.dec = d
	return nil
}

func (st *chdbStream) next() ([]any, error) {
	for st.dec == nil || st.dec.i >= len(st.dec.b) {
		if st.done {
			return nil, io.EOF
		}
		if err := st.fetch(); err != nil {
			return nil, err
		}
	}
	row := make([]any, len(st.types))
	for i, t := range st.types {
		v, err := st.dec.value(t)
		if err != nil {
			return nil, fmt.Errorf("reading column %s: %w", st.columns[i].Name, err)
		}
		row[i] = v
	}
	return row, nil
}

func (st *chdbStream) close() error {
	if st.closed {
		return nil
	}
	st.closed = true
	st.chunk.free()
	if !st.done {
		st.s.lib.streamCancel(st.s.conn, st.handle)
	}
	st.s.lib.destroy(st.handle)
	if st.failed {
		// libchdb 26.5 keeps what a failed stream had written (its
		// header) and puts it in front of the session's next result,
		// streamed or not: seen as a query returning the columns of the
		// failed one. One throwaway query takes it.
		if r, err := st.s.lib.query(st.s.conn, []byte("SELECT 1"), "RowBinary"); err == nil {
			r.free()
		}
	}
	st.s.mu.Unlock()
	return nil
}

// Insert hands the Native block to libchdb as a file read with INSERT ...
// FROM INFILE; the block names every column's type, so that ClickHouse
// checks the layout. The file lives in memory (memfd), so nothing
// touches the disk twice. (Data inline after FORMAT in the query is cut at
// libchdb's 1 MiB read-buffer boundary for fixed-size values: measured
// with chDB 26.5, so it is not used.)
func (s *chdbStore) Insert(ctx context.Context, b *NativeBlock) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if b.Rows == 0 {
		return nil
	}
	f, err := memFile("mailtrace-insert")
	if err != nil {
		return fmt.Errorf("insert into %s: %w", b.Table.Name, err)
	}
	defer f.Close()
	if _, err := f.Write(b.Data); err != nil {
		return fmt.Errorf("insert into %s: buffering %d bytes: %w", b.Table.Name, len(b.Data), err)
	}
	q := "INSERT INTO " + QuoteIdent(chdbDatabase) + "." + QuoteIdent(b.Table.Name) + " " + b.Table.ColumnList() +
		" FROM INFILE " + Quote(fmt.Sprintf("/proc/self/fd/%d", f.Fd())) +
		" SETTINGS insert_deduplication_token = " + Quote(b.Token) +
		", deduplicate_blocks_in_dependent_materialized_views = 1" +
		", optimize_on_insert = 0" +
		" FORMAT Native"
	r, err := s.run([]byte(q), "RowBinary")
	r.free()
	if err != nil {
		return fmt.Errorf("insert into %s (%d rows): %w", b.Table.Name, b.Rows, err)
	}
	return nil
}

// memFile is an anonymous in-memory file that libchdb, in this process, can
// open by its /proc/self/fd path.
func memFile(name string) (*os.File, error) {
	fd, err := unix.MemfdCreate(name, unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("memfd_create: %w", err)
	}
	return os.NewFile(uintptr(fd), name), nil
}

func (s *chdbStore) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn == nil {
		return ErrClosed
	}
	s.lib.closeConn(s.hold)
	s.conn, s.hold = nil, nil
	chdbOpenMu.Lock()
	chdbOpenPath = ""
	chdbOpenMu.Unlock()
	return nil
}

// chdbStoreExists checks, without touching it, that path is an embedded
// store with mailtrace's database: libchdb would otherwise make one there
// (in any directory it is given).
func chdbStoreExists(path string) error {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("%w: %s does not exist", ErrNoStore, path)
	case err != nil:
		return fmt.Errorf("embedded store: %w", err)
	case !fi.IsDir():
		return fmt.Errorf("%w: %s is not a directory", ErrNoStore, path)
	}
	if _, err := os.Stat(filepath.Join(path, "metadata", chdbDatabase+".sql")); errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%w: %s holds no mailtrace database", ErrNoStore, path)
	} else if err != nil {
		return fmt.Errorf("embedded store: %w", err)
	}
	return nil
}

// heldElsewhere tells whether another process has the store open: the
// ClickHouse engine holds an exclusive flock on its status file while it
// runs. Asking first keeps libchdb from printing its own error.
func heldElsewhere(path string) bool {
	f, err := os.Open(filepath.Join(path, "status"))
	if err != nil {
		return false
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		return errors.Is(err, unix.EWOULDBLOCK)
	}
	unix.Flock(int(f.Fd()), unix.LOCK_UN)
	return false
}
