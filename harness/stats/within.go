package stats

import (
	"math"
	"math/rand/v2"
	"sort"
)

// A run's own interval for a latency percentile. With one run there is no
// between-run spread to read, so the interval says how firmly the run's
// figure rests on its own seconds: a circular block bootstrap over the
// per-second histograms (Künsch; Politis and Romano). Each replicate
// rebuilds a run of the same length from blocks of consecutive windows
// drawn with replacement, merges their histograms and reads the
// percentile; the interval is the replicates' 2.5th to 97.5th percentile.
//
// Why windows and not the recorded values one by one (an HDR multinomial
// resample): latencies are not independent. A stall, a GC pause or a host
// steal delays every request of its second and the backlog it leaves the
// next few; the hybrid smoke run of 2026-12-02 read ack p99 1,075 ms from
// one second of twenty. Resampling values treats that second's 1% as 1%
// of independent draws and gives a tight interval around 1,075 ms, a
// precision the run does not have. Resampling whole seconds keeps a stall
// together: replicates hold it zero, one or two times, so the interval
// runs from the level without it to the level with it, which is what a
// rerun could read. Blocks of BlockWindows seconds keep the few seconds
// of autocorrelation after a stall (a backlog draining) together too.
//
// Why not the spread of the per-second p99s: a second's p99 of 100 values
// is its second-largest value, a different (noisier, lower) figure than
// the run's p99 over 2,000, so their spread is not the figure's.
//
// The bootstrap needs a seed; it is fixed (WithinSeed), so the same run
// always gives the same interval and the same verdict.

// Bin is one histogram bucket: a value and how many recorded values it holds.
type Bin struct {
	Value float64 `json:"v"`
	Count int64   `json:"n"`
}

// Window is one window's (a second's) histogram, its bins in any order.
type Window []Bin

const (
	// WithinReplicates is the bootstrap's replicate count: enough for the
	// 2.5th and 97.5th percentiles to move by less than a histogram bucket
	// between seeds on the fixtures.
	WithinReplicates = 2000
	// WithinMaxWindows bounds the cost of a long run: above it consecutive
	// windows are merged (a soak's hour becomes 120 windows of 30 s),
	// which only lengthens the blocks.
	WithinMaxWindows = 120
	// WithinSeed fixes the bootstrap's draws.
	WithinSeed = 17
	// WithinMethod names the interval in summary.json and the verdict.
	WithinMethod = "circular block bootstrap over per-second windows"
)

// BlockWindows is the block length for n windows: n^(1/3) rounded up
// (the order that balances a block bootstrap's bias and variance), at
// least 1.
func BlockWindows(n int) int {
	if n < 1 {
		return 1
	}
	return max(1, int(math.Ceil(math.Cbrt(float64(n))-1e-9)))
}

// WithinRun returns, for each percentile in pcts (0 to 100), the run's
// figure over all the windows (the same rank rule as the summary's:
// the value at rank ceil(p/100 · count)) and its within-run interval at
// Level. N is the number of windows, Within marks the interval's kind. No
// values at all give an invalid interval; one window a point (N=1).
func WithinRun(ws []Window, pcts ...float64) []Interval {
	ws = coalesce(ws, WithinMaxWindows)
	vals, counts := index(ws)
	out := make([]Interval, len(pcts))
	total := make([]int64, len(vals))
	for _, w := range counts {
		for _, c := range w {
			total[c.at] += c.n
		}
	}
	for i, p := range pcts {
		out[i] = Interval{N: len(ws), Median: quantile(vals, total, p), Confidence: Level, Within: true}
		out[i].Lo, out[i].Hi = out[i].Median, out[i].Median
	}
	if len(ws) < 2 || math.IsNaN(out[0].Median) {
		for i := range out {
			if math.IsNaN(out[i].Median) {
				out[i] = Interval{Median: math.NaN(), Lo: math.NaN(), Hi: math.NaN(), Within: true}
			} else {
				out[i].Confidence = 0
			}
		}
		return out
	}
	reps := bootstrap(vals, counts, pcts)
	for i := range pcts {
		r := sorted(reps[i])
		if len(r) == 0 {
			continue
		}
		lo := r[int(math.Floor((1-Level)/2*float64(len(r))))]
		hi := r[min(len(r)-1, int(math.Ceil((1+Level)/2*float64(len(r))))-1)]
		// A percentile bootstrap of a discrete figure can leave the run's
		// own value just outside; the interval always holds it.
		out[i].Lo, out[i].Hi = min(lo, out[i].Median), max(hi, out[i].Median)
	}
	return out
}

// bootstrap draws WithinReplicates circular block resamples of the
// windows and returns each percentile's value in each.
func bootstrap(vals []float64, counts [][]cell, pcts []float64) [][]float64 {
	n := len(counts)
	b := BlockWindows(n)
	rng := rand.New(rand.NewPCG(WithinSeed, uint64(n)))
	merged := make([]int64, len(vals))
	out := make([][]float64, len(pcts))
	for range WithinReplicates {
		clear(merged)
		for taken := 0; taken < n; {
			start := rng.IntN(n)
			for k := 0; k < b && taken < n; k++ {
				for _, c := range counts[(start+k)%n] {
					merged[c.at] += c.n
				}
				taken++
			}
		}
		for i, p := range pcts {
			if v := quantile(vals, merged, p); !math.IsNaN(v) {
				out[i] = append(out[i], v)
			}
		}
	}
	return out
}

// cell is a bin by the index of its value among all windows' values.
type cell struct {
	at int
	n  int64
}

// index lists the distinct values of every window in order and each
// window's bins by that index, so a replicate merges by adding counts.
func index(ws []Window) ([]float64, [][]cell) {
	seen := map[float64]bool{}
	var vals []float64
	for _, w := range ws {
		for _, b := range w {
			if b.Count > 0 && !seen[b.Value] {
				seen[b.Value] = true
				vals = append(vals, b.Value)
			}
		}
	}
	sort.Float64s(vals)
	at := make(map[float64]int, len(vals))
	for i, v := range vals {
		at[v] = i
	}
	counts := make([][]cell, len(ws))
	for i, w := range ws {
		for _, b := range w {
			if b.Count > 0 {
				counts[i] = append(counts[i], cell{at[b.Value], b.Count})
			}
		}
	}
	return vals, counts
}

// quantile is the value at rank ceil(p/100 · total) of the counts over
// vals (record.ValueAtPercentile's rule); NaN when there are none.
func quantile(vals []float64, counts []int64, p float64) float64 {
	var total int64
	for _, c := range counts {
		total += c
	}
	if total == 0 {
		return math.NaN()
	}
	q := min(math.Nextafter(p, math.Inf(-1)), 100)
	rank := int64(min(max(math.Ceil(q*float64(total)/100), 1), float64(total)))
	var seen int64
	for i, c := range counts {
		if seen += c; seen >= rank {
			return vals[i]
		}
	}
	return vals[len(vals)-1]
}

// coalesce merges consecutive windows so at most limit remain.
func coalesce(ws []Window, limit int) []Window {
	if len(ws) <= limit {
		return ws
	}
	per := (len(ws) + limit - 1) / limit
	out := make([]Window, 0, limit)
	for i := 0; i < len(ws); i += per {
		var w Window
		for _, x := range ws[i:min(i+per, len(ws))] {
			w = Merge(w, x)
		}
		out = append(out, w)
	}
	return out
}

// Merge is the window holding a's and b's values: bins sorted by value,
// one per value. It reads a and b in any order.
func Merge(a, b Window) Window {
	sum := make(map[float64]int64, len(a)+len(b))
	for _, w := range [2]Window{a, b} {
		for _, x := range w {
			if x.Count > 0 {
				sum[x.Value] += x.Count
			}
		}
	}
	out := make(Window, 0, len(sum))
	for v, n := range sum {
		out = append(out, Bin{Value: v, Count: n})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Value < out[j].Value })
	return out
}

// Windows collects a series' windows as they are cut, in bounded memory:
// once it holds 2·WithinMaxWindows, neighbours are merged in pairs and
// later windows are merged to the new width before they are kept, so a
// soak's hour keeps at most 240 windows, and WithinRun's own coalescing
// to WithinMaxWindows makes of them what it would have of the seconds.
type Windows struct {
	kept    []Window
	cur     Window
	width   int // seconds per kept window (a power of two)
	pending int // seconds merged into cur
}

// Add appends the next window.
func (c *Windows) Add(w Window) {
	if c.width == 0 {
		c.width = 1
	}
	c.cur, c.pending = Merge(c.cur, w), c.pending+1
	if c.pending < c.width {
		return
	}
	c.kept, c.cur, c.pending = append(c.kept, c.cur), nil, 0
	if len(c.kept) < 2*WithinMaxWindows {
		return
	}
	pairs := make([]Window, 0, WithinMaxWindows)
	for i := 0; i+1 < len(c.kept); i += 2 {
		pairs = append(pairs, Merge(c.kept[i], c.kept[i+1]))
	}
	c.kept, c.width = pairs, 2*c.width
}

// All is every window so far, the one being filled last.
func (c *Windows) All() []Window {
	if c.pending > 0 {
		return append(c.kept[:len(c.kept):len(c.kept)], c.cur)
	}
	return c.kept
}
