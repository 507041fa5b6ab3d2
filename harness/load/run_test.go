package load

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// recorder keeps results per worker index without locks, the way Run's
// contract says a caller may: -race flags any overlap on one index.
type recorder struct{ shards [][]Result }

func newRecorder(opts ...Option) *recorder {
	return &recorder{shards: make([][]Result, NewOptions(opts...).Shards())}
}

func (r *recorder) handle(w int, res Result) { r.shards[w] = append(r.shards[w], res) }

// bySeq checks that every request was handled exactly once and returns
// them in schedule order.
func (r *recorder) bySeq(t *testing.T, yielded int64) []Result {
	t.Helper()
	out := make([]Result, yielded)
	seen := make([]bool, yielded)
	for w, shard := range r.shards {
		for _, res := range shard {
			if res.Seq >= uint64(yielded) {
				t.Fatalf("worker %d handled seq %d, beyond the %d yielded", w, res.Seq, yielded)
			}
			if seen[res.Seq] {
				t.Fatalf("seq %d handled twice", res.Seq)
			}
			if res.Dropped && errors.Is(res.Err, ErrOverloaded) && w != len(r.shards)-1 {
				t.Fatalf("overload drop on worker %d, want the dispatcher's index %d", w, len(r.shards)-1)
			}
			seen[res.Seq] = true
			out[res.Seq] = res
		}
	}
	for i, ok := range seen {
		if !ok {
			t.Fatalf("seq %d never handled", i)
		}
	}
	return out
}

func sleeper(d time.Duration) Attacker {
	return AttackerFunc(func(ctx context.Context, req Request) Result {
		start := time.Now()
		time.Sleep(d)
		return Result{Start: start, End: time.Now()}
	})
}

// runWithin fails the test instead of hanging when Run does not return.
func runWithin(t *testing.T, limit time.Duration, f func() Stats) Stats {
	t.Helper()
	ch := make(chan Stats, 1)
	go func() { ch <- f() }()
	select {
	case st := <-ch:
		return st
	case <-time.After(limit):
		t.Fatalf("Run did not return within %v", limit)
		return Stats{}
	}
}

func mustSchedule(t *testing.T, arrival Arrival, stages ...Stage) *Schedule {
	t.Helper()
	s, err := NewSchedule(stages, arrival, 11)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRunAccountsEveryRequest(t *testing.T) {
	stages := []Stage{
		{Name: "a", Duration: 250 * time.Millisecond, From: 2000, To: 2000},
		{Name: "b", Duration: 250 * time.Millisecond, From: 2000, To: 4000},
	}
	s := mustSchedule(t, Poisson, stages...)
	ref := mustSchedule(t, Poisson, stages...)
	rec := newRecorder()
	st := runWithin(t, 30*time.Second, func() Stats {
		return Run(context.Background(), s, sleeper(time.Millisecond), rec.handle)
	})
	yielded := s.Yielded()
	if st.Sent+st.Dropped != yielded {
		t.Fatalf("sent %d + dropped %d != %d scheduled", st.Sent, st.Dropped, yielded)
	}
	if st.Dropped != 0 || st.Completed != st.Sent || st.Failed != 0 || st.Partial || st.Truncated {
		t.Fatalf("stats %+v: want no drops, failures, partial or truncation at 1 ms per call", st)
	}
	for _, r := range rec.bySeq(t, yielded) {
		off, phase, _ := ref.Next()
		// Intended comes from the schedule, not from when the dispatcher
		// got round to it: no drift, and nothing re-timed.
		if want := st.Started.Add(off); !r.Intended.Equal(want) || r.Phase != phase {
			t.Fatalf("seq %d: intended %v phase %q, want %v %q", r.Seq, r.Intended.Sub(st.Started), r.Phase, off, phase)
		}
		if r.Latency() < r.ServiceTime() {
			t.Fatalf("seq %d: latency %v below service time %v", r.Seq, r.Latency(), r.ServiceTime())
		}
	}
}

// TestRunFrozenTarget is the coordinated-omission property. The target
// freezes for 200 ms; every request due meanwhile must come out either
// dropped or with a latency of at least the rest of the freeze after its
// intended time, including the ones that only waited in the queue and so
// have a short service time.
func TestRunFrozenTarget(t *testing.T) {
	const (
		rate        = 1000
		maxInFlight = 50
		workers     = 10
	)
	freezeFrom, freezeFor := 100*time.Millisecond, 200*time.Millisecond
	begin := time.Now()
	thaw := begin.Add(freezeFrom + freezeFor)
	frozenFrom := begin.Add(freezeFrom)
	target := AttackerFunc(func(ctx context.Context, req Request) Result {
		start := time.Now()
		if !req.Intended.Before(frozenFrom) && start.Before(thaw) {
			time.Sleep(time.Until(thaw))
		}
		return Result{Start: start, End: time.Now()}
	})
	s := mustSchedule(t, Uniform, Stage{Name: "c", Duration: 600 * time.Millisecond, From: rate, To: rate})
	opts := []Option{WithMaxInFlight(maxInFlight), WithWorkers(workers)}
	rec := newRecorder(opts...)
	st := runWithin(t, 30*time.Second, func() Stats {
		return Run(context.Background(), s, target, rec.handle, opts...)
	})
	results := rec.bySeq(t, s.Yielded())
	if st.Sent+st.Dropped != int64(len(results)) || len(results) != 600 {
		t.Fatalf("sent %d + dropped %d, %d results; want 600 accounted", st.Sent, st.Dropped, len(results))
	}

	var inWindow, sentInWindow, queuedThenServed int
	for _, r := range results {
		if r.Intended.Before(frozenFrom) {
			if r.Dropped {
				t.Fatalf("seq %d due before the freeze was dropped", r.Seq)
			}
			continue
		}
		if !r.Intended.Before(thaw) {
			continue
		}
		inWindow++
		if r.Dropped {
			continue
		}
		sentInWindow++
		if floor := thaw.Sub(r.Intended); r.Latency() < floor {
			t.Errorf("seq %d due %v before the thaw: latency %v, want >= %v (measured from the intended time)",
				r.Seq, floor, r.Latency(), floor)
		}
		if r.Latency()-r.ServiceTime() > freezeFor/4 {
			queuedThenServed++
		}
	}
	// During the freeze nothing completes, so at most maxInFlight requests
	// can be outstanding; the rest of the window's requests are drops,
	// less any the dispatcher only reached after the thaw.
	lateSlots := int(st.MaxLateness.Seconds()*rate) + 1
	if sentInWindow > maxInFlight+lateSlots {
		t.Errorf("%d of %d requests due in the freeze were sent, want at most %d in flight (+%d late)",
			sentInWindow, inWindow, maxInFlight, lateSlots)
	}
	if st.Dropped < int64(inWindow-maxInFlight-lateSlots) {
		t.Errorf("dropped %d, want >= %d", st.Dropped, inWindow-maxInFlight-lateSlots)
	}
	// The requests that sat in the queue behind the blocked workers are
	// the ones a closed-loop tool would report as fast.
	if queuedThenServed < maxInFlight-workers-lateSlots {
		t.Errorf("%d requests show queueing in Latency over ServiceTime, want >= %d", queuedThenServed, maxInFlight-workers-lateSlots)
	}
}

func TestRunDropsAtMaxInFlight(t *testing.T) {
	const service = 10 * time.Millisecond
	s := mustSchedule(t, Uniform, Stage{Name: "c", Duration: 200 * time.Millisecond, From: 1000, To: 1000})
	var logBuf bytes.Buffer
	opts := []Option{WithMaxInFlight(1), WithWorkers(8), WithLogger(slog.New(slog.NewTextHandler(&logBuf, nil)))}
	if o := NewOptions(opts...); o.Workers != 1 {
		t.Fatalf("Workers = %d with MaxInFlight 1, want it clamped to 1", o.Workers)
	}
	rec := newRecorder(opts...)
	st := runWithin(t, 30*time.Second, func() Stats {
		return Run(context.Background(), s, sleeper(service), rec.handle, opts...)
	})
	rec.bySeq(t, 200)
	if st.Sent+st.Dropped != 200 || st.Sent < 1 || st.Dropped == 0 {
		t.Fatalf("sent %d dropped %d, want 200 in all with drops", st.Sent, st.Dropped)
	}
	// One call at a time: their service times fit end to end in the run.
	if elapsed := st.Ended.Sub(st.Started); time.Duration(st.Sent)*service > elapsed+service {
		t.Fatalf("%d sequential calls of %v in %v: more than one was in flight", st.Sent, service, elapsed)
	}
	var overloaded int64
	for _, r := range rec.shards[1] {
		if !r.Dropped || !errors.Is(r.Err, ErrOverloaded) || r.Latency() != 0 || r.Intended.IsZero() {
			t.Fatalf("dispatcher shard holds %+v, want overload drops with an intended time", r)
		}
		overloaded++
	}
	if overloaded != st.Dropped {
		t.Fatalf("%d drops handled on the dispatcher's index, stats say %d", overloaded, st.Dropped)
	}
	// Drops are announced once, not once per request.
	if n := strings.Count(logBuf.String(), "dropping requests"); n != 1 {
		t.Fatalf("%d drop warnings logged, want 1:\n%s", n, logBuf.String())
	}
}

func TestRunCancel(t *testing.T) {
	s := mustSchedule(t, Uniform, Stage{Name: "long", Duration: 10 * time.Second, From: 1000, To: 1000})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Two slow workers and room to queue, so cancellation finds requests
	// both running and queued.
	opts := []Option{WithMaxInFlight(64), WithWorkers(2)}
	rec := newRecorder(opts...)
	var handled atomic.Int64
	var mu sync.Mutex // handle for different indices runs concurrently
	handle := func(w int, r Result) {
		mu.Lock()
		rec.handle(w, r)
		mu.Unlock()
		if handled.Add(1) == 100 {
			cancel()
		}
	}
	var attacked atomic.Int64
	target := AttackerFunc(func(ctx context.Context, req Request) Result {
		attacked.Add(1)
		start := time.Now()
		time.Sleep(5 * time.Millisecond)
		// The call's context must outlive the run's, so it can finish.
		return Result{Start: start, End: time.Now(), Err: ctx.Err()}
	})
	st := runWithin(t, 10*time.Second, func() Stats { return Run(ctx, s, target, handle, opts...) })
	if !st.Partial {
		t.Fatal("Partial = false after cancel")
	}
	results := rec.bySeq(t, st.Sent+st.Dropped)
	if int64(len(results)) >= 10000 {
		t.Fatalf("%d requests after cancel: the run did not stop", len(results))
	}
	if st.Sent != attacked.Load() || st.Completed != st.Sent || st.Failed != 0 {
		t.Fatalf("stats %+v, %d calls made: want every started call handled and completed", st, attacked.Load())
	}
	var cancelled int64
	for _, r := range results {
		if errors.Is(r.Err, ErrCancelled) {
			cancelled++
		}
	}
	if cancelled != st.Cancelled || st.Cancelled == 0 {
		t.Fatalf("%d ErrCancelled results, stats say %d; want some (queued requests at cancel)", cancelled, st.Cancelled)
	}
}

func TestRunMaxRequests(t *testing.T) {
	s := mustSchedule(t, Uniform, Stage{Name: "c", Duration: time.Second, From: 10000, To: 10000})
	rec := newRecorder()
	st := runWithin(t, 30*time.Second, func() Stats {
		return Run(context.Background(), s, sleeper(0), rec.handle, WithMaxRequests(100))
	})
	if !st.Truncated || st.Partial || st.Sent+st.Dropped != 100 {
		t.Fatalf("stats %+v: want 100 requests, truncated", st)
	}
	rec.bySeq(t, 100)
}

// virtualClock moves only when the dispatcher sleeps, plus cost per Now
// call, which stands for the dispatcher's own CPU time.
type virtualClock struct {
	mu     sync.Mutex
	now    time.Time
	cost   time.Duration
	sleeps int
}

func (c *virtualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(c.cost)
	return c.now
}

func (c *virtualClock) SleepUntil(_ context.Context, t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sleeps++
	if t.After(c.now) {
		c.now = t
	}
}

// WithStart puts a run on a timeline the caller chose: intended times count
// from it, early or late.
func TestRunWithStart(t *testing.T) {
	stage := Stage{Name: "c", Duration: 100 * time.Millisecond, From: 1000, To: 1000}
	for _, shift := range []time.Duration{50 * time.Millisecond, -50 * time.Millisecond} {
		clock := &virtualClock{now: time.Unix(1e9, 0)}
		start := clock.now.Add(shift)
		s, ref := mustSchedule(t, Uniform, stage), mustSchedule(t, Uniform, stage)
		rec := newRecorder()
		st := Run(context.Background(), s, AttackerFunc(func(context.Context, Request) Result { return Result{} }),
			rec.handle, WithClock(clock), WithStart(start))
		if !st.Started.Equal(start) {
			t.Fatalf("shift %v: Started %v, want %v", shift, st.Started, start)
		}
		for _, r := range rec.bySeq(t, s.Yielded()) {
			off, _, _ := ref.Next()
			if !r.Intended.Equal(start.Add(off)) {
				t.Fatalf("shift %v: seq %d intended %v, want %v", shift, r.Seq, r.Intended.Sub(start), off)
			}
		}
		// Starting in the past makes the first 50 ms of requests late.
		if late := st.MaxLateness >= 49*time.Millisecond; late != (shift < 0) {
			t.Fatalf("shift %v: max lateness %v", shift, st.MaxLateness)
		}
	}
}

func TestDispatcherBatchesAndKeepsIntendedTimes(t *testing.T) {
	cases := []struct {
		name             string
		rate             float64
		cost             time.Duration
		minSleep, maxSle int
		late             bool
	}{
		// 1 ms apart: one sleep per request but the first.
		{"paced", 1000, 0, 99, 99, false},
		// 20 µs apart: a sleep only when more than 100 µs ahead, so about
		// one per six requests.
		{"batched", 50000, 0, 5000 / 7, 5000 / 5, false},
		// A dispatcher slower than the schedule never sleeps, falls behind,
		// and still stamps every request with its intended time.
		{"lagging", 50000, 30 * time.Microsecond, 0, 0, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			stage := Stage{Name: "c", Duration: 100 * time.Millisecond, From: c.rate, To: c.rate}
			s, ref := mustSchedule(t, Uniform, stage), mustSchedule(t, Uniform, stage)
			clock := &virtualClock{now: time.Unix(1e9, 0), cost: c.cost}
			rec := newRecorder()
			noop := AttackerFunc(func(context.Context, Request) Result { return Result{} })
			st := Run(context.Background(), s, noop, rec.handle, WithClock(clock))
			n := s.Yielded()
			if st.Sent+st.Dropped != n {
				t.Fatalf("sent %d + dropped %d != %d", st.Sent, st.Dropped, n)
			}
			if clock.sleeps < c.minSleep || clock.sleeps > c.maxSle {
				t.Errorf("%d sleeps for %d requests, want %d..%d", clock.sleeps, n, c.minSleep, c.maxSle)
			}
			if (st.MaxLateness > 0) != c.late || st.MeanLateness > st.MaxLateness {
				t.Errorf("max lateness %v mean %v, want lateness %v", st.MaxLateness, st.MeanLateness, c.late)
			}
			for _, r := range rec.bySeq(t, n) {
				off, _, _ := ref.Next()
				if !r.Intended.Equal(st.Started.Add(off)) {
					t.Fatalf("seq %d intended at %v, want %v", r.Seq, r.Intended.Sub(st.Started), off)
				}
				// The attacker left Start and End zero: Run stamps them.
				if !r.Dropped && (r.Start.IsZero() || r.End.Before(r.Start)) {
					t.Fatalf("seq %d: start %v end %v, want stamped by Run", r.Seq, r.Start, r.End)
				}
			}
		})
	}
}

// TestRunReusesFewWorkersAtLowConcurrency: the pool hands work to the
// worker that went idle last, so a light load touches only as many workers
// as it keeps busy, not the whole pool; callers size per-worker state on it.
func TestRunReusesFewWorkersAtLowConcurrency(t *testing.T) {
	s := mustSchedule(t, Uniform, Stage{Name: "c", Duration: 300 * time.Millisecond, From: 1000, To: 1000})
	var mu sync.Mutex
	used := map[int]bool{}
	target := AttackerFunc(func(ctx context.Context, req Request) Result {
		time.Sleep(200 * time.Microsecond)
		return Result{}
	})
	st := runWithin(t, 30*time.Second, func() Stats {
		return Run(context.Background(), s, target, func(w int, r Result) {
			mu.Lock()
			used[w] = true
			mu.Unlock()
		}, WithMaxInFlight(512))
	})
	if st.Sent != 300 || st.Dropped != 0 {
		t.Fatalf("sent %d dropped %d, want 300 and 0", st.Sent, st.Dropped)
	}
	// Each call takes 0.2 ms and one is due every 1 ms: one worker would
	// do. Allow for scheduling hiccups on a busy machine, not for a pool
	// that rotates through all 512.
	if len(used) > 32 {
		t.Fatalf("%d distinct workers served a load that keeps ~1 busy", len(used))
	}
}
