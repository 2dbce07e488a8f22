package backoff

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"
)

func TestNext(t *testing.T) {
	tests := []struct {
		name     string
		min, max time.Duration
		failures int
		reset    int // Reset before this failure (0: never)
		want     []time.Duration
	}{
		{name: "doubles up to max", min: 100 * time.Millisecond, max: time.Second, failures: 6,
			want: []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond, time.Second, time.Second}},
		{name: "reset starts from min", min: time.Second, max: time.Minute, failures: 5, reset: 3,
			want: []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, time.Second, 2 * time.Second}},
		{name: "min above max waits max", min: time.Minute, max: time.Second, failures: 2,
			want: []time.Duration{time.Second, time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := New(tt.min, tt.max)
			var got []time.Duration
			for i := range tt.failures {
				if tt.reset != 0 && i == tt.reset {
					b.Reset()
				}
				got = append(got, b.Next())
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("delays %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSleep(t *testing.T) {
	if !Sleep(context.Background(), time.Millisecond) {
		t.Error("Sleep with a live context did not report the whole wait")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if Sleep(ctx, time.Hour) {
		t.Error("Sleep with an ended context reported the whole wait")
	}
}

func ExampleBackoff() {
	b := New(time.Second, 5*time.Second)
	for range 4 {
		fmt.Println(b.Next())
	}
	b.Reset()
	fmt.Println(b.Next())
	// Output:
	// 1s
	// 2s
	// 4s
	// 5s
	// 1s
}
