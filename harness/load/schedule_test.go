package load

import (
	"errors"
	"math"
	"testing"
	"time"
)

// drain collects a whole schedule, checking the invariants every schedule
// keeps: offsets in order, inside the run, and labelled with their stage.
func drain(t *testing.T, s *Schedule) (offs []time.Duration, perPhase map[string]int) {
	t.Helper()
	perPhase = map[string]int{}
	stages := s.Stages()
	var prev time.Duration
	for {
		off, phase, ok := s.Next()
		if !ok {
			break
		}
		if off < prev {
			t.Fatalf("offset %v after %v: not in order", off, prev)
		}
		if off < 0 || off >= s.Total() {
			t.Fatalf("offset %v outside [0, %v)", off, s.Total())
		}
		var start time.Duration
		for _, st := range stages {
			if off < start+st.Duration {
				if phase != st.Name {
					t.Fatalf("offset %v labelled %q, falls in stage %q", off, phase, st.Name)
				}
				break
			}
			start += st.Duration
		}
		prev = off
		offs = append(offs, off)
		perPhase[phase]++
	}
	return offs, perPhase
}

func TestScheduleCounts(t *testing.T) {
	constant := []Stage{{Name: "c", Duration: 10 * time.Second, From: 100, To: 100}}
	// A ramp 0→200/s over 10 s: 1000 requests, 250 of them in the first half.
	ramp := []Stage{{Name: "up", Duration: 5 * time.Second, From: 0, To: 100}, {Name: "up2", Duration: 5 * time.Second, From: 100, To: 200}}
	down := []Stage{{Name: "down", Duration: 10 * time.Second, From: 200, To: 0}}
	step := []Stage{
		{Name: "base", Duration: 5 * time.Second, From: 100, To: 100},
		{Name: "spike", Duration: 2 * time.Second, From: 500, To: 500},
		{Name: "after", Duration: 5 * time.Second, From: 100, To: 100},
	}
	cases := []struct {
		name   string
		stages []Stage
		want   map[string]float64
	}{
		{"constant", constant, map[string]float64{"c": 1000}},
		{"ramp", ramp, map[string]float64{"up": 250, "up2": 750}},
		{"ramp down", down, map[string]float64{"down": 1000}},
		{"step", step, map[string]float64{"base": 500, "spike": 1000, "after": 500}},
	}
	for _, c := range cases {
		for _, arr := range []Arrival{Uniform, Poisson} {
			t.Run(c.name+"/"+string(arr), func(t *testing.T) {
				s, err := NewSchedule(c.stages, arr, 7)
				if err != nil {
					t.Fatal(err)
				}
				var wantTotal float64
				for _, w := range c.want {
					wantTotal += w
				}
				if math.Abs(s.Expected()-wantTotal) > 1e-6 {
					t.Fatalf("Expected() = %v, want %v", s.Expected(), wantTotal)
				}
				_, got := drain(t, s)
				for phase, w := range c.want {
					// Uniform is exact up to the one request a stage
					// boundary can shift; Poisson gets 5 standard deviations.
					tol := 1.0
					if arr == Poisson {
						tol = 5 * math.Sqrt(w)
					}
					if math.Abs(float64(got[phase])-w) > tol {
						t.Errorf("phase %q: %d requests, want %v ± %.0f", phase, got[phase], w, tol)
					}
				}
			})
		}
	}
}

// The shape inside a ramp matters, not just its total: a linear ramp puts a
// quarter of its requests in its first half.
func TestRampShape(t *testing.T) {
	s, err := NewSchedule([]Stage{{Name: "r", Duration: 10 * time.Second, From: 0, To: 200}}, Uniform, 1)
	if err != nil {
		t.Fatal(err)
	}
	offs, _ := drain(t, s)
	firstHalf := 0
	for _, o := range offs {
		if o < 5*time.Second {
			firstHalf++
		}
	}
	if firstHalf < 249 || firstHalf > 251 {
		t.Fatalf("%d of %d requests in the first half, want 250", firstHalf, len(offs))
	}
}

func TestPoissonSpacing(t *testing.T) {
	const rate = 1000.0
	s, err := NewSchedule([]Stage{{Duration: 100 * time.Second, From: rate, To: rate}}, Poisson, 3)
	if err != nil {
		t.Fatal(err)
	}
	offs, _ := drain(t, s)
	var sum, sumSq float64
	for i := 1; i < len(offs); i++ {
		g := (offs[i] - offs[i-1]).Seconds()
		sum += g
		sumSq += g * g
	}
	n := float64(len(offs) - 1)
	mean := sum / n
	cv := math.Sqrt(sumSq/n-mean*mean) / mean
	if math.Abs(mean-1/rate)/(1/rate) > 0.02 {
		t.Errorf("mean gap %v s, want %v ± 2%%", mean, 1/rate)
	}
	// Exponential gaps have a coefficient of variation of 1; uniform 0.
	if math.Abs(cv-1) > 0.05 {
		t.Errorf("gap coefficient of variation %.3f, want 1 (exponential)", cv)
	}

	u, _ := NewSchedule([]Stage{{Duration: time.Second, From: rate, To: rate}}, Uniform, 3)
	uo, _ := drain(t, u)
	for i := 1; i < len(uo); i++ {
		if g := uo[i] - uo[i-1]; g < time.Millisecond-time.Microsecond || g > time.Millisecond+time.Microsecond {
			t.Fatalf("uniform gap %v, want 1ms", g)
		}
	}
}

func TestScheduleDeterministic(t *testing.T) {
	stages := []Stage{{Name: "a", Duration: 2 * time.Second, From: 50, To: 400}}
	run := func(seed uint64) []time.Duration {
		s, err := NewSchedule(stages, Poisson, seed)
		if err != nil {
			t.Fatal(err)
		}
		o, _ := drain(t, s)
		return o
	}
	a, b, c := run(42), run(42), run(43)
	if len(a) != len(b) {
		t.Fatalf("same seed, %d vs %d requests", len(a), len(b))
	}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("same seed differs at %d: %v vs %v", i, a[i], b[i])
		}
	}
	same := len(a) == len(c)
	for i := 0; same && i < len(a); i++ {
		same = a[i] == c[i]
	}
	if same {
		t.Fatal("seeds 42 and 43 gave the same schedule")
	}
}

func TestScheduleLimit(t *testing.T) {
	stages := []Stage{{Duration: time.Second, From: 1000, To: 1000}}
	if _, err := NewSchedule(stages, Uniform, 1, WithLimit(999)); !errors.Is(err, ErrSchedule) {
		t.Fatalf("1000 expected over a limit of 999: err = %v, want ErrSchedule", err)
	}
	s, err := NewSchedule(stages, Uniform, 1, WithLimit(1000))
	if err != nil {
		t.Fatal(err)
	}
	if offs, _ := drain(t, s); len(offs) != 1000 || s.Truncated() {
		t.Fatalf("uniform at the limit: %d requests, truncated %v; want 1000, false", len(offs), s.Truncated())
	}
	// Poisson counts scatter around the mean, so at the limit some seeds
	// want more: the cap must stop them, and say so.
	truncated := 0
	for seed := range uint64(20) {
		s, err := NewSchedule(stages, Poisson, seed, WithLimit(1000))
		if err != nil {
			t.Fatal(err)
		}
		offs, _ := drain(t, s)
		if len(offs) > 1000 {
			t.Fatalf("seed %d: %d requests past the limit of 1000", seed, len(offs))
		}
		if s.Truncated() {
			truncated++
			if len(offs) != 1000 {
				t.Fatalf("truncated at %d, want 1000", len(offs))
			}
		}
		if _, _, ok := s.Next(); ok {
			t.Fatal("Next after the end yielded a request")
		}
	}
	if truncated == 0 {
		t.Fatal("no seed out of 20 reached the limit; the cap is untested")
	}
	// The default cap refuses absurd rates up front.
	if _, err := NewSchedule([]Stage{{Duration: time.Hour, From: 1e6, To: 1e6}}, Poisson, 1); !errors.Is(err, ErrSchedule) {
		t.Fatalf("3.6e9 expected requests: err = %v, want ErrSchedule", err)
	}
}

func TestNewScheduleRejects(t *testing.T) {
	ok := Stage{Name: "ok", Duration: time.Second, From: 1, To: 1}
	cases := map[string]struct {
		stages  []Stage
		arrival Arrival
	}{
		"bad arrival":   {[]Stage{ok}, "bursty"},
		"no stages":     {nil, Uniform},
		"zero duration": {[]Stage{{Duration: 0, From: 1, To: 1}}, Uniform},
		"negative rate": {[]Stage{{Duration: time.Second, From: -1, To: 1}}, Uniform},
		"NaN rate":      {[]Stage{{Duration: time.Second, From: math.NaN(), To: 1}}, Uniform},
		"Inf rate":      {[]Stage{{Duration: time.Second, From: 1, To: math.Inf(1)}}, Uniform},
		"all zero":      {[]Stage{{Duration: time.Second}}, Poisson},
	}
	for name, c := range cases {
		if _, err := NewSchedule(c.stages, c.arrival, 1); !errors.Is(err, ErrSchedule) {
			t.Errorf("%s: err = %v, want ErrSchedule", name, err)
		}
	}
	// A zero-rate pause between stages is allowed and yields nothing.
	s, err := NewSchedule([]Stage{ok, {Name: "pause", Duration: time.Second}, ok}, Uniform, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, per := drain(t, s); per["pause"] != 0 || per["ok"] != 2 {
		t.Fatalf("per phase %v, want ok:2 and no pause", per)
	}
}
