package stats

import (
	"math"
	"testing"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-2*math.Max(1, math.Abs(b)) }

func TestDerivedIntervals(t *testing.T) {
	a := Interval{N: 20, Median: 30, Lo: 25, Hi: 40, Confidence: Level, Within: true}
	b := Interval{N: 10, Median: 10, Lo: 8, Hi: 12, Confidence: Level, Within: true}
	tests := []struct {
		name           string
		got            Interval
		median, lo, hi float64
	}{
		{"diff", Diff(a, b), 20, 13, 32},
		{"ratio", Ratio(a, b), 3, 25.0 / 12, 5},
		// a rise over an allowance of max(20%, 5): f(b) = b + max(0.2b, 5)
		{"less", Less(a, b, func(x float64) float64 { return x + math.Max(0.2*x, 5) }), 15, 25 - 17, 40 - 13},
	}
	for _, tt := range tests {
		if !near(tt.got.Median, tt.median) || !near(tt.got.Lo, tt.lo) || !near(tt.got.Hi, tt.hi) {
			t.Errorf("%s = %+v, want %g [%g, %g]", tt.name, tt.got, tt.median, tt.lo, tt.hi)
		}
		if tt.got.N != 10 || !tt.got.Within || !near(tt.got.Confidence, 0.90) {
			t.Errorf("%s: n %d within %v confidence %g, want 10, true, 0.90 (Bonferroni)", tt.name, tt.got.N, tt.got.Within, tt.got.Confidence)
		}
	}
	if r := Ratio(a, Interval{N: 3, Median: 1, Lo: 0, Hi: 2}); !math.IsInf(r.Hi, 1) {
		t.Errorf("a ratio over an interval reaching 0 is unbounded above, got %+v", r)
	}
	if d := Diff(a, Interval{}); d.Valid() {
		t.Errorf("a difference with an unmeasured side is invalid, got %+v", d)
	}
}

// Share is the Wilson score interval (checked against its closed form);
// Count the Poisson interval (against the exact Garwood values).
func TestShareAndCount(t *testing.T) {
	for _, tt := range []struct {
		k, n   int64
		lo, hi float64
	}{
		{0, 100, 0, 0.0370},
		{30, 100, 0.2189, 0.3958},
		{48, 100, 0.3846, 0.5768},
		{1, 1, 0.2065, 1},
	} {
		s := Share(tt.k, tt.n)
		if !near(100*s.Lo, 100*tt.lo) || !near(100*s.Hi, 100*tt.hi) || s.Degenerate() {
			t.Errorf("Share(%d, %d) = %+v, want [%g, %g]", tt.k, tt.n, s, tt.lo, tt.hi)
		}
	}
	for _, tt := range []struct {
		k      int64
		lo, hi float64
	}{
		{0, 0, 3.689},
		{3, 0.619, 8.767},
		{20, 12.22, 30.89},
		{2204, 2113, 2298},
	} {
		c := Count(tt.k)
		if math.Abs(c.Lo-tt.lo) > 0.03*math.Max(1, tt.lo) || math.Abs(c.Hi-tt.hi) > 0.03*tt.hi {
			t.Errorf("Count(%d) = [%g, %g], want about [%g, %g]", tt.k, c.Lo, c.Hi, tt.lo, tt.hi)
		}
	}
}

// SeriesMedian: a steady series is narrow, one with a stall in it runs
// from the level without the stall toward the stall's, and the point is
// the series' median.
func TestSeriesMedian(t *testing.T) {
	steady := []float64{10, 11, 10, 12, 11, 10, 11, 12, 10, 11}
	s := SeriesMedian(steady)
	if s.Median != 11 || s.Lo < 10 || s.Hi > 12 || !s.Within {
		t.Errorf("steady = %+v, want 11 within [10, 12]", s)
	}
	stalled := []float64{10, 11, 10, 300, 320, 310, 11, 12, 10, 11}
	st := SeriesMedian(stalled)
	if st.Median != 11 || st.Hi <= 12 {
		t.Errorf("stalled = %+v, want the median 11 and an upper end above the steady level", st)
	}
	if one := SeriesMedian([]float64{7}); one.N != 1 || one.Median != 7 || !one.Degenerate() {
		t.Errorf("one value = %+v, want a point", one)
	}
}
