package main

import (
	"context"
	"errors"
	"io"
	"slices"
	"sync"
	"testing"

	"github.com/mailtrace/mailtrace/config"
)

// The sidecar starts its parts in order and stops them in the reverse
// order, each after the parts it was started after, whether the sidecar is
// stopped, a part stops by itself, or a later part fails to start.
func TestSidecarPartsOrder(t *testing.T) {
	tests := []struct {
		name      string
		failStart string // this part's constructor fails
		quits     string // this part returns by itself
		cancel    bool   // the sidecar is stopped
		wantLog   []string
		wantErr   string
	}{
		{name: "stopped", cancel: true,
			wantLog: []string{"start a", "start b", "start c", "stop c", "stop b", "stop a"}},
		{name: "a part stops by itself", quits: "b",
			wantLog: []string{"start a", "start b", "start c", "quit b", "stop c", "stop a"}},
		{name: "a part fails to start", failStart: "c", wantErr: "c cannot start",
			wantLog: []string{"start a", "start b", "stop b", "stop a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			var log []string
			note := func(s string) { mu.Lock(); log = append(log, s); mu.Unlock() }
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			started := make(chan struct{}, 3)
			fake := func(name string) startPart {
				return func(context.Context, *sidecar) (*part, error) {
					if name == tt.failStart {
						return nil, errors.New(name + " cannot start")
					}
					note("start " + name)
					started <- struct{}{}
					return &part{name: name, run: func(ctx context.Context) error {
						if name == tt.quits {
							// Wait until all have started, then leave.
							for range 3 {
								<-started
							}
							note("quit " + name)
							return nil
						}
						<-ctx.Done()
						note("stop " + name)
						return nil
					}}, nil
				}
			}
			if tt.cancel {
				go func() {
					for range 3 {
						<-started
					}
					cancel()
				}()
			}
			err := serveOn(ctx, config.Default(), nil, io.Discard, fake("a"), fake("b"), fake("c"))
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || err.Error() != tt.wantErr) {
				t.Errorf("serveOn: %v, want %q", err, tt.wantErr)
			}
			if !slices.Equal(log, tt.wantLog) {
				t.Errorf("order %q, want %q", log, tt.wantLog)
			}
		})
	}
}
