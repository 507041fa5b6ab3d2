package hops

import (
	"context"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/Shopify/toxiproxy/v2/toxics"

	"github.com/edabench/edabench/internal/precise"
)

// delayType is the toxic that delays a hop. Toxiproxy's own latency toxic
// counts in whole milliseconds, and a data centre's one-way latency is a
// fraction of one: this one counts in microseconds.
const delayType = "edabench_latency"

// Toxiproxy builds toxics by type name from its package registry; the
// registration only adds a type, so it is safe to do once per process.
func init() { toxics.Register(delayType, new(delayToxic)) }

// delayToxic passes every chunk on latency ± jitter after it was read, in
// order: a chunk never overtakes the one before it, as on a TCP stream. Go's
// timers wake up to a millisecond late here, more than a data centre's
// whole round trip, so the last stretch of each wait is internal/precise's
// nanosleep, which holds one thread for at most precise.FineWindow. Even
// that wakes ~100 µs late on a loaded machine (timer slack, the thread
// getting a CPU back), a fifth of a data centre's round trip, so the toxic
// learns how late its wake-ups are and wakes that much earlier.
type delayToxic struct {
	LatencyUs int64 `json:"latency_us"`
	JitterUs  int64 `json:"jitter_us"`
	// late is the running mean (ns) of how late a wake-up came.
	late atomic.Int64
}

// lateWeight is the share of a new wake-up in the running mean: 1/8, so
// one stall moves it little and a lasting change in load within tens of
// chunks.
const lateWeight = 8

func (t *delayToxic) GetBufferSize() int { return 1024 }

func (t *delayToxic) delay() time.Duration {
	d := t.LatencyUs
	if t.JitterUs > 0 {
		d += rand.Int64N(2*t.JitterUs+1) - t.JitterUs
	}
	return time.Duration(max(d, 0)) * time.Microsecond
}

func (t *delayToxic) Pipe(stub *toxics.ToxicStub) {
	for {
		select {
		case <-stub.Interrupt:
			return
		case c := <-stub.Input:
			if c == nil {
				stub.Close()
				return
			}
			// From when the chunk was read, so the proxy's own queueing
			// counts towards the delay rather than adding to it.
			d := t.delay()
			// Waking early is bounded by half the delay, so a stall the
			// mean learnt from never swallows a delay whole.
			at := c.Timestamp.Add(d - min(time.Duration(t.late.Load()), d/2))
			if coarse := time.Until(at) - precise.FineWindow; coarse > 0 {
				tm := time.NewTimer(coarse)
				select {
				case <-tm.C:
				case <-stub.Interrupt:
					tm.Stop()
					stub.Output <- c // never drop data on the floor
					return
				}
			}
			// At most FineWindow (plus the timer's lateness) is left: too
			// short to be worth interrupting.
			if wait := time.Until(at); wait > 0 {
				_ = precise.Sleep(context.Background(), wait)
				old := t.late.Load()
				t.late.Store(old + (int64(time.Since(at))-old)/lateWeight)
			}
			if at.After(c.Timestamp) {
				c.Timestamp = at
			}
			stub.Output <- c
		}
	}
}
