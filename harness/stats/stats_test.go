package stats

import (
	"math"
	"testing"
)

func TestMedianInterval(t *testing.T) {
	tests := []struct {
		name           string
		in             []float64
		n              int
		median, lo, hi float64
		conf           float64
	}{
		{"n=1 is a point", []float64{7}, 1, 7, 7, 7, 0},
		{"n=2 spans both at 50%", []float64{9, 3}, 2, 6, 3, 9, 0.5},
		{"n=3 is min..max at 75%", []float64{22.7, 1075, 40}, 3, 40, 22.7, 1075, 0.75},
		{"n=5 is min..max at 93.75%", []float64{5, 1, 4, 2, 3}, 5, 3, 1, 5, 0.9375},
		{"n=6 reaches 95% with the extremes", []float64{1, 2, 3, 4, 5, 6}, 6, 3.5, 1, 6, 0.96875},
		{"n=10 drops one value each side", []float64{10, 1, 2, 3, 4, 5, 6, 7, 8, 9}, 10, 5.5, 2, 9, 0.978515625},
		{"NaN values are not measured", []float64{math.NaN(), 4, 2}, 2, 3, 2, 4, 0.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			iv := MedianInterval(tt.in)
			if iv.N != tt.n || iv.Median != tt.median || iv.Lo != tt.lo || iv.Hi != tt.hi || math.Abs(iv.Confidence-tt.conf) > 1e-9 {
				t.Fatalf("MedianInterval(%v) = %+v, want n=%d median %v [%v, %v] at %v", tt.in, iv, tt.n, tt.median, tt.lo, tt.hi, tt.conf)
			}
		})
	}
	if iv := MedianInterval(nil); iv.Valid() || !math.IsNaN(iv.Median) {
		t.Fatalf("MedianInterval(nil) = %+v, want invalid", iv)
	}
}

// The interval's stated coverage is the binomial one: checked against the
// tabulated ranks for n=20 (x(6)..x(15), 95.86%).
func TestCoverageTable(t *testing.T) {
	v := make([]float64, 20)
	for i := range v {
		v[i] = float64(i + 1)
	}
	iv := MedianInterval(v)
	if iv.Lo != 6 || iv.Hi != 15 || math.Abs(iv.Confidence-0.9586105) > 1e-6 {
		t.Fatalf("n=20: %+v, want [6, 15] at 95.86%%", iv)
	}
}

func TestSeparate(t *testing.T) {
	iv := func(v ...float64) Interval { return MedianInterval(v) }
	tests := []struct {
		name   string
		a, b   Interval
		dir    Direction
		want   Outcome
		single bool
		ovLo   float64
		ovHi   float64
	}{
		{"separated below", iv(10, 11, 12), iv(20, 25, 30), Below, Separated, false, 0, 0},
		{"separated the other way", iv(20, 25, 30), iv(10, 11, 12), Below, Reversed, false, 0, 0},
		{"separated above", iv(20, 25, 30), iv(10, 11, 12), Above, Separated, false, 0, 0},
		{"overlapping", iv(10, 15, 22.7), iv(20, 25, 1075), Below, Overlap, false, 20, 22.7},
		{"touching is overlap", iv(10, 15, 20), iv(20, 25, 30), Below, Overlap, false, 20, 20},
		{"one-sided: a point inside the other's interval", iv(25), iv(20, 25, 30), Below, Overlap, true, 25, 25},
		{"one-sided: a point below the other's interval", iv(5), iv(20, 25, 30), Below, Separated, true, 0, 0},
		{"n=1 each: the point figures decide", iv(9.5), iv(21), Below, Separated, true, 0, 0},
		{"n=1 each, reversed", iv(21), iv(9.5), Below, Reversed, true, 0, 0},
		{"n=2 each, apart", iv(1, 2), iv(3, 4), Below, Separated, false, 0, 0},
		{"n=2 each, interleaved", iv(1, 3), iv(2, 4), Below, Overlap, false, 2, 3},
		{"a side unmeasured", iv(), iv(1), Below, Unmeasured, false, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Separate(tt.a, tt.b, tt.dir)
			if c.Outcome != tt.want || c.Single != tt.single || c.OverlapLo != tt.ovLo || c.OverlapHi != tt.ovHi {
				t.Fatalf("Separate(%v, %v) = %+v (%s), want %s single=%v overlap [%v, %v]", tt.a, tt.b, c, c, tt.want, tt.single, tt.ovLo, tt.ovHi)
			}
		})
	}
}

func TestScaleAndString(t *testing.T) {
	iv := MedianInterval([]float64{2, 4, 6}).Scale(1.5)
	if iv.Median != 6 || iv.Lo != 3 || iv.Hi != 9 {
		t.Fatalf("Scale: %+v", iv)
	}
	if s := iv.String(); s != "6 [3, 9] (n=3, 75%)" {
		t.Fatalf("String = %q", s)
	}
	if s := MedianInterval([]float64{12.5}).String(); s != "12.5 (n=1)" {
		t.Fatalf("String = %q", s)
	}
}
