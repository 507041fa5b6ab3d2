package stats

import "math"

// Intervals derived from other intervals, and intervals for the figures
// of one run that are not latency percentiles: the verdict's rules read
// rises, ratios, shares and counts, and a point figure of one run moves
// between runs (claim 9 on RabbitMQ flipped on a 7 ms move of a point on
// 2026-12-05). Each derived interval is conservative: it holds every
// value the figure takes over the boxes of its parts, so if each part's
// interval covers at its confidence, the derived one covers at least at
// one minus the sum of their misses (Bonferroni), which Confidence says.

// Diff is a − b: [a.Lo − b.Hi, a.Hi − b.Lo] around a.Median − b.Median.
func Diff(a, b Interval) Interval {
	if !a.Valid() || !b.Valid() {
		return Interval{Median: math.NaN(), Lo: math.NaN(), Hi: math.NaN()}
	}
	return joint(a, b, a.Median-b.Median, a.Lo-b.Hi, a.Hi-b.Lo)
}

// Ratio is a / b for positive figures: [a.Lo / b.Hi, a.Hi / b.Lo]; an
// interval of b that reaches 0 leaves the ratio unbounded above.
func Ratio(a, b Interval) Interval {
	if !a.Valid() || !b.Valid() || b.Median <= 0 {
		return Interval{Median: math.NaN(), Lo: math.NaN(), Hi: math.NaN()}
	}
	hi := math.Inf(1)
	if b.Lo > 0 {
		hi = a.Hi / b.Lo
	}
	return joint(a, b, a.Median/b.Median, a.Lo/b.Hi, hi)
}

// Less is a − f(b) for f increasing in b (a rise over an allowance that
// grows with the baseline): [a.Lo − f(b.Hi), a.Hi − f(b.Lo)].
func Less(a, b Interval, f func(float64) float64) Interval {
	if !a.Valid() || !b.Valid() {
		return Interval{Median: math.NaN(), Lo: math.NaN(), Hi: math.NaN()}
	}
	return joint(a, b, a.Median-f(b.Median), a.Lo-f(b.Hi), a.Hi-f(b.Lo))
}

func joint(a, b Interval, median, lo, hi float64) Interval {
	iv := Interval{N: min(a.N, b.N), Median: median, Lo: min(lo, median), Hi: max(hi, median), Within: a.Within && b.Within}
	if a.Confidence > 0 && b.Confidence > 0 {
		iv.Confidence = max(0, a.Confidence+b.Confidence-1)
	}
	return iv
}

// SeriesMedian is the median of a per-second series (the per-second p99s
// of a window, say) with its within-run interval: the same circular block
// bootstrap WithinRun makes of per-second histograms, each second one
// value. Blocks keep a stall and the seconds after it together, which an
// order-statistics interval of the median (that assumes independent
// values) would not. The point is Median(v), the interval widened to hold
// it; fewer than two values give a point (N 1) or nothing.
func SeriesMedian(v []float64) Interval {
	var ws []Window
	for _, x := range v {
		if !math.IsNaN(x) {
			ws = append(ws, Window{{Value: x, Count: 1}})
		}
	}
	if len(ws) < 2 {
		return MedianInterval(v)
	}
	iv := WithinRun(ws, 50)[0]
	iv.Median = Median(v)
	iv.Lo, iv.Hi = min(iv.Lo, iv.Median), max(iv.Hi, iv.Median)
	return iv
}

// Share is k of n as a fraction with its Wilson score interval at Level:
// the interval of a binomial proportion that stays inside [0, 1] and is
// not degenerate at k = 0. It assumes independent trials; failures and
// stale reads come in bursts, so it is narrower than the truth, and a
// rule that reads it keeps a band (the verdict's thresholds) beyond it.
func Share(k, n int64) Interval {
	if n <= 0 {
		return Interval{Median: math.NaN(), Lo: math.NaN(), Hi: math.NaN()}
	}
	const z = 1.959963984540054 // the normal's 97.5th percentile
	p, nf := float64(k)/float64(n), float64(n)
	den := 1 + z*z/nf
	mid := (p + z*z/(2*nf)) / den
	half := z * math.Sqrt(p*(1-p)/nf+z*z/(4*nf*nf)) / den
	return Interval{N: int(min(n, math.MaxInt32)), Median: p, Lo: max(0, min(p, mid-half)), Hi: min(1, max(p, mid+half)), Confidence: Level, Within: true, Kind: KindBinomial}
}

// Count is a count of events with its Poisson interval at Level (the
// Wilson–Hilferty approximation of the exact Garwood interval, within a
// few percent of it from k = 1; [0, 3.69] at k = 0). Like Share it
// assumes independent events and is narrower than bursts make the truth.
func Count(k int64) Interval {
	const z = 1.959963984540054
	kf := float64(k)
	lo := 0.0
	if k > 0 {
		lo = kf * math.Pow(1-1/(9*kf)-z/(3*math.Sqrt(kf)), 3)
	}
	k1 := kf + 1
	hi := k1 * math.Pow(1-1/(9*k1)+z/(3*math.Sqrt(k1)), 3)
	return Interval{N: 1, Median: kf, Lo: max(0, lo), Hi: hi, Confidence: Level, Within: true, Kind: KindPoisson}
}
