package verdict

import (
	"encoding/json"
	"fmt"
	"sort"

	"github.com/edabench/edabench/harness/results"
	"github.com/edabench/edabench/internal/twinkind"
)

// Set is the runs a verdict uses: one per scenario and chain length, and
// which of them each claim's evidence is, found by what the runs contain
// (a ramp, a spike, faults and their types, a series of chain lengths),
// never by what they are called.
type Set struct {
	byKey map[string]*Run
	all   []*Run
	chain []*Run // the chain series, shortest chain first
}

// Select keeps, for each scenario, the run that best represents it: a
// finished run before a partial one (a partial run measured less than the
// scenario asked), one that drove both twins before one that did not
// (every claim compares them), then the most recent.
func Select(runs []*Run) *Set {
	s := &Set{byKey: map[string]*Run{}, all: runs}
	for _, r := range runs {
		r.inChain = false
		if cur, ok := s.byKey[r.Key()]; !ok || better(r, cur) {
			s.byKey[r.Key()] = r
		}
	}
	s.chain = chainSeries(s.Selected())
	for _, r := range s.chain {
		r.inChain = true
	}
	return s
}

func better(a, b *Run) bool {
	if a.Summary.Partial != b.Summary.Partial {
		return !a.Summary.Partial
	}
	if ab, bb := bothTwins(a), bothTwins(b); ab != bb {
		return ab
	}
	if !a.Summary.StartedAt.Equal(b.Summary.StartedAt) {
		return a.Summary.StartedAt.After(b.Summary.StartedAt)
	}
	return a.ID() > b.ID()
}

func bothTwins(r *Run) bool { return r.Twin(twinkind.RR) != nil && r.Twin(twinkind.EDA) != nil }

// best is the better of the selected runs that pass keep, nil if none does.
func (s *Set) best(keep func(*Run) bool) *Run {
	var out *Run
	for _, r := range s.Selected() {
		if keep(r) && (out == nil || better(r, out)) {
			out = r
		}
	}
	return out
}

// ramped says whether a run searched for a knee: its scenario ramps, or a
// twin reports one.
func ramped(r *Run) bool {
	if r.Scenario.Ramp != nil || r.Scenario.Search != nil {
		return true
	}
	for _, t := range r.Summary.Twins {
		if t != nil && t.Knee != nil {
			return true
		}
	}
	return false
}

// steadyRate is the rate of a run that holds one rate throughout with no
// fault, no ramp and no change of chain length; false for any other run.
func steadyRate(r *Run) (float64, bool) {
	sc := r.Scenario
	if ramped(r) || len(sc.Faults) > 0 || len(sc.Stages) == 0 || r.inChain {
		return 0, false
	}
	for _, st := range sc.Stages {
		if st.To != nil || st.Rate != sc.Stages[0].Rate {
			return 0, false
		}
	}
	return sc.Stages[0].Rate, true
}

// spiked says whether a fault-free run's busiest stage follows a quieter one.
func spiked(r *Run) bool {
	if ramped(r) || len(r.Scenario.Faults) > 0 {
		return false
	}
	peak := peakStage(r.Scenario.Stages)
	return peak > 0 && stageRate(r.Scenario.Stages[peak]) > stageRate(r.Scenario.Stages[peak-1])
}

// peakStage is the index of the first stage at the highest rate; -1 for none.
func peakStage(stages []results.StageInfo) int {
	peak := -1
	for i, st := range stages {
		if peak < 0 || stageRate(st) > stageRate(stages[peak]) {
			peak = i
		}
	}
	return peak
}

// Ramp is the run that found the twins' knees, nil if none did: a knee
// search's run before a fixed-step ramp's, since the search brackets each
// knee to within its precision wherever it lies, where a ramp's knee is
// only as fine as its steps (and below its first one, not found at all).
func (s *Set) Ramp() *Run {
	if r := s.best(searched); r != nil {
		return r
	}
	return s.best(ramped)
}

// searched says whether a run's knees came from the knee search.
func searched(r *Run) bool {
	if r.Scenario.Search != nil {
		return true
	}
	for _, t := range r.Summary.Twins {
		if t != nil && t.Knee != nil && t.Knee.Method == "search" {
			return true
		}
	}
	return false
}

// Spike is the run whose load surged above a steady level, nil if none did.
func (s *Set) Spike() *Run { return s.best(spiked) }

// LightLoad is the steady run at the lowest rate (after a finished run
// before a partial one and both twins before one): the run light load is
// judged on. Nil if no run held a steady rate.
func (s *Set) LightLoad() *Run {
	var out *Run
	var outRate float64
	for _, r := range s.Steady() {
		rate, _ := steadyRate(r)
		if out == nil || lighter(r, rate, out, outRate) {
			out, outRate = r, rate
		}
	}
	return out
}

func lighter(a *Run, aRate float64, b *Run, bRate float64) bool {
	if a.Summary.Partial != b.Summary.Partial {
		return !a.Summary.Partial
	}
	if ab, bb := bothTwins(a), bothTwins(b); ab != bb {
		return ab
	}
	if aRate != bRate {
		return aRate < bRate
	}
	return better(a, b)
}

// Steady is every selected steady run, lowest rate first.
func (s *Set) Steady() []*Run {
	var out []*Run
	for _, r := range s.Selected() {
		if _, ok := steadyRate(r); ok {
			out = append(out, r)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, _ := steadyRate(out[i])
		b, _ := steadyRate(out[j])
		return a < b
	})
	return out
}

// Chain is the chain series: runs of one load at different chain lengths,
// shortest chain first.
func (s *Set) Chain() []*Run { return s.chain }

// Faulted is the selected runs that injected faults, by scenario name.
func (s *Set) Faulted() []*Run {
	var out []*Run
	for _, r := range s.Selected() {
		if len(r.Scenario.Faults) > 0 {
			out = append(out, r)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Scenario.Name < out[j].Scenario.Name })
	return out
}

// WithFault is the best run that injected a fault of the type given.
func (s *Set) WithFault(faultType string) *Run {
	return s.best(func(r *Run) bool {
		for _, f := range r.Scenario.Faults {
			if f.Type == faultType {
				return true
			}
		}
		return false
	})
}

// Reps is the repetitions of a selected run: every run read with its
// content (the load as summary.json wrote it, but for its words and seed,
// and its chain length), the run itself first, then by start. A finished
// run's repetitions are the finished ones; a partial run used for want of
// another stands alone. Runs too old to have written their scenario repeat
// only themselves.
func (s *Set) Reps(r *Run) []*Run {
	if r == nil {
		return nil
	}
	key := contentKey(r)
	out := []*Run{r}
	if key == "" || r.Summary.Partial {
		return out
	}
	for _, o := range s.all {
		if o != r && !o.Summary.Partial && contentKey(o) == key {
			out = append(out, o)
		}
	}
	sort.SliceStable(out[1:], func(i, j int) bool { return out[1+i].Summary.StartedAt.Before(out[1+j].Summary.StartedAt) })
	return out
}

// Used is every run the verdict reads: the selected runs and their
// repetitions.
func (s *Set) Used() []*Run {
	var out []*Run
	for _, r := range s.Selected() {
		out = append(out, s.Reps(r)...)
	}
	return out
}

// contentKey is what makes two runs repetitions: their load and chain
// length; "" when the summary has no scenario to compare.
func contentKey(r *Run) string {
	k := loadKey(r)
	if k == "" {
		return ""
	}
	return fmt.Sprintf("steps=%d %s", r.Scenario.Steps, k)
}

// All is every run read, selected or not.
func (s *Set) All() []*Run { return s.all }

// Selected is the runs the verdict may use, by key.
func (s *Set) Selected() []*Run {
	var out []*Run
	for _, r := range s.byKey {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key() < out[j].Key() })
	return out
}

// chainSeries finds the runs that differ only in their chain length:
// fault-free runs without a ramp, with a step count, grouped by their
// scenario but for its steps and its words (name, description, source).
// A group of two or more lengths is a series; of several, the one with the
// most lengths, then the one run most recently. Of the runs of one length
// in it, the better.
func chainSeries(runs []*Run) []*Run {
	groups := map[string]map[int]*Run{}
	for _, r := range runs {
		if r.Scenario.Steps <= 0 || len(r.Scenario.Faults) > 0 || ramped(r) {
			continue
		}
		k := loadKey(r)
		if groups[k] == nil {
			groups[k] = map[int]*Run{}
		}
		n := int(r.Scenario.Steps)
		if cur := groups[k][n]; cur == nil || better(r, cur) {
			groups[k][n] = r
		}
	}
	keys := make([]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Strings(keys) // a tie goes the same way every time
	var out []*Run
	for _, k := range keys {
		g := groups[k]
		if len(g) < 2 {
			continue
		}
		var series []*Run
		for _, r := range g {
			series = append(series, r)
		}
		if out == nil || len(series) > len(out) || (len(series) == len(out) && newest(series).Summary.StartedAt.After(newest(out).Summary.StartedAt)) {
			out = series
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Scenario.Steps < out[j].Scenario.Steps })
	return out
}

func newest(runs []*Run) *Run {
	var out *Run
	for _, r := range runs {
		if out == nil || r.Summary.StartedAt.After(out.Summary.StartedAt) {
			out = r
		}
	}
	return out
}

// loadKey is the scenario as summary.json wrote it without the keys that
// do not change the load: its words and its chain length.
func loadKey(r *Run) string {
	m, ok := r.Summary.Scenario.(map[string]any)
	if !ok {
		return ""
	}
	load := make(map[string]any, len(m))
	for k, v := range m {
		switch k {
		// The seed is out too: repetitions (edabench run --repeat) draw
		// their own schedules from one load.
		case "name", "description", "source", "steps", "seed":
		case "network", "deployment":
			// The defaults are left out, so a run from before the keys
			// existed repeats one after; the matrix splits the others.
			if r.Profile() != "" {
				load[k] = v
			}
		default:
			load[k] = v
		}
	}
	b, _ := json.Marshal(load) // sorted keys: equal scenarios give equal strings
	return string(b)
}
