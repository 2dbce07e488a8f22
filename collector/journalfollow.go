package collector

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// JournalOptions tune how journald is followed.
type JournalOptions struct {
	// Command is journalctl (default "journalctl").
	Command string
	// Args select the entries and the journal, in journalctl's terms
	// (default: SYSLOG_FACILITY=2, the mail facility Postfix logs to; add
	// --file=PATH or --directory=DIR to read other journals).
	Args        []string
	CommitEvery time.Duration // default 1 s
	Logger      *slog.Logger
}

// journalSource names journald's checkpoints.
const journalSource = "journald"

// FollowJournal reads Postfix's entries from journald as they are written
// (journalctl --follow -o export), after the cursor of the last committed
// entry, until ctx ends. The first run starts after the journal's last
// entry: older entries are for `mailtrace import` of a `journalctl -o
// export` dump.
func FollowJournal(ctx context.Context, p *Pipeline, opts JournalOptions) error {
	if opts.Command == "" {
		opts.Command = "journalctl"
	}
	if len(opts.Args) == 0 {
		opts.Args = []string{"SYSLOG_FACILITY=2"}
	}
	if opts.CommitEvery <= 0 {
		opts.CommitEvery = time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	offset, err := p.Begin(ctx, journalSource, journalSource, "", time.Now())
	if err != nil {
		return err
	}
	cursor := p.Checkpoint().Cursor
	if cursor == "" {
		// The first run starts at the journal's end. Start after its last
		// entry by cursor, so that a chunk cut off by a crash can be read
		// again from there.
		if cursor, err = lastCursor(ctx, opts); err != nil {
			return err
		}
		p.SetCursor(cursor)
	}
	args := []string{"--output=export", "--follow", "--no-pager"}
	if cursor != "" {
		args = append(args, "--after-cursor="+cursor)
	}
	args = append(args, opts.Args...)
	cmdCtx, stop := context.WithCancel(context.Background())
	defer stop()
	cmd := exec.CommandContext(cmdCtx, opts.Command, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", opts.Command, err)
	}
	opts.Logger.Info("following journald", "args", strings.Join(args, " "), "offset", offset)

	// The reader and the commit timer share the pipeline.
	var mu sync.Mutex
	readErr := make(chan error, 1)
	go func() {
		readErr <- readJournal(bufio.NewReaderSize(out, 1<<20), offset, func(line []byte, end uint64, cursor string) error {
			mu.Lock()
			defer mu.Unlock()
			p.SetCursor(cursor)
			return p.Line(ctx, line, end)
		})
	}()
	tick := time.NewTicker(opts.CommitEvery)
	defer tick.Stop()
	for {
		select {
		case err := <-readErr:
			stop()
			cmd.Wait()
			if err == nil {
				err = fmt.Errorf("%s stopped: %s", opts.Command, strings.TrimSpace(stderr.String()))
			}
			if ctx.Err() != nil {
				return commitOnExit(p, ctx.Err())
			}
			return commitOnExit(p, err)
		case <-ctx.Done():
			stop() // journalctl ends; the reader returns
			err := <-readErr
			cmd.Wait()
			if err != nil && !errors.Is(err, context.Canceled) {
				opts.Logger.Debug("journal reader stopped", "err", err)
			}
			return commitOnExit(p, ctx.Err())
		case <-tick.C:
			mu.Lock()
			err := p.Tick(time.Now())
			if err == nil {
				err = p.Commit(ctx)
			}
			mu.Unlock()
			if err != nil {
				stop()
				return err
			}
		}
	}
}

// lastCursor is the cursor of the journal's last matching entry, or "" when
// it has none (then everything is new).
func lastCursor(ctx context.Context, opts JournalOptions) (string, error) {
	args := append([]string{"--output=export", "--lines=1", "--no-pager"}, opts.Args...)
	out, err := exec.CommandContext(ctx, opts.Command, args...).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return "", fmt.Errorf("%s %s: %v: %s", opts.Command, strings.Join(args, " "), err, strings.TrimSpace(string(ee.Stderr)))
		}
		return "", fmt.Errorf("%s: %w", opts.Command, err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if c, ok := strings.CutPrefix(line, "__CURSOR="); ok {
			return c, nil
		}
	}
	return "", nil
}
