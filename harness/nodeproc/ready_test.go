package nodeproc

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestAwaitReady(t *testing.T) {
	notYet := errors.New("connection refused")
	closed := make(chan struct{})
	close(closed)
	for _, tc := range []struct {
		name     string
		failures int // checks that fail before one passes
		exited   <-chan struct{}
		timeout  time.Duration
		wantErr  string
	}{
		{"ready at once", 0, nil, time.Second, ""},
		{"ready after two polls", 2, nil, 5 * time.Second, ""},
		{"process exited", 1000, closed, time.Second, "the node exited (last check: connection refused)"},
		{"deadline", 1000, nil, 300 * time.Millisecond, "deadline exceeded (last check: connection refused)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), tc.timeout)
			defer cancel()
			calls := 0
			err := AwaitReady(ctx, func(context.Context) error {
				calls++
				if calls <= tc.failures {
					return notYet
				}
				return nil
			}, tc.exited, "the node")
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("AwaitReady = %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func TestRemoveFiles(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.pid")
	if err := os.WriteFile(a, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := RemoveFiles(a, filepath.Join(dir, "missing")); err != nil {
		t.Fatalf("RemoveFiles: %v, want a missing file to be no error", err)
	}
	if _, err := os.Stat(a); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s still there", a)
	}
}

func TestRunningDiffers(t *testing.T) {
	type cfg struct{ Port int }
	path := filepath.Join(t.TempDir(), "node-config.json")
	if _, differs := RunningDiffers(path, cfg{1}); differs {
		t.Error("no running config: reported different")
	}
	if err := os.WriteFile(path, []byte(`{"Port": 1}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		want    cfg
		differs bool
	}{{cfg{1}, false}, {cfg{2}, true}} {
		running, differs := RunningDiffers(path, tc.want)
		if differs != tc.differs || running != (cfg{1}) {
			t.Errorf("RunningDiffers(%v) = %v, %v; want {1}, %v", tc.want, running, differs, tc.differs)
		}
	}
}

// StartLocked sweeps only after a successful start, under the lock.
func TestStartLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "node.lock")
	lock := func(ctx context.Context) (*Lock, error) { return LockFile(ctx, path, "test node") }
	boom := errors.New("boom")
	for _, tc := range []struct {
		name      string
		startErr  error
		wantSwept bool
	}{{"started", nil, true}, {"failed", boom, false}} {
		t.Run(tc.name, func(t *testing.T) {
			swept := false
			err := StartLocked(context.Background(), lock,
				func(context.Context) error { return tc.startErr },
				func(ctx context.Context) {
					// The lock is held: another taker must time out.
					ctx, cancel := context.WithTimeout(ctx, 150*time.Millisecond)
					defer cancel()
					if _, err := LockFile(ctx, path, "test node"); err == nil {
						t.Error("sweep ran without the lock held")
					}
					swept = true
				})
			if !errors.Is(err, tc.startErr) || swept != tc.wantSwept {
				t.Errorf("StartLocked = %v, swept %v; want %v, swept %v", err, swept, tc.startErr, tc.wantSwept)
			}
		})
	}
}
