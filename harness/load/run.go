package load

import (
	"context"
	"errors"
	"github.com/edabench/edabench/internal/precise"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Request is one call to make. Intended is when the schedule wanted it sent;
// it stays the reference for latency however late the call actually starts.
type Request struct {
	Seq      uint64 // 0-based position in the schedule
	Intended time.Time
	Phase    string
}

// Result is the outcome of one scheduled request.
type Result struct {
	Seq        uint64
	Phase      string
	Intended   time.Time
	Start, End time.Time // filled by the Attacker; zero when Dropped
	Err        error     // the Attacker's verdict; ErrOverloaded or ErrCancelled when Dropped
	Dropped    bool      // never sent; reported at its intended time
}

// Latency is what a user would have seen: from the intended send time (or
// the actual start, if the dispatcher sent the call slightly early) to the
// end. It includes any time the request spent waiting for the generator or
// for a worker, which is the point: that wait is the target's backlog.
// Zero for dropped requests, which callers count apart.
func (r Result) Latency() time.Duration {
	if r.Dropped {
		return 0
	}
	from := r.Intended
	if r.Start.Before(from) {
		from = r.Start
	}
	return r.End.Sub(from)
}

// ServiceTime is the uncorrected time the call itself took (End-Start), as
// wrk2 also reports it; next to Latency it shows how much of a latency was
// queueing rather than service.
func (r Result) ServiceTime() time.Duration {
	if r.Dropped {
		return 0
	}
	return r.End.Sub(r.Start)
}

var (
	// ErrOverloaded marks a request dropped because MaxInFlight calls were
	// outstanding at its intended time.
	ErrOverloaded = errors.New("load: dropped: MaxInFlight calls were outstanding")
	// ErrCancelled marks a request that was queued for a worker when the
	// run's context ended, so it was never sent.
	ErrCancelled = errors.New("load: not sent: the run was cancelled while it was queued")
)

// Attacker makes one call. It sets Err, classifying failures as it sees
// fit, and may set Start and End itself (Run otherwise stamps them just
// before and after the call). It must bound the call with its own
// deadline: Run waits for every call it started, even after its context
// ends.
type Attacker interface {
	Attack(ctx context.Context, req Request) Result
}

// AttackerFunc adapts a function to Attacker.
type AttackerFunc func(ctx context.Context, req Request) Result

// Attack calls f.
func (f AttackerFunc) Attack(ctx context.Context, req Request) Result { return f(ctx, req) }

// Clock is the run's time source; tests substitute a virtual one.
type Clock interface {
	// Now is called by the dispatcher and, to stamp calls, by the workers,
	// so it must be safe for concurrent use.
	Now() time.Time
	// SleepUntil returns at t, or earlier when ctx ends.
	SleepUntil(ctx context.Context, t time.Time)
}

const (
	// DefaultMaxInFlight bounds outstanding calls: enough for several
	// thousand req/s at a few hundred ms of latency, few enough that a
	// frozen target cannot make the generator hoard goroutines and memory.
	DefaultMaxInFlight = 512
	// earlySlack: a request due within this much is sent now rather than
	// after a sleep, because no sleep is that precise and a batch of due
	// requests costs one wake-up instead of several.
	earlySlack = 100 * time.Microsecond
	// lateWarning is the lateness from which the dispatcher warns that it,
	// not the target, may be what the latencies measure.
	lateWarning = 10 * time.Millisecond
)

// Options configure Run; build them with Option values.
type Options struct {
	// MaxInFlight bounds calls queued for or running in a worker; a request
	// due when that many are outstanding is dropped, not queued, so an
	// overloaded target shows up as drops at known times.
	MaxInFlight int
	// Workers is the size of the goroutine pool (default and maximum:
	// MaxInFlight, so every in-flight call has a worker and none waits for one).
	Workers int
	// MaxRequests stops the run after that many requests (default
	// DefaultMaxRequests).
	MaxRequests int64
	// Clock defaults to the real one.
	Clock Clock
	// Start is the schedule's zero (default: when Run starts), so that
	// runs made one after another (a ramp's steps) or the caller's own time
	// series share one timeline. A Start in the future delays the first
	// request; one in the past makes the requests already due late: they
	// go out at once, carrying their intended times, and the lag shows in
	// MaxLateness.
	Start time.Time
	// Logger receives warnings about drops and a lagging dispatcher
	// (default: none).
	Logger *slog.Logger
	// CoarseSleep paces with Go timers alone. They wake about 0.5 ms late
	// on average (Linux rounds sub-millisecond waits up to one), a bias every
	// latency then carries; in exchange the generator wakes less often,
	// batching requests, and uses roughly half the CPU at 1000 req/s and a
	// third or less at 5000 (see BenchmarkDispatch). The default finishes
	// each wait with a precise sleep, late by about 0.1 ms.
	CoarseSleep bool
}

// Option sets one field of Options; zero or negative values keep the default.
type Option func(*Options)

// WithMaxInFlight sets Options.MaxInFlight.
func WithMaxInFlight(n int) Option { return func(o *Options) { o.MaxInFlight = n } }

// WithWorkers sets Options.Workers.
func WithWorkers(n int) Option { return func(o *Options) { o.Workers = n } }

// WithMaxRequests sets Options.MaxRequests.
func WithMaxRequests(n int64) Option { return func(o *Options) { o.MaxRequests = n } }

// WithStart sets Options.Start.
func WithStart(t time.Time) Option { return func(o *Options) { o.Start = t } }

// WithClock sets Options.Clock.
func WithClock(c Clock) Option { return func(o *Options) { o.Clock = c } }

// WithCoarseSleep sets Options.CoarseSleep.
func WithCoarseSleep() Option { return func(o *Options) { o.CoarseSleep = true } }

// WithLogger sets Options.Logger.
func WithLogger(l *slog.Logger) Option { return func(o *Options) { o.Logger = l } }

// NewOptions applies opts to the defaults, exactly as Run does, so a caller
// can size its per-worker recorders (see Shards) before calling Run.
func NewOptions(opts ...Option) Options {
	var o Options
	for _, f := range opts {
		f(&o)
	}
	if o.MaxInFlight <= 0 {
		o.MaxInFlight = DefaultMaxInFlight
	}
	if o.Workers <= 0 || o.Workers > o.MaxInFlight {
		o.Workers = o.MaxInFlight
	}
	if o.MaxRequests <= 0 {
		o.MaxRequests = DefaultMaxRequests
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Shards is how many worker indices handle sees: Workers for the pool plus
// one (index Workers) for the dispatcher's dropped results.
func (o Options) Shards() int { return o.Workers + 1 }

// Stats are a run's totals. Sent + Dropped is every request the schedule
// yielded before the run stopped; Sent = Completed + Failed.
type Stats struct {
	Sent      int64 // handed to the Attacker
	Dropped   int64 // never sent: MaxInFlight reached, or cancelled while queued
	Cancelled int64 // the part of Dropped that was queued when ctx ended
	Completed int64 // Attacker returned a nil Err
	Failed    int64 // Attacker returned an Err
	// Started is the schedule's zero (Options.Start when set): every
	// Intended is Started plus the request's offset. Ended is when the last
	// call returned.
	Started, Ended time.Time
	// Partial: ctx ended before the schedule did.
	Partial bool
	// Truncated: MaxRequests (Run's or the schedule's) ended the run early.
	Truncated bool
	// MaxLateness and MeanLateness are how far behind the intended times
	// the dispatcher ran (mean over every request, early ones counting 0).
	// Latencies include this lag, so a saturated generator is visible
	// here rather than blamed on the target.
	MaxLateness, MeanLateness time.Duration
}

// Run sends the schedule's requests at their intended times until it ends
// (or MaxRequests, or ctx ends), then waits for every call in flight and
// returns the totals.
//
// handle receives a Result for every request the schedule yielded, exactly
// once: sent ones when their call returns, dropped ones at their intended
// time. It is called concurrently, but never concurrently for the same
// worker index, so a caller keeps one recorder per index without locks:
//   - indices 0..Workers-1 are the pool's workers (their results, and the
//     ErrCancelled drops of requests they had queued);
//   - index Workers is the dispatcher, which reports ErrOverloaded drops;
//
// allocate NewOptions(opts...).Shards() recorders. A slow handle delays
// its worker (or, for drops, the dispatcher), so keep it to recording.
//
// Ending ctx stops dispatching but does not cancel calls in flight: the
// Attacker's ctx never ends early, so those calls report the target's real
// outcome within the Attacker's own deadline, rather than an artefact of
// stopping.
func Run(ctx context.Context, s *Schedule, a Attacker, handle func(worker int, r Result), opts ...Option) Stats {
	o := NewOptions(opts...)
	if handle == nil {
		handle = func(int, Result) {}
	}
	clock := o.Clock
	if clock == nil {
		rc := newRealClock(o.CoarseSleep)
		defer rc.stop()
		clock = rc
	}

	var inFlight atomic.Int64
	// Idle workers wait on a stack: the dispatcher hands a request to the
	// one that went idle last. A FIFO pool would rotate through every
	// worker even at a trickle; the stack keeps the set of busy workers as
	// small as the load needs (Little's law), so the caller's per-worker
	// recorders, created on first use, stay few. Workers are started on
	// demand, up to Workers; once all are busy, requests wait in the
	// backlog (when Workers < MaxInFlight) until one is free.
	backlog := make(chan Request, o.MaxInFlight)
	callCtx := context.WithoutCancel(ctx)
	done := ctx.Done()
	pool := &workerPool{}

	type tally struct {
		completed, failed, cancelled int64
		_                            [40]byte // one cache line each: workers update theirs on every call
	}
	tallies := make([]tally, o.Workers)
	var wg sync.WaitGroup
	serve := func(w int, req Request) {
		t := &tallies[w]
		select {
		case <-done:
			inFlight.Add(-1)
			t.cancelled++
			handle(w, Result{Seq: req.Seq, Phase: req.Phase, Intended: req.Intended, Dropped: true, Err: ErrCancelled})
			return
		default:
		}
		start := clock.Now()
		r := a.Attack(callCtx, req)
		if r.Start.IsZero() {
			r.Start = start
		}
		if r.End.IsZero() {
			r.End = clock.Now()
		}
		inFlight.Add(-1)
		r.Seq, r.Phase, r.Intended, r.Dropped = req.Seq, req.Phase, req.Intended, false
		if r.Err != nil {
			t.failed++
		} else {
			t.completed++
		}
		handle(w, r)
	}
	startWorker := func(first Request) {
		w := len(pool.own)
		// Room for two: a worker popped by the dispatcher can have gone on
		// to the backlog and put itself back on the stack before the
		// dispatcher's send lands (see workerPool.run).
		own := make(chan Request, 2)
		pool.own = append(pool.own, own)
		own <- first
		wg.Go(func() { pool.run(w, own, backlog, serve) })
	}
	var st Stats
	var enqueued, dropped int64
	var sumLate time.Duration
	warnedDrop, warnedLate := false, false
	maxIn := int64(o.MaxInFlight)
	st.Started = o.Start
	if st.Started.IsZero() {
		st.Started = clock.Now()
	}
dispatch:
	for seq := int64(0); ; seq++ {
		if seq >= o.MaxRequests {
			if _, _, more := s.Next(); more {
				st.Truncated = true
			}
			break
		}
		off, phase, ok := s.Next()
		if !ok {
			st.Truncated = s.Truncated()
			break
		}
		due := st.Started.Add(off)
		// Each wait is computed from the absolute intended time, so an
		// oversleep delays one batch and is never carried forward.
		now := clock.Now()
		if due.Sub(now) > earlySlack {
			clock.SleepUntil(ctx, due)
			now = clock.Now()
		}
		select {
		case <-done:
			st.Partial = true
			break dispatch
		default:
		}
		if late := now.Sub(due); late > 0 {
			sumLate += late
			if late > st.MaxLateness {
				st.MaxLateness = late
				if late > lateWarning && !warnedLate {
					warnedLate = true
					o.Logger.Warn("load: dispatcher behind schedule; latencies include its lag",
						"lateness", late, "offset", off, "phase", phase)
				}
			}
		}
		req := Request{Seq: uint64(seq), Intended: due, Phase: phase}
		if inFlight.Load() >= maxIn {
			dropped++
			if !warnedDrop {
				warnedDrop = true
				o.Logger.Warn("load: dropping requests: MaxInFlight calls outstanding",
					"max_in_flight", o.MaxInFlight, "offset", off, "phase", phase)
			}
			handle(o.Workers, Result{Seq: req.Seq, Phase: phase, Intended: due, Dropped: true, Err: ErrOverloaded})
			continue
		}
		inFlight.Add(1)
		switch w, ok := pool.pop(); {
		case ok:
			pool.own[w] <- req
		case len(pool.own) < o.Workers:
			startWorker(req)
		default:
			backlog <- req
		}
		enqueued++
	}
	pool.close()
	wg.Wait()
	st.Ended = clock.Now()

	for i := range tallies {
		st.Completed += tallies[i].completed
		st.Failed += tallies[i].failed
		st.Cancelled += tallies[i].cancelled
	}
	st.Sent = enqueued - st.Cancelled
	st.Dropped = dropped + st.Cancelled
	if n := enqueued + dropped; n > 0 {
		st.MeanLateness = sumLate / time.Duration(n)
	}
	return st
}

// workerPool is the stack of idle workers. pop and the own channels are the
// dispatcher's; push and remove are the workers'.
type workerPool struct {
	mu      sync.Mutex
	idle    []int
	inStack []bool
	own     []chan Request // written only by the dispatcher
	closed  bool
}

func (p *workerPool) pop() (int, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(p.idle)
	if n == 0 {
		return 0, false
	}
	w := p.idle[n-1]
	p.idle = p.idle[:n-1]
	p.inStack[w] = false
	return w, true
}

// push makes w idle; false once the pool is closed (the worker exits).
func (p *workerPool) push(w int) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	for len(p.inStack) <= w {
		p.inStack = append(p.inStack, false)
	}
	if !p.inStack[w] {
		p.inStack[w] = true
		p.idle = append(p.idle, w)
	}
	return true
}

// remove takes w off the stack if it is there (it took backlog work).
func (p *workerPool) remove(w int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if w >= len(p.inStack) || !p.inStack[w] {
		return
	}
	p.inStack[w] = false
	for i, x := range p.idle {
		if x == w {
			p.idle = append(p.idle[:i], p.idle[i+1:]...)
			break
		}
	}
}

// close ends every worker once its work is done: the dispatcher is finished.
func (p *workerPool) close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	for _, c := range p.own {
		close(c)
	}
}

// run is one worker: its own handed-over requests first, then the backlog,
// then idle on the stack until either brings work.
func (p *workerPool) run(w int, own <-chan Request, backlog <-chan Request, serve func(int, Request)) {
	for {
		select {
		case req, ok := <-own:
			if !ok {
				p.drain(w, backlog, serve)
				return
			}
			serve(w, req)
			continue
		default:
		}
		select {
		case req := <-backlog:
			serve(w, req)
			continue
		default:
		}
		if !p.push(w) {
			// Closed: finish what was handed over, then the backlog.
			for req := range own {
				serve(w, req)
			}
			p.drain(w, backlog, serve)
			return
		}
		select {
		case req, ok := <-own:
			if !ok {
				p.drain(w, backlog, serve)
				return
			}
			serve(w, req)
		case req := <-backlog:
			p.remove(w)
			serve(w, req)
		}
	}
}

// drain serves what is left in the backlog after the dispatcher finished.
func (p *workerPool) drain(w int, backlog <-chan Request, serve func(int, Request)) {
	for {
		select {
		case req := <-backlog:
			serve(w, req)
		default:
			return
		}
	}
}

// realClock paces with a precise.Sleeper: Go's timers alone would round
// waits below a millisecond up to about one, which at thousands of req/s
// would bunch requests and add that lag to every latency.
type realClock struct{ s *precise.Sleeper }

func newRealClock(coarse bool) *realClock { return &realClock{s: precise.NewSleeper(coarse)} }

func (c *realClock) stop() { c.s.Stop() }

func (c *realClock) Now() time.Time { return time.Now() }

func (c *realClock) SleepUntil(ctx context.Context, t time.Time) { c.s.SleepUntil(ctx, t) }
