// Package load is edabench's open-model load generator: requests are sent at
// the times a schedule fixes in advance, whatever the target does, and every
// latency is measured from that intended time. A closed-loop driver (send,
// wait, send) slows down exactly when the target does and so hides the
// stall from its own figures ("coordinated omission"); here a stalled target
// shows up as latencies that grow with the stall, or as dropped requests,
// never as requests quietly not sent.
package load

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// DefaultMaxRequests bounds a schedule and a run, so a mistyped rate
// (1e9 instead of 1e3) fails fast or stops by itself rather than filling the
// memory of every recorder downstream.
const DefaultMaxRequests int64 = 10_000_000

// Arrival is how requests are spread in time at a given rate.
type Arrival string

const (
	// Uniform spaces requests exactly 1/rate apart, as wrk2 does: the least
	// noisy load, good for comparing twins step by step.
	Uniform Arrival = "uniform"
	// Poisson draws exponential gaps with mean 1/rate, as independent users
	// do; it produces the short bursts a real front end sees.
	Poisson Arrival = "poisson"
	// OnOff alternates bursts and silences at the same mean rate: every
	// OnOffPeriod's Poisson arrivals are sent in its first OnOffDuty, at
	// rate/OnOffDuty, and none in the rest. A front end whose
	// users arrive in waves (a batch job, a page everyone reloads) offers
	// this; it asks a twin to absorb bursts of 1/OnOffDuty times the rate.
	OnOff Arrival = "on-off"
)

// The on-off process's parameters: a 1 s cycle, on for its first quarter
// at four times the rate. A quarter-second burst is long enough to fill a
// queue at 4x and short enough that a 20 s stage holds twenty of them.
const (
	OnOffPeriod = time.Second
	OnOffDuty   = 0.25
)

// Arrivals lists the arrival processes.
func Arrivals() []Arrival { return []Arrival{Uniform, Poisson, OnOff} }

// CheckArrival reports an arrival process that is not one.
func CheckArrival(a Arrival) error {
	for _, k := range Arrivals() {
		if a == k {
			return nil
		}
	}
	return fmt.Errorf("arrival %q: want %s, %s or %s", a, Uniform, Poisson, OnOff)
}

// Stage is one phase of a schedule: its rate goes linearly from From to To
// (requests per second) over Duration, constant when they are equal. Name
// labels the requests of the phase in results.
type Stage struct {
	Name     string
	Duration time.Duration
	From, To float64
}

// Schedule yields the intended send offsets of a run, in order. It is
// deterministic for a seed and bounded twice: by the sum of the stage
// durations and by a cap on the count, so a loop over Next always ends.
// A Schedule is used once, by one goroutine.
type Schedule struct {
	stages  []Stage
	arrival Arrival
	rng     *rand.Rand
	// start offset and cumulative expected count at the end of each stage;
	// arrivals are placed in expected-count space and mapped back to time,
	// which makes a ramp exact and a Poisson ramp a true inhomogeneous
	// Poisson process (time rescaling).
	starts []time.Duration
	cum    []float64
	total  time.Duration
	limit  int64

	n int64
	u float64 // expected-count position of the next arrival
	// shard keeps arrivals shard.I-1, shard.I-1+N, ... of the whole
	// schedule: N shards together yield exactly one schedule's arrivals.
	shard     Shard
	global    int64 // arrivals of the whole schedule drawn so far
	stage     int
	truncated bool
}

// ScheduleOption adjusts a Schedule.
type ScheduleOption func(*Schedule)

// WithLimit caps how many requests the schedule yields (default
// DefaultMaxRequests); non-positive keeps the default.
func WithLimit(n int64) ScheduleOption {
	return func(s *Schedule) {
		if n > 0 {
			s.limit = n
		}
	}
}

// WithShard keeps only shard's interleaved slice of the schedule: the
// whole schedule is drawn from the seed as one generator would, and every
// N-th arrival from the I-th on is yielded, at its own time. The zero
// Shard (or 1/1) keeps every arrival.
func WithShard(sh Shard) ScheduleOption {
	return func(s *Schedule) { s.shard = sh }
}

// ErrSchedule is wrapped by every error NewSchedule returns.
var ErrSchedule = errors.New("invalid load schedule")

// NewSchedule checks the stages and returns their schedule. A schedule that
// would exceed its limit on average is refused: running it would stop early
// and compare a shortened run with full ones.
func NewSchedule(stages []Stage, arrival Arrival, seed uint64, opts ...ScheduleOption) (*Schedule, error) {
	if err := CheckArrival(arrival); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSchedule, err)
	}
	if len(stages) == 0 {
		return nil, fmt.Errorf("%w: no stages", ErrSchedule)
	}
	s := &Schedule{
		stages:  append([]Stage(nil), stages...),
		arrival: arrival,
		// Two words of PCG state from one seed; the constant only keeps the
		// stream distinct from other users of the same seed.
		rng:    rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		starts: make([]time.Duration, len(stages)),
		cum:    make([]float64, len(stages)),
		limit:  DefaultMaxRequests,
	}
	for _, o := range opts {
		o(s)
	}
	if err := s.shard.Check(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSchedule, err)
	}
	var count float64
	for i, st := range stages {
		if st.Duration <= 0 {
			return nil, fmt.Errorf("%w: stage %d (%q): duration %v must be positive", ErrSchedule, i, st.Name, st.Duration)
		}
		for _, r := range []float64{st.From, st.To} {
			if r < 0 || math.IsNaN(r) || math.IsInf(r, 0) {
				return nil, fmt.Errorf("%w: stage %d (%q): rate %v must be a finite number >= 0", ErrSchedule, i, st.Name, r)
			}
		}
		if s.total > math.MaxInt64-st.Duration {
			return nil, fmt.Errorf("%w: stage durations overflow", ErrSchedule)
		}
		s.starts[i] = s.total
		s.total += st.Duration
		count += (st.From + st.To) / 2 * st.Duration.Seconds()
		s.cum[i] = count
	}
	if count <= 0 {
		return nil, fmt.Errorf("%w: every stage has rate 0, nothing to send", ErrSchedule)
	}
	if count > float64(s.limit) {
		return nil, fmt.Errorf("%w: %.0f requests expected, above the limit of %d: lower the rate or the duration", ErrSchedule, count, s.limit)
	}
	if arrival != Uniform {
		s.u = s.gap()
	}
	return s, nil
}

// gap is the distance, in expected requests, to the next arrival of the
// process before any compression: 1 for uniform, exponential otherwise.
func (s *Schedule) gap() float64 {
	if s.arrival == Uniform {
		return 1
	}
	return s.rng.ExpFloat64()
}

// burst squeezes every OnOffPeriod of a Poisson process into its first
// OnOffDuty: each cycle keeps exactly the arrivals the stages give it (so
// the mean rate holds, on a ramp too), sent at 1/OnOffDuty times the rate
// while on, none while off.
func burst(offset time.Duration) time.Duration {
	cycle := offset - offset%OnOffPeriod
	return cycle + time.Duration(float64(offset%OnOffPeriod)*OnOffDuty)
}

// stageAt is the stage offset falls in.
func (s *Schedule) stageAt(offset time.Duration) string {
	i := len(s.starts) - 1
	for i > 0 && offset < s.starts[i] {
		i--
	}
	return s.stages[i].Name
}

// Next returns the next intended offset from the start of the run and its
// phase; ok is false once the schedule is over. A sharded schedule draws
// the other shards' arrivals too, and skips them, so that its own fall
// exactly where one generator's would.
func (s *Schedule) Next() (offset time.Duration, phase string, ok bool) {
	for {
		offset, phase, ok = s.candidate()
		if !ok {
			return 0, "", false
		}
		g := s.global
		s.global++
		if !s.shard.Keeps(g) {
			continue
		}
		s.n++
		if s.arrival == OnOff {
			// Squeezed back, an arrival can move into the stage before.
			offset = burst(offset)
			phase = s.stageAt(offset)
		}
		return offset, phase, true
	}
}

// candidate is the whole schedule's next arrival (every shard's) before
// any on-off squeeze.
func (s *Schedule) candidate() (offset time.Duration, phase string, ok bool) {
	for s.stage < len(s.stages) && s.u >= s.cum[s.stage] {
		s.stage++
	}
	if s.stage == len(s.stages) {
		return 0, "", false
	}
	if s.n >= s.limit {
		// s.n counts this shard's arrivals: the limit bounds what this
		// generator sends.
		s.truncated = true
		return 0, "", false
	}
	i := s.stage
	st := s.stages[i]
	var base float64
	if i > 0 {
		base = s.cum[i-1]
	}
	t := invert(st, s.u-base)
	offset = s.starts[i] + t
	if end := s.starts[i] + st.Duration; offset >= end {
		offset = end - 1 // float rounding only; keep the request in its stage
	}
	s.u += s.gap()
	return offset, st.Name, true
}

// invert solves From·t + (To-From)·t²/(2D) = x for t: the time within the
// stage by which x requests are expected.
func invert(st Stage, x float64) time.Duration {
	if x <= 0 {
		return 0
	}
	d := st.Duration.Seconds()
	var t float64
	if st.From == st.To {
		t = x / st.From
	} else {
		a := (st.To - st.From) / (2 * d)
		disc := st.From*st.From + 4*a*x
		if disc < 0 {
			disc = 0
		}
		// The rationalised root stays accurate when a is tiny, where
		// (-b+√disc)/2a would cancel catastrophically.
		t = 2 * x / (st.From + math.Sqrt(disc))
	}
	if math.IsNaN(t) || t > d {
		t = d
	}
	return time.Duration(t * float64(time.Second))
}

// Total is the sum of the stage durations: the last offset is below it.
func (s *Schedule) Total() time.Duration { return s.total }

// Expected is the expected number of requests of the whole schedule
// (exact, rounded up, for uniform arrivals), all shards together.
func (s *Schedule) Expected() float64 { return s.cum[len(s.cum)-1] }

// Yielded is how many requests Next has returned so far.
func (s *Schedule) Yielded() int64 { return s.n }

// Truncated reports that the limit ended the schedule before its stages did.
func (s *Schedule) Truncated() bool { return s.truncated }

// Stages returns a copy of the stages.
func (s *Schedule) Stages() []Stage { return append([]Stage(nil), s.stages...) }
