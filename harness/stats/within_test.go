package stats

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"
)

func readWindows(t *testing.T, name string) []Window {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var ws []Window
	if err := json.Unmarshal(b, &ws); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return ws
}

// The within-run interval over recorded runs (testdata/README.md): the
// point is the run's own figure, as its summary.json read it from the
// whole histogram; the interval is wide where the figure rests on one
// second and tight where the run was steady.
func TestWithinRunFixtures(t *testing.T) {
	tests := []struct {
		name             string
		p50, p99         float64 // the run's summary.json figures
		p99Lo, p99Hi     [2]float64
		p50RelWidthUnder float64 // (hi-lo)/median of the p50's interval
	}{
		// A stall over most of the run: the p99 stays in the seconds
		// whichever seconds a replicate draws.
		{"smoke-rr-ack-stall", 274.431, 2785.279, [2]float64{1000, 2785.279}, [2]float64{2785.279, 3100}, 5},
		// Steady runs: the p99 moves with the few slow seconds, the p50
		// hardly at all.
		{"smoke-eda-e2e", 18.399, 181.375, [2]float64{100, 181.375}, [2]float64{181.375, 260}, 0.5},
		{"smoke-hybrid-ack", 5.919, 178.815, [2]float64{100, 178.815}, [2]float64{178.815, 260}, 0.5},
		// One stalled second of 20 sets the p99: the interval reaches from
		// the level without it (about 180 ms) to the stall's.
		{"smoke-hybrid-ack-stall", math.NaN(), math.NaN(), [2]float64{0, 260}, [2]float64{1000, 1300}, 0.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ws := readWindows(t, tt.name)
			got := WithinRun(ws, 50, 99)
			p50, p99 := got[0], got[1]
			for _, iv := range got {
				if !iv.Within || iv.N != len(ws) || iv.Confidence != Level || iv.Lo > iv.Median || iv.Hi < iv.Median {
					t.Fatalf("%+v: want a within-run interval over %d windows at %v around its point", iv, len(ws), Level)
				}
			}
			if !math.IsNaN(tt.p99) && (math.Abs(p50.Median-tt.p50) > 1e-6 || math.Abs(p99.Median-tt.p99) > 1e-6) {
				t.Errorf("points p50 %v p99 %v, want the summary's %v and %v", p50.Median, p99.Median, tt.p50, tt.p99)
			}
			if p99.Lo < tt.p99Lo[0] || p99.Lo > tt.p99Lo[1] || p99.Hi < tt.p99Hi[0] || p99.Hi > tt.p99Hi[1] {
				t.Errorf("p99 %v: want lo in %v, hi in %v", p99, tt.p99Lo, tt.p99Hi)
			}
			if w := (p50.Hi - p50.Lo) / p50.Median; w > tt.p50RelWidthUnder {
				t.Errorf("p50 %v: relative width %.2f, want under %v", p50, w, tt.p50RelWidthUnder)
			}
			again := WithinRun(ws, 50, 99)
			if again[0] != p50 || again[1] != p99 {
				t.Errorf("not repeatable: %v %v then %v %v", p50, p99, again[0], again[1])
			}
		})
	}
}

// A stall in one second is what sets the p99, and the interval says so:
// its low end is the run without that second, its high end with it.
func TestWithinRunOneSecondStall(t *testing.T) {
	stall := WithinRun(readWindows(t, "smoke-hybrid-ack-stall"), 99)[0]
	steady := WithinRun(readWindows(t, "smoke-hybrid-ack"), 99)[0]
	if stall.Median < 5*steady.Median || stall.Lo > steady.Median || stall.Hi < stall.Median {
		t.Fatalf("one stalled second: %v; want a p99 over five times the steady run's %v whose interval reaches down to it", stall, steady.Median)
	}
	if c := Separate(steady, stall, Below); c.Outcome != Overlap {
		t.Fatalf("steady %v against stalled %v: %s, want an overlap (one second cannot order them)", steady, stall, c)
	}
}

func TestWithinRunEdges(t *testing.T) {
	w := func(bins ...float64) Window {
		var out Window
		for i := 0; i+1 < len(bins); i += 2 {
			out = append(out, Bin{Value: bins[i], Count: int64(bins[i+1])})
		}
		return out
	}
	tests := []struct {
		name     string
		in       []Window
		pct      float64
		valid    bool
		n        int
		point    float64
		interval bool // Lo < Hi possible
	}{
		{"no windows", nil, 99, false, 0, math.NaN(), false},
		{"only empty windows", []Window{{}, {}}, 99, false, 0, math.NaN(), false},
		{"one window is a point", []Window{w(1, 50, 2, 49, 9, 1)}, 99, true, 1, 2, false},
		{"p100 is the largest", []Window{w(1, 50, 2, 49, 9, 1)}, 100, true, 1, 9, false},
		{"ranks round up", []Window{w(1, 98), w(5, 1, 7, 1)}, 99, true, 2, 5, true},
		{"identical windows give a point interval", []Window{w(3, 10), w(3, 10), w(3, 10)}, 50, true, 3, 3, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			iv := WithinRun(tt.in, tt.pct)[0]
			if iv.Valid() != tt.valid {
				t.Fatalf("%+v: valid %v, want %v", iv, iv.Valid(), tt.valid)
			}
			if !tt.valid {
				return
			}
			if iv.N != tt.n || iv.Median != tt.point || iv.Degenerate() != (tt.n < 2) {
				t.Fatalf("%+v: want n=%d point %v", iv, tt.n, tt.point)
			}
			if !tt.interval && (iv.Lo != iv.Median || iv.Hi != iv.Median) {
				t.Fatalf("%+v: want the point as its interval", iv)
			}
		})
	}
}

func TestBlockWindows(t *testing.T) {
	for n, want := range map[int]int{0: 1, 1: 1, 8: 2, 9: 3, 20: 3, 27: 3, 28: 4, 120: 5} {
		if got := BlockWindows(n); got != want {
			t.Errorf("BlockWindows(%d) = %d, want %d", n, got, want)
		}
	}
}

// A long run's windows are merged to WithinMaxWindows; the run's figure
// does not change.
func TestWithinRunCoalesces(t *testing.T) {
	ws := readWindows(t, "smoke-eda-e2e")
	var long []Window
	for range 12 {
		long = append(long, ws...)
	}
	got := WithinRun(long, 50, 99)
	one := WithinRun(ws, 50, 99)
	if got[0].N > WithinMaxWindows || got[0].Median != one[0].Median || got[1].Median != one[1].Median {
		t.Fatalf("%d windows: %v %v; want at most %d windows and the points %v %v", len(long), got[0], got[1], WithinMaxWindows, one[0].Median, one[1].Median)
	}
}

func TestWithinString(t *testing.T) {
	iv := Interval{N: 20, Median: 178.8, Lo: 127.1, Hi: 210.4, Confidence: Level, Within: true}
	if s := iv.String(); s != "178.8 [127.1, 210.4] (within run, 20 windows, 95%)" {
		t.Fatalf("String = %q", s)
	}
}

func TestMerge(t *testing.T) {
	got := Merge(Window{{3, 1}, {1, 2}, {5, 0}}, Window{{1, 1}, {2, 4}})
	want := Window{{1, 3}, {2, 4}, {3, 1}}
	if len(got) != len(want) {
		t.Fatalf("Merge = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("Merge = %v, want %v", got, want)
		}
	}
}

// Windows keeps a long run in at most 2·WithinMaxWindows windows and
// loses no value; its intervals read as the seconds' would.
func TestWindowsBounded(t *testing.T) {
	ws := readWindows(t, "smoke-eda-e2e")
	var c Windows
	var all []Window
	for range 30 { // 660 seconds
		for _, w := range ws {
			c.Add(w)
			all = append(all, w)
		}
	}
	kept := c.All()
	count := func(ws []Window) (n int64) {
		for _, w := range ws {
			for _, b := range w {
				n += b.Count
			}
		}
		return n
	}
	if len(kept) > 2*WithinMaxWindows || count(kept) != count(all) {
		t.Fatalf("kept %d windows holding %d values; want at most %d holding all %d", len(kept), count(kept), 2*WithinMaxWindows, count(all))
	}
	a, b := WithinRun(kept, 50, 99), WithinRun(all, 50, 99)
	if a[0].Median != b[0].Median || a[1].Median != b[1].Median {
		t.Fatalf("points %v %v, want the seconds' %v %v", a[0].Median, a[1].Median, b[0].Median, b[1].Median)
	}
	var short Windows
	for _, w := range ws[:5] {
		short.Add(w)
	}
	if got := short.All(); len(got) != 5 {
		t.Fatalf("a short run kept %d windows, want its 5 seconds", len(got))
	}
}
