package runner

import (
	"github.com/edabench/edabench/harness/cpubill"
	"github.com/edabench/edabench/harness/output"
)

// newOutputs is every output of a run, in the order they are fed: the
// within-run intervals (before the summary they go into), the files
// (harness/output), the progress line and, unless off, the live
// /metrics and its file-SD announcement. A new output is a line here.
func (r *Runner) newOutputs() output.List {
	hlog := billed{Output: output.NewHistograms(r.dir), acct: r.bill.Account(cpubill.IntervalLogs)}
	outs := output.List{output.NewWithin(), output.NewSummary(r.dir), output.NewTimeseries(r.dir), hlog, &progressLine{o: r.o}}
	if r.o.MetricsAddr != "off" {
		lm := &liveOutput{addr: r.o.MetricsAddr, progress: r.o.Progress}
		outs = append(outs, billed{Output: lm, acct: r.bill.Account(cpubill.LiveMetrics)}, output.NewFileSD(lm.Addr, r.o.Log))
	}
	return outs
}

// billed times an output's per-second and per-twin work as an observer's.
type billed struct {
	output.Output
	acct *cpubill.Account
}

func (b billed) Tick(t output.Tick) {
	sp := b.acct.Start()
	defer sp.End()
	b.Output.Tick(t)
}

func (b billed) TwinEnded(tw output.TwinEnd) error {
	sp := b.acct.Start()
	defer sp.End()
	return b.Output.TwinEnded(tw)
}
