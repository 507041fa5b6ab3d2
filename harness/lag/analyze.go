package lag

import (
	"slices"
	"sort"
	"time"
)

// DrainThreshold is the total depth Analyze calls drained. Once load stops a
// healthy twin acks or dead-letters every message, so depth reaches exactly
// zero; any tolerance would only hide messages stuck with a dead or paused
// consumer. When load continues past the window being measured (a spike on
// top of a base load), depth settles at the base load's in-flight level
// instead: use AnalyzeWith and Baseline.
const DrainThreshold int64 = 0

// Stats summarises a run's samples.
type Stats struct {
	// MaxQueueDepth is the largest total depth (all queues) of one tick.
	MaxQueueDepth int64 `json:"max_queue_depth"`
	// MaxLagMs is the largest lag gauge reading sampled. Sampling sees one
	// delivery per queue per tick, so it can miss a brief worse one; the
	// services' edabench_consumer_lag_seconds histogram has the full
	// distribution.
	MaxLagMs float64 `json:"max_lag_ms"`
	// DrainMs runs from Analyze's from until the first tick whose total
	// depth, like that of every later tick, is within the threshold: 0 when
	// the last tick at or before from already was, -1 when the last tick is
	// still above it (or no tick follows from). Resolution is the sampling
	// interval plus the broker's ~1 s statistics age.
	DrainMs float64 `json:"drain_ms"`
	// PeakAt is the tick of MaxQueueDepth (the first, on a tie).
	PeakAt time.Time `json:"peak_at"`
	// DeadLettered is how much the total dead-letter queue depth grew over
	// the samples (peak minus first tick): messages dead-lettered while
	// sampling, even if a twin reuses a prefix whose DLQs are not empty.
	DeadLettered int64 `json:"dead_lettered"`
}

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
