package verdict

import (
	"testing"
	"time"

	"github.com/edabench/edabench/harness/results"
)

// TestMatrixSplitsProfiles: runs under different deployment profiles are
// never read together: each profile gets its own columns, and an RR-only
// run joins only its own profile's column.
func TestMatrixSplitsProfiles(t *testing.T) {
	run := func(id, network, deployment string, steps int) *Run {
		sc := map[string]any{"name": "chain", "steps": float64(steps), "arrival": "poisson"}
		if network != "" {
			sc["network"] = map[string]any{"name": network}
		}
		if deployment != "" {
			sc["deployment"] = deployment
		}
		return &Run{Dir: id, Summary: results.Summary{RunID: id, Scenario: sc, Twins: map[string]*results.TwinResult{"rr": {}}},
			Scenario: results.ScenarioInfo{Name: "chain", Steps: results.Count(steps)}}
	}
	runs := []*Run{
		run("a", "", "", 1), run("b", "loopback", "shared", 2), // the historical profile, before and after the keys
		run("c", "datacenter", "", 1), run("d", "datacenter", "isolated", 1),
	}
	if p := runs[1].Profile(); p != "" {
		t.Errorf("loopback, shared: profile %q, want the historical one, \"\"", p)
	}
	if p := runs[3].Profile(); p != "datacenter, isolated" {
		t.Errorf("profile %q, want \"datacenter, isolated\"", p)
	}
	if loadKey(runs[0]) != loadKey(&Run{Summary: results.Summary{Scenario: map[string]any{"name": "x", "arrival": "poisson", "network": map[string]any{"name": "loopback"}, "deployment": "shared"}}}) {
		t.Error("a run with the default profile's keys does not repeat one written before them")
	}
	m := EvaluateMatrix(runs, time.Now())
	var cols []string
	for _, b := range m.Backbones {
		cols = append(cols, b.Label())
	}
	want := []string{"rabbitmq", "rabbitmq · datacenter", "rabbitmq · datacenter, isolated"}
	if len(cols) != len(want) {
		t.Fatalf("columns %q, want %q", cols, want)
	}
	for i := range want {
		if cols[i] != want[i] {
			t.Fatalf("columns %q, want %q", cols, want)
		}
	}
	for _, c := range m.Claims[1].Cells { // claim 2, the chain
		for _, id := range c.Runs {
			r := map[string]string{"a": "", "b": "", "c": "datacenter", "d": "datacenter, isolated"}[id]
			if r != c.Profile {
				t.Errorf("column %s read run %s of profile %q", c.Column(), id, r)
			}
		}
	}
}
