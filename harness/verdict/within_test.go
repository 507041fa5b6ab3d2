package verdict

import (
	"strings"
	"testing"
	"time"

	"github.com/edabench/edabench/harness/results"
	"github.com/edabench/edabench/harness/stats"
)

// within is a within-run interval over 20 one-second windows.
func within(point, lo, hi float64) stats.Interval {
	return stats.Interval{N: 20, Median: point, Lo: lo, Hi: hi, Confidence: stats.Level, Within: true}
}

// setWithin gives a twin's summary (or one of its phases, phase != "")
// its within-run intervals, as a run since they are recorded writes them.
func setWithin(t *testing.T, tw *results.TwinResult, phase string, e2e bool, p50, p99 stats.Interval) {
	t.Helper()
	lw := &tw.Within
	if phase != "" {
		lw = &tw.Phases[phase].Within
	}
	if *lw == nil {
		*lw = &results.LatencyWithin{}
	}
	w := &results.WithinRun{Method: stats.WithinMethod, Windows: 20, BlockWindows: 3, Replicates: stats.WithinReplicates, P50: p50, P99: p99}
	if e2e {
		(*lw).E2E = w
	} else {
		(*lw).Ack = w
	}
}

// From one run, a latency figure whose summary recorded its within-run
// interval is decided on that interval: separated, overlapping, one-sided
// (one twin's summary without them, its figure a point), and a phase's.
// The fixture sets are "holds" (smoke: RR e2e p50 9.567 ms, p99 29.519;
// EDA 29.167 and 99.007; spike ack p99 RR 300, EDA 40) and one repetition
// of "repeated" (with the hybrid).
func TestWithinRunDecidesASingleRun(t *testing.T) {
	smokeWithin := func(rrP99, edaP99 stats.Interval) func([]*Run) []*Run {
		return func(rs []*Run) []*Run {
			r := find(rs, "smoke")
			setWithin(t, r.Twin("rr"), "", true, within(9.567, 9.1, 10.2), rrP99)
			setWithin(t, r.Twin("eda"), "", true, within(29.167, 25, 33), edaP99)
			setWithin(t, r.Twin("eda"), "", false, within(6.583, 6.1, 7.2), within(51.679, 40, 70))
			return rs
		}
	}
	tests := []struct {
		name   string
		set    string
		change func([]*Run) []*Run
		claim  int
		want   Status
		says   []string
		figure string
		within bool // the figure's interval is the run's own
	}{
		{"separated within the run: holds, single run", "holds", smokeWithin(within(29.519, 22, 41), within(99.007, 70, 160)),
			1, Holds, []string{"p99 29.5 ms [22.0, 41.0 ms] (within run)", "[single run: n=1; the intervals are within the run (latency percentiles"}, "eda_e2e_p99_ms", true},
		{"a stalled second widens RR's p99 over EDA's: inconclusive with the overlap", "holds", smokeWithin(within(29.519, 22, 1075), within(99.007, 70, 160)),
			1, Inconclusive, []string{"p99: the intervals overlap on [70, 160]", "(within run)"}, "rr_e2e_p99_ms", true},
		{"one-sided: RR's summary has none, its point below EDA's interval", "holds", func(rs []*Run) []*Run {
			rs = smokeWithin(stats.Interval{}, within(99.007, 70, 160))(rs)
			find(rs, "smoke").Twin("rr").Within = nil
			return rs
		}, 1, Holds, []string{"RR e2e p50 9.57 ms vs EDA 29.2 ms [25.0, 33.0 ms] (within run)", "the intervals are within the run (latency percentiles and per-second medians: its seconds resampled in blocks; rises and ratios: of those; shares: binomial; knees: the bracket held..broke), the other figures points"}, "eda_e2e_p50_ms", true},
		{"one-sided: RR's point inside EDA's interval", "holds", func(rs []*Run) []*Run {
			rs = smokeWithin(stats.Interval{}, within(99.007, 25, 160))(rs)
			find(rs, "smoke").Twin("rr").Within = nil
			return rs
		}, 1, Inconclusive, []string{"p99: the intervals overlap on [29.52, 29.52]"}, "eda_e2e_p99_ms", true},
		{"a spike phase's intervals overlapping", "holds", func(rs []*Run) []*Run {
			r := find(rs, "spike")
			setWithin(t, r.Twin("eda"), "spike", false, within(10, 8, 12), within(40, 30, 350))
			setWithin(t, r.Twin("rr"), "spike", false, within(100, 90, 120), within(300, 250, 400))
			return rs
		}, 4, Inconclusive, []string{"the intervals overlap on [250, 350]"}, "eda_spike_ack_p99_ms", true},
		{"a chain's RR p50 with a stall: the ends overlap", "holds", func(rs []*Run) []*Run {
			for _, r := range rs {
				if r.Key() == "chain/steps=1" || r.Key() == "chain/steps=4" {
					p50 := r.Twin("rr").E2E.P50
					setWithin(t, r.Twin("rr"), "", true, within(p50, 0.8*p50, 3*p50), within(2*p50, p50, 4*p50))
				}
			}
			return rs
		}, 2, Inconclusive, []string{"2 hops: RR 5.00 ms [4.00, 15.0 ms] (within run)", "the longest chain's RR p50 against the shortest's plus 20%: the intervals overlap"}, "rr_e2e_p50_ms_hops_5", true},
		{"the hybrid's ack p99 within the run against ×1.5 RR's", "repeated", func(rs []*Run) []*Run {
			r := rs[0]
			setWithin(t, r.Twin("rr"), "", false, within(r.Twin("rr").Ack.P50, 1, 2), within(r.Twin("rr").Ack.P99, 20, 30))
			setWithin(t, r.Twin("hybrid"), "", false, within(r.Twin("hybrid").Ack.P50, 1, 2), within(r.Twin("hybrid").Ack.P99, 20, 1075))
			return rs[:1]
		}, 11, Inconclusive, []string{"hybrid ack p99 against ×1.5 RR's: the intervals overlap on [30, 45]"}, "smoke.hybrid_ack_p99_ms", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs := tt.change(loadSet(t, tt.set))
			c := Evaluate(Select(rs), time.Unix(0, 0)).Claims[tt.claim-1]
			if c.Status != tt.want || !c.SingleRun {
				t.Errorf("claim %d = %s (single run %v), want %s, single run: %s", c.ID, c.Status, c.SingleRun, tt.want, c.Evidence)
			}
			for _, s := range tt.says {
				if !strings.Contains(c.Evidence, s) {
					t.Errorf("claim %d evidence lacks %q: %s", c.ID, s, c.Evidence)
				}
			}
			if iv := c.Intervals[tt.figure]; iv.Within != tt.within || c.Figures[tt.figure] != iv.Median {
				t.Errorf("%s = %+v (figure %v), want within-run %v", tt.figure, iv, c.Figures[tt.figure], tt.within)
			}
		})
	}
}

// From two runs on, the runs' spread decides even where each summary has
// its within-run intervals.
func TestWithinRunYieldsToRepetitions(t *testing.T) {
	rs := loadSet(t, "repeated")
	for _, r := range rs {
		for _, tw := range []string{"rr", "eda"} {
			e := r.Twin(tw).E2E
			setWithin(t, r.Twin(tw), "", true, within(e.P50, 0, 1e6), within(e.P99, 0, 1e6))
		}
	}
	c := Evaluate(Select(rs), time.Unix(0, 0)).Claims[0]
	if iv := c.Intervals["eda_e2e_p99_ms"]; iv.Within || iv.N != 3 || iv.Lo != 54 || iv.Hi != 274 {
		t.Fatalf("eda_e2e_p99_ms = %+v, want the three runs' interval [54, 274]", iv)
	}
	if c.SingleRun {
		t.Fatalf("claim 1 marked single run over three: %s", c.Evidence)
	}
}
