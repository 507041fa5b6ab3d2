package lag

import (
	"testing"
	"time"
)

// series builds ticks one second apart from t0; each tick is a list of
// per-queue depths, with dead-lettered counts in dead (same shape or nil).
func series(t0 time.Time, depths [][]int64, dead [][]int64, lags [][]float64) []Sample {
	var out []Sample
	for i, qs := range depths {
		at := t0.Add(time.Duration(i) * time.Second)
		for j, d := range qs {
			s := Sample{At: at, Queue: string(rune('a' + j)), Depth: d, Ready: d, LagSeconds: LagUnknown}
			if dead != nil {
				s.DeadLettered = dead[i][j]
			}
			if lags != nil {
				s.LagSeconds = lags[i][j]
			}
			out = append(out, s)
		}
	}
	return out
}

func TestAnalyze(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	sec := func(n float64) time.Time { return t0.Add(time.Duration(n * float64(time.Second))) }
	tests := []struct {
		name      string
		depths    [][]int64
		dead      [][]int64
		lags      [][]float64
		from      time.Time
		threshold int64
		want      Stats
	}{
		{
			name: "no samples",
			from: t0,
			want: Stats{DrainMs: -1},
		},
		{
			// Peak is the total over queues (3+4 at t=2), not one queue's max (5 at t=1).
			name:   "backlog drains after load ends",
			depths: [][]int64{{0, 0}, {5, 1}, {3, 4}, {2, 2}, {0, 1}, {0, 0}, {0, 0}},
			from:   sec(2),
			want:   Stats{MaxQueueDepth: 7, PeakAt: sec(2), DrainMs: 3000},
		},
		{
			name:   "from between ticks",
			depths: [][]int64{{9}, {4}, {0}, {0}},
			from:   sec(0.5),
			want:   Stats{MaxQueueDepth: 9, PeakAt: sec(0), DrainMs: 1500},
		},
		{
			name:   "already drained before the window ended",
			depths: [][]int64{{4}, {0}, {0}, {0}},
			from:   sec(2),
			want:   Stats{MaxQueueDepth: 4, PeakAt: sec(0), DrainMs: 0},
		},
		{
			name:   "drained exactly at from",
			depths: [][]int64{{4}, {3}, {0}, {0}},
			from:   sec(2),
			want:   Stats{MaxQueueDepth: 4, PeakAt: sec(0), DrainMs: 0},
		},
		{
			// Touching zero once is not a drain: it has to stay there.
			name:   "dips to zero then refills",
			depths: [][]int64{{6}, {0}, {2}, {0}, {0}},
			from:   sec(0),
			want:   Stats{MaxQueueDepth: 6, PeakAt: sec(0), DrainMs: 3000},
		},
		{
			name:   "never drains",
			depths: [][]int64{{1}, {5}, {8}, {3}},
			from:   sec(1),
			want:   Stats{MaxQueueDepth: 8, PeakAt: sec(2), DrainMs: -1},
		},
		{
			name:   "nothing observed after from",
			depths: [][]int64{{1}, {0}},
			from:   sec(5),
			want:   Stats{MaxQueueDepth: 1, PeakAt: sec(0), DrainMs: -1},
		},
		{
			name:   "tie keeps the first peak",
			depths: [][]int64{{2}, {7}, {3}, {7}, {0}},
			from:   sec(3),
			want:   Stats{MaxQueueDepth: 7, PeakAt: sec(1), DrainMs: 1000},
		},
		{
			// A spike on a base load: depth settles at the in-flight level, not zero.
			name:      "spike over base load with a threshold",
			depths:    [][]int64{{5}, {6}, {90}, {40}, {12}, {6}, {5}},
			from:      sec(2),
			threshold: 6,
			want:      Stats{MaxQueueDepth: 90, PeakAt: sec(2), DrainMs: 3000},
		},
		{
			name:   "dead-lettered counts growth, not leftovers",
			depths: [][]int64{{0, 0}, {3, 0}, {0, 0}},
			dead:   [][]int64{{10, 1}, {12, 1}, {12, 3}},
			from:   sec(1),
			want:   Stats{MaxQueueDepth: 3, PeakAt: sec(1), DrainMs: 1000, DeadLettered: 4},
		},
		{
			name:   "max lag ignores unknown readings",
			depths: [][]int64{{1, 1}, {0, 0}},
			lags:   [][]float64{{LagUnknown, 0.25}, {1.5, LagUnknown}},
			from:   sec(1),
			want:   Stats{MaxQueueDepth: 2, PeakAt: sec(0), DrainMs: 0, MaxLagMs: 1500},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			samples := series(t0, tt.depths, tt.dead, tt.lags)
			got := AnalyzeWith(samples, tt.from, tt.threshold)
			if !got.PeakAt.Equal(tt.want.PeakAt) {
				t.Errorf("PeakAt = %v, want %v", got.PeakAt, tt.want.PeakAt)
			}
			got.PeakAt, tt.want.PeakAt = time.Time{}, time.Time{}
			if got != tt.want {
				t.Errorf("AnalyzeWith = %+v, want %+v", got, tt.want)
			}
			if tt.threshold == DrainThreshold {
				if a := Analyze(samples, tt.from); a.DrainMs != tt.want.DrainMs {
					t.Errorf("Analyze DrainMs = %v, want %v", a.DrainMs, tt.want.DrainMs)
				}
			}
		})
	}
}

func TestAnalyzeUnorderedSamples(t *testing.T) {
	t0 := time.Unix(1000, 0)
	s := series(t0, [][]int64{{4, 4}, {2, 1}, {0, 0}}, nil, nil)
	// Reverse: the harness may merge samples from several sources.
	for i, j := 0, len(s)-1; i < j; i, j = i+1, j-1 {
		s[i], s[j] = s[j], s[i]
	}
	got := Analyze(s, t0)
	if got.MaxQueueDepth != 8 || got.DrainMs != 2000 || !got.PeakAt.Equal(t0) {
		t.Fatalf("Analyze = %+v, want peak 8 at t0, drain 2000 ms", got)
	}
}

func TestBaseline(t *testing.T) {
	t0 := time.Unix(1000, 0)
	var depths [][]int64
	for i := range 20 {
		depths = append(depths, []int64{int64(i), 1}) // totals 1..20
	}
	depths = append(depths, []int64{500, 0}) // the spike, outside the range
	s := series(t0, depths, nil, nil)
	if got := Baseline(s, t0, t0.Add(20*time.Second)); got != 19 {
		t.Errorf("Baseline = %d, want 19 (p95 of 1..20)", got)
	}
	if got := Baseline(s, t0.Add(time.Hour), t0.Add(2*time.Hour)); got != 0 {
		t.Errorf("Baseline of an empty range = %d, want 0", got)
	}
}
