package runner

import (
	"context"
	"fmt"
	"time"

	"github.com/edabench/edabench/harness/lag"
)

// quietPoll is one look, during the drain, at everything that could still
// hold an order in flight: each twin queue's counted depth, the broker's
// own figure of each twin queue and of the harness's completion queue, and
// how many order ends the harness has seen. Its JSON form is what
// testdata/quiesce/*.jsonl records.
type quietPoll struct {
	At      time.Time        `json:"at"`
	Err     string           `json:"err,omitempty"` // the poll failed (a broker restarting)
	Counted map[string]int64 `json:"counted"`
	Broker  map[string]int64 `json:"broker"`
	Ends    int64            `json:"ends"` // ends seen, duplicates included
}

// quiescence decides when a twin over the broker has nothing left in
// flight, so that the audit does not count an order's effects before its
// end arrives.
//
// The twin is quiet while every counted depth reads zero and no new end
// arrives. When every publish was confirmed and no service died (a clean
// run) the counted depths are exact, and two quiet polls suffice, as
// before. After a fault or an indeterminate order they are not: a publish
// written just before the broker stopped and never confirmed (PlaceOrder
// timed out: the order is indeterminate) is in the queue but was never
// counted as published, so the counted depth reads zero while the order is
// still on its way, and the harness's own completion queue is not counted
// at all. Then every queue's broker figure, the harness's included, must
// also be zero and taken during the quiet: seen to change after the quiet
// began, or the quiet older than the broker's figures may be (a quorum
// queue's move every 5 s; right after a restart they are stale). Such a
// figure shows a message that waited through the quiet, and an order whose
// message moved on meanwhile either waits in a counted queue or reaches
// its end, which breaks the quiet.
type quiescence struct {
	trustCounted bool // a clean run: the counted depths are exact
	freshness    time.Duration
	minPolls     int

	polls   int       // quiet polls in a row
	since   time.Time // the first of them
	ends    int64
	started bool
	lastAt  time.Time         // the last successful poll
	figures map[string]figure // the broker's, by queue
}

// figure is a queue's broker figure, and a time it was taken after.
type figure struct {
	value      int64
	takenAfter time.Time
}

// newQuiescence: clean says whether the run's counted depths are exact;
// freshness is how old the broker's figures may be (<= 0: lag's default).
func newQuiescence(clean bool, freshness time.Duration) *quiescence {
	if freshness <= 0 {
		freshness = lag.DefaultBrokerFreshness
	}
	return &quiescence{trustCounted: clean, freshness: freshness, minPolls: 2, figures: map[string]figure{}}
}

// observe takes the next poll and says whether the twin is quiescent now.
func (q *quiescence) observe(p quietPoll) bool {
	moved := q.started && p.Ends != q.ends
	q.ends, q.started = p.Ends, true
	if p.Err != "" {
		q.polls, q.since = 0, time.Time{}
		return false
	}
	for name, v := range p.Broker {
		// A figure that differs from the last poll's was taken after it.
		if f, ok := q.figures[name]; !ok || f.value != v {
			q.figures[name] = figure{value: v, takenAfter: q.lastAt}
		}
	}
	q.lastAt = p.At
	if moved || !allZero(p.Counted) {
		q.polls, q.since = 0, time.Time{}
		return false
	}
	if q.polls == 0 {
		q.since = p.At
	}
	q.polls++
	return q.polls >= q.minPolls && (q.trustCounted || q.brokerQuiet(p))
}

// brokerQuiet says whether every broker figure of p is zero and was taken
// during the current quiet.
func (q *quiescence) brokerQuiet(p quietPoll) bool {
	old := p.At.Sub(q.since) >= q.freshness
	for name := range p.Broker {
		f := q.figures[name]
		if f.value != 0 || !(old || (!f.takenAfter.IsZero() && !f.takenAfter.Before(q.since))) {
			return false
		}
	}
	return true
}

func allZero(m map[string]int64) bool {
	for _, v := range m {
		if v != 0 {
			return false
		}
	}
	return true
}

// waitQuiescent polls, up to bound, until the twin is quiescent (see
// quiescence). It returns an error when the bound or ctx ended first.
func (t *twinRun) waitQuiescent(ctx context.Context, q *quiescence, bound time.Duration) error {
	end := time.Now().Add(bound)
	var last quietPoll
	for n := 0; ; n++ {
		pctx, cancel := context.WithDeadline(ctx, end)
		last = t.pollQuiet(pctx)
		cancel()
		t.log.Debug("drain: quiescence poll", "poll", n, "counted", last.Counted, "broker", last.Broker, "ends", last.Ends, "err", last.Err)
		if q.observe(last) {
			t.log.Info("drain: the twin is quiescent", "polls", n+1, "trust_counted", q.trustCounted)
			return nil
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("waiting for the twin to be quiescent: %w", context.Cause(ctx))
		}
		if time.Until(end) <= 0 {
			return fmt.Errorf("not quiescent after %v: counted %v, broker %v, ends %d, last error %q",
				bound, last.Counted, last.Broker, last.Ends, last.Err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for the twin to be quiescent: %w", context.Cause(ctx))
		case <-time.After(min(tick, time.Until(end))):
		}
	}
}

// pollQuiet takes one quietPoll of the twin.
func (t *twinRun) pollQuiet(ctx context.Context) quietPoll {
	p := quietPoll{At: time.Now(), Counted: map[string]int64{}, Broker: map[string]int64{}}
	if obs := t.st.obs; obs != nil {
		p.Ends = int64(obs.Count()) + obs.Duplicates()
	}
	samples, err := t.env.lagSrc.Sample(ctx)
	if err != nil {
		p.Err = err.Error()
		return p
	}
	for _, s := range samples {
		p.Counted[s.Queue], p.Broker[s.Queue] = s.Depth, s.BrokerDepth
	}
	if t.env.node == nil || t.env.harnessQueue == "" {
		return p
	}
	stats, err := t.env.node.QueueDepths(ctx)
	if err != nil {
		p.Err = fmt.Sprintf("the broker's queue depths: %v", err)
		return p
	}
	st, ok := stats[t.env.harnessQueue]
	if !ok {
		p.Err = fmt.Sprintf("the harness's queue %s is not on the broker", t.env.harnessQueue)
		return p
	}
	p.Broker[t.env.harnessQueue] = st.Messages
	return p
}
