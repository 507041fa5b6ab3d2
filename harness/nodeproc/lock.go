package nodeproc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// Lock is an flock(2) on a file in a node's data dir. flock rather than a
// pid file because the kernel drops it when a process dies mid-start, so a
// crash can never wedge the next starter.
type Lock struct{ f *os.File }

// LockFile takes the lock at path, waiting while another process holds it
// (logged once, naming what, e.g. "broker" or "Kafka node"), until ctx ends.
func LockFile(ctx context.Context, path, what string) (*Lock, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open the %s lock file: %w", what, err)
	}
	logged := false
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return &Lock{f: f}, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, fmt.Errorf("flock %s: %w", path, err)
		}
		if !logged {
			slog.Default().InfoContext(ctx, "waiting for another process to finish starting or stopping the "+what, "lock", path)
			logged = true
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("waiting for the %s lock %s (another process is starting or stopping the node): %w", what, path, context.Cause(ctx))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// LockDir creates dir and takes the lock file in it. envDir is the
// variable that moves dir, named in the error as the fix.
func LockDir(ctx context.Context, dir, file, what, envDir string) (*Lock, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("%s data dir: %w (set %s to a writable directory)", what, err, envDir)
	}
	return LockFile(ctx, filepath.Join(dir, file), what)
}

// Unlock releases the lock: closing the descriptor drops the flock.
func (l *Lock) Unlock() { _ = l.f.Close() }

// Locked runs f while holding the lock that lock takes.
func Locked(ctx context.Context, lock func(context.Context) (*Lock, error), f func(context.Context) error) error {
	lk, err := lock(ctx)
	if err != nil {
		return err
	}
	defer lk.Unlock()
	return f(ctx)
}

// Restart runs stop and then start (both under the caller's lock, so no
// other starter slips in between), saying which half failed.
func Restart(ctx context.Context, stop, start func(context.Context) error) error {
	if err := stop(ctx); err != nil {
		return fmt.Errorf("restart: %w", err)
	}
	if err := start(ctx); err != nil {
		return fmt.Errorf("restart: %w", err)
	}
	return nil
}

// StartLocked runs start and then sweep (deleting what dead runs claimed)
// under the node's lock, so that two starters neither boot two nodes nor
// delete the same dead run's topology at once.
func StartLocked(ctx context.Context, lock func(context.Context) (*Lock, error),
	start func(context.Context) error, sweep func(context.Context)) error {
	return Locked(ctx, lock, func(ctx context.Context) error {
		if err := start(ctx); err != nil {
			return err
		}
		sweep(ctx)
		return nil
	})
}
