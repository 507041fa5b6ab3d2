package verdict

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/edabench/edabench/harness/stats"
)

// testdata/repeated is three repetitions of smoke (seeds 1-3) with the
// spread issue 17 measured between two make bench runs: RR's e2e p99
// 22-95 ms against EDA's 54-274 ms, the hybrid's ack p99 22.7 ms to
// 1,075 ms.
func TestRepetitions(t *testing.T) {
	tests := []struct {
		name   string
		change func([]*Run) []*Run
		claim  int
		want   Status
		says   string
		single bool
		n      int
	}{
		{"overlapping p99s are inconclusive, with the overlap", nil, 1, Inconclusive, "p99: the intervals overlap on [54, 95]", false, 3},
		{"separated p50s and p99s hold", func(rs []*Run) []*Run {
			rs[2].Twin("rr").E2E.P99 = 30
			return rs
		}, 1, Holds, "RR e2e p50 9.80 ms [9.60, 10.1 ms] (n=3)", false, 3},
		{"separated the other way does not hold", func(rs []*Run) []*Run {
			for _, r := range rs {
				r.Twin("rr").E2E.P50, r.Twin("rr").E2E.P99 = 500+r.Twin("rr").E2E.P50, 900+r.Twin("rr").E2E.P99
			}
			return rs
		}, 1, DoesNotHold, "not lower at either percentile", false, 3},
		{"one repetition: the points decide, marked single run", func(rs []*Run) []*Run { return rs[:1] },
			1, Holds, "[single run: n=1", true, 1},
		{"two repetitions: [min, max] at 50%, apart", func(rs []*Run) []*Run { return rs[:2] },
			1, Holds, "p99 26.5 ms [22.0, 31.0 ms] (n=2) vs 164 ms [54.0, 274 ms] (n=2)", false, 2},
		{"the hybrid's ack p99 overlaps ×1.5 RR's", nil, 11, Inconclusive, "hybrid ack p99 against ×1.5 RR's: the intervals overlap", false, 3},
		{"CPU per order over the repetitions, its context figures not intervals", nil,
			8, Holds, "EDA 3.10 ms [3.10, 3.10 ms] (n=3)", false, 3},
		{"a partial repetition is left out", func(rs []*Run) []*Run {
			rs[2].Summary.Partial = true
			return rs
		}, 1, Holds, "(n=2)", false, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runs := loadSet(t, "repeated")
			if tt.change != nil {
				runs = tt.change(runs)
			}
			c := Evaluate(Select(runs), time.Unix(0, 0)).Claims[tt.claim-1]
			if c.Status != tt.want || !strings.Contains(c.Evidence, tt.says) || c.SingleRun != tt.single {
				t.Fatalf("claim %d = %s (single run %v): %s\nwant %s (single run %v), saying %q", c.ID, c.Status, c.SingleRun, c.Evidence, tt.want, tt.single, tt.says)
			}
			if len(c.Runs) != tt.n {
				t.Fatalf("claim %d read runs %v, want %d", c.ID, c.Runs, tt.n)
			}
			for k, iv := range c.Intervals {
				if iv.N != tt.n || c.Figures[k] != iv.Median || iv.Lo > iv.Median || iv.Hi < iv.Median {
					t.Errorf("%s = %+v (figure %v), want n=%d around its median", k, iv, c.Figures[k], tt.n)
				}
			}
		})
	}
}

// The interval of a figure is the order-statistics one over the runs, and
// verdict.json carries it with n beside the median.
func TestRepetitionsJSON(t *testing.T) {
	m := EvaluateMatrix(loadSet(t, "repeated"), time.Unix(0, 0))
	var buf bytes.Buffer
	if err := m.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Claims []struct {
			Cells []struct {
				Intervals map[string]stats.Interval `json:"intervals"`
				SingleRun *bool                     `json:"single_run"`
			} `json:"cells"`
		} `json:"claims"`
	}
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	want := stats.Interval{N: 3, Median: 80, Lo: 54, Hi: 274, Confidence: 0.75}
	c := got.Claims[0].Cells[0]
	if iv := c.Intervals["eda_e2e_p99_ms"]; iv != want || c.SingleRun == nil || *c.SingleRun {
		t.Fatalf("claim 1 eda_e2e_p99_ms = %+v single_run %v, want %+v and false", iv, c.SingleRun, want)
	}
	var md bytes.Buffer
	if err := m.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), "eda_e2e_p99_ms 80 [54, 274] (n=3, 75%)") {
		t.Fatalf("verdict.md does not show the interval:\n%s", md.String())
	}
}

// withReps adds repetitions of the "holds" set's run key, each a fresh
// copy (another start, another run id) that edit changes; edit(0, ...)
// changes the run already in the set.
func withReps(t *testing.T, runs []*Run, key string, n int, edit func(i int, r *Run)) []*Run {
	t.Helper()
	edit(0, find(runs, key))
	for i := 1; i < n; i++ {
		r := find(loadSet(t, "holds"), key)
		r.Summary.RunID = fmt.Sprintf("%s-rep%d", r.Summary.RunID, i)
		r.Summary.StartedAt = r.Summary.StartedAt.Add(time.Duration(i) * time.Minute)
		edit(i, r)
		runs = append(runs, r)
	}
	return runs
}

// The other figure comparisons over repetitions, on the "holds" set.
func TestRepetitionsPerClaim(t *testing.T) {
	tests := []struct {
		name   string
		change func([]*Run) []*Run
		claim  int
		want   Status
		says   string
	}{
		{"knees that overlap", func(rs []*Run) []*Run {
			eda, rr := []float64{1500, 1000, 2000}, []float64{1000, 1250, 750}
			return withReps(t, rs, "ramp", 3, func(i int, r *Run) {
				r.Twin("eda").Knee.RPS, r.Twin("rr").Knee.RPS = eda[i], rr[i]
			})
		}, 3, Inconclusive, "the intervals overlap on [1000, 1375]"},
		{"knees apart in every repetition", func(rs []*Run) []*Run {
			eda, rr := []float64{2000, 2250, 1750}, []float64{1000, 1250, 750}
			return withReps(t, rs, "ramp", 3, func(i int, r *Run) {
				r.Twin("eda").Knee.RPS, r.Twin("rr").Knee.RPS = eda[i], rr[i]
			})
		}, 3, Holds, "EDA knee 2000 [1750, 2250] (n=3)"},
		{"spike acks that overlap", func(rs []*Run) []*Run {
			eda := []float64{40, 400, 50}
			return withReps(t, rs, "spike", 3, func(i int, r *Run) { r.Twin("eda").Phases["spike"].Ack.P99 = eda[i] })
		}, 4, Inconclusive, "EDA's spike ack p99 against RR's: the intervals overlap on [300, 300]"},
		// One-sided rules: an interval against a fixed bound (RR's rise
		// against ×spikeRiseFactor), with RR failing nothing.
		{"RR's rise straddles the bound: inconclusive", rrRise(t, []float64{50, 60, 300}, []float64{20, 40, 20}),
			4, Inconclusive, "RR's rise against ×2: the intervals overlap on [2, 2]"},
		{"RR's rise above the bound in every repetition", rrRise(t, []float64{50, 60, 300}, []float64{20, 20, 20}),
			4, Holds, "RR rose ×3 [2.5, 15] (n=3)"},
		{"RR's rise below the bound in every repetition", rrRise(t, []float64{50, 60, 70}, []float64{40, 45, 50}),
			4, DoesNotHold, "RR's latency did not rise ×2"},
		{"one spike repetition needed no buffering", func(rs []*Run) []*Run {
			return withReps(t, rs, "spike", 3, func(i int, r *Run) {
				if i == 2 {
					r.Twin("eda").Lag.MaxQueueDepth = 40
				}
			})
		}, 4, Inconclusive, "needed no buffering"},
		{"one crash repetition lost an order", func(rs []*Run) []*Run {
			return withReps(t, rs, "failure-crash", 3, func(i int, r *Run) {
				if i == 1 {
					r.Twin("eda").Audit.Lost = 1
				}
			})
		}, 6, DoesNotHold, "failure-crash rep 2/3 [does not hold]"},
		{"one duplicate applied in one repetition", func(rs []*Run) []*Run {
			return withReps(t, rs, "failure-crash", 2, func(i int, r *Run) {
				if i == 1 {
					r.Twin("eda").Audit.DuplicatesApplied = 1
				}
			})
		}, 10, DoesNotHold, "a step applied an order twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Evaluate(Select(tt.change(loadSet(t, "holds"))), time.Unix(0, 0)).Claims[tt.claim-1]
			if c.Status != tt.want || !strings.Contains(c.Evidence, tt.says) {
				t.Fatalf("claim %d = %s: %s\nwant %s, saying %q", c.ID, c.Status, c.Evidence, tt.want, tt.says)
			}
		})
	}
}

// rrRise makes three spike repetitions whose RR spike and baseline ack
// p99s are the given ones and whose RR failed nothing.
func rrRise(t *testing.T, spike, base []float64) func([]*Run) []*Run {
	return func(rs []*Run) []*Run {
		return withReps(t, rs, "spike", len(spike), func(i int, r *Run) {
			rr := r.Twin("rr")
			rr.Phases["spike"].Ack.P99, rr.Phases["baseline"].Ack.P99 = spike[i], base[i]
			rr.Phases["spike"].Errors, rr.Phases["spike"].Timeouts, rr.Phases["spike"].Dropped = 0, 0, 0
		})
	}
}
