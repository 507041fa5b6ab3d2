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
	if !t.r.o.StartAt.IsZero() {
		// awaitStart slept until it: every shard's zero is the same instant.
		st.start = t.r.o.StartAt
	}
	for _, rec := range st.recs {
		rec.SetStart(st.start)
	}
	if t.env.inj != nil {
		t.env.inj.Start(t.ctx, st.start)
	}
	t.startTicker()
	t.out, t.loadErr = t.exec.Run(t.ctx, executor.Plan{Stages: t.stages, Arrival: sc.Arrival, Seed: t.r.o.Seed, Shard: t.r.o.Shard, Start: st.start,
		Attacker: t.attacker, Handle: st.handle(t.kind.EndsAtReply()),
		// MaxRequests holds the schedule inside the bitsets sized for it.
		Options: []load.Option{load.WithMaxInFlight(sc.MaxInFlight), load.WithWorkers(t.workers), load.WithMaxRequests(t.maxOrders)},
		Begin:   st.tl.begin,
		Judge:   t.judge,
		Search:  sc.Search, Measure: t.measure, Backlog: t.backlog,
	})
	t.loadEnd = time.Now()
	st.tl.begin("drain", t.loadEnd)
}

// startLateness is how late after --start-at a twin may be ready: beyond
// it the first requests would leave late, and their latencies carry it.
const startLateness = 50 * time.Millisecond

// awaitStart waits for the shared time zero (--start-at), if any; a twin
// ready after it fails, since a late shard would not send at the times the
// other shards assume.
func (t *twinRun) awaitStart() error {
	at := t.r.o.StartAt
	if at.IsZero() {
		return nil
	}
	wait := time.Until(at)
	if wait < -startLateness {
		return fmt.Errorf("--start-at %s passed %v before the twin was ready: every request would leave late; give a start time further ahead (now plus the set-up, a few seconds)",
			at.UTC().Format(time.RFC3339Nano), (-wait).Round(time.Millisecond))
	}
	fmt.Fprintf(t.r.o.Progress, "edabench: %s twin ready; the load starts at %s (in %v)\n", t.name, at.UTC().Format(time.RFC3339Nano), max(wait, 0).Round(time.Millisecond))
	tm := time.NewTimer(max(wait, 0))
	defer tm.Stop()
	select {
	case <-tm.C:
		if sh := t.r.sum.Shard; sh != nil {
			sh.LoadStartedAt = time.Now().UTC()
		}
		return nil
	case <-t.ctx.Done():
		return context.Cause(t.ctx)
	}
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
	slo := t.r.o.Scenario.SLO
	m := t.measure(ctx, stage)
	if m.Sent == 0 {
		return false, "no request was sent"
	}
	if rate := float64(m.Failed) / float64(m.Sent); rate > slo.MaxErrorRate {
		return false, fmt.Sprintf("%d of %d requests failed or were dropped at %.0f/s (limit %.1f%%)", m.Failed, m.Sent, stage.To, 100*slo.MaxErrorRate)
	}
	p99 := m.AckP99
	if t.st.obs != nil {
		p99 = m.E2EP99
		if m.Accepted > 0 && float64(m.Outstanding)/float64(m.Accepted) > 0.01 {
			return false, fmt.Sprintf("%d of %d orders accepted at %.0f/s still incomplete after the step: the backlog grows", m.Outstanding, m.Accepted, stage.To)
		}
	}
	if p99 > slo.P99 {
		return false, fmt.Sprintf("p99 %v above the SLO %v at %.0f/s", p99.Round(100*time.Microsecond), slo.P99, stage.To)
	}
	return true, ""
}

// measure reads one step just run (a ramp's or a search's): its counts
// and the p99s of its phase. A twin whose orders end after the reply
// first gets a grace to complete the step's orders, twice the SLO they are
// judged by (the search's e2e one), at most 2 s; it ends as soon as every
// order the step accepted has ended, since then there is nothing left to
// wait for (a step that held ends its grace in a few hundred ms: on a
// search of 13 steps the fixed 2 s were half a minute of make bench).
func (t *twinRun) measure(ctx context.Context, stage load.Stage) executor.StepMeasure {
	sc, st := t.r.o.Scenario, t.st
	ph := st.phases[stage.Name]
	if st.obs != nil {
		slo := sc.SLO.P99
		if sc.Search != nil {
			slo = sc.Search.E2EP99
		}
		waitGrace(ctx, min(2*slo, 2*time.Second), func() bool { return ph.ended.Load() >= ph.ok.Load() })
	}
	his := t.tk.cutPhase(stage.Name, time.Now())
	p99 := func(i int) time.Duration { return time.Duration(his[i].ValueAtQuantile(99)) * time.Microsecond }
	m := executor.StepMeasure{Sent: ph.sent.Load(), Failed: ph.errors.Load() + ph.timeouts.Load() + ph.dropped.Load(),
		AckP99: p99(mAck), E2EP99: p99(mE2E)}
	if st.obs != nil {
		m.Accepted = ph.ok.Load()
		m.Outstanding = m.Accepted - ph.ended.Load()
	}
	return m
}

// backlog is the twin's queue depth at the lag sampler's last tick; a twin
// with no queues has none.
func (t *twinRun) backlog() (int64, bool) {
	if t.env.sampler == nil {
		return 0, false
	}
	depth, _ := lastLag(t.env.sampler.Last())
	return depth, true
}

// graceTick is how often a step's grace re-reads its ended orders.
const graceTick = 50 * time.Millisecond

// waitGrace waits up to d for done, reading it every graceTick.
func waitGrace(ctx context.Context, d time.Duration, done func() bool) {
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	tick := time.NewTicker(graceTick)
	defer tick.Stop()
	for !done() {
		select {
		case <-deadline.C:
			return
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
