// Package stats summarises a figure measured over repeated runs as a
// median with a distribution-free interval, and compares two such
// intervals the way the verdict's rules need: separated in the claimed
// direction, separated the other way, or overlapping.
//
// The interval is the order-statistics (binomial) interval of the median,
// not a bootstrap: with the 1 to 10 repetitions a 2-core machine can
// afford, a percentile bootstrap resamples so few distinct values that its
// interval is [min, max] with a confidence it cannot state, while the
// order-statistics interval states its true coverage exactly (for any
// continuous distribution) and needs no seed, so the same runs always give
// the same verdict. Below six values no pair of order statistics reaches
// 95%; the interval is then [min, max] and says the confidence it has
// (n=3: 75%, n=5: 93.75%) instead of pretending.
package stats

import (
	"fmt"
	"math"
	"sort"
)

// Level is the confidence the interval aims for.
const Level = 0.95

// Interval is a figure over repetitions: its median and an interval that
// covers the true median with probability Confidence.
type Interval struct {
	N          int     `json:"n"`
	Median     float64 `json:"median"`
	Lo         float64 `json:"lo"`
	Hi         float64 `json:"hi"`
	Confidence float64 `json:"confidence"`
	// Within marks a run's own interval (WithinRun): N counts its windows,
	// not runs, and Confidence is the bootstrap's nominal level. It says
	// how firmly one run's figure rests on its seconds, not what another
	// run would read.
	Within bool `json:"within_run,omitempty"`
	// Kind names a within-run interval that is not over windows: a knee's
	// bracket (KindBracket), a binomial share's (KindBinomial, N its
	// trials) or a count's (KindPoisson). Empty for the others.
	Kind string `json:"kind,omitempty"`
}

// The kinds of within-run interval that are not over windows.
const (
	KindBracket  = "bracket"
	KindBinomial = "binomial"
	KindPoisson  = "poisson"
)

// Degenerate says the interval is one value: fewer than two repetitions,
// so it says nothing about the spread, unless it is an interval within
// the run that has a width (a count's, a knee's bracket).
func (iv Interval) Degenerate() bool { return iv.N < 2 && !(iv.Within && iv.Hi > iv.Lo) }

// Valid says the interval summarises at least one value.
func (iv Interval) Valid() bool { return iv.N > 0 && !math.IsNaN(iv.Median) }

// Scale multiplies the interval by f ≥ 0, for a rule such as "at most 1.5
// times the other's".
func (iv Interval) Scale(f float64) Interval {
	iv.Median, iv.Lo, iv.Hi = f*iv.Median, f*iv.Lo, f*iv.Hi
	return iv
}

// String is "12.3 [10.1, 15.0] (n=3, 75%)", "12.3 (n=1)" for one value,
// or "12.3 [10.1, 15.0] (within run, 20 windows, 95%)".
func (iv Interval) String() string {
	switch {
	case !iv.Valid():
		return "n/a"
	case iv.Degenerate():
		return fmt.Sprintf("%.4g (n=1)", iv.Median)
	case iv.Within && iv.Kind == KindBracket:
		return fmt.Sprintf("%.4g [%.4g, %.4g] (within run: held..broke)", iv.Median, iv.Lo, iv.Hi)
	case iv.Within && iv.Kind == KindBinomial:
		return fmt.Sprintf("%.4g [%.4g, %.4g] (within run: binomial over %d, %.0f%%)", iv.Median, iv.Lo, iv.Hi, iv.N, 100*iv.Confidence)
	case iv.Within && iv.Kind == KindPoisson:
		return fmt.Sprintf("%.4g [%.4g, %.4g] (within run: Poisson, %.0f%%)", iv.Median, iv.Lo, iv.Hi, 100*iv.Confidence)
	case iv.Within:
		return fmt.Sprintf("%.4g [%.4g, %.4g] (within run, %d windows, %.0f%%)", iv.Median, iv.Lo, iv.Hi, iv.N, 100*iv.Confidence)
	}
	return fmt.Sprintf("%.4g [%.4g, %.4g] (n=%d, %.0f%%)", iv.Median, iv.Lo, iv.Hi, iv.N, 100*iv.Confidence)
}

// Median of v; NaN when v is empty (NaN values are left out).
func Median(v []float64) float64 {
	s := sorted(v)
	if len(s) == 0 {
		return math.NaN()
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// MedianInterval summarises v: its median and the narrowest symmetric
// order-statistics interval [x(k), x(n-k+1)] whose coverage of the median
// is at least Level, or [min, max] with its lower coverage when none is.
// NaN values (a figure a repetition did not measure) are left out.
func MedianInterval(v []float64) Interval {
	s := sorted(v)
	n := len(s)
	if n == 0 {
		return Interval{Median: math.NaN(), Lo: math.NaN(), Hi: math.NaN()}
	}
	iv := Interval{N: n, Median: Median(s), Lo: s[0], Hi: s[n-1], Confidence: 1}
	if n == 1 {
		// One value covers nothing; its confidence is stated as 0 so no
		// reader takes the point for an interval.
		iv.Confidence = 0
		return iv
	}
	iv.Confidence = coverage(n, 1)
	for k := 2; k <= n/2; k++ {
		c := coverage(n, k)
		if c < Level {
			break
		}
		iv.Lo, iv.Hi, iv.Confidence = s[k-1], s[n-k], c
	}
	return iv
}

// coverage is the probability that [x(k), x(n-k+1)] of n values holds the
// median: 1 - 2·P(Binomial(n, ½) < k).
func coverage(n, k int) float64 {
	tail := 0.0
	for i := 0; i < k; i++ {
		tail += binomHalf(n, i)
	}
	return 1 - 2*tail
}

// binomHalf is P(Binomial(n, ½) = i), in logs so n in the hundreds does
// not overflow.
func binomHalf(n, i int) float64 {
	lg := func(x int) float64 { v, _ := math.Lgamma(float64(x + 1)); return v }
	return math.Exp(lg(n) - lg(i) - lg(n-i) - float64(n)*math.Ln2)
}

func sorted(v []float64) []float64 {
	s := make([]float64, 0, len(v))
	for _, x := range v {
		if !math.IsNaN(x) {
			s = append(s, x)
		}
	}
	sort.Float64s(s)
	return s
}
