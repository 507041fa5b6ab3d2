package results

import (
	"math"
	"testing"
)

func TestSummarizeHost(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name                 string
		t                    []int
		steal, pressure      []float64
		wantNil              bool
		wantSeconds          int
		wantStealMean, wantP *float64
		wantSuspect          []SuspectSecond
	}{
		{name: "nothing known", t: []int{0, 1}, steal: []float64{nan, nan}, pressure: []float64{nan, nan}, wantNil: true},
		{name: "one suspect second", t: []int{0, 1, 2, 3}, steal: []float64{1, 3, 20, nan}, pressure: []float64{nan, nan, nan, nan},
			wantSeconds: 3, wantStealMean: ptr(8), wantSuspect: []SuspectSecond{{T: 2, StealPct: 20}}},
		{name: "no psi", t: []int{5}, steal: []float64{2}, pressure: []float64{nan}, wantSeconds: 1, wantStealMean: ptr(2), wantSuspect: []SuspectSecond{}},
		{name: "no steal, pressure", t: []int{5, 6}, steal: []float64{nan, nan}, pressure: []float64{10, 30}, wantP: ptr(20), wantSuspect: []SuspectSecond{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := SummarizeHost(tt.t, tt.steal, tt.pressure, 10)
			if tt.wantNil {
				if h != nil {
					t.Fatalf("SummarizeHost = %+v; want nil", h)
				}
				return
			}
			if h.Seconds != tt.wantSeconds || !eqPtr(h.StealMeanPct, tt.wantStealMean) || !eqPtr(h.PressureMeanPct, tt.wantP) {
				t.Errorf("SummarizeHost = seconds %d steal %v pressure %v", h.Seconds, h.StealMeanPct, h.PressureMeanPct)
			}
			if len(h.Suspect) != len(tt.wantSuspect) || (len(h.Suspect) > 0 && h.Suspect[0] != tt.wantSuspect[0]) {
				t.Errorf("suspect = %v; want %v", h.Suspect, tt.wantSuspect)
			}
		})
	}
}

func ptr(v float64) *float64 { return &v }

func eqPtr(a, b *float64) bool {
	if a == nil || b == nil {
		return a == b
	}
	return math.Abs(*a-*b) < 1e-9
}
