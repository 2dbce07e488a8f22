// Package backoff is the one retry schedule of mailtrace: every loop that
// retries the store or a remote peer (the store writer, the collector's
// checkpoints, the milter's spool replay, block detection, the incident
// webhook) waits Min after the first failure, twice as long after each
// further one, never more than Max, and starts again from Min after a
// success. There is no jitter: each loop retries one thing in order, so
// there is no herd of clients to spread.
package backoff

import (
	"context"
	"time"
)

// Backoff is the state of one retry loop. The zero value is not usable:
// give Min and Max.
type Backoff struct {
	Min, Max time.Duration
	next     time.Duration
}

// New is a Backoff from min doubling to max.
func New(min, max time.Duration) *Backoff { return &Backoff{Min: min, Max: max} }

// Next is how long to wait after one more failure.
func (b *Backoff) Next() time.Duration {
	d := max(b.next, b.Min)
	b.next = min(2*d, b.Max)
	return min(d, b.Max)
}

// Reset starts the schedule again from Min, after a success.
func (b *Backoff) Reset() { b.next = 0 }

// Sleep waits d, or until ctx ends; it reports whether the whole wait
// passed.
func Sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
