package runner

import (
	"github.com/edabench/edabench/harness/output"
)

// newOutputs is every output of a run, in the order they are fed: the
// within-run intervals (before the summary they go into), the files
// (harness/output), the progress line and, unless off, the live
// /metrics and its file-SD announcement. A new output is a line here.
func (r *Runner) newOutputs() output.List {
	outs := output.List{output.NewWithin(), output.NewSummary(r.dir), output.NewTimeseries(r.dir), output.NewHistograms(r.dir), &progressLine{o: r.o}}
	if r.o.MetricsAddr != "off" {
		lm := &liveOutput{addr: r.o.MetricsAddr, progress: r.o.Progress}
		r.live = lm
		outs = append(outs, lm, output.NewFileSD(lm.Addr, r.o.Log))
	}
	return outs
}
