package lag

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"
)

// DefaultInterval matches the management API's statistics interval: sampling
// faster would mostly read the same numbers twice.
const DefaultInterval = time.Second

// Gap is a tick that produced no samples, typically because the broker was
// restarting.
type Gap struct {
	At  time.Time `json:"at"`
	Err string    `json:"err"`
}

// Sampler runs a Source every interval and keeps everything it returns. At
// one tick per second five queues cost about 100 bytes each, ~2 MB an hour.
type Sampler struct {
	src      Source
	interval time.Duration
	onTick   func([]Sample)
	logger   *slog.Logger

	mu      sync.Mutex
	running bool
	samples []Sample
	gaps    []Gap
}

// NewSampler samples src every interval (DefaultInterval when <= 0). onTick,
// if not nil, gets each successful tick's samples on the sampling goroutine:
// keep it short, a slow callback delays the next tick.
func NewSampler(src Source, interval time.Duration, onTick func([]Sample)) *Sampler {
	if interval <= 0 {
		interval = DefaultInterval
	}
	return &Sampler{src: src, interval: interval, onTick: onTick, logger: slog.Default().With("component", "lag")}
}

// Run samples at once and then every interval until ctx ends, then returns
// nil. A failed tick is recorded as a gap and sampling goes on. Run may be
// called again after it returned; samples accumulate.
func (s *Sampler) Run(ctx context.Context) error {
	s.mu.Lock()
	if s.running {
		s.mu.Unlock()
		return errors.New("lag: Sampler.Run called while it is already running")
	}
	s.running = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.running = false
		s.mu.Unlock()
	}()

	t := time.NewTicker(s.interval)
	defer t.Stop()
	for {
		s.tick(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (s *Sampler) tick(ctx context.Context) {
	// A tick may take longer than the interval (the ticker then drops the
	// ticks it missed) but not forever: a paused broker would otherwise
	// stall sampling for the management client's whole timeout.
	tctx, cancel := context.WithTimeout(ctx, 2*s.interval+time.Second)
	defer cancel()
	at := time.Now()
	got, err := s.src.Sample(tctx)
	if err != nil {
		if ctx.Err() != nil {
			return // stopping, not a gap
		}
		s.logger.DebugContext(ctx, "lag: tick failed, recording a gap", "err", err)
		s.mu.Lock()
		s.gaps = append(s.gaps, Gap{At: at, Err: err.Error()})
		s.mu.Unlock()
		return
	}
	s.mu.Lock()
	s.samples = append(s.samples, got...)
	s.mu.Unlock()
	if s.onTick != nil {
		s.onTick(got)
	}
}

// Samples returns a copy of every sample so far, in tick order.
func (s *Sampler) Samples() []Sample {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.samples)
}

// Last returns a copy of the newest tick's samples (nil before the first):
// what a live display needs, without copying the whole run each second.
func (s *Sampler) Last() []Sample {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.samples)
	if n == 0 {
		return nil
	}
	at := s.samples[n-1].At
	i := n - 1
	for i > 0 && s.samples[i-1].At.Equal(at) {
		i--
	}
	return slices.Clone(s.samples[i:])
}

// Gaps returns the ticks that failed, in order.
func (s *Sampler) Gaps() []Gap {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.gaps)
}

// ErrNotDrained is wrapped by WaitDrained when its timeout expires first.
var ErrNotDrained = errors.New("queues did not drain")

// drainPoll is WaitDrained's period: the broker refreshes queue totals about
// once a second, so two readings closer than that could be one stale number
// seen twice.
const drainPoll = time.Second

// WaitDrained polls src until every queue's depth is <= threshold on two
// consecutive polls, and returns how long after the call the first of those
// two was taken. Failed polls (a restarting broker) are retried. After
// timeout it returns an error wrapping ErrNotDrained with the last depths.
func WaitDrained(ctx context.Context, src Source, threshold int64, timeout time.Duration) (time.Duration, error) {
	start := time.Now()
	deadline := start.Add(timeout)
	var (
		firstOK time.Time // when the current run of good polls began
		last    []Sample
		lastErr error
	)
	for {
		pctx, cancel := context.WithDeadline(ctx, deadline)
		at := time.Now()
		got, err := src.Sample(pctx)
		cancel()
		switch {
		case err != nil:
			// Keep last: the depths it holds are still the best answer.
			lastErr, firstOK = err, time.Time{}
		case drained(got, threshold):
			if !firstOK.IsZero() {
				return firstOK.Sub(start), nil
			}
			firstOK, last, lastErr = at, got, nil
		default:
			firstOK, last, lastErr = time.Time{}, got, nil
		}
		if err := ctx.Err(); err != nil {
			return 0, fmt.Errorf("lag: waiting for queues to drain: %w", context.Cause(ctx))
		}
		wait := time.Until(deadline)
		if wait <= 0 {
			return 0, notDrained(timeout, threshold, last, lastErr)
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("lag: waiting for queues to drain: %w", context.Cause(ctx))
		case <-time.After(min(drainPoll, wait)):
		}
	}
}

func drained(samples []Sample, threshold int64) bool {
	for _, s := range samples {
		if s.Depth > threshold {
			return false
		}
	}
	return true
}

func notDrained(timeout time.Duration, threshold int64, last []Sample, lastErr error) error {
	var detail []string
	switch {
	case last == nil:
		detail = append(detail, "the broker never answered")
	case drained(last, threshold):
		detail = append(detail, "only the last good poll was within it, with no second one to confirm")
	default:
		var busy []string
		for _, s := range last {
			if s.Depth > threshold {
				busy = append(busy, fmt.Sprintf("%s=%d (ready %d, unacked %d, consumers %d)", s.Queue, s.Depth, s.Ready, s.Unacked, s.Consumers))
			}
		}
		detail = append(detail, fmt.Sprintf("last good poll: %s; a queue with 0 consumers has no service taking from it", strings.Join(busy, ", ")))
	}
	if lastErr != nil {
		detail = append(detail, fmt.Sprintf("last poll failed: %v", lastErr))
	}
	return fmt.Errorf("lag: %w within %v (threshold %d per queue): %s", ErrNotDrained, timeout, threshold, strings.Join(detail, "; "))
}
