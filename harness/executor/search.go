package executor

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/edabench/edabench/harness/load"
	"github.com/edabench/edabench/harness/results"
	"github.com/edabench/edabench/harness/scenario"
)

// Search finds a twin's knees wherever they lie: coarse growth from the
// start rate by a factor until a step breaks both SLOs (or the ceiling
// holds), then bisection between the highest rate held and the lowest
// broken above it until they are within the precision. Each step is judged twice, against
// the ack SLO and the completion SLO, since an EDA twin that accepts
// faster than it completes has two knees; the ack knee is narrowed first
// (claim 3 reads it), then the completion knee.
type Search struct{}

func (Search) Name() string { return "search" }

const (
	// minPause is the shortest pause between steps: the lag sampler ticks
	// each second, so one tick after a step sees its queues as they are.
	minPause = time.Second
	// settlePoll is how often a pause re-reads the backlog.
	settlePoll = 250 * time.Millisecond
	// maxOutstanding: a step whose accepted orders are still over 1%
	// incomplete after the grace did not complete what it accepted (the
	// ramp's judge uses the same share).
	maxOutstanding = 0.01
)

func (Search) Run(ctx context.Context, p Plan) (Outcome, error) {
	if p.Search == nil || p.Measure == nil {
		return Outcome{}, fmt.Errorf("the search executor: the plan has no search settings or no Measure")
	}
	s := &searchRun{p: p, sp: p.Search, began: time.Now()}
	s.grow(ctx)
	// The ack knee first (claim 3 reads it), then the completion knee; a
	// step for one may move the other, so both are asked again each time.
	for s.stop == "" {
		b := &s.ack
		if !b.open(s.sp.Precision) {
			b = &s.done
		}
		if !b.open(s.sp.Precision) {
			break
		}
		s.step(ctx, b.next())
	}
	k := s.ack.knee(s.sp, s.stop)
	k.Completion, k.Steps = s.done.knee(s.sp, s.stop), s.steps
	return Outcome{Stats: s.all, Knee: k}, nil
}

// searchRun is one search's state.
type searchRun struct {
	p         Plan
	sp        *scenario.SearchSpec
	began     time.Time
	all       load.Stats
	ack, done bracket
	steps     []results.KneeStep
	stop      string // why the search ended before its brackets closed
}

// grow multiplies the rate until both SLOs broke or the ceiling was run.
// The break that would end it is run once more at the same rate: a host
// stall can break any one step, and growth ended by one would leave the
// bracket below the twin's capacity for good (the RR twin broke at 50/s
// and held at 100-800/s in one run on the shared VM).
func (s *searchRun) grow(ctx context.Context) {
	rate, again := s.sp.Start, false
	for s.stop == "" {
		s.step(ctx, rate)
		if s.ack.broken() && s.done.broken() {
			if again {
				return
			}
			again = true
			continue
		}
		again = false
		if rate >= s.sp.MaxRate {
			return
		}
		rate = min(roundRate(rate*s.sp.Factor), s.sp.MaxRate)
	}
}

// step runs one step at rate, unless a bound forbids it, judges it and
// lets the twin settle.
func (s *searchRun) step(ctx context.Context, rate float64) {
	i := len(s.steps)
	if i >= len(s.p.Stages) {
		s.stop = fmt.Sprintf("max_steps (%d) reached", len(s.p.Stages))
		return
	}
	d := s.sp.StepDuration(rate)
	// A step starts only if it and its longest pause fit in what is left:
	// the runner sized the run's seconds for max_duration.
	if time.Since(s.began)+d+s.sp.Settle > s.sp.MaxDuration {
		s.stop = fmt.Sprintf("max_duration (%v) reached", s.sp.MaxDuration)
		return
	}
	stage := load.Stage{Name: s.p.Stages[i].Name, Duration: d, From: rate, To: rate}
	sched, err := load.NewSchedule([]load.Stage{stage}, s.p.Arrival, s.p.Seed+uint64(i))
	if err != nil {
		s.stop = err.Error()
		return
	}
	before, _ := s.backlog()
	start := time.Now()
	s.p.Begin(stage.Name, start)
	// Every step's schedule counts from 0; shifted, the sequence numbers
	// (and so the order IDs) stay unique across the search.
	base := uint64(s.all.Sent + s.all.Dropped)
	stats := load.Run(ctx, sched, seqShift{s.p.Attacker, base}, func(w int, r load.Result) {
		r.Seq += base
		s.p.Handle(w, r)
	}, append(append([]load.Option(nil), s.p.Options...), load.WithStart(start))...)
	add(&s.all, stats)
	after, queues := s.backlog()
	if ctx.Err() != nil {
		s.stop = "interrupted"
		return
	}
	st := s.judge(stage, s.p.Measure(ctx, stage), after-before, queues)
	st.Seconds = d.Seconds()
	s.steps = append(s.steps, st)
	s.settle(ctx)
}

// judge decides both SLOs for a step and records them in the brackets.
func (s *searchRun) judge(stage load.Stage, m StepMeasure, growth int64, queues bool) results.KneeStep {
	rate := stage.To
	st := results.KneeStep{Phase: stage.Name, RPS: rate, Sent: m.Sent, AckP99Ms: ms(m.AckP99), E2EP99Ms: ms(m.E2EP99)}
	if queues {
		st.BacklogGrowth = growth
	}
	// A failed request is neither a timely reply nor a completed order:
	// failures over the limit break both SLOs.
	var failed string
	switch {
	case m.Sent == 0:
		failed = "no request was sent"
	case float64(m.Failed)/float64(m.Sent) > s.sp.MaxErrorRate:
		failed = fmt.Sprintf("%d of %d requests failed or were dropped at %g/s (limit %g%%)", m.Failed, m.Sent, rate, 100*s.sp.MaxErrorRate)
	}
	ackWhy, doneWhy := failed, failed
	if ackWhy == "" && m.AckP99 > s.sp.AckP99 {
		ackWhy = fmt.Sprintf("ack p99 %v above the SLO %v at %g/s", m.AckP99.Round(100*time.Microsecond), s.sp.AckP99, rate)
	}
	// Little's law: at the e2e SLO a twin holds rate × SLO orders in
	// flight, so a backlog grown by more than that is one the twin cannot
	// complete within its SLO, and is still growing.
	allowed := int64(math.Ceil(rate * s.sp.E2EP99.Seconds()))
	switch {
	case doneWhy != "":
	case m.E2EP99 > s.sp.E2EP99:
		doneWhy = fmt.Sprintf("e2e p99 %v above the SLO %v at %g/s", m.E2EP99.Round(100*time.Microsecond), s.sp.E2EP99, rate)
	case m.Accepted > 0 && float64(m.Outstanding)/float64(m.Accepted) > maxOutstanding:
		doneWhy = fmt.Sprintf("%d of %d orders accepted at %g/s still incomplete after the step", m.Outstanding, m.Accepted, rate)
	case queues && growth > allowed:
		doneWhy = fmt.Sprintf("the backlog grew by %d messages at %g/s (more than the %d in flight the e2e SLO allows)", growth, rate, allowed)
	}
	st.AckHeld, st.CompletionHeld = ackWhy == "", doneWhy == ""
	st.Why = joinWhy(ackWhy, doneWhy)
	s.ack.record(rate, st.AckHeld, ackWhy)
	s.done.record(rate, st.CompletionHeld, doneWhy)
	return st
}

// settle pauses until the twin's queues drained, at least minPause and at
// most the scenario's settle: a step must not inherit the last one's
// backlog, nor the search wait forever on a twin that cannot drain.
func (s *searchRun) settle(ctx context.Context) {
	now := time.Now()
	earliest, deadline := now.Add(min(minPause, s.sp.Settle)), now.Add(s.sp.Settle)
	for {
		if at := time.Now(); !at.Before(earliest) {
			if depth, queues := s.backlog(); !queues || depth <= 0 || !at.Before(deadline) {
				return
			}
		}
		tm := time.NewTimer(settlePoll)
		select {
		case <-ctx.Done():
			tm.Stop()
			return
		case <-tm.C:
		}
	}
}

func (s *searchRun) backlog() (int64, bool) {
	if s.p.Backlog == nil {
		return 0, false
	}
	return s.p.Backlog()
}

// bracket is one SLO's judgments, from which its knee is read: held is
// the highest rate held, broke the lowest rate broken above it. A host
// that steals CPU can only make a twin look slower, never faster, so a
// rate held is evidence of capacity whatever broke below it, and a break
// below a rate held (a stall) is kept in the steps but moves nothing.
type bracket struct {
	judged []judgment
}

type judgment struct {
	rate float64
	held bool
	why  string
}

// broken says a rate above every one held broke.
func (b *bracket) broken() bool {
	_, broke, _ := b.ends()
	return broke > 0
}

func (b *bracket) record(rate float64, held bool, why string) {
	b.judged = append(b.judged, judgment{rate, held, why})
}

// ends are the highest rate held (0 if none) and the lowest broken above
// it (0 if none), with what broke it.
func (b *bracket) ends() (held, broke float64, why string) {
	for _, j := range b.judged {
		if j.held {
			held = max(held, j.rate)
		}
	}
	for _, j := range b.judged {
		if !j.held && j.rate > held && (broke == 0 || j.rate < broke) {
			broke, why = j.rate, j.why
		}
	}
	return held, broke, why
}

// open says the bracket has both ends and is wider than prec.
func (b *bracket) open(prec float64) bool {
	held, broke, _ := b.ends()
	return held > 0 && broke > 0 && broke > held*(1+prec)*(1+1e-9)
}

// next is the bisection's next rate: the geometric mean of the ends, since
// the precision is a ratio.
func (b *bracket) next() float64 {
	held, broke, _ := b.ends()
	return roundRate(math.Sqrt(held * broke))
}

func (b *bracket) knee(sp *scenario.SearchSpec, stop string) *results.Knee {
	held, broke, why := b.ends()
	k := &results.Knee{RPS: held, BrokenAt: broke, Reached: broke > 0, Method: "search", Precision: sp.Precision, Reason: why}
	switch {
	case len(b.judged) == 0:
		k.Reason = fmt.Sprintf("no step was run (%s)", stop)
	case broke == 0 && held >= sp.MaxRate:
		k.Reason = fmt.Sprintf("held every step up to max_rate %g/s: the knee is above it", sp.MaxRate)
	case broke == 0:
		k.Reason = fmt.Sprintf("held at %g/s, above every rate it broke at; no higher rate was run (%s)", held, stop)
	case held == 0:
		k.Reason = fmt.Sprintf("below the first step (%g/s): %s", sp.Start, why)
	case b.open(sp.Precision) && stop != "":
		k.Reason = fmt.Sprintf("%s; bracket wider than %g%% (%s)", why, 100*sp.Precision, stop)
	}
	return k
}

func joinWhy(ack, done string) string {
	switch {
	case ack == "" || ack == done:
		return done
	case done == "":
		return ack
	}
	return ack + "; " + done
}

// roundRate keeps bisected rates readable (282.84/s, not 282.842712...).
func roundRate(r float64) float64 { return math.Round(r*100) / 100 }

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
