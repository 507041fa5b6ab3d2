package verdict

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edabench/edabench/harness/audit"
	"github.com/edabench/edabench/harness/record"
	"github.com/edabench/edabench/harness/results"
	"github.com/edabench/edabench/harness/staleness"
)

// The fixture sets are recorded summaries (derived from real runs, figures
// edited; testdata/README.md): in "holds" every claim's figures satisfy its
// rule, in "doesnothold" every claim's figures refute it.
func TestFixtureSets(t *testing.T) {
	for _, tt := range []struct {
		set  string
		want Status
	}{
		{"holds", Holds},
		{"doesnothold", DoesNotHold},
	} {
		t.Run(tt.set, func(t *testing.T) {
			v := Evaluate(Select(loadSet(t, tt.set)), time.Unix(0, 0))
			if len(v.Claims) != 11 {
				t.Fatalf("%d claims, want 11", len(v.Claims))
			}
			for _, c := range v.Claims {
				want := tt.want
				if c.ID == 11 {
					want = Inconclusive
				}
				if c.Status != want {
					t.Errorf("claim %d = %s, want %s: %s", c.ID, c.Status, want, c.Evidence)
				}
				if c.ID == 11 {
					continue
				}
				if len(c.Runs) == 0 || c.Evidence == "" || !strings.Contains(c.Conditions, "2 CPUs AMD EPYC") {
					t.Errorf("claim %d lacks runs, evidence or machine: %+v", c.ID, c)
				}
				if len(c.Figures) == 0 {
					t.Errorf("claim %d has no figures", c.ID)
				}
				// One run per scenario: every deciding figure is a point,
				// and the claim says so.
				if len(c.Intervals) == 0 || !c.SingleRun || !strings.Contains(c.Evidence, "single run: n=1") {
					t.Errorf("claim %d is not marked single run: %d intervals, %v", c.ID, len(c.Intervals), c.SingleRun)
				}
			}
		})
	}
}

// loadSet reads a fixture set afresh, so a test may change its runs.
func loadSet(t *testing.T, set string) []*Run {
	t.Helper()
	runs, warnings, err := Load([]string{filepath.Join("testdata", set)})
	if err != nil || len(warnings) > 0 {
		t.Fatalf("load %s: %v %v", set, err, warnings)
	}
	return runs
}

func find(runs []*Run, key string) *Run {
	for _, r := range runs {
		if r.Key() == key {
			return r
		}
	}
	return nil
}

func drop(runs []*Run, keys ...string) []*Run {
	var out []*Run
	for _, r := range runs {
		keep := true
		for _, k := range keys {
			if r.Key() == k || strings.HasPrefix(r.Key(), k+"/") {
				keep = false
			}
		}
		if keep {
			out = append(out, r)
		}
	}
	return out
}

// Each case changes the "holds" set so that one claim can no longer be
// decided (or, for the edge cases of a rule, is decided the other way).
func TestEdgeCases(t *testing.T) {
	tests := []struct {
		name   string
		change func([]*Run) []*Run
		claim  int
		want   Status
		says   string
	}{
		{"no ramp run", func(rs []*Run) []*Run { return drop(rs, "ramp") }, 3, Inconclusive, "no ramp run among the inputs"},
		{"neither knee reached", func(rs []*Run) []*Run {
			r := find(rs, "ramp")
			for _, tw := range r.Summary.Twins {
				tw.Knee = &results.Knee{RPS: 3000, Reached: false}
			}
			return rs
		}, 3, Inconclusive, "neither twin broke the SLO"},
		{"EDA knee not reached: its top step counts", func(rs []*Run) []*Run {
			find(rs, "ramp").Twin("eda").Knee = &results.Knee{Reached: false}
			return rs
		}, 3, Holds, "EDA knee ≥ 3000/s"},
		{"RR knee not reached", func(rs []*Run) []*Run {
			find(rs, "ramp").Twin("rr").Knee = &results.Knee{RPS: 3000, Reached: false}
			return rs
		}, 3, DoesNotHold, "RR sustained at least as much"},
		{"knees within a step", func(rs []*Run) []*Run {
			find(rs, "ramp").Twin("eda").Knee.RPS = 1050
			return rs
		}, 3, Inconclusive, "the intervals overlap on [1100, 1375]"},
		{"no duplicates occurred", func(rs []*Run) []*Run {
			for _, r := range rs {
				if tw := r.Twin("eda"); tw != nil && tw.Audit != nil {
					tw.Audit.DuplicatesDelivered = 0
				}
			}
			return rs
		}, 10, Inconclusive, "no duplicates occurred"},
		{"an unread journal", func(rs []*Run) []*Run {
			for _, r := range rs {
				if tw := r.Twin("eda"); tw != nil && tw.Audit != nil {
					tw.Audit.Unaudited = []string{"payment"}
				}
			}
			return rs
		}, 10, Inconclusive, "lower bounds"},
		{"no failure runs", func(rs []*Run) []*Run {
			return drop(rs, "failure-crash", "failure-broker-restart", "failure-slow-step")
		},
			5, Inconclusive, "no failure-crash run"},
		{"no failure runs (claim 6)", func(rs []*Run) []*Run { return drop(rs, "failure-crash", "failure-broker-restart") },
			6, Inconclusive, "no failure-crash run"},
		{"one run refutes claim 6", func(rs []*Run) []*Run {
			find(rs, "failure-broker-restart").Twin("eda").Faults[0].DrainMs = -1
			return rs
		}, 6, DoesNotHold, "never back to their pre-fault depth"},
		{"claim 6: nothing queued during the restart", func(rs []*Run) []*Run {
			rs = drop(rs, "failure-crash")
			find(rs, "failure-broker-restart").Twin("eda").Faults[0].Backlog = 3
			return rs
		}, 6, Inconclusive, "nothing to catch up"},
		{"claim 6: no recovery inside the run (recovery_ms -1)", func(rs []*Run) []*Run {
			rs = drop(rs, "failure-crash")
			find(rs, "failure-broker-restart").Twin("eda").Faults[0].RecoveryMs = -1
			return rs
		}, 6, Inconclusive, "recovery_ms -1"},
		{"claim 6: the fault lasted until the load ended", func(rs []*Run) []*Run {
			rs = drop(rs, "failure-crash")
			find(rs, "failure-broker-restart").Twin("eda").LoadSeconds = 21
			return rs
		}, 6, Inconclusive, "no order was placed after it"},
		{"claim 6: the twin kept failing after the fault", func(rs []*Run) []*Run {
			rs = drop(rs, "failure-crash")
			tw := find(rs, "failure-broker-restart").Twin("eda")
			tw.Sent, tw.Errors = 6000, 2000 // 940 of them inside the window
			return rs
		}, 6, Inconclusive, "did not return to service"},
		{"claim 6: a vacuous run does not outweigh one that caught up", func(rs []*Run) []*Run {
			find(rs, "failure-broker-restart").Twin("eda").Faults[0].RecoveryMs = -1
			return rs
		}, 6, Holds, "failure-broker-restart [inconclusive]"},
		{"claim 6: a fault not applied", func(rs []*Run) []*Run {
			rs = drop(rs, "failure-crash")
			find(rs, "failure-broker-restart").Twin("eda").Faults[0].Error = "rabbitmqctl: timeout"
			return rs
		}, 6, Inconclusive, "a fault was not applied"},
		{"claim 5: EDA accepted nothing", func(rs []*Run) []*Run {
			find(rs, "failure-crash").Twin("eda").Orders.Accepted = 0
			return rs
		}, 5, Inconclusive, "isolation was not exercised"},
		{"no staleness key", func(rs []*Run) []*Run {
			for _, r := range rs {
				for _, tw := range r.Summary.Twins {
					tw.Staleness = nil
				}
			}
			return rs
		}, 7, Inconclusive, "no run reports twins.<twin>.staleness"},
		{"staleness from another run", func(rs []*Run) []*Run {
			smoke, spike := find(rs, "smoke"), find(rs, "spike")
			for name, tw := range smoke.Summary.Twins {
				spike.Twin(name).Staleness, tw.Staleness = tw.Staleness, nil
			}
			return rs
		}, 7, Holds, "most EDA orders read stale first"},
		{"a summary without the read counts", func(rs []*Run) []*Run {
			smoke := find(rs, "smoke")
			smoke.Twin("rr").Staleness = &staleness.Result{Summary: record.Summary{Count: 200, P50: 0.02, P99: 0.6}}
			smoke.Twin("eda").Staleness = &staleness.Result{Summary: record.Summary{Count: 200, P50: 21, P99: 88}}
			return rs
		}, 7, Holds, "RR reads are current within 1.00 ms"},
		{"RR read stale once", func(rs []*Run) []*Run {
			find(rs, "smoke").Twin("rr").Staleness.StaleReads = 1
			return rs
		}, 7, DoesNotHold, "RR's reads were stale"},
		{"EDA mostly current on the first read", func(rs []*Run) []*Run {
			find(rs, "smoke").Twin("eda").Staleness.ImmediatelyConsistent = 150
			return rs
		}, 7, DoesNotHold, "EDA's typical read was already current"},
		{"no order probed", func(rs []*Run) []*Run {
			smoke := find(rs, "smoke")
			smoke.Twin("rr").Staleness, smoke.Twin("eda").Staleness = &staleness.Result{}, &staleness.Result{}
			return rs
		}, 7, Inconclusive, "neither twin's probe measured an order"},
		{"two chain lengths", func(rs []*Run) []*Run { return drop(rs, "chain/steps=3", "chain/steps=4") },
			2, Inconclusive, "2 chain length(s)"},
		{"no chain runs", func(rs []*Run) []*Run { return drop(rs, "chain") }, 2, Inconclusive, "--steps N"},
		{"one small inversion", func(rs []*Run) []*Run {
			find(rs, "chain/steps=3").Twin("rr").E2E.P50 = 6.9 // 7.1 at 3 hops: 3% lower
			return rs
		}, 2, Holds, "1 inversion(s)"},
		{"one large inversion", func(rs []*Run) []*Run {
			find(rs, "chain/steps=3").Twin("rr").E2E.P50 = 6.0
			return rs
		}, 2, Inconclusive, "not steadily"},
		{"smoke with errors", func(rs []*Run) []*Run {
			find(rs, "smoke").Twin("eda").Errors = 3
			return rs
		}, 1, Inconclusive, "not a clean light-load run"},
		{"smoke above half the weaker knee", func(rs []*Run) []*Run {
			find(rs, "ramp").Twin("rr").Knee.RPS = 150
			return rs
		}, 1, Inconclusive, "not light load"},
		{"smoke with one twin", func(rs []*Run) []*Run {
			delete(find(rs, "smoke").Summary.Twins, "eda")
			return rs
		}, 1, Inconclusive, "drove only [rr]"},
		{"mixed percentiles", func(rs []*Run) []*Run {
			find(rs, "smoke").Twin("rr").E2E.P99 = 500
			return rs
		}, 1, Inconclusive, "one percentile only"},
		{"spike built no backlog", func(rs []*Run) []*Run {
			find(rs, "spike").Twin("eda").Lag.MaxQueueDepth = 20
			return rs
		}, 4, Inconclusive, "needed no buffering"},
		{"spike backlog never drained", func(rs []*Run) []*Run {
			find(rs, "spike").Twin("eda").Lag.DrainMs = -1
			return rs
		}, 4, DoesNotHold, "did not drain"},
		{"RR unhurt by the spike", func(rs []*Run) []*Run {
			r := find(rs, "spike")
			r.Twin("rr").Phases["spike"].Ack.P99 = 35 // ×1.75 its baseline
			r.Twin("eda").Phases["spike"].Ack.P99 = 25
			return rs
		}, 4, DoesNotHold, "did not rise"},
		{"EDA failed in the crash", func(rs []*Run) []*Run {
			find(rs, "failure-crash").Twin("eda").Faults[0].Timeouts = 100
			return rs
		}, 5, DoesNotHold, "over 1% of RR's failures"},
		{"slow step not applied", func(rs []*Run) []*Run {
			find(rs, "failure-slow-step").Twin("rr").Faults[0].Error = "shipping: connection refused"
			return rs
		}, 9, Inconclusive, "was not applied"},
		{"slow step without per-second figures", func(rs []*Run) []*Run {
			find(rs, "failure-slow-step").Dir = t.TempDir()
			return rs
		}, 9, Inconclusive, "timeseries.csv"},
		{"EDA acks slowed too", func(rs []*Run) []*Run {
			r := find(rs, "failure-slow-step")
			r.Dir = writeTimeseries(t, "eda", 20, 40)
			return rs
		}, 9, DoesNotHold, "EDA's acks slowed too"},
		{"CPU within noise", func(rs []*Run) []*Run {
			find(rs, "smoke").Twin("eda").CPUPerOrderMs = 4.5
			return rs
		}, 8, Inconclusive, "a tie"},
		{"CPU at unequal rates", func(rs []*Run) []*Run {
			find(rs, "smoke").Twin("eda").OfferedRPS = 50
			return rs
		}, 8, Inconclusive, "not a like-for-like"},
		{"no hybrid twin", func(rs []*Run) []*Run { return rs }, 11, Inconclusive, "no hybrid twin in these runs"},
		{"hybrid answers like RR and isolates like EDA", func(rs []*Run) []*Run { return withHybrid(rs, 1, 0, 0) }, 11, Holds, "nothing lost"},
		{"hybrid answers slower than RR", func(rs []*Run) []*Run { return withHybrid(rs, 2, 0, 0) }, 11, DoesNotHold, "ack p99 is ×2.0 RR's"},
		{"hybrid failed during the consumer's kill", func(rs []*Run) []*Run { return withHybrid(rs, 1, 300, 0) }, 11, DoesNotHold, "saw the consumer's crash"},
		// 3 failures against RR's 2,204: a few stray failures, within
		// counting noise of 1% of RR's: not clean, not coupled.
		{"hybrid failed a stray few during the kill", func(rs []*Run) []*Run { return withHybrid(rs, 1, 3, 0) }, 11, Inconclusive, "not beyond 1% of RR's"},
		// 20 against 1% of 2,204 (22): Poisson intervals overlap.
		{"hybrid failed near the bound", func(rs []*Run) []*Run { return withHybrid(rs, 1, 20, 0) }, 11, Inconclusive, "Poisson counting noise included"},
		{"hybrid lost orders", func(rs []*Run) []*Run { return withHybrid(rs, 1, 0, 2) }, 11, DoesNotHold, "lost 2 accepted orders"},
		{"hybrid without a crash run", func(rs []*Run) []*Run {
			rs = withHybrid(rs, 1, 0, 0)
			delete(find(rs, "failure-crash").Summary.Twins, "hybrid")
			return rs
		}, 11, Inconclusive, "untested"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runs := tt.change(loadSet(t, "holds"))
			v := Evaluate(Select(runs), time.Unix(0, 0))
			c := v.Claims[tt.claim-1]
			if c.ID != tt.claim || c.Status != tt.want || !strings.Contains(c.Evidence, tt.says) {
				t.Fatalf("claim %d = %s: %s\nwant %s, saying %q", c.ID, c.Status, c.Evidence, tt.want, tt.says)
			}
		})
	}
}

// withHybrid adds a hybrid twin to the smoke and failure-crash runs, made
// from the EDA twin's figures with an ack p99 of ackFactor times RR's,
// failed requests in the crash window and lost orders.
func withHybrid(rs []*Run, ackFactor float64, failed, lost int64) []*Run {
	for _, key := range []string{"smoke", "failure-crash"} {
		r := find(rs, key)
		h := *r.Twin("eda")
		h.Ack.P99 = ackFactor * r.Twin("rr").Ack.P99
		h.Faults = append([]results.FaultWindow(nil), h.Faults...)
		if key == "failure-crash" {
			h.Faults[0].Errors, h.Faults[0].Timeouts, h.Faults[0].Dropped = failed, 0, 0
			h.Orders.Lost = lost
			if h.Audit != nil {
				a := *h.Audit
				a.Lost = lost
				h.Audit = &a
			}
		}
		r.Summary.Twins["hybrid"] = &h
	}
	return rs
}

// writeTimeseries writes a slow-step run's timeseries.csv where RR takes
// the slowdown and the twin given has ack p99 before, then during, the
// window (10-25 s).
func writeTimeseries(t *testing.T, twin string, before, during float64) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("t_s,twin,phase,offered,replies,errors,timeouts,dropped,ended,in_flight,ack_p50_ms,ack_p99_ms,e2e_p50_ms,e2e_p99_ms,queue_depth,lag_ms,faults\n")
	for _, tw := range []string{"rr", "eda"} {
		for s := 0; s < 40; s++ {
			v := 25.0
			if tw == twin {
				v = before
			}
			if s >= 10 && s < 25 {
				v = 300
				if tw == twin {
					v = during
				}
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

func itoa(i int) string { return ftoa(float64(i)) }
func ftoa(f float64) string {
	b, _ := json.Marshal(f)
	return string(b)
}

func run(id, name string, minute int, partial bool, twins ...string) *Run {
	r := &Run{Dir: id, Scenario: results.ScenarioInfo{Name: name}}
	r.Summary.RunID = id
	r.Summary.Partial = partial
	r.Summary.StartedAt = time.Date(2026, 11, 26, 10, minute, 0, 0, time.UTC)
	r.Summary.Twins = map[string]*results.TwinResult{}
	for _, t := range twins {
		r.Summary.Twins[t] = &results.TwinResult{}
	}
	return r
}

func TestSelectPrefersFinishedBothTwinsRecent(t *testing.T) {
	tests := []struct {
		name string
		runs []*Run
		want string
	}{
		{"most recent", []*Run{run("old", "smoke", 1, false, "rr", "eda"), run("new", "smoke", 2, false, "rr", "eda")}, "new"},
		{"finished over partial", []*Run{run("done", "smoke", 1, false, "rr", "eda"), run("cut", "smoke", 2, true, "rr", "eda")}, "done"},
		{"partial if nothing else", []*Run{run("cut", "smoke", 2, true, "rr", "eda")}, "cut"},
		{"both twins over one", []*Run{run("both", "smoke", 1, false, "rr", "eda"), run("rr", "smoke", 2, false, "rr")}, "both"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Select(tt.runs).byKey["smoke"]; got == nil || got.ID() != tt.want {
				t.Fatalf("selected %v, want %s", got, tt.want)
			}
		})
	}
}

// A partial run used for want of another says so in the conditions.
func TestPartialRunIsNamed(t *testing.T) {
	runs := loadSet(t, "holds")
	r := find(runs, "smoke")
	r.Summary.Partial, r.Summary.PartialReason = true, "interrupted"
	c := Evaluate(Select(runs), time.Now()).Claims[0]
	if !strings.Contains(c.Conditions, "PARTIAL RUN (the only one: interrupted)") {
		t.Fatalf("conditions %q do not name the partial run", c.Conditions)
	}
}

func TestLoad(t *testing.T) {
	holds := filepath.Join("testdata", "holds")
	smoke := filepath.Join(holds, "20261126-100100-rr-eda-smoke")

	t.Run("a run folder", func(t *testing.T) {
		runs, _, err := Load([]string{smoke})
		if err != nil || len(runs) != 1 || runs[0].ID() != "20261126-100100-rr-eda-smoke" {
			t.Fatalf("Load(run folder) = %d runs, %v", len(runs), err)
		}
	})
	t.Run("a folder of runs, its latest link and a broken run", func(t *testing.T) {
		dir := t.TempDir()
		abs, _ := filepath.Abs(smoke)
		if err := os.Symlink(abs, filepath.Join(dir, "20261126-100100-rr-eda-smoke")); err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(filepath.Join(smoke, "summary.json"))
		real := filepath.Join(dir, "20261126-110000-rr-eda-smoke")
		os.Mkdir(real, 0o755)
		os.WriteFile(filepath.Join(real, "summary.json"), b, 0o644)
		os.Symlink("20261126-110000-rr-eda-smoke", filepath.Join(dir, "latest"))
		broken := filepath.Join(dir, "20261126-120000-rr-eda-spike")
		os.Mkdir(broken, 0o755)
		os.WriteFile(filepath.Join(broken, "summary.json"), []byte(`{"schema_version": 1, "twins": `), 0o644)
		runs, warnings, err := Load([]string{dir, real})
		if err != nil || len(runs) != 1 || len(warnings) != 1 || !strings.Contains(warnings[0], "is the run still being written?") {
			t.Fatalf("Load = %d runs, warnings %q, %v; want the one real run and a warning", len(runs), warnings, err)
		}
	})
	t.Run("nothing there", func(t *testing.T) {
		if _, _, err := Load([]string{t.TempDir()}); !errors.Is(err, ErrNoRuns) {
			t.Fatalf("Load(empty) = %v, want ErrNoRuns", err)
		}
	})
	t.Run("no such folder", func(t *testing.T) {
		if _, _, err := Load([]string{"/no/such/results"}); err == nil || !strings.Contains(err.Error(), "/no/such/results") {
			t.Fatalf("Load(missing) = %v", err)
		}
	})
	t.Run("chain steps as a number or a string", func(t *testing.T) {
		for _, steps := range []string{`3`, `"3"`} {
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, "summary.json"),
				[]byte(`{"schema_version": 1, "scenario": {"name": "chain", "steps": `+steps+`}, "twins": {}}`), 0o644)
			runs, w, err := Load([]string{dir})
			if err != nil || len(runs) != 1 || runs[0].Key() != "chain/steps=3" {
				t.Fatalf("steps %s: %v %q", steps, err, w)
			}
		}
		// A summary from before the scenario wrote its steps.
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "summary.json"),
			[]byte(`{"schema_version": 1, "scenario": {"name": "smoke"}, "twins": {}}`), 0o644)
		if runs, _, err := Load([]string{dir}); err != nil || runs[0].Key() != "smoke" {
			t.Fatalf("smoke without steps: key %q, %v", runs[0].Key(), err)
		}
	})
	t.Run("another schema", func(t *testing.T) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "summary.json"), []byte(`{"schema_version": 99, "twins": {}}`), 0o644)
		if _, w, err := Load([]string{dir}); !errors.Is(err, ErrNoRuns) || len(w) != 1 || !strings.Contains(w[0], "schema_version 99") {
			t.Fatalf("Load(schema 99) = %v, %q", err, w)
		}
	})
}

// verdict.json must keep the keys the report renderer reads, and hold no
// value JSON cannot carry.
func TestJSONForm(t *testing.T) {
	runs := loadSet(t, "holds")
	find(runs, "chain/steps=1").Twin("eda").Ack.Count = 0 // an EDA slope over fewer points
	m := EvaluateMatrix(drop(runs, "chain/steps=2", "chain/steps=3", "chain/steps=4"), time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC))
	var buf bytes.Buffer
	if err := m.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var got struct {
		GeneratedAt string `json:"generated_at"`
		Claims      []struct {
			ID    int              `json:"id"`
			Cells []map[string]any `json:"cells"`
		} `json:"claims"`
	}
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got.GeneratedAt != "2026-11-26T09:00:00Z" || len(got.Claims) != 11 {
		t.Fatalf("generated_at %q, %d claims", got.GeneratedAt, len(got.Claims))
	}
	for _, c := range got.Claims {
		if len(c.Cells) != 1 {
			t.Fatalf("claim %d: %d cells, want one (the fixtures ran on RabbitMQ only)", c.ID, len(c.Cells))
		}
		for _, k := range []string{"backbone", "id", "claim", "status", "evidence", "conditions", "runs"} {
			if _, ok := c.Cells[0][k]; !ok {
				t.Errorf("claim %d has no %q", c.ID, k)
			}
		}
	}
	var md bytes.Buffer
	if err := m.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(md.String(), "\n### "); n != 11 { // a section per claim
		t.Fatalf("verdict.md has %d claim sections, want 11:\n%s", n, md.String())
	}
}

func TestSlope(t *testing.T) {
	if s := slope([]float64{2, 3, 4, 5}, []float64{5, 7, 9, 11}); math.Abs(s-2) > 1e-9 {
		t.Fatalf("slope = %v, want 2", s)
	}
	if s := slope([]float64{2}, []float64{5}); !math.IsNaN(s) {
		t.Fatalf("slope of one point = %v, want NaN", s)
	}
}

// The audit's figures are read from the audit, not the order counts.
func TestLostPrefersTheAudit(t *testing.T) {
	tw := &results.TwinResult{Audit: &audit.Report{Lost: 2}}
	if lost(tw) != 2 {
		t.Fatalf("lost = %d, want 2", lost(tw))
	}
}
