package evidence

import (
	"context"
	"slices"
	"sync"
)

// MemoryStorage keeps logs in memory: for tests, examples and tools that
// build a log to check it.
type MemoryStorage struct {
	mu   sync.Mutex
	logs map[string][]*Entry
}

// NewMemoryStorage returns an empty MemoryStorage.
func NewMemoryStorage() *MemoryStorage { return &MemoryStorage{logs: map[string][]*Entry{}} }

// Entries implements Storage.
func (m *MemoryStorage) Entries(ctx context.Context, origin string, from int64, fn func(*Entry) error) error {
	m.mu.Lock()
	es := slices.Clone(m.logs[origin])
	m.mu.Unlock()
	for _, e := range es {
		if e.Index < from {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}

// Append implements Storage.
func (m *MemoryStorage) Append(_ context.Context, origin string, e *Entry) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.logs[origin] = append(m.logs[origin], e)
	return nil
}

// Flush implements Storage.
func (m *MemoryStorage) Flush(context.Context) error { return nil }

// Log returns the origin's entries (shared, not copied: tests change them
// to play tampering).
func (m *MemoryStorage) Log(origin string) []*Entry {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.logs[origin]
}

// SetLog replaces the origin's entries.
func (m *MemoryStorage) SetLog(origin string, es []*Entry) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.logs[origin] = es
}
