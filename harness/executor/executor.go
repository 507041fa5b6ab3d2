// Package executor runs a scenario's load shape: one Executor per shape,
// each in its own file, found by name in the Registry Builtin returns. The
// runner asks the scenario which executor it needs and calls it through
// the interface, so a new shape (constant arrivals per VU, a soak with
// pauses) is a file here and a line in Builtin, not a branch in the runner.
package executor

import (
	"context"
	"time"

	"github.com/edabench/edabench/harness/load"
	"github.com/edabench/edabench/harness/results"
	"github.com/edabench/edabench/harness/scenario"
)

// Executor drives one load shape against a twin.
type Executor interface {
	// Name is the value Scenario.Executor gives for this shape.
	Name() string
	// Run sends the plan's load until it ends, ctx ends or (for a search)
	// the shape decides it has its answer. It returns what it sent even
	// when it stopped early: the runner flushes it marked partial.
	Run(ctx context.Context, p Plan) (Outcome, error)
}

// Plan is what the runner gives an executor: the scenario's stages, how
// to send a request and account for it, and how the runner wants to hear
// of the phases and judge a step.
type Plan struct {
	Stages  []load.Stage
	Arrival load.Arrival
	Seed    uint64
	// Shard is this generator's slice of the schedule (the zero Shard:
	// all of it); only the stages executor runs a slice, the runner
	// refuses a shard of the others.
	Shard load.Shard
	// Start is time zero of the twin's run: the schedule's zero for a
	// shape run in one go.
	Start    time.Time
	Attacker load.Attacker
	// Handle accounts one request (load.Run's handle); every request the
	// executor yields reaches it once, numbered uniquely across the run.
	Handle func(worker int, r load.Result)
	// Options go to every load.Run (in-flight bound, workers, the request
	// bound); the executor adds its own WithStart.
	Options []load.Option
	// Begin records that a phase began at at: the phases' seconds and the
	// time series' phase column come from it.
	Begin func(phase string, at time.Time)
	// Judge says whether a stage just run held the SLO, and if not why;
	// only a search (the ramp) calls it.
	Judge func(ctx context.Context, stage load.Stage) (held bool, why string)
	// Search is the knee search's settings; only the search reads it.
	Search *scenario.SearchSpec
	// Measure reads a search step just run, once the twin had its grace
	// to complete it; the search judges both SLOs from it.
	Measure func(ctx context.Context, stage load.Stage) StepMeasure
	// Backlog is the twin's queue depth now (its queues' messages at the
	// lag sampler's last tick), and false for a twin with no queues: the
	// search waits for it to drain between steps and compares it across
	// a step.
	Backlog func() (depth int64, ok bool)
}

// StepMeasure is what the runner measured of one search step.
type StepMeasure struct {
	Sent   int64 // requests of the step accounted
	Failed int64 // errors, timeouts and drops among them
	// Accepted are the step's orders the twin accepted; Outstanding those
	// of them not ended after the grace (0 for a twin that ends at reply).
	Accepted, Outstanding int64
	AckP99, E2EP99        time.Duration
}

// Outcome is what an executor sent, and what a search found.
type Outcome struct {
	Stats load.Stats
	// Knee is the ramp's answer; nil for a shape that searches nothing.
	Knee *results.Knee
}
