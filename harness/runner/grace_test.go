package runner

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

// A step's grace ends once its orders have all ended, and otherwise at its
// bound: it never returns before one of the two.
func TestWaitGrace(t *testing.T) {
	for _, tt := range []struct {
		name    string
		doneAt  int32 // the read at which done turns true; 0 never
		bound   time.Duration
		minRead int32
	}{
		{"already ended", 1, time.Hour, 1},
		{"ends after a few reads", 3, time.Hour, 3},
		{"never ends: the bound", 0, 3 * graceTick, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var reads atomic.Int32
			waitGrace(context.Background(), tt.bound, func() bool {
				n := reads.Add(1)
				return tt.doneAt > 0 && n >= tt.doneAt
			})
			if got := reads.Load(); got < tt.minRead || (tt.doneAt > 0 && got != tt.doneAt) {
				t.Errorf("done read %d times, want %d (at least %d)", got, tt.doneAt, tt.minRead)
			}
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	waitGrace(ctx, time.Hour, func() bool { return false }) // returns: the context ended
}
