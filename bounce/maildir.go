package bounce

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/mailtrace/mailtrace/dsn"
)

// WatchMaildir takes in every message that appears in dir/new, moving each
// to dir/cur (flagged seen) once stored, until ctx ends. A message the
// store did not take stays in new/ and is tried again at the next look.
func WatchMaildir(ctx context.Context, dir string, every time.Duration, in *Intake) error {
	for _, sub := range []string{"new", "cur", "tmp"} {
		if fi, err := os.Stat(filepath.Join(dir, sub)); err != nil || !fi.IsDir() {
			return fmt.Errorf("bounces.maildir %s: no %s/ directory: give a Maildir (new/, cur/, tmp/)", dir, sub)
		}
	}
	if every <= 0 {
		every = 10 * time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		n, err := in.scanMaildir(ctx, dir)
		if err != nil {
			in.log.Error("reading the bounce Maildir", "dir", dir, "err", err)
		} else if n > 0 {
			in.log.Debug("bounce Maildir read", "dir", dir, "reports", n)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// scanMaildir takes in what is in new/ now, oldest name first.
func (in *Intake) scanMaildir(ctx context.Context, dir string) (int, error) {
	entries, err := os.ReadDir(filepath.Join(dir, "new"))
	if err != nil {
		return 0, err
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		if e.Type().IsRegular() && !strings.HasPrefix(e.Name(), ".") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	n := 0
	for _, name := range names {
		if ctx.Err() != nil {
			break
		}
		path := filepath.Join(dir, "new", name)
		raw, err := ReadFile(path)
		if err != nil {
			in.log.Warn("bounce Maildir file set aside", "file", path, "err", err)
			os.Rename(path, filepath.Join(dir, "cur", name+":2,T"))
			continue
		}
		if _, err := in.Ingest(ctx, raw, nil); err != nil {
			if in.metrics != nil {
				in.metrics.Errors.WithLabelValues("maildir").Inc()
			}
			return n, err // the store is down: the rest waits too
		}
		if err := os.Rename(path, filepath.Join(dir, "cur", name+":2,S")); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// ReadFile reads a report file, refusing ones over dsn.MaxSize.
func ReadFile(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if fi.Size() > dsn.MaxSize {
		return nil, dsn.ErrTooLarge
	}
	return os.ReadFile(path)
}
