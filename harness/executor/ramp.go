package executor

import (
	"context"
	"time"

	"github.com/edabench/edabench/harness/load"
	"github.com/edabench/edabench/harness/results"
)

// Ramp searches for the knee: it runs the stages one at a time, judging
// each once it ended, and stops at the first that breaks the SLO; the last
// one that held is the knee.
type Ramp struct{}

func (Ramp) Name() string { return "ramp" }

func (Ramp) Run(ctx context.Context, p Plan) (Outcome, error) {
	var all load.Stats
	knee := &results.Knee{Reason: "the ramp ended before any step broke the SLO"}
	for i, stage := range p.Stages {
		sched, err := load.NewSchedule([]load.Stage{stage}, p.Arrival, p.Seed+uint64(i))
		if err != nil {
			knee.Reason = err.Error()
			break
		}
		// Each step starts when the last was judged: its requests are due
		// from now, never in a late burst making up for the pause.
		start := time.Now()
		p.Begin(stage.Name, start)
		// Every step's schedule counts from 0; shifted, the sequence
		// numbers (and so the order IDs) stay unique across the ramp.
		base := uint64(all.Sent + all.Dropped)
		stats := load.Run(ctx, sched, seqShift{p.Attacker, base}, func(w int, r load.Result) {
			r.Seq += base
			p.Handle(w, r)
		}, append(append([]load.Option(nil), p.Options...), load.WithStart(start))...)
		add(&all, stats)
		if ctx.Err() != nil {
			knee.Reason = "interrupted"
			break
		}
		if held, why := p.Judge(ctx, stage); !held {
			knee.BrokenAt, knee.Reached, knee.Reason = stage.To, true, why
			break
		}
		knee.RPS = stage.To
	}
	return Outcome{Stats: all, Knee: knee}, nil
}

// add sums a step's totals into the ramp's; the worst lateness is the
// ramp's.
func add(all *load.Stats, s load.Stats) {
	all.Sent += s.Sent
	all.Dropped += s.Dropped
	all.Cancelled += s.Cancelled
	all.Completed += s.Completed
	all.Failed += s.Failed
	all.Partial = all.Partial || s.Partial
	all.MaxLateness = max(all.MaxLateness, s.MaxLateness)
}

// seqShift numbers a step's requests after the steps before it.
type seqShift struct {
	load.Attacker
	base uint64
}

func (s seqShift) Attack(ctx context.Context, r load.Request) load.Result {
	r.Seq += s.base
	return s.Attacker.Attack(ctx, r)
}
