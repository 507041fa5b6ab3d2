package verdict

import (
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edabench/edabench/harness/record"
	"github.com/edabench/edabench/harness/results"
	"github.com/edabench/edabench/internal/twinkind"
)

func loadCluster(t *testing.T, names ...string) []*Run {
	t.Helper()
	paths := []string{filepath.Join("testdata", "cluster")}
	if len(names) > 0 {
		paths = nil
		for _, n := range names {
			paths = append(paths, filepath.Join("testdata", "cluster", n))
		}
	}
	runs, warnings, err := Load(paths)
	if err != nil || len(warnings) > 0 {
		t.Fatalf("load %v: %v %v", paths, err, warnings)
	}
	return runs
}

// TestMatrixSplitsDeployments: one folder of one-node and three-node runs
// gives a column per deployment, each reading its own runs only, and on
// the cluster claims 5 and 6 decided by the node faults with their
// deciding figures.
func TestMatrixSplitsDeployments(t *testing.T) {
	runs := loadCluster(t)
	m := EvaluateMatrix(runs, time.Now())
	var cols []string
	for _, b := range m.Backbones {
		cols = append(cols, b.Label())
	}
	want := []string{"rabbitmq 3.10.8-1.1+deb12u1", "rabbitmq 3.10.8-1.1+deb12u1 x3"}
	if strings.Join(cols, "|") != strings.Join(want, "|") {
		t.Fatalf("columns %q, want %q", cols, want)
	}
	nodesOf := map[string]int{}
	for _, r := range runs {
		nodesOf[r.ID()] = r.Nodes()
	}
	for _, row := range m.Claims {
		for _, c := range row.Cells {
			for _, id := range c.Runs {
				if nodesOf[id] != c.Nodes {
					t.Errorf("claim %d, column %s read run %s of %d node(s)", row.ID, c.Column(), id, nodesOf[id])
				}
			}
		}
	}
	for _, tt := range []struct {
		claim, nodes int
		want         Status
		figures      map[string]float64 // deciding figures and their medians
		says         string
	}{
		{claim: 1, nodes: 1, want: Holds},
		{claim: 1, nodes: 3, want: Holds},
		{claim: 5, nodes: 1, want: NotMeasured, says: "`edabench run --scenario failure-crash`"},
		{claim: 5, nodes: 3, want: DoesNotHold, says: "the broker's own failure reached EDA's callers", figures: map[string]float64{
			"failure-node-kill.eda_lost": 0, "failure-node-kill.eda_applied_twice": 0, "failure-node-kill.eda_unavailable_s": 2,
			"failure-node-kill.eda_new_leader_ms": 321, "failure-node-kill.eda_recovery_ms": 1200, "failure-node-kill.eda_failed_in_window": 12,
			"failure-node-pause.eda_unavailable_s": 14, "failure-node-pause.eda_new_leader_ms": 11800, "failure-node-pause.eda_failed_in_window": 800,
		}},
		{claim: 6, nodes: 1, want: NotMeasured},
		{claim: 6, nodes: 3, want: Holds, says: "new leader after 11800 ms", figures: map[string]float64{
			"failure-node-pause.eda_lost": 0, "failure-node-pause.eda_backlog": 2500, "failure-node-pause.eda_applied_twice": 0,
			"failure-node-pause.eda_unavailable_s": 14, "failure-node-pause.eda_recovery_ms": 4000,
		}},
	} {
		c := m.Claims[tt.claim-1].CellAt("rabbitmq", tt.nodes)
		if c == nil {
			t.Fatalf("claim %d: no rabbitmq column of %d node(s)", tt.claim, tt.nodes)
		}
		if c.Status != tt.want {
			t.Errorf("claim %d on %s: %s, want %s (%s)", tt.claim, c.Column(), c.Status, tt.want, c.Evidence)
		}
		if tt.nodes == 3 && tt.want != NotMeasured && !strings.Contains(c.Conditions, "a 3-node rabbitmq cluster") {
			t.Errorf("claim %d on %s: conditions %q do not name the cluster", tt.claim, c.Column(), c.Conditions)
		}
		if !strings.Contains(c.Evidence, tt.says) {
			t.Errorf("claim %d on %s: evidence %q does not say %q", tt.claim, c.Column(), c.Evidence, tt.says)
		}
		for k, v := range tt.figures {
			iv, ok := c.Intervals[k]
			if !ok || iv.Median != v {
				t.Errorf("claim %d on %s: figure %s = %+v (present %v), want median %g", tt.claim, c.Column(), k, iv, ok, v)
			}
		}
	}
}

// TestReplicationCost: smoke and spike on one node and on three, side by
// side, the ratio of each figure's medians; verdict.md shows the table.
func TestReplicationCost(t *testing.T) {
	m := EvaluateMatrix(loadCluster(t), time.Now())
	got := map[string]ReplicationRow{}
	for _, r := range m.Replication {
		got[r.Scenario+"/"+r.Twin+"/"+r.Figure] = r
	}
	for _, tt := range []struct {
		key   string
		one   float64
		ratio float64
	}{
		{"smoke/eda/ack p50", 6.583, 1.6},
		{"smoke/eda/e2e p99", 99.007, 1.6},
		{"smoke/eda/CPU per order", 3.1, 2.2},
		{"spike/eda/ack p99 in spike", 40, 1.6},
		{"spike/eda/CPU per order", 11.5354, 2.2},
	} {
		r, ok := got[tt.key]
		if !ok {
			t.Errorf("no row %s among %d", tt.key, len(m.Replication))
			continue
		}
		if math.Abs(r.One.Median-tt.one) > 0.01 || math.Abs(r.Ratio-tt.ratio) > 0.01 || r.Nodes != 3 || r.Backbone != "rabbitmq" {
			t.Errorf("%s: %+v, want one node %g, ratio %g on rabbitmq x3", tt.key, r, tt.one, tt.ratio)
		}
	}
	if _, ok := got["knee/eda/knee (sustained)"]; ok {
		t.Error("a knee row without a knee run")
	}
	var b strings.Builder
	if err := m.WriteMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"## The cost of replication", "| rabbitmq x3 | eda | smoke | ack p50 | 6.58 ms | 10.5 ms | ×1.60 |", "| rabbitmq 3.10.8-1.1+deb12u1 x3 |"} {
		if !strings.Contains(b.String(), s) {
			t.Errorf("verdict.md lacks %q", s)
		}
	}

	// A cluster without its one-node runs says what to run instead.
	m = EvaluateMatrix(loadCluster(t, "20261205-090200-rr-eda-smoke-x3"), time.Now())
	b.Reset()
	if err := m.WriteMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	if len(m.Replication) != 0 || !strings.Contains(b.String(), "no backbone ran the same scenarios (smoke, spike, knee) on one node too") {
		t.Errorf("a cluster alone: %d rows, verdict.md without the reason", len(m.Replication))
	}
}

// TestDeploymentWithoutNodeFaults: on a cluster whose runs have no fault,
// claims 5 and 6 are not measured, with the command that measures them;
// an old summary (no environment.broker) is one node.
func TestDeploymentWithoutNodeFaults(t *testing.T) {
	runs := loadCluster(t, "20261205-090100-rr-eda-smoke", "20261205-090200-rr-eda-smoke-x3")
	if runs[0].Summary.Environment.Broker != nil || runs[0].Nodes() != 1 {
		t.Fatalf("the one-node fixture must be an old summary without environment.broker, read as 1 node; got %+v, %d", runs[0].Summary.Environment.Broker, runs[0].Nodes())
	}
	m := EvaluateMatrix(runs, time.Now())
	for _, id := range []int{5, 6} {
		c := m.Claims[id-1].CellAt("rabbitmq", 3)
		if c == nil || c.Status != NotMeasured || !strings.Contains(c.Evidence, "`edabench run --cluster 3 --scenario failure-node-kill`") {
			t.Errorf("claim %d on the cluster without faults: %+v", id, c)
		}
	}
}

// TestNodeIsolation: claim 5 on a member's failure, from the killed
// leader's run with one figure changed at a time.
func TestNodeIsolation(t *testing.T) {
	for _, tt := range []struct {
		name  string
		edit  func(*Run, *results.TwinResult)
		want  Status
		fault bool // the run counts as a node fault
	}{
		{"failed over", func(*Run, *results.TwinResult) {}, Holds, true},
		{"lost", func(_ *Run, e *results.TwinResult) { e.Audit.Lost, e.Orders.Lost = 3, 3 }, DoesNotHold, true},
		{"applied twice", func(_ *Run, e *results.TwinResult) { e.Audit.DuplicatesApplied = 2 }, DoesNotHold, true},
		{"failures reached the callers", func(_ *Run, e *results.TwinResult) { e.Faults[0].Errors = 400 }, DoesNotHold, true},
		{"failures near 1%: counting noise", func(_ *Run, e *results.TwinResult) { e.Faults[0].Errors = 36 }, Inconclusive, true},
		{"fault not applied", func(_ *Run, e *results.TwinResult) { e.Faults[0].Error = "no leader found" }, Inconclusive, true},
		{"no audit", func(_ *Run, e *results.TwinResult) { e.Audit = nil }, Inconclusive, true},
		{"not a member's window", func(_ *Run, e *results.TwinResult) { e.Faults[0].Node, e.Faults[0].Queue = "", "" }, Inconclusive, true},
		{"a named member: no leader watched", func(_ *Run, e *results.TwinResult) { e.Faults[0].Queue, e.Faults[0].NewLeaderMs = "", 0 }, Holds, true},
		{"no new leader: the failures decide", func(_ *Run, e *results.TwinResult) { e.Faults[0].NewLeaderMs = -1 }, Holds, true},
		{"no EDA twin", func(r *Run, _ *results.TwinResult) { delete(r.Summary.Twins, twinkind.EDA) }, Inconclusive, true},
		{"one node: not a node fault", func(r *Run, _ *results.TwinResult) { r.Summary.Environment.Broker.Nodes = 0 }, Inconclusive, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := loadCluster(t, "20261205-090500-eda-failure-node-kill-x3")[0]
			tt.edit(r, r.Twin(twinkind.EDA))
			if got := nodeFault(r); got != tt.fault {
				t.Fatalf("nodeFault = %v, want %v", got, tt.fault)
			}
			if !tt.fault {
				return
			}
			p := nodeIsolation(r)
			if p.status != tt.want {
				t.Errorf("%s, want %s: %s", p.status, tt.want, p.evidence)
			}
			if f := r.Twin(twinkind.EDA); f != nil && len(f.Faults) > 0 && f.Faults[0].Queue == "" && f.Faults[0].Node != "" {
				if !math.IsNaN(p.figures["eda_new_leader_ms"]) || !strings.Contains(p.evidence, "no queue's leader watched") {
					t.Errorf("a named member's window: new_leader_ms %g, evidence %q", p.figures["eda_new_leader_ms"], p.evidence)
				}
			}
		})
	}
}

// TestRROnlyJoinsEveryDeployment: a run that used no broker is the RR arm
// of the single node's comparison and the cluster's alike.
func TestRROnlyJoinsEveryDeployment(t *testing.T) {
	run := func(id string, twins []string, nodes, steps int) *Run {
		r := &Run{Dir: id, Summary: results.Summary{RunID: id, Twins: map[string]*results.TwinResult{},
			Scenario: map[string]any{"name": "chain", "arrival": "poisson", "steps": float64(steps)}},
			Scenario: results.ScenarioInfo{Name: "chain", Steps: results.Count(steps), Stages: []results.StageInfo{{Name: "steady", Rate: 100}}}}
		for _, tw := range twins {
			r.Summary.Twins[tw] = &results.TwinResult{E2E: record.Summary{Count: 100, P50: float64(5 * (steps + 1))}}
		}
		if nodes > 0 {
			r.Summary.Environment.Broker = &results.BrokerInfo{Name: "rabbitmq", Nodes: nodes}
		}
		return r
	}
	m := EvaluateMatrix([]*Run{run("one", []string{"eda"}, 0, 0), run("three", []string{"eda"}, 3, 0),
		run("rr1", []string{"rr"}, 0, 1), run("rr2", []string{"rr"}, 0, 2), run("rr3", []string{"rr"}, 0, 3)}, time.Now())
	if len(m.Backbones) != 2 || m.Backbones[0].Nodes != 1 || m.Backbones[1].Nodes != 3 {
		t.Fatalf("columns %+v, want rabbitmq on 1 node then 3", m.Backbones)
	}
	for _, c := range m.Claims[1].Cells { // claim 2 reads the chain runs
		if strings.Join(c.Runs, ",") != "rr1,rr2,rr3" {
			t.Errorf("column %s did not read the RR-only run: %v", c.Column(), c.Runs)
		}
	}
}
