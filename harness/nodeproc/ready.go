package nodeproc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"
)

// readyPollPeriod is how often AwaitReady checks: cheap (a refused
// connection while the node boots) yet a small part of a boot of seconds.
const readyPollPeriod = 250 * time.Millisecond

// AwaitReady polls ready until it passes, ctx ends or exited (the spawned
// process's end; nil for a node somebody else started) closes, and says
// which with the last check's complaint. what names the process in the
// message, e.g. "rabbitmq-server" or "the Kafka JVM".
func AwaitReady(ctx context.Context, ready func(context.Context) error, exited <-chan struct{}, what string) error {
	var last error
	for {
		if last = ready(ctx); last == nil {
			return nil
		}
		slog.Default().DebugContext(ctx, "node not ready yet", "process", what, "err", last)
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last check: %v)", context.Cause(ctx), last)
		case <-exited:
			return fmt.Errorf("%s exited (last check: %v)", what, last)
		case <-time.After(readyPollPeriod):
		}
	}
}

// RemoveFiles removes each file; one already gone is no error (a stale pid
// file after a crash, or none at all after a clean stop).
func RemoveFiles(files ...string) error {
	for _, f := range files {
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}

// RunningDiffers reads the config the node in a data dir runs with (see
// ReadRunningConfig) and reports whether it is not want: a Start with
// other ports must fail at once, naming both.
func RunningDiffers[C comparable](path string, want C) (running C, differs bool) {
	running, err := ReadRunningConfig[C](path)
	return running, err == nil && running != want
}
