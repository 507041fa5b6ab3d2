// Package precise sleeps to within tens of microseconds. Go's timers wake
// up to about a millisecond late on these machines; a 10 ms step would take
// 11 ms and every latency the harness measures would carry the error. So a
// Sleeper waits with a timer until shortly before the target, then
// finishes in nanosleep, which blocks one thread for at most FineWindow.
package precise

import (
	"context"
	"time"
)

// FineWindow is the stretch left to nanosleep; it covers the timer's usual
// overshoot (a few hundred µs on an idle machine).
const FineWindow = 1500 * time.Microsecond

// Sleeper reuses one timer; it is for one goroutine at a time.
type Sleeper struct {
	timer *time.Timer
	// Coarse skips the precise finish: the timer alone, cheaper in CPU,
	// later by up to a millisecond.
	Coarse bool
}

// NewSleeper returns a Sleeper with a stopped timer.
func NewSleeper(coarse bool) *Sleeper {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &Sleeper{timer: t, Coarse: coarse}
}

// Stop releases the timer.
func (s *Sleeper) Stop() { s.timer.Stop() }

// SleepUntil returns at t, or earlier with ctx's error when ctx ends (the
// last FineWindow is not interruptible).
func (s *Sleeper) SleepUntil(ctx context.Context, t time.Time) error {
	for {
		d := time.Until(t)
		if d <= 0 {
			return nil
		}
		if d <= FineWindow && !s.Coarse {
			fineSleep(d)
			return nil
		}
		if !s.Coarse {
			d -= FineWindow
		}
		s.timer.Reset(d)
		select {
		case <-s.timer.C:
		case <-ctx.Done():
			s.timer.Stop()
			return ctx.Err()
		}
	}
}

// Sleep sleeps for d (or until ctx ends) with a Sleeper of its own.
func Sleep(ctx context.Context, d time.Duration) error {
	s := NewSleeper(false)
	defer s.Stop()
	return s.SleepUntil(ctx, time.Now().Add(d))
}
