package report

import (
	"fmt"
	"math"
	"strings"

	"github.com/edabench/edabench/harness/hoststat"
	"github.com/edabench/edabench/harness/results"
)

// stealBands are the seconds whose host steal exceeded the suspect bound,
// per twin, consecutive seconds merged: the twins run one after the
// other, so the same second of the axis is a different moment for each,
// and each band names its twin.
func (r *run) stealBands() []band {
	if r.ts == nil || !r.ts.Has(results.ColStealPct) {
		return nil
	}
	var out []band
	for _, twin := range r.twins {
		s := r.ts.Twin(twin)
		if s == nil {
			continue
		}
		steal := s.Num(results.ColStealPct)
		var cur *band
		for i, t := range s.T {
			v := steal[i]
			if math.IsNaN(v) || v <= hoststat.SuspectStealPct {
				cur = nil
				continue
			}
			if cur != nil && t <= cur.x1 {
				cur.x1, cur.peak = t+1, math.Max(cur.peak, v)
				continue
			}
			out = append(out, band{x0: t, x1: t + 1, host: true, twin: twin, peak: v})
			cur = &out[len(out)-1]
		}
	}
	for i := range out {
		out[i].label = fmt.Sprintf("steal %.0f%% (%s)", out[i].peak, out[i].twin)
	}
	return out
}

// hostSection is each twin's host interference, from its summary's host
// object; absent when no twin has one (an older run), and "unknown" for a
// figure the machine did not give.
func (r *run) hostSection() (section, bool) {
	has := false
	for _, t := range r.twins {
		has = has || r.tw(t).Host != nil
	}
	if !has {
		return section{}, false
	}
	get := func(f func(h *results.HostStats) string) func(*results.TwinResult) string {
		return func(t *results.TwinResult) string {
			if t.Host == nil {
				return "unknown"
			}
			return f(t.Host)
		}
	}
	pctOf := func(v *float64) string {
		if v == nil {
			return "unknown"
		}
		return fmt.Sprintf("%.2f", *v)
	}
	rows := []row{
		r.textRow("steal mean (%)", "share of all CPU time the host took, over the load", get(func(h *results.HostStats) string { return pctOf(h.StealMeanPct) })),
		r.textRow("steal max (%)", "the worst second", get(func(h *results.HostStats) string { return pctOf(h.StealMaxPct) })),
		r.textRow("CPU pressure mean (%)", "PSI cpu some: share of each second a task waited for a CPU", get(func(h *results.HostStats) string { return pctOf(h.PressureMeanPct) })),
		r.textRow("CPU pressure max (%)", "", get(func(h *results.HostStats) string { return pctOf(h.PressureMaxPct) })),
		r.textRow("suspect seconds", "steal above the bound: the verdict reads a claim on this run as inconclusive", get(suspectText)),
	}
	for i, t := range r.twins {
		if h := r.tw(t).Host; h != nil && len(h.Suspect) > 0 {
			rows[len(rows)-1].Cells[i].Class = "bad"
		}
	}
	return section{Title: "Host interference", Rows: rows}, true
}

func suspectText(h *results.HostStats) string {
	if len(h.Suspect) == 0 {
		return fmt.Sprintf("none above %.0f%% (%d s measured)", h.SuspectBoundPct, h.Seconds)
	}
	var secs []string
	for _, s := range h.Suspect {
		secs = append(secs, fmt.Sprint(s.T))
	}
	return fmt.Sprintf("%d above %.0f%%: s %s", len(h.Suspect), h.SuspectBoundPct, strings.Join(secs, ", "))
}
