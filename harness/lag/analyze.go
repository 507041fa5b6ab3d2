package lag

import (
	"slices"
	"sort"
	"time"

	"github.com/edabench/edabench/harness/results"
)

// DrainThreshold is the total depth Analyze calls drained. Once load stops a
// healthy twin acks or dead-letters every message, so depth reaches exactly
// zero; any tolerance would only hide messages stuck with a dead or paused
// consumer. When load continues past the window being measured (a spike on
// top of a base load), depth settles at the base load's in-flight level
// instead: use AnalyzeWith and Baseline.
const DrainThreshold int64 = 0

// Stats summarises a run's samples: summary.json's lag object, whose type
// lives in results so that a summary's readers need not link the broker.
type Stats = results.LagStats

// tick is one tick's totals over its queues.
type tick struct {
	at          time.Time
	depth, dead int64
}

// ticks groups samples by At, in time order.
func ticks(samples []Sample) []tick {
	s := slices.Clone(samples)
	sort.SliceStable(s, func(i, j int) bool { return s[i].At.Before(s[j].At) })
	var out []tick
	for i, x := range s {
		if i == 0 || !x.At.Equal(s[i-1].At) {
			out = append(out, tick{at: x.At})
		}
		t := &out[len(out)-1]
		t.depth += x.Depth
		t.dead += x.DeadLettered
	}
	return out
}

// Analyze is AnalyzeWith(samples, from, DrainThreshold).
func Analyze(samples []Sample, from time.Time) Stats {
	return AnalyzeWith(samples, from, DrainThreshold)
}

// AnalyzeWith summarises samples, measuring the drain from from (the end of
// the load, or of a spike or fault window) until total depth is <=
// threshold for good.
func AnalyzeWith(samples []Sample, from time.Time, threshold int64) Stats {
	st := Stats{DrainMs: -1}
	ts := ticks(samples)
	if len(ts) == 0 {
		return st
	}
	maxDead := ts[0].dead
	for i, t := range ts {
		if i == 0 || t.depth > st.MaxQueueDepth {
			st.MaxQueueDepth, st.PeakAt = t.depth, t.at
		}
		maxDead = max(maxDead, t.dead)
	}
	st.DeadLettered = max(maxDead-ts[0].dead, 0)
	for _, s := range samples {
		if s.LagSeconds >= 0 {
			st.MaxLagMs = max(st.MaxLagMs, s.LagSeconds*1000)
		}
	}

	// The drain ends at the tick after the last one above the threshold.
	lastAbove := -1
	for i, t := range ts {
		if t.depth > threshold {
			lastAbove = i
		}
	}
	if lastAbove == len(ts)-1 {
		return st
	}
	firstAfter, _ := slices.BinarySearchFunc(ts, from, func(t tick, at time.Time) int { return t.at.Compare(at) })
	if firstAfter == len(ts) {
		return st // nothing observed after from
	}
	// ts[lastAbove+1] begins the final run within the threshold; if that
	// run began before from, the twin was already drained when the window
	// ended.
	if r := lastAbove + 1; r < firstAfter {
		st.DrainMs = 0
	} else {
		st.DrainMs = float64(ts[r].at.Sub(from)) / float64(time.Millisecond)
	}
	return st
}

// Baseline is the 95th percentile of total depth over ticks in [from, to):
// the in-flight level of a steady load, to pass to AnalyzeWith as the
// threshold when load goes on after the measured window. It is 0 when no
// tick falls in the range.
func Baseline(samples []Sample, from, to time.Time) int64 {
	var d []int64
	for _, t := range ticks(samples) {
		if !t.at.Before(from) && t.at.Before(to) {
			d = append(d, t.depth)
		}
	}
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	return d[(len(d)*95+99)/100-1]
}
