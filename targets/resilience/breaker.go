package resilience

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// State is a circuit's state; its value is what the state gauge exports.
type State int

const (
	Closed   State = 0
	HalfOpen State = 1
	Open     State = 2
)

func (s State) String() string {
	switch s {
	case Closed:
		return "closed"
	case HalfOpen:
		return "half-open"
	case Open:
		return "open"
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// ErrCircuitOpen matches every *OpenError (errors.Is).
var ErrCircuitOpen = errors.New("circuit open")

// OpenError is a call the breaker refused: it never left this process, so
// the peer cannot have acted on it. Its gRPC status is Unavailable.
type OpenError struct {
	Peer  string
	State State // Open, or HalfOpen with every probe slot taken
	// RetryAfter is when the next probe is let through (0 while half-open).
	RetryAfter time.Duration
}

func (e *OpenError) Error() string {
	if e.State == HalfOpen {
		return fmt.Sprintf("circuit open to %s (half-open: a probe is in flight)", e.Peer)
	}
	return fmt.Sprintf("circuit open to %s (next probe in %v)", e.Peer, e.RetryAfter.Round(time.Millisecond))
}

// GRPCStatus makes status.Code report Unavailable.
func (e *OpenError) GRPCStatus() *status.Status { return status.New(codes.Unavailable, e.Error()) }

// Is matches ErrCircuitOpen.
func (e *OpenError) Is(target error) bool { return target == ErrCircuitOpen }

// Outcome is how one call counts for the breaker.
type Outcome int

const (
	Success Outcome = iota
	Failure
	// Ignore counts neither way (the caller cancelled); it frees a probe slot.
	Ignore
)

// Breaker is one peer's circuit breaker. Safe for concurrent use.
type Breaker struct {
	peer string
	pol  BreakerPolicy
	now  func() time.Time
	obs  Observer
	log  *slog.Logger

	mu          sync.Mutex
	state       State
	gen         uint64 // bumped on every transition: late outcomes of an older state are dropped
	consecutive int
	openUntil   time.Time
	probes      int // in flight, half-open
	probeOK     int
	win         window
}

// NewBreaker builds a closed breaker for peer from the breaker policy,
// clock, observer and logger in opts (over DefaultOptions). Peer builds its
// own; this is for callers that guard something other than a gRPC client.
func NewBreaker(peer string, opts ...Option) (*Breaker, error) {
	o := DefaultOptions()
	for _, f := range opts {
		f(&o)
	}
	if err := o.validate(); err != nil {
		return nil, fmt.Errorf("breaker for %s: %w", peer, err)
	}
	return newBreaker(peer, &o), nil
}

func newBreaker(peer string, o *Options) *Breaker {
	b := &Breaker{peer: peer, pol: o.Breaker, now: o.Now, obs: o.Observer, log: o.Logger}
	if o.Breaker.FailureRatio > 0 {
		b.win = newWindow(o.Breaker.Window, 10)
	}
	b.obs.StateChange(peer, Closed, Closed)
	return b
}

// State is the current state; an open circuit whose OpenFor has passed
// still reads Open until a call arrives to probe it.
func (b *Breaker) State() State {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.state
}

// Allow admits a call or refuses it with an *OpenError. An admitted call
// must report its outcome through done exactly once.
func (b *Breaker) Allow() (done func(Outcome), err error) {
	if !b.pol.enabled() {
		return func(Outcome) {}, nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	if b.state == Open {
		if now.Before(b.openUntil) {
			b.obs.Rejected(b.peer)
			return nil, &OpenError{Peer: b.peer, State: Open, RetryAfter: b.openUntil.Sub(now)}
		}
		b.transition(HalfOpen, now)
	}
	if b.state == HalfOpen {
		if b.probes >= b.pol.HalfOpenProbes {
			b.obs.Rejected(b.peer)
			return nil, &OpenError{Peer: b.peer, State: HalfOpen}
		}
		b.probes++
	}
	gen := b.gen
	return func(o Outcome) { b.record(gen, o) }, nil
}

// Classify says how a call's error counts: a relayed failure is the
// peer's healthy answer about someone else; Canceled is the caller's doing.
func (b *Breaker) Classify(err error) Outcome {
	if err == nil || IsRelayed(err) {
		return Success
	}
	c := status.Code(err)
	switch {
	case c == codes.Canceled:
		return Ignore
	case b.pol.isFailure(c):
		return Failure
	}
	return Success
}

func (b *Breaker) record(gen uint64, o Outcome) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if gen != b.gen {
		return
	}
	now := b.now()
	switch b.state {
	case HalfOpen:
		b.probes--
		switch o {
		case Success:
			b.probeOK++
			if b.probeOK >= b.pol.HalfOpenProbes {
				b.transition(Closed, now)
			}
		case Failure:
			b.transition(Open, now)
		}
	case Closed:
		switch o {
		case Success:
			b.consecutive = 0
			b.win.add(now, false)
		case Failure:
			b.consecutive++
			b.win.add(now, true)
			if b.tripped(now) {
				b.transition(Open, now)
			}
		}
	}
}

func (b *Breaker) tripped(now time.Time) bool {
	if b.pol.FailureThreshold > 0 && b.consecutive >= b.pol.FailureThreshold {
		return true
	}
	if b.pol.FailureRatio > 0 {
		total, failed := b.win.sum(now)
		return total >= b.pol.MinRequests && float64(failed) >= b.pol.FailureRatio*float64(total)
	}
	return false
}

// transition runs with b.mu held, so the observer sees transitions in order
// (it must not call back into the breaker).
func (b *Breaker) transition(to State, now time.Time) {
	from := b.state
	b.state = to
	b.gen++
	b.consecutive, b.probes, b.probeOK = 0, 0, 0
	switch to {
	case Open:
		b.openUntil = now.Add(b.pol.OpenFor)
		b.log.Warn("circuit breaker opened: calls fail fast", "peer", b.peer, "from", from.String(), "for", b.pol.OpenFor)
	case Closed:
		b.win.reset()
		b.log.Info("circuit breaker closed: peer healthy again", "peer", b.peer)
	}
	b.obs.StateChange(b.peer, from, to)
}

// window counts outcomes over a sliding period in buckets, so the ratio
// trigger forgets old calls without keeping every timestamp.
type window struct {
	width   time.Duration // of one bucket
	buckets []bucket
}

type bucket struct {
	idx          int64
	total, fails int
}

func newWindow(span time.Duration, n int) window {
	w := span / time.Duration(n)
	if w <= 0 {
		w = 1
	}
	return window{width: w, buckets: make([]bucket, n)}
}

func (w *window) add(now time.Time, failed bool) {
	if w.buckets == nil {
		return
	}
	idx := now.UnixNano() / int64(w.width)
	bk := &w.buckets[int(idx%int64(len(w.buckets)))]
	if bk.idx != idx {
		*bk = bucket{idx: idx}
	}
	bk.total++
	if failed {
		bk.fails++
	}
}

func (w *window) sum(now time.Time) (total, fails int) {
	idx := now.UnixNano() / int64(w.width)
	for _, bk := range w.buckets {
		if bk.idx > idx-int64(len(w.buckets)) && bk.idx <= idx {
			total += bk.total
			fails += bk.fails
		}
	}
	return total, fails
}

func (w *window) reset() { clear(w.buckets) }
