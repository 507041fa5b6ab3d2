package executor

import (
	"context"
	"fmt"

	"github.com/edabench/edabench/harness/load"
)

// Stages runs the scenario's stages as one open-model schedule from the
// plan's start: the phases follow the planned durations, with no pause
// between them.
type Stages struct{}

func (Stages) Name() string { return "stages" }

func (Stages) Run(ctx context.Context, p Plan) (Outcome, error) {
	sched, err := load.NewSchedule(p.Stages, p.Arrival, p.Seed, load.WithShard(p.Shard))
	if err != nil {
		return Outcome{}, fmt.Errorf("the stages executor: %w", err)
	}
	at := p.Start
	for _, st := range p.Stages {
		p.Begin(st.Name, at)
		at = at.Add(st.Duration)
	}
	opts := append(append([]load.Option(nil), p.Options...), load.WithStart(p.Start))
	return Outcome{Stats: load.Run(ctx, sched, p.Attacker, p.Handle, opts...)}, nil
}
