package load

import (
	"math"
	"testing"
	"time"
)

// TestOnOffRateAndBurstiness checks the on-off process against the two
// others at one mean rate: the same count, and a burstiness (the index of
// dispersion of 100 ms counts: 0 for uniform, 1 for Poisson) far above
// Poisson's, with every arrival inside a burst.
func TestOnOffRateAndBurstiness(t *testing.T) {
	const (
		rate   = 200.0
		length = 100 * time.Second
		window = 100 * time.Millisecond
	)
	stages := []Stage{{Name: "s", Duration: length, From: rate, To: rate}}
	dispersion := map[Arrival]float64{}
	for _, a := range Arrivals() {
		s, err := NewSchedule(stages, a, 7)
		if err != nil {
			t.Fatal(err)
		}
		offs, _ := drain(t, s)
		if got, want := float64(len(offs))/length.Seconds(), rate; math.Abs(got-want)/want > 0.02 {
			t.Errorf("%s: mean rate %.1f/s, want %.0f/s ± 2%%", a, got, want)
		}
		if s.Yielded() != int64(len(offs)) {
			t.Errorf("%s: Yielded %d, drained %d", a, s.Yielded(), len(offs))
		}
		counts := make([]float64, length/window)
		for _, o := range offs {
			counts[o/window]++
			if a == OnOff && o%OnOffPeriod >= time.Duration(OnOffDuty*float64(OnOffPeriod)) {
				t.Fatalf("on-off: an arrival at %v, in the silent part of its cycle", o)
			}
		}
		dispersion[a] = indexOfDispersion(counts)
	}
	t.Logf("index of dispersion of %v counts: %v", window, dispersion)
	if d := dispersion[Uniform]; d > 0.05 {
		t.Errorf("uniform: index of dispersion %.2f, want ~0", d)
	}
	if d := dispersion[Poisson]; math.Abs(d-1) > 0.2 {
		t.Errorf("poisson: index of dispersion %.2f, want ~1", d)
	}
	// Windows are 100 ms; a burst is 250 ms, so 2.5 of every 10 windows
	// carry rate/duty and the rest none: variance ≈ mean·(1/duty - 1)·mean
	// per window, far above Poisson's.
	if d := dispersion[OnOff]; d < 10*dispersion[Poisson] {
		t.Errorf("on-off: index of dispersion %.2f, want at least 10x Poisson's %.2f", d, dispersion[Poisson])
	}
}

func TestOnOffRamp(t *testing.T) {
	// A ramp keeps its shape in bursts too: a quarter of the requests in
	// the first half of a 0→200/s ramp.
	s, err := NewSchedule([]Stage{{Name: "up", Duration: 20 * time.Second, From: 0, To: 200}}, OnOff, 1)
	if err != nil {
		t.Fatal(err)
	}
	offs, _ := drain(t, s)
	half := 0
	for _, o := range offs {
		if o < 10*time.Second {
			half++
		}
	}
	if got := float64(half) / float64(len(offs)); math.Abs(got-0.25) > 0.03 || math.Abs(float64(len(offs))-2000)/2000 > 0.04 {
		t.Errorf("on-off ramp: %d requests, %.3f of them in the first half; want ~2000 and 0.25", len(offs), got)
	}
}

func indexOfDispersion(counts []float64) float64 {
	var sum, sumSq float64
	for _, c := range counts {
		sum += c
		sumSq += c * c
	}
	n := float64(len(counts))
	mean := sum / n
	return (sumSq/n - mean*mean) / mean
}
