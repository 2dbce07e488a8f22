package backoff_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/mailtrace/mailtrace/internal/backoff"
)

// A loop that retries the store waits longer after each failure, up to
// Max, gives up when its context ends, and starts again from Min after a
// success.
func Example() {
	ctx := context.Background()
	b := backoff.New(time.Millisecond, 2*time.Millisecond)
	attempts := 0
	insert := func() error {
		if attempts++; attempts <= 3 {
			return errors.New("store unavailable")
		}
		return nil
	}
	for {
		err := insert()
		if err == nil {
			b.Reset()
			break
		}
		d := b.Next()
		fmt.Println(err, "- retrying in", d)
		if !backoff.Sleep(ctx, d) {
			return // shutting down
		}
	}
	fmt.Println("stored after", attempts, "attempts; next failure waits", b.Next())
	// Output:
	// store unavailable - retrying in 1ms
	// store unavailable - retrying in 2ms
	// store unavailable - retrying in 2ms
	// stored after 4 attempts; next failure waits 1ms
}
