package runner

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/edabench/edabench/harness/brokernode"
	"github.com/edabench/edabench/harness/cpubill"
	"github.com/edabench/edabench/harness/executor"
	"github.com/edabench/edabench/harness/fault"
	"github.com/edabench/edabench/harness/lag"
	"github.com/edabench/edabench/harness/launch"
	"github.com/edabench/edabench/harness/load"
	"github.com/edabench/edabench/harness/procstat"
	"github.com/edabench/edabench/harness/results"
	"github.com/edabench/edabench/internal/twinkind"
	"github.com/edabench/edabench/targets/eda"
)

// twinRun is one twin's run on its way through the pipeline's steps:
// set up, plan, observe, connect (each may fail, before any load), then
// load, drain, audit and collect, which always run so that what was
// measured is kept. Each step reads what the steps before it left here
// and registers how to undo its own part.
type twinRun struct {
	r    *Runner
	name string
	kind twinkind.Twin
	log  *slog.Logger
	// parent is the run's context: ended, the whole run was interrupted.
	// ctx is the twin's: it also ends when a service dies on its own.
	parent, ctx context.Context
	cancel      context.CancelCauseFunc
	undo        []func(context.Context)

	env twinEnv
	st  *twinState
	tk  *ticker

	stages     []load.Stage
	workers    int
	maxOrders  int64
	exec       executor.Executor
	attacker   load.Attacker
	meterDone  chan struct{}
	stopTicker func()
	stopMeter  context.CancelFunc
	// billFrom and billTo bound the twin's window of the harness's CPU
	// bill: the meter's, so its split adds up to the harness's usage.
	billFrom, billTo cpubill.Reading

	// cpuBudgets are the tiers' cgroup caps (isolated deployment).
	cpuBudgets map[string]float64

	out     executor.Outcome
	loadErr error
	loadEnd time.Time
	res     *results.TwinResult
}

// twinEnv is what the set-up steps put around the twin.
type twinEnv struct {
	inj     *fault.Injector
	tw      *launch.Twin
	gateway string
	edaCfg  eda.Config
	lagSrc  lag.Source
	// node and harnessQueue: the broker's own figure of the harness's
	// completion queue, which the drain's quiescence reads (nil, "": none).
	node         brokernode.DepthReader
	harnessQueue string
	sampler      *lag.Sampler
	meter        *procstat.Meter
}

// runTwin runs one twin through the pipeline. A step that fails before the
// load returns no result; from the load on, the result is returned even
// with an error, and the run marks it partial.
func (r *Runner) runTwin(parent context.Context, twin string) (*results.TwinResult, error) {
	ctx, cancel := context.WithCancelCause(parent)
	t := &twinRun{r: r, name: twin, kind: twinkind.Of(twin), log: r.o.Log.With("twin", twin),
		parent: parent, ctx: ctx, cancel: cancel, env: twinEnv{gateway: r.o.Target}}
	defer t.close()
	for _, step := range []func() error{t.setUp, t.plan, t.observe, t.connect, t.awaitStart} {
		if err := step(); err != nil {
			return nil, err
		}
	}
	t.load()
	t.drain()
	t.audit()
	t.collect()
	return t.res, t.outcome()
}

// onExit registers what undoes a step; close runs them last first, as
// defers would, so the twin stops before its proxies and its claim go.
func (t *twinRun) onExit(f func(context.Context)) { t.undo = append(t.undo, f) }

func (t *twinRun) close() {
	bg := context.WithoutCancel(t.parent)
	for i := len(t.undo) - 1; i >= 0; i-- {
		t.undo[i](bg)
	}
	t.cancel(nil)
}

// outcome is the error the twin's run ends with, if any, once its figures
// are collected.
func (t *twinRun) outcome() error {
	if t.loadErr != nil {
		return t.loadErr
	}
	if t.out.Stats.Partial && t.ctx.Err() == nil {
		return errors.New("the load stopped before its schedule ended")
	}
	if err := context.Cause(t.ctx); err != nil && t.parent.Err() == nil {
		return err
	}
	return nil
}
