package verdict

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/edabench/edabench/harness/results"
	"github.com/edabench/edabench/harness/stats"
)

// fig reads one figure from one run; NaN where the run did not measure it
// (a twin it did not drive), so that repetition adds no value.
type fig func(*Run) float64

// twinFig reads a figure of one twin.
func twinFig(twin string, f func(*results.TwinResult) float64) fig {
	return func(r *Run) float64 {
		if t := r.Twin(twin); t != nil {
			return f(t)
		}
		return math.NaN()
	}
}

// over is a figure over the repetitions of r: its median and the
// order-statistics interval of that median (harness/stats).
func (s *Set) over(r *Run, f fig) stats.Interval {
	var v []float64
	for _, x := range s.Reps(r) {
		v = append(v, f(x))
	}
	return stats.MedianInterval(v)
}

// latency is a latency percentile of a twin, of the whole run (phase "")
// or of one phase: the ack or the end-to-end series, p50 or p99, the
// percentiles a run's summary records with their within-run intervals.
type latency struct {
	twin, phase string
	e2e         bool
	pct         float64 // 50 or 99
}

// fig reads the percentile from a run's summary.
func (l latency) fig() fig {
	return twinFig(l.twin, func(t *results.TwinResult) float64 {
		ack, e2e := t.Ack, t.E2E
		if l.phase != "" {
			p := t.Phases[l.phase]
			if p == nil {
				return math.NaN()
			}
			ack, e2e = p.Ack, p.E2E
		}
		h := ack
		if l.e2e {
			h = e2e
		}
		if h.Count == 0 {
			return math.NaN() // no values: the series measured nothing
		}
		if l.pct == 50 {
			return h.P50
		}
		return h.P99
	})
}

// within is the run's own interval of the percentile, invalid when its
// summary has none (one written before them, or a series with no values).
func (l latency) within(r *Run) stats.Interval {
	t := r.Twin(l.twin)
	if t == nil {
		return stats.Interval{}
	}
	lw := t.Within
	if l.phase != "" {
		p := t.Phases[l.phase]
		if p == nil {
			return stats.Interval{}
		}
		lw = p.Within
	}
	if lw == nil {
		return stats.Interval{}
	}
	w := lw.Ack
	if l.e2e {
		w = lw.E2E
	}
	return w.Interval(l.pct)
}

// overLatency is over for a latency percentile, except from one run: its
// summary's within-run interval (a block bootstrap over its seconds,
// harness/stats.WithinRun) then stands behind the figure instead of a
// point. From two runs on, the interval is the runs' (over): their spread
// holds what one run's seconds cannot (the host drifting between runs),
// and the two kinds have no joint coverage to state.
func (s *Set) overLatency(r *Run, l latency) stats.Interval {
	if reps := s.Reps(r); len(reps) == 1 {
		if w := l.within(reps[0]); w.Valid() && !w.Degenerate() {
			return w
		}
	}
	return s.over(r, l.fig())
}

// put records a deciding figure: its median among the figures (what
// verdict.json always had) and its interval, with n, among the intervals.
func (c *Claim) put(name string, iv stats.Interval) stats.Interval {
	if c.Figures == nil {
		c.Figures = map[string]float64{}
	}
	if c.Intervals == nil {
		c.Intervals = map[string]stats.Interval{}
	}
	c.Figures[name] = iv.Median
	c.Intervals[name] = iv
	return iv
}

// markSingle says, in the claim, when a deciding figure rests on one run:
// its interval is a point, so the status is the point figures' and no
// spread stands behind it.
//
// A within-run interval rests on one run as well: the claim is marked
// single run, and its evidence says the latency intervals are the run's
// own (its seconds resampled), not the spread between runs.
func (c *Claim) markSingle() {
	within := false
	for _, iv := range c.Intervals {
		if iv.Valid() && iv.Degenerate() {
			c.SingleRun = true
		}
		within = within || (iv.Valid() && iv.Within)
	}
	const again = "repeat the scenario (edabench run --repeat 3) for a status with the spread between runs"
	const kinds = "latency percentiles and per-second medians: its seconds resampled in blocks; rises and ratios: of those; shares: binomial; knees: the bracket held..broke"
	switch {
	case c.SingleRun && within:
		c.Evidence += " [single run: n=1; the intervals are within the run (" + kinds + "), the other figures points; " + again + "]"
	case c.SingleRun:
		c.Evidence += " [single run: n=1, the intervals are points; repeat the scenario (edabench run --repeat 3) for a status with its spread]"
	case within:
		c.SingleRun = true
		c.Evidence += " [single run: n=1; the intervals are within the run (" + kinds + "), not between runs; " + again + "]"
	}
}

// iv formats a figure with its interval for evidence: "12.3 ms [10.1, 15.0]
// (n=3)", "12.3 ms [10.1, 15.0 ms] (within run)", or just the figure for
// one run without a within-run interval.
func iv(v stats.Interval) string {
	switch {
	case !v.Valid() || v.Degenerate():
		return ms(v.Median)
	case v.Within:
		return fmt.Sprintf("%s [%s, %s] (within run)", ms(v.Median), strings.TrimSuffix(ms(v.Lo), " ms"), ms(v.Hi))
	}
	return fmt.Sprintf("%s [%s, %s] (n=%d)", ms(v.Median), strings.TrimSuffix(ms(v.Lo), " ms"), ms(v.Hi), v.N)
}

// num is iv for a figure without a unit.
func num(v stats.Interval) string {
	if !v.Valid() || v.Degenerate() {
		return fmt.Sprintf("%.4g", v.Median)
	}
	return fmt.Sprintf("%.4g [%.4g, %.4g] %s", v.Median, v.Lo, v.Hi, kindOf(v))
}

// share is iv for a fraction, in percent.
func share(v stats.Interval) string {
	if !v.Valid() || v.Degenerate() {
		return pctFine(v.Median)
	}
	return fmt.Sprintf("%s [%s, %s] %s", pctFine(v.Median), pctFine(v.Lo), pctFine(v.Hi), kindOf(v))
}

// kindOf says which spread an interval is: "(n=3)" over repetitions,
// "(within run)" of one run.
func kindOf(v stats.Interval) string {
	if v.Within {
		return "(within run)"
	}
	return fmt.Sprintf("(n=%d)", v.N)
}

// overlapSays words an overlap for evidence: which values both intervals
// hold, so a reader sees how far from a decision the runs are.
func overlapSays(what string, c stats.Comparison) string {
	return fmt.Sprintf("%s: the intervals overlap on [%.4g, %.4g], so the runs cannot order them", what, c.OverlapLo, c.OverlapHi)
}

// repLabels names each repetition of a scenario in a multi-run claim's
// evidence: "smoke" for one run, "smoke rep 2/3" among several.
func repLabels(reps []*Run) map[*Run]string {
	out := make(map[*Run]string, len(reps))
	sorted := append([]*Run(nil), reps...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Summary.StartedAt.Before(sorted[j].Summary.StartedAt) })
	for i, r := range sorted {
		out[r] = r.Scenario.Name
		if len(sorted) > 1 {
			out[r] = fmt.Sprintf("%s rep %d/%d", r.Scenario.Name, i+1, len(sorted))
		}
	}
	return out
}
