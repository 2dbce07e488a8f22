package evidence

import (
	"context"
	"slices"
	"sync"
)

// MemoryStorage keeps logs in memory: for tests, examples and tools that
// build a log to check it.
type MemoryStorage struct {
	mu          sync.Mutex
	logs        map[string][]*Entry
	checkpoints map[string][]*Checkpoint
	anchors     map[string][]*Anchor
}

// NewMemoryStorage returns an empty MemoryStorage.
func NewMemoryStorage() *MemoryStorage {
	return &MemoryStorage{logs: map[string][]*Entry{}, checkpoints: map[string][]*Checkpoint{}, anchors: map[string][]*Anchor{}}
}

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

// AddCheckpoint implements Storage.
func (m *MemoryStorage) AddCheckpoint(_ context.Context, c *Checkpoint) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.checkpoints[c.Origin] = append(m.checkpoints[c.Origin], c)
	return nil
}

// Checkpoints implements Storage.
func (m *MemoryStorage) Checkpoints(_ context.Context, origin string, fn func(*Checkpoint) error) error {
	m.mu.Lock()
	cs := slices.Clone(m.checkpoints[origin])
	m.mu.Unlock()
	slices.SortStableFunc(cs, func(a, b *Checkpoint) int { return int(a.Tree.N - b.Tree.N) })
	for _, c := range cs {
		if err := fn(c); err != nil {
			return err
		}
	}
	return nil
}

// AddAnchor implements Storage.
func (m *MemoryStorage) AddAnchor(_ context.Context, a *Anchor) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.anchors[a.Origin] = append(m.anchors[a.Origin], a)
	return nil
}

// Anchors implements Storage.
func (m *MemoryStorage) Anchors(_ context.Context, origin string, fn func(*Anchor) error) error {
	m.mu.Lock()
	as := slices.Clone(m.anchors[origin])
	m.mu.Unlock()
	slices.SortStableFunc(as, func(a, b *Anchor) int { return int(a.Size - b.Size) })
	for _, a := range as {
		if err := fn(a); err != nil {
			return err
		}
	}
	return nil
}

// SetCheckpoints replaces the origin's checkpoints (tamper tests).
func (m *MemoryStorage) SetCheckpoints(origin string, cs []*Checkpoint) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.checkpoints[origin] = cs
}

// SetAnchors replaces the origin's anchors (tamper tests).
func (m *MemoryStorage) SetAnchors(origin string, as []*Anchor) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.anchors[origin] = as
}
