package verdict

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edabench/edabench/harness/results"
)

// writeSeries writes a slow-step run's timeseries.csv (the window is 10
// to 25 s of 40) where RR takes the slowdown (25 ms, then 300) and EDA's
// per-second ack p99 cycles through before, then during, the window: a
// noisy series whose median of per-second p99s claim 9 reads. A cycle as
// long as the bootstrap's block (3 s) would put one of each value in
// every block and leave the median no spread: the noisy cases use 7.
func writeSeries(t *testing.T, before, during []float64) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("t_s,twin,phase,offered,replies,errors,timeouts,dropped,ended,in_flight,ack_p50_ms,ack_p99_ms,e2e_p50_ms,e2e_p99_ms,queue_depth,lag_ms,faults\n")
	for _, tw := range []string{"rr", "eda"} {
		for s := 0; s < 40; s++ {
			v := 25.0
			switch {
			case tw == "rr" && s >= 10 && s < 25:
				v = 300
			case tw == "eda" && s >= 10 && s < 25:
				v = during[s%len(during)]
			case tw == "eda":
				v = before[s%len(before)]
			}
			b.WriteString(itoa(s) + "," + tw + ",steady,150,150,0,0,0,150,3,1," + ftoa(v) + ",1," + ftoa(v) + ",0,0.0,\n")
		}
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "timeseries.csv"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// The rules that read a figure other than a latency percentile decide it,
// from one run, on an interval within the run or a noise band: separated
// decides, overlapping is inconclusive, one-sided decides the other way.
// Each case changes the "holds" set.
func TestOneRunFiguresHaveIntervals(t *testing.T) {
	tests := []struct {
		name   string
		change func([]*Run) []*Run
		claim  int
		want   Status
		says   string
	}{
		// Claim 9: EDA's per-second ack p99s, block-bootstrapped.
		{"claim 9 separated: EDA's acks steady through the window", func(rs []*Run) []*Run {
			find(rs, "failure-slow-step").Dir = writeSeries(t, []float64{18, 20, 22}, []float64{18, 20, 22})
			return rs
		}, 9, Holds, "EDA's acks did not move"},
		// The flip of 2026-12-05 in miniature: medians 14 ms before and 21
		// during read "a rise 2 ms over the 5 ms allowance" as a point; the
		// seconds' spread straddles the allowance.
		{"claim 9 overlapping: a noisy 7 ms move at light load", func(rs []*Run) []*Run {
			find(rs, "failure-slow-step").Dir = writeSeries(t, []float64{10, 18, 12, 16, 14, 11, 17}, []float64{16, 26, 18, 24, 21, 17, 25})
			return rs
		}, 9, Inconclusive, "the intervals straddle the rule"},
		{"claim 9 one-sided: EDA's acks tripled", func(rs []*Run) []*Run {
			find(rs, "failure-slow-step").Dir = writeSeries(t, []float64{18, 20, 22}, []float64{60, 65, 70})
			return rs
		}, 9, DoesNotHold, "EDA's acks slowed too"},
		// Claim 7: EDA's first-read share, a binomial interval over the
		// probed orders against one half.
		{"claim 7 separated: 30 of 100 current", func(rs []*Run) []*Run {
			st := find(rs, "smoke").staleness("eda")
			st.ImmediatelyConsistent, st.Sampled = 30, 100
			return rs
		}, 7, Holds, "30.0% [21.9%, 39.6%] (within run)"},
		{"claim 7 overlapping: 48 of 100 current", func(rs []*Run) []*Run {
			st := find(rs, "smoke").staleness("eda")
			st.ImmediatelyConsistent, st.Sampled = 48, 100
			return rs
		}, 7, Inconclusive, "EDA's first-read share against 50%: the intervals overlap"},
		{"claim 7 one-sided: 70 of 100 current", func(rs []*Run) []*Run {
			st := find(rs, "smoke").staleness("eda")
			st.ImmediatelyConsistent, st.Sampled = 70, 100
			return rs
		}, 7, DoesNotHold, "already current"},
		// Claim 5: EDA's failures in the window against 1% of RR's (2,204),
		// each count with its Poisson interval.
		{"claim 5 separated: 5 stray EDA failures", func(rs []*Run) []*Run {
			find(rs, "failure-crash").Twin("eda").Faults[0].Timeouts = 5
			return rs
		}, 5, Holds, "reached RR's callers and not EDA's"},
		{"claim 5 overlapping: 20 EDA failures against 22", func(rs []*Run) []*Run {
			find(rs, "failure-crash").Twin("eda").Faults[0].Timeouts = 20
			return rs
		}, 5, Inconclusive, "counting noise"},
		// Claim 4: RR's rise, the ratio of its spike and baseline phases'
		// within-run intervals, against ×2.
		{"claim 4 overlapping: RR's rise straddles ×2", func(rs []*Run) []*Run {
			r := find(rs, "spike")
			rr := r.Twin("rr")
			rr.Phases["baseline"].Ack.P99, rr.Phases["spike"].Ack.P99 = 100, 190
			setWithin(t, rr, "baseline", false, within(20, 18, 22), within(100, 90, 110))
			setWithin(t, rr, "spike", false, within(30, 25, 35), within(190, 170, 260))
			return rs
		}, 4, Inconclusive, "RR's rise against ×2"},
		{"claim 4 separated: RR's rise clear of ×2", func(rs []*Run) []*Run {
			r := find(rs, "spike")
			rr := r.Twin("rr")
			rr.Phases["baseline"].Ack.P99, rr.Phases["spike"].Ack.P99 = 100, 300
			setWithin(t, rr, "baseline", false, within(20, 18, 22), within(100, 90, 110))
			setWithin(t, rr, "spike", false, within(30, 25, 35), within(300, 250, 320))
			return rs
		}, 4, Holds, "while RR's latency rose"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := Evaluate(Select(tt.change(loadSet(t, "holds"))), time.Unix(0, 0))
			c := v.Claims[tt.claim-1]
			if c.Status != tt.want || !strings.Contains(c.Evidence, tt.says) {
				t.Fatalf("claim %d = %s: %s\n    want %s, saying %q", tt.claim, c.Status, c.Evidence, tt.want, tt.says)
			}
		})
	}
}

// The slow-step runs of the two make bench runs of 2026-12-05 on RabbitMQ
// (testdata/slowstep-20261205: their summary.json and timeseries.csv as
// recorded). Claim 9 read "holds" on the first and "does not hold" on the
// second, on EDA's median of per-second ack p99s: 16.1 ms before the
// window and 11.2 ms inside it, then 14.3 and 21.3 ms. With the seconds'
// intervals the first still holds and the second is inconclusive; the two
// read together (n=2) straddle the allowance.
func TestSlowStepRecordedTwiceNeverFlips(t *testing.T) {
	for _, tt := range []struct {
		dirs []string
		want Status
	}{
		{[]string{"run1"}, Holds},
		{[]string{"run2"}, Inconclusive},
		{[]string{"run1", "run2"}, Inconclusive},
	} {
		var paths []string
		for _, d := range tt.dirs {
			paths = append(paths, filepath.Join("testdata", "slowstep-20261205", d))
		}
		runs, warnings, err := Load(paths)
		if err != nil || len(warnings) > 0 {
			t.Fatalf("load %v: %v %v", paths, err, warnings)
		}
		c := Evaluate(Select(runs), time.Unix(0, 0)).Claims[8]
		if c.Status != tt.want {
			t.Errorf("%v: claim 9 = %s, want %s: %s", tt.dirs, c.Status, tt.want, c.Evidence)
		}
		if ex := c.Intervals["eda_rise_over_allowed_ms"]; len(tt.dirs) == 1 && (!ex.Within || ex.Hi <= ex.Lo) {
			t.Errorf("%v: EDA's rise over its allowance has no within-run interval: %+v", tt.dirs, ex)
		}
	}
}

// A knee is its bracket [held, broke], an interval even from one ramp.
func TestKneeIsItsBracket(t *testing.T) {
	c := Evaluate(Select(loadSet(t, "holds")), time.Unix(0, 0)).Claims[2]
	for _, name := range []string{"rr_knee_rps", "eda_knee_rps"} {
		k := c.Intervals[name]
		if !k.Within || k.Hi <= k.Lo || k.Lo != k.Median {
			t.Errorf("%s = %+v, want the bracket from the rate held to the rate broken", name, k)
		}
	}
}

// make bench runs RR's knee search once (RR uses no broker) and EDA's per
// backbone: claim 3 reads each twin's knee from the repetition that drove
// it, and decides as it did on one run of both.
func TestKneesFromSeparateRuns(t *testing.T) {
	both := Evaluate(Select(loadSet(t, "holds")), time.Unix(0, 0)).Claims[2]
	runs := loadSet(t, "holds")
	ramp := find(runs, "ramp")
	edaOnly := *ramp
	edaOnly.Dir += "-eda"
	edaOnly.Summary.RunID += "-eda"
	edaOnly.Summary.StartedAt = ramp.Summary.StartedAt.Add(2 * time.Minute)
	edaOnly.Summary.Twins = map[string]*results.TwinResult{"eda": ramp.Twin("eda")}
	ramp.Summary.Twins = map[string]*results.TwinResult{"rr": ramp.Twin("rr")}
	split := Evaluate(Select(append(runs, &edaOnly)), time.Unix(0, 0)).Claims[2]
	if split.Status != both.Status || split.Figures["rr_knee_rps"] != both.Figures["rr_knee_rps"] || split.Figures["eda_knee_rps"] != both.Figures["eda_knee_rps"] {
		t.Errorf("split runs: %s %v, one run of both: %s %v", split.Status, split.Figures, both.Status, both.Figures)
	}
	if len(split.Runs) != 2 {
		t.Errorf("claim 3 read %v, want both runs", split.Runs)
	}
	runs = loadSet(t, "holds")
	find(runs, "ramp").Summary.Twins = map[string]*results.TwinResult{"rr": find(runs, "ramp").Twin("rr")}
	if c := Evaluate(Select(runs), time.Unix(0, 0)).Claims[2]; c.Status != Inconclusive || !strings.Contains(c.Evidence, "--twin eda") {
		t.Errorf("RR's knee alone: %s: %s", c.Status, c.Evidence)
	}
}
