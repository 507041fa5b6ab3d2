package runner

import (
	"context"
	"fmt"
	"time"

	"github.com/edabench/edabench/harness/executor"
	"github.com/edabench/edabench/harness/load"
	"github.com/edabench/edabench/harness/output"
)

// load sets time zero, starts the faults and the ticker, and runs the
// scenario's executor until its load ends (or the twin's run is ended).
func (t *twinRun) load() {
	sc, st := t.r.o.Scenario, t.st
	// Everything is in place: time zero, for the schedule, the recorders'
	// first interval and the interval logs alike.
	st.start = time.Now()
	for _, rec := range st.recs {
		rec.SetStart(st.start)
	}
	if t.env.inj != nil {
		t.env.inj.Start(t.ctx, st.start)
	}
	t.startTicker()
	t.out, t.loadErr = t.exec.Run(t.ctx, executor.Plan{Stages: t.stages, Arrival: sc.Arrival, Seed: t.r.o.Seed, Start: st.start,
		Attacker: t.attacker, Handle: st.handle(t.kind.EndsAtReply()),
		// MaxRequests holds the schedule inside the bitsets sized for it.
		Options: []load.Option{load.WithMaxInFlight(sc.MaxInFlight), load.WithWorkers(t.workers), load.WithMaxRequests(t.maxOrders)},
		Begin:   st.tl.begin,
		Judge:   t.judge,
	})
	t.loadEnd = time.Now()
	st.tl.begin("drain", t.loadEnd)
}

// startTicker cuts the recorders each second until collect stops it.
func (t *twinRun) startTicker() {
	t.tk = newTicker(t.st, &t.env, t.r.outs.Tick)
	t.r.outs.TwinStarted(output.TwinStart{Name: t.name, Start: t.st.start, Live: liveTwin{tk: t.tk, st: t.st, kind: t.kind}})
	ctx, stop := context.WithCancel(context.WithoutCancel(t.ctx))
	done := make(chan struct{})
	go func() { t.tk.run(ctx); close(done) }()
	t.stopTicker = func() { stop(); <-done }
	t.onExit(func(context.Context) { stop() })
}

// judge decides one ramp step: p99 of its end-to-end latency under the
// SLO, and its error rate under the limit. For a twin whose orders end
// after the reply, orders of the step still incomplete a moment after it
// count against it: a backlog that grows is a step the twin did not
// sustain, whatever its acks say.
func (t *twinRun) judge(ctx context.Context, stage load.Stage) (bool, string) {
	slo, st := t.r.o.Scenario.SLO, t.st
	ph := st.phases[stage.Name]
	if st.obs != nil {
		grace := min(2*slo.P99, 2*time.Second)
		tm := time.NewTimer(grace)
		select {
		case <-tm.C:
		case <-ctx.Done():
		}
	}
	his := t.tk.cutPhase(stage.Name, time.Now())
	sent := ph.sent.Load()
	if sent == 0 {
		return false, "no request was sent"
	}
	failed := ph.errors.Load() + ph.timeouts.Load() + ph.dropped.Load()
	if rate := float64(failed) / float64(sent); rate > slo.MaxErrorRate {
		return false, fmt.Sprintf("%d of %d requests failed or were dropped at %.0f/s (limit %.1f%%)", failed, sent, stage.To, 100*slo.MaxErrorRate)
	}
	h := his[mAck]
	if st.obs != nil {
		h = his[mE2E]
		accepted := ph.ok.Load()
		if outstanding := accepted - ph.ended.Load(); accepted > 0 && float64(outstanding)/float64(accepted) > 0.01 {
			return false, fmt.Sprintf("%d of %d orders accepted at %.0f/s still incomplete after the step: the backlog grows", outstanding, accepted, stage.To)
		}
	}
	if p99 := time.Duration(h.ValueAtQuantile(99)) * time.Microsecond; p99 > slo.P99 {
		return false, fmt.Sprintf("p99 %v above the SLO %v at %.0f/s", p99.Round(100*time.Microsecond), slo.P99, stage.To)
	}
	return true, ""
}
