package runner

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/edabench/edabench/harness/lag"
	"github.com/edabench/edabench/harness/launch"
	"github.com/edabench/edabench/harness/results"
	"github.com/edabench/edabench/harness/scrape"
	"github.com/edabench/edabench/targets/hybrid"
	"github.com/edabench/edabench/targets/ops"
)

// drain undoes the faults still in effect, then waits, within the
// scenario's drain, for what the twin still owes: its accepted orders'
// ends, its hand-offs, its queues, and its compensations.
func (t *twinRun) drain() {
	sc := t.r.o.Scenario
	t.res = &results.TwinResult{ErrorsByCode: map[string]int64{}, Knee: t.out.Knee}
	t.res.MaxDispatchLateMs = ms(t.out.Stats.MaxLateness)
	if t.env.inj != nil {
		// Undo what is still in effect before draining: the drain measures
		// the twin catching up, not the fault.
		if err := t.env.inj.Stop(context.WithoutCancel(t.ctx)); err != nil {
			t.log.Error("a fault could not be undone", "err", err)
		}
	}
	if t.kind.UsesBroker() && t.ctx.Err() == nil {
		t.drainOrders()
	}
	if t.kind.Compensates() && t.env.tw != nil && t.st.total.errors.Load()+t.st.total.timeouts.Load() > 0 {
		// Compensations of failed calls (RR's, the hybrid's of payment) may
		// still be retrying in the background: wait until the effects in
		// force stop changing.
		settle(t.ctx, t.env.tw, sc.Drain)
	}
}

// drainOrders waits for the orders accepted but not yet ended, and records
// how long that took.
func (t *twinRun) drainOrders() {
	sc := t.r.o.Scenario
	fmt.Fprintf(t.r.o.Progress, "edabench: %s: load done; draining (up to %v)...\n", t.name, sc.Drain)
	drainStart := time.Now()
	t.res.Orders.DrainMs = waitEnded(t.ctx, t.st, sc.Drain)
	if t.kind.HandsOff() && t.env.tw != nil {
		// A hand-off unconfirmed at its reply is published again in the
		// background: its order is in flight until it is.
		waitHandoffs(t.ctx, t.env.tw, sc.Drain-time.Since(drainStart), t.log)
	}
	// Orders whose PlaceOrder timed out may still be in the queues (their
	// OrderPlaced was published after all): the audit waits until nothing
	// is left in flight, within the same bound.
	if left := sc.Drain - time.Since(drainStart); left > 0 {
		q := newQuiescence(t.countedExact(), lag.DefaultBrokerFreshness)
		if err := t.waitQuiescent(t.ctx, q, left); err != nil {
			t.log.Warn("orders may still be in flight at the end of the drain; the audit counts what is still in flight", "err", err)
		}
	}
}

// countedExact says whether the queues' counted depths are exact: no fault
// (a killed service's last counts, a broker restart's unconfirmed
// publishes are lost from them) and no indeterminate order (an unconfirmed
// OrderPlaced may be in a queue, never counted as published).
func (t *twinRun) countedExact() bool {
	return t.env.inj == nil && t.st.total.errors.Load()+t.st.total.timeouts.Load() == 0
}

// waitEnded waits until every accepted order has ended (or the bound), and
// returns how long that took in ms (-1 when it never happened).
func waitEnded(ctx context.Context, st *twinState, bound time.Duration) float64 {
	start := time.Now()
	end := start.Add(bound)
	for {
		if st.endedAccepted.Load() >= st.total.ok.Load() {
			return ms(time.Since(start))
		}
		if time.Now().After(end) || ctx.Err() != nil {
			return -1
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// waitHandoffs waits, up to bound, until the hybrid gateway has no
// hand-off left to publish.
func waitHandoffs(ctx context.Context, tw *launch.Twin, bound time.Duration, log *slog.Logger) {
	end := time.Now().Add(bound)
	client := &http.Client{Timeout: 2 * time.Second}
	for ctx.Err() == nil {
		fams, err := scrape.Families(ctx, client, "http://"+tw.HTTPAddr("gateway")+"/metrics")
		pending := 0.0
		for _, m := range fams[hybrid.MetricPendingHandoffs].GetMetric() {
			pending += m.GetGauge().GetValue()
		}
		if err == nil && pending == 0 {
			return
		}
		if time.Now().After(end) {
			log.Warn("hand-offs still being published at the end of the drain; the audit counts their payments as orphaned", "pending", pending, "err", err)
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// settle waits, up to bound, until the RR twin's effects in force have not
// changed for three polls in a row (1.5 s).
func settle(ctx context.Context, tw *launch.Twin, bound time.Duration) {
	end := time.Now().Add(bound)
	client := &http.Client{Timeout: 2 * time.Second}
	last, same := -1, 0
	for time.Now().Before(end) && ctx.Err() == nil {
		total := 0
		for _, s := range tw.Spec().Plan().Steps() {
			p := tw.Process(string(s))
			if p == nil || p.Exited() {
				continue
			}
			resp, err := client.Get("http://" + p.Ready().HTTP + "/audit?totals=1")
			if err != nil {
				continue
			}
			var a ops.Audit
			if json.NewDecoder(resp.Body).Decode(&a) == nil {
				total += a.Steps[s].InForce
			}
			resp.Body.Close()
		}
		if total == last {
			if same++; same >= 3 {
				return
			}
		} else {
			last, same = total, 0
		}
		time.Sleep(500 * time.Millisecond)
	}
}
