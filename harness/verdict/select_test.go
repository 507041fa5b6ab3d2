package verdict

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/edabench/edabench/harness/results"
)

const fixtureRun = "20261126-10%s-rr-eda-%s"

// Each claim's runs are found in both fixture sets by what they contain.
func TestSelectByContent(t *testing.T) {
	id := func(minute, name string) string { return fmt.Sprintf(fixtureRun, minute, name) }
	one := func(r *Run) []string {
		if r == nil {
			return nil
		}
		return []string{r.ID()}
	}
	tests := []struct {
		what string
		pick func(*Set) []string
		want []string
	}{
		{"the ramp", func(s *Set) []string { return one(s.Ramp()) }, []string{id("0600", "ramp")}},
		{"the surge", func(s *Set) []string { return one(s.Spike()) }, []string{id("0700", "spike")}},
		{"light load", func(s *Set) []string { return one(s.LightLoad()) }, []string{id("0100", "smoke")}},
		{"steady runs", func(s *Set) []string { return ids(s.Steady()...) }, []string{id("0100", "smoke")}},
		{"the chain series", func(s *Set) []string { return ids(s.Chain()...) },
			[]string{id("0200", "chain-1"), id("0300", "chain-2"), id("0400", "chain-3"), id("0500", "chain-4")}},
		{"faulted runs", func(s *Set) []string { return ids(s.Faulted()...) },
			[]string{id("0900", "failure-broker-restart"), id("0800", "failure-crash"), id("1000", "failure-slow-step")}},
		{"a slowed step", func(s *Set) []string { return one(s.WithFault("slow-step")) }, []string{id("1000", "failure-slow-step")}},
		{"a killed service", func(s *Set) []string { return one(s.WithFault("kill")) }, []string{id("0800", "failure-crash")}},
		{"a fault no run injected", func(s *Set) []string { return one(s.WithFault("latency")) }, nil},
	}
	for _, set := range []string{"holds", "doesnothold"} {
		s := Select(loadSet(t, set))
		for _, tt := range tests {
			t.Run(set+"/"+tt.what, func(t *testing.T) {
				if got := tt.pick(s); !slices.Equal(got, tt.want) {
					t.Fatalf("got %v, want %v", got, tt.want)
				}
			})
		}
	}
}

// steady is a run of scenario id at one rate, for the cases below.
func steady(id string, minute int, rate float64, steps int) *Run {
	r := run(id, id, minute, false, "rr", "eda")
	r.Scenario.Stages = []results.StageInfo{{Name: "steady", Duration: "10s", Rate: rate}}
	r.Scenario.Steps = results.Count(steps)
	// The scenario as summary.json has it, which the chain series compare.
	b, _ := json.Marshal(r.Scenario)
	var m map[string]any
	json.Unmarshal(b, &m)
	r.Summary.Scenario = m
	return r
}

// The content that makes a run each claim's evidence, run by run.
func TestSelectEdgeCases(t *testing.T) {
	tests := []struct {
		name string
		runs func() []*Run
		pick func(*Set) []string
		want []string
	}{
		{"a knee without a ramp in the scenario is a ramp", func() []*Run {
			r := steady("k", 1, 100, 4)
			r.Twin("rr").Knee = &results.Knee{RPS: 500, Reached: true}
			return []*Run{r, steady("s", 2, 100, 4)}
		}, func(s *Set) []string { return ids(nilFree(s.Ramp())...) }, []string{"k"}},
		{"light load is the lowest steady rate", func() []*Run {
			return []*Run{steady("soak", 2, 300, 4), steady("smoke", 1, 100, 4)}
		}, func(s *Set) []string { return ids(nilFree(s.LightLoad())...) }, []string{"smoke"}},
		{"steady runs lowest rate first", func() []*Run {
			return []*Run{steady("soak", 2, 300, 4), steady("smoke", 1, 100, 4)}
		}, func(s *Set) []string { return ids(s.Steady()...) }, []string{"smoke", "soak"}},
		{"a run with both twins before a lighter one with one", func() []*Run {
			one := steady("rr-only", 2, 50, 4)
			delete(one.Summary.Twins, "eda")
			return []*Run{one, steady("both", 1, 100, 4)}
		}, func(s *Set) []string { return ids(nilFree(s.LightLoad())...) }, []string{"both"}},
		{"a lone chain length is no series, and a steady run", func() []*Run {
			return []*Run{steady("c2", 1, 50, 2)}
		}, func(s *Set) []string { return append(ids(s.Chain()...), ids(s.Steady()...)...) }, []string{"c2"}},
		{"a series' runs are not light load", func() []*Run {
			return []*Run{steady("c1", 1, 50, 1), steady("c2", 2, 50, 2), steady("smoke", 3, 100, 4)}
		}, func(s *Set) []string { return ids(nilFree(s.LightLoad())...) }, []string{"smoke"}},
		{"a changing rate is not steady", func() []*Run {
			r := steady("ramped-stage", 1, 100, 4)
			to := 200.0
			r.Scenario.Stages[0].To = &to
			return []*Run{r}
		}, func(s *Set) []string { return ids(s.Steady()...) }, nil},
		{"a surge with a fault is a failure run, not a spike", func() []*Run {
			r := steady("crash", 1, 100, 4)
			r.Scenario.Stages = append(r.Scenario.Stages, results.StageInfo{Name: "peak", Duration: "5s", Rate: 500})
			r.Scenario.Faults = []results.FaultInfo{{Type: "kill", Target: "inventory"}}
			return []*Run{r}
		}, func(s *Set) []string { return append(ids(nilFree(s.Spike())...), ids(s.Faulted()...)...) }, []string{"crash"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.pick(Select(tt.runs())); !slices.Equal(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func nilFree(r *Run) []*Run {
	if r == nil {
		return nil
	}
	return []*Run{r}
}

// Renaming every run's folder and scenario changes no claim's status or
// runs: the verdict finds its evidence by content.
func TestNamesDoNotMatter(t *testing.T) {
	for _, set := range []string{"holds", "doesnothold"} {
		t.Run(set, func(t *testing.T) {
			want := Evaluate(Select(loadSet(t, set)), time.Unix(0, 0))
			renamed := renameRuns(t, filepath.Join("testdata", set))
			runs, warnings, err := Load([]string{renamed})
			if err != nil || len(warnings) > 0 {
				t.Fatalf("load the renamed set: %v %v", err, warnings)
			}
			got := Evaluate(Select(runs), time.Unix(0, 0))
			for i, c := range got.Claims {
				w := want.Claims[i]
				if c.Status != w.Status || !slices.Equal(sorted(c.Runs), sorted(w.Runs)) || len(c.Figures) != len(w.Figures) {
					t.Errorf("claim %d renamed: %s on %v (%d figures), want %s on %v (%d figures): %s",
						c.ID, c.Status, c.Runs, len(c.Figures), w.Status, w.Runs, len(w.Figures), c.Evidence)
				}
			}
		})
	}
}

// renameRuns copies a fixture set with each run in a folder "run-N" and
// its scenario named "scenario-N", without a description.
func renameRuns(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range entries {
		if !e.IsDir() {
			continue
		}
		dir := filepath.Join(dst, fmt.Sprintf("run-%d", i))
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		files, _ := os.ReadDir(filepath.Join(src, e.Name()))
		for _, f := range files {
			b, err := os.ReadFile(filepath.Join(src, e.Name(), f.Name()))
			if err != nil {
				t.Fatal(err)
			}
			if f.Name() == "summary.json" {
				b = renameScenario(t, b, fmt.Sprintf("scenario-%d", i))
			}
			if err := os.WriteFile(filepath.Join(dir, f.Name()), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dst
}

func renameScenario(t *testing.T, b []byte, name string) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	sc := m["scenario"].(map[string]any)
	sc["name"] = name
	delete(sc, "description")
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sorted(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}

// Repetitions are the runs of one load and chain length, whatever their
// seed; another rate or chain length is another load.
func TestReps(t *testing.T) {
	seeded := func(id string, minute int, rate float64, steps int, seed float64) *Run {
		r := steady(id, minute, rate, steps)
		r.Summary.Scenario.(map[string]any)["seed"] = seed
		return r
	}
	a, b, c := seeded("a", 1, 100, 0, 1), seeded("b", 2, 100, 0, 2), seeded("c", 3, 100, 0, 3)
	faster, longer := seeded("d", 4, 200, 0, 1), seeded("e", 5, 100, 2, 1)
	cut := seeded("f", 6, 100, 0, 4)
	cut.Summary.Partial = true
	s := Select([]*Run{a, b, c, faster, longer, cut})
	if got := ids(s.Reps(c)...); !slices.Equal(got, []string{"c", "a", "b"}) {
		t.Fatalf("Reps(c) = %v, want c then a, b", got)
	}
	if got := ids(s.Reps(cut)...); !slices.Equal(got, []string{"f"}) {
		t.Fatalf("Reps(partial) = %v, want it alone", got)
	}
	if got := ids(s.Reps(faster)...); !slices.Equal(got, []string{"d"}) {
		t.Fatalf("Reps(another rate) = %v", got)
	}
	if got := ids(s.Reps(longer)...); !slices.Equal(got, []string{"e"}) {
		t.Fatalf("Reps(another chain length) = %v", got)
	}
}
