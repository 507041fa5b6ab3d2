package verdict

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/edabench/edabench/harness/results"
	"github.com/edabench/edabench/harness/stats"
	"github.com/edabench/edabench/internal/twinkind"
)

// ReplicationRow is one figure of the cost of replication: a twin's
// figure in one scenario on one node and on a cluster of the same
// backbone and profile, each the median over the scenario's repetitions
// with its interval (a latency from one run: its within-run interval).
type ReplicationRow struct {
	Backbone string `json:"backbone"`
	Profile  string `json:"profile,omitempty"`
	Nodes    int    `json:"nodes"` // the cluster's size
	Twin     string `json:"twin"`
	// Scenario is what the figure was read from: "smoke" (the light
	// load), "spike" or "knee" (the ramp or knee search).
	Scenario string `json:"scenario"`
	Figure   string `json:"figure"`
	Unit     string `json:"unit"` // "ms" or "/s"
	// One and Cluster are the figure on one node and on the cluster.
	One     stats.Interval `json:"one"`
	Cluster stats.Interval `json:"cluster"`
	// Ratio is Cluster's median over One's: what replication multiplies
	// the figure by; NaN (absent) when One's is 0.
	Ratio       float64  `json:"ratio,omitempty"`
	OneRuns     []string `json:"one_runs"`
	ClusterRuns []string `json:"cluster_runs"`
}

// replicationRead is one scenario of the comparison: how to find its run
// in a column's set and which figures to read from it.
type replicationRead struct {
	scenario string
	run      func(*Set) *Run
	figures  func(s *Set, r *Run, twin string) []replicationFigure
}

type replicationFigure struct {
	name, unit string
	iv         stats.Interval
}

// replicationRows compares, for every backbone and profile that ran on one
// node and on a cluster, smoke's and the spike's latencies and CPU per
// order and the knee where one was searched, for each broker twin that
// ran in both.
func replicationRows(sets map[column]*Set) []ReplicationRow {
	var cols []column
	for c := range sets {
		if c.nodes > 1 && sets[column{c.backbone, 1, c.profile}] != nil {
			cols = append(cols, c)
		}
	}
	slices.SortFunc(cols, func(a, b column) int {
		return cmp.Or(cmp.Compare(a.profile, b.profile), cmp.Compare(a.backbone, b.backbone), cmp.Compare(a.nodes, b.nodes))
	})
	reads := []replicationRead{
		{"smoke", (*Set).LightLoad, latencyAndCPU("")},
		{"spike", (*Set).Spike, latencyAndCPU("spike")},
		{"knee", (*Set).Ramp, kneeFigure},
	}
	var out []ReplicationRow
	for _, c := range cols {
		one, many := sets[column{c.backbone, 1, c.profile}], sets[c]
		for _, rd := range reads {
			r1, rn := rd.run(one), rd.run(many)
			if r1 == nil || rn == nil {
				continue
			}
			for _, twin := range []string{twinkind.EDA, twinkind.Hybrid} {
				if r1.Twin(twin) == nil || rn.Twin(twin) == nil {
					continue
				}
				f1, fn := rd.figures(one, r1, twin), rd.figures(many, rn, twin)
				for i := range min(len(f1), len(fn)) {
					row := ReplicationRow{Backbone: c.backbone, Profile: c.profile, Nodes: c.nodes, Twin: twin,
						Scenario: rd.scenario, Figure: f1[i].name, Unit: f1[i].unit, One: f1[i].iv, Cluster: fn[i].iv,
						OneRuns: ids(one.Reps(r1)...), ClusterRuns: ids(many.Reps(rn)...)}
					if !row.One.Valid() && !row.Cluster.Valid() {
						continue
					}
					if row.One.Median != 0 && row.One.Valid() && row.Cluster.Valid() {
						row.Ratio = row.Cluster.Median / row.One.Median
					}
					out = append(out, row)
				}
			}
		}
	}
	return out
}

// latencyAndCPU reads a twin's ack and end-to-end p50 and p99 over the
// whole run, the ack p99 of the busiest stage when the run had one
// (phase; "" for none), and the CPU per completed order, broker included.
func latencyAndCPU(phase string) func(*Set, *Run, string) []replicationFigure {
	return func(s *Set, r *Run, twin string) []replicationFigure {
		var out []replicationFigure
		for _, l := range []struct {
			name string
			lat  latency
		}{
			{"ack p50", latency{twin: twin, pct: 50}},
			{"ack p99", latency{twin: twin, pct: 99}},
			{"e2e p50", latency{twin: twin, e2e: true, pct: 50}},
			{"e2e p99", latency{twin: twin, e2e: true, pct: 99}},
		} {
			out = append(out, replicationFigure{l.name, "ms", s.overLatency(r, l.lat)})
		}
		if peak := peakStage(r.Scenario.Stages); phase != "" && peak > 0 {
			name := r.Scenario.Stages[peak].Name
			out = append(out, replicationFigure{"ack p99 in " + name, "ms", s.overLatency(r, latency{twin: twin, phase: name, pct: 99})})
		}
		cpu := twinFig(twin, func(t *results.TwinResult) float64 {
			if t.CPUPerOrderMs <= 0 {
				return math.NaN()
			}
			return t.CPUPerOrderMs
		})
		return append(out, replicationFigure{"CPU per order", "ms", s.over(r, cpu)})
	}
}

// kneeFigure reads the sustained knee (the lower of the ack and the
// completion knees) where the search or ramp reached one.
func kneeFigure(s *Set, r *Run, twin string) []replicationFigure {
	k := func(x *Run) float64 {
		if kn := sustainedKnee(x, twin); kn != nil && kn.Reached && kn.RPS > 0 {
			return kn.RPS
		}
		return math.NaN()
	}
	return []replicationFigure{{"knee (sustained)", "/s", s.over(r, k)}}
}

// writeReplication writes verdict.md's cost of replication: a row per
// figure, one node's and the cluster's side by side.
func (m Matrix) writeReplication(b *strings.Builder) {
	if len(m.Replication) == 0 && !m.Clustered {
		return
	}
	b.WriteString("\n## The cost of replication\n\n")
	if len(m.Replication) == 0 {
		b.WriteString("A cluster's runs are among the inputs, but no backbone ran the same scenarios (smoke, spike, knee) on one node too: " +
			"`make bench` and `make bench-cluster` into one folder give both.\n")
		return
	}
	b.WriteString("The same scenarios on one node and on a replicated cluster of the same backbone, same machine: each figure the median over the scenario's " +
		"repetitions with its interval (a latency from one run: its within-run interval); CPU per order counts the twin's services and every broker node. " +
		"cluster / one node is the ratio of the medians; the figures of a loaded 2-core machine, with three nodes sharing its cores.\n\n")
	b.WriteString("| backbone | twin | scenario | figure | one node | cluster | cluster / one node | runs (one node; cluster) |\n|---|---|---|---|---|---|---|---|\n")
	for _, r := range m.Replication {
		bb := r.Backbone + deploymentSuffix(r.Nodes, r.Profile)
		ratio := "n/a"
		if r.Ratio != 0 && !math.IsNaN(r.Ratio) && !math.IsInf(r.Ratio, 0) {
			ratio = fmt.Sprintf("×%.2f", r.Ratio)
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s | %s; %s |\n", cell(bb), r.Twin, r.Scenario, cell(r.Figure),
			cell(replicationValue(r.One, r.Unit)), cell(replicationValue(r.Cluster, r.Unit)), ratio,
			cell(strings.Join(r.OneRuns, ", ")), cell(strings.Join(r.ClusterRuns, ", ")))
	}
}

// replicationValue formats one side of a row: "not measured" where the
// run had no such figure.
func replicationValue(v stats.Interval, unit string) string {
	switch {
	case !v.Valid() || math.IsNaN(v.Median):
		return "not measured"
	case unit == "ms":
		return iv(v)
	case !v.Degenerate():
		return fmt.Sprintf("%.0f%s [%.0f, %.0f] %s", v.Median, unit, v.Lo, v.Hi, kindOf(v))
	}
	return fmt.Sprintf("%.0f%s", v.Median, unit)
}
