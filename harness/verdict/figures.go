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
func (c *Claim) markSingle() {
	for _, iv := range c.Intervals {
		if iv.Valid() && iv.Degenerate() {
			c.SingleRun = true
		}
	}
	if c.SingleRun {
		c.Evidence += " [single run: n=1, the intervals are points; repeat the scenario (edabench run --repeat 3) for a status with its spread]"
	}
}

// iv formats a figure with its interval for evidence: "12.3 ms [10.1, 15.0]
// (n=3)", or just the figure for one run.
func iv(v stats.Interval) string {
	if !v.Valid() || v.Degenerate() {
		return ms(v.Median)
	}
	return fmt.Sprintf("%s [%s, %s] (n=%d)", ms(v.Median), strings.TrimSuffix(ms(v.Lo), " ms"), ms(v.Hi), v.N)
}

// num is iv for a figure without a unit.
func num(v stats.Interval) string {
	if !v.Valid() || v.Degenerate() {
		return fmt.Sprintf("%.4g", v.Median)
	}
	return fmt.Sprintf("%.4g [%.4g, %.4g] (n=%d)", v.Median, v.Lo, v.Hi, v.N)
}

// share is iv for a fraction, in percent.
func share(v stats.Interval) string {
	if !v.Valid() || v.Degenerate() {
		return pctFine(v.Median)
	}
	return fmt.Sprintf("%s [%s, %s] (n=%d)", pctFine(v.Median), pctFine(v.Lo), pctFine(v.Hi), v.N)
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
