package runner

import (
	"context"
	"net/http"
	"time"

	"github.com/edabench/edabench/harness/audit"
	"github.com/edabench/edabench/harness/cpubill"
	"github.com/edabench/edabench/harness/lag"
	"github.com/edabench/edabench/harness/launch"
	"github.com/edabench/edabench/harness/record"
	"github.com/edabench/edabench/harness/results"
	"github.com/edabench/edabench/harness/scrape"
	"github.com/edabench/edabench/targets/workflow"
	"google.golang.org/grpc/codes"
)

// collect stops the ticker and the meter, flushes the last interval, and
// fills the twin's result from everything measured.
func (t *twinRun) collect() {
	t.stopTicker()
	if err := t.r.outs.TwinEnded(t.tk.end(time.Now())); err != nil {
		t.log.Warn("writing the twin's interval logs and histograms", "err", err)
	}
	t.stopMeter()
	<-t.meterDone
	t.billTo = t.r.bill.Read()
	res, st := t.res, t.st
	t.fillCounts()
	t.fillLatencies()
	t.fillOrders()
	t.fillPhases()
	if t.env.sampler != nil {
		res.Lag = lag.Analyze(t.env.sampler.Samples(), t.loadEnd)
	}
	t.fillUsage()
	res.CPUBudgets = t.cpuBudgets
	res.Host = t.tk.hostStats(t.log)
	stale := st.stale.Close()
	res.Staleness = &stale
	if res.Audit != nil {
		res.Audit.DeadLettered = res.Lag.DeadLettered
	}
	if t.env.inj != nil {
		res.Faults = faultWindows(st, t.tk, &t.env)
	}
}

// fillCounts: every request's outcome, the errors by code, and the rates
// over the load's own duration.
func (t *twinRun) fillCounts() {
	res, st := t.res, t.st
	res.Counts = st.total.counts()
	for c := range st.codes {
		if n := st.codes[c].Load(); n > 0 {
			res.ErrorsByCode[codes.Code(c).String()] = n
		}
	}
	loadSecs := t.loadEnd.Sub(st.start).Seconds()
	res.LoadSeconds = loadSecs
	if loadSecs > 0 {
		res.OfferedRPS = float64(res.Sent) / loadSecs
		res.AchievedRPS = float64(res.OK+res.Rejected) / loadSecs
	}
	for _, rec := range st.recs {
		res.Clamped += rec.Clamped()
	}
}

func (t *twinRun) fillLatencies() {
	res := t.res
	tot := t.tk.totals()
	res.Ack, res.AckUncorrected = record.Summarize(tot[mAck]), record.Summarize(tot[mAckU])
	if t.st.obs == nil {
		// A twin whose reply is the order's end: its e2e is its ack.
		res.E2E, res.E2EUncorrected = res.Ack, res.AckUncorrected
		return
	}
	res.E2E, res.E2EUncorrected = record.Summarize(tot[mE2E]), record.Summarize(tot[mE2EU])
}

// fillOrders accounts every accepted order: completed, failed or lost.
func (t *twinRun) fillOrders() {
	res, st := t.res, t.st
	if st.obs == nil {
		res.Orders.Accepted = res.OK + res.Rejected
		res.Orders.Completed, res.Orders.Failed = res.OK, res.Rejected
		return
	}
	res.Orders.Accepted = res.OK
	st.accepted.Each(func(seq uint64) {
		switch seen, completed := st.obs.End(seq); {
		case !seen:
			res.Orders.Lost++
		case completed:
			res.Orders.Completed++
		default:
			res.Orders.Failed++
		}
	})
	res.Orders.DuplicateEnds = st.obs.Duplicates()
}

func (t *twinRun) fillPhases() {
	t.res.Phases = map[string]*results.PhaseResult{}
	for name, pc := range t.st.phases {
		if pc.sent.Load() == 0 {
			continue // a ramp step never reached
		}
		pr := &results.PhaseResult{Counts: pc.counts()}
		if his := t.tk.phase(name); his != nil {
			pr.Ack = record.Summarize(his[mAck])
			pr.E2E = record.Summarize(his[mE2E])
			if t.st.obs == nil {
				pr.E2E = pr.Ack
			}
		}
		pr.Seconds = t.tk.phaseSeconds(name)
		if pr.Seconds > 0 {
			pr.OfferedRPS = float64(pr.Sent) / pr.Seconds
			pr.AchievedRPS = float64(pr.OK+pr.Rejected) / pr.Seconds
		}
		t.res.Phases[name] = pr
	}
}

// fillUsage: each process's CPU and memory, and the twin's CPU per order
// (the harness's own apart, per 1k requests sent).
func (t *twinRun) fillUsage() {
	res := t.res
	res.Usage = t.env.meter.Usage()
	foldMembers(res.Usage)
	cpu := results.TwinCPUSeconds(res.Usage)
	if res.Orders.Completed > 0 {
		res.CPUPerOrderMs = 1000 * cpu / float64(res.Orders.Completed)
	}
	if res.Sent > 0 {
		res.GeneratorCPUPer1k = 1000 * res.Usage["harness"].CPUSeconds / float64(res.Sent)
	}
	split := cpubill.SplitOf(t.billFrom, t.billTo, res.Sent)
	res.HarnessCPU = &split
}

func (p *phaseCounts) counts() results.Counts {
	return results.Counts{Sent: p.sent.Load(), OK: p.ok.Load(), Rejected: p.rejected.Load(), Errors: p.errors.Load(),
		Timeouts: p.timeouts.Load(), Dropped: p.dropped.Load()}
}

// audit reads each step's own latency and reconciles the client's
// outcomes with every step's journal, while the services still run.
func (t *twinRun) audit() {
	if t.env.tw == nil {
		return
	}
	ctx := context.WithoutCancel(t.ctx)
	t.res.Steps = stepLatencies(ctx, t.env.tw)
	t.res.Audit = t.r.audit(ctx, t.st, &t.env)
	// When the journals were read, beside the figures: a flaky audit is
	// told apart by comparing this moment with the journals' own times.
	a := t.res.Audit
	t.log.Info("audit: journals read", "accepted", a.Accepted, "completed", a.Completed, "lost", a.Lost,
		"indeterminate", a.Indeterminate, "indeterminate_completed", a.IndeterminateCompleted,
		"orphaned", a.OrphanedEffects, "unaudited", len(a.Unaudited))
}

// stepLatencies reads each step service's own step-duration histogram.
func stepLatencies(ctx context.Context, tw *launch.Twin) map[string]results.StepLatency {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	client := &http.Client{}
	out := map[string]results.StepLatency{}
	for _, st := range tw.Spec().Plan().Steps() {
		p := tw.Process(string(st))
		if p == nil || p.Exited() {
			continue
		}
		fams, err := scrape.Families(ctx, client, "http://"+p.Ready().HTTP+"/metrics")
		if err != nil {
			continue
		}
		var h scrape.Histogram
		for _, m := range fams[workflow.MetricStepDuration].GetMetric() {
			if scrape.Label(m, "outcome") == "applied" {
				h.Add(m.GetHistogram())
			}
		}
		if h.Count == 0 {
			continue
		}
		out[string(st)] = results.StepLatency{Count: h.Count, MeanMs: 1000 * h.Sum / float64(h.Count),
			P50Ms: 1000 * h.Quantile(0.5), P99Ms: 1000 * h.Quantile(0.99)}
	}
	return out
}

// audit reconciles the client's outcomes with every step's journal.
func (r *Runner) audit(ctx context.Context, st *twinState, env *twinEnv) *audit.Report {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	plan := env.tw.Spec().Plan()
	addrs := map[workflow.Step]string{}
	for _, s := range plan.Steps() {
		if p := env.tw.Process(string(s)); p != nil && !p.Exited() {
			addrs[s] = p.Ready().HTTP
		}
	}
	entries, missing := audit.Fetch(ctx, &http.Client{}, addrs)
	var ended audit.Ended
	if st.obs != nil {
		ended = st.obs.End
	}
	rep := audit.Check(r.id, plan.Len(), st.ledger, ended, entries)
	for _, s := range plan.Steps() {
		if _, ok := addrs[s]; !ok {
			missing = append(missing, string(s)+" (not running)")
		}
	}
	rep.Unaudited = missing
	return &rep
}
