package verdict

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/edabench/edabench/harness/brokernode"
)

// NotMeasured is a matrix cell whose claim read no run on its backbone: the
// scenarios it needs did not run there. It is not a failure of the claim,
// and not a status a rule gives.
const NotMeasured Status = "not measured"

// Backbone is one column of the matrix: a broker the EDA and hybrid twins
// ran over, with the versions its runs recorded.
type Backbone struct {
	Name     string   `json:"name"`
	Versions []string `json:"versions,omitempty"`
	// Nodes is the broker deployment of the column's runs (Run.Nodes): 1
	// for the single node, 3 for a replicated cluster.
	Nodes int `json:"nodes"`
	// Profile is the deployment profile of the column's runs (Run.Profile):
	// "" for loopback and shared CPUs.
	Profile string `json:"profile,omitempty"`
}

// Cell is one claim on one backbone: the claim as its rule decided it
// over that backbone's runs and the runs that use no backbone (RR's).
type Cell struct {
	Backbone string `json:"backbone"`
	Nodes    int    `json:"nodes"`
	Profile  string `json:"profile,omitempty"`
	Claim
	// RROnly: every run the claim read used no backbone (RR alone), so the
	// cell is the same in every column.
	RROnly bool `json:"rr_only,omitempty"`
}

// Row is one claim of the matrix, a cell per backbone in the matrix's
// column order.
type Row struct {
	ID    int    `json:"id"`
	Claim string `json:"claim"`
	Cells []Cell `json:"cells"`
}

// Matrix is verdict.json: every claim decided once per backbone present.
type Matrix struct {
	GeneratedAt time.Time  `json:"generated_at"`
	Backbones   []Backbone `json:"backbones"`
	Claims      []Row      `json:"claims"`
	// Replication is the cost of replication: the same scenarios on one
	// node and on a cluster of one backbone and profile, side by side;
	// empty when no backbone ran on both.
	Replication []ReplicationRow `json:"replication,omitempty"`
	// Clustered says whether any column is a cluster's, so the output
	// says why Replication is empty.
	Clustered bool `json:"-"`
	// Used is how many runs the cells read (each counted once).
	Used int `json:"-"`
}

// column is one column of the matrix: a backbone deployed on nodes
// (1 or a cluster's size) under a profile. The runs that use no backbone
// (RR's) are grouped under backbone "" and nodes 0: they join every
// deployment of their profile.
type column struct {
	backbone string
	nodes    int
	profile  string
}

// deployment is a column within a profile.
type deployment struct {
	backbone string
	nodes    int
}

// EvaluateMatrix groups the runs by backbone (results.Summary.Backbone),
// broker deployment (Run.Nodes: one node or a cluster) and deployment
// profile (Run.Profile), and decides every claim once per triple
// present, each over that triple's runs plus the runs of the profile that
// use no backbone: an RR-only run is the RR arm of every backbone's
// comparison under its profile, one node or three, never another
// profile's. Within a group the runs are selected by content as ever
// (Select). With no backbone among a profile's runs (RR alone), its one
// column is the default broker's on one node.
func EvaluateMatrix(runs []*Run, now time.Time) Matrix {
	m := Matrix{GeneratedAt: now.UTC().Truncate(time.Second)}
	groups := map[column][]*Run{}
	byProfile := map[string]map[deployment]bool{}
	versions := map[string][]string{}
	for _, r := range runs {
		b, p, n := r.Summary.Backbone(), r.Profile(), r.Nodes()
		if b == "" {
			n = 0
		}
		groups[column{b, n, p}] = append(groups[column{b, n, p}], r)
		if byProfile[p] == nil {
			byProfile[p] = map[deployment]bool{}
		}
		byProfile[p][deployment{b, n}] = true
		if v := r.Summary.BackboneVersion(); b != "" && v != "" && !slices.Contains(versions[b], v) {
			versions[b] = append(versions[b], v)
		}
	}
	profiles := slices.Sorted(maps.Keys(byProfile)) // "" (the historical profile) first
	used := map[string]bool{}
	sets := map[column]*Set{}
	for _, p := range profiles {
		for _, d := range deploymentOrder(byProfile[p]) {
			m.Backbones = append(m.Backbones, Backbone{Name: d.backbone, Versions: sortedCopy(versions[d.backbone]), Nodes: d.nodes, Profile: p})
			m.Clustered = m.Clustered || d.nodes > 1
			set := Select(groupRuns(groups[column{d.backbone, d.nodes, p}], groups[column{"", 0, p}]))
			sets[column{d.backbone, d.nodes, p}] = set
			for _, r := range set.Used() {
				used[r.ID()] = true
			}
			v := Evaluate(set, now)
			for i, c := range v.Claims {
				if len(m.Claims) <= i {
					m.Claims = append(m.Claims, Row{ID: c.ID, Claim: c.Claim})
				}
				cell := cellOf(set, d, c)
				cell.Profile = p
				m.Claims[i].Cells = append(m.Claims[i].Cells, cell)
			}
		}
	}
	m.Replication = replicationRows(sets)
	m.Used = len(used)
	return m
}

// deploymentOrder is a profile's columns: the default broker first (the
// historical one), then the others by name; each backbone's single node
// before its clusters, smallest first.
func deploymentOrder(present map[deployment]bool) []deployment {
	nodes := map[string][]int{}
	for d := range present {
		if d.backbone != "" {
			nodes[d.backbone] = append(nodes[d.backbone], d.nodes)
		}
	}
	var out []deployment
	for _, b := range backboneOrder(nodes) {
		ns := nodes[b]
		if len(ns) == 0 {
			ns = []int{1}
		}
		slices.Sort(ns)
		for _, n := range ns {
			out = append(out, deployment{b, n})
		}
	}
	return out
}

// backboneOrder is the columns: the default broker first (the historical
// one), then the others by name.
func backboneOrder[V any](groups map[string]V) []string {
	var out []string
	for b := range groups {
		if b != "" {
			out = append(out, b)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if (out[i] == brokernode.Default) != (out[j] == brokernode.Default) {
			return out[i] == brokernode.Default
		}
		return out[i] < out[j]
	})
	if len(out) == 0 {
		out = []string{brokernode.Default}
	}
	return out
}

// groupRuns is one backbone's runs and the backbone-free ones, each a
// copy: Select marks the runs of its chain series, and a shared RR run
// may be in one backbone's series and not another's.
func groupRuns(own, shared []*Run) []*Run {
	out := make([]*Run, 0, len(own)+len(shared))
	for _, r := range append(slices.Clone(own), shared...) {
		cp := *r
		out = append(out, &cp)
	}
	return out
}

// cellOf places a claim in its backbone's column: a claim that read no run
// of the backbone is not measured there (its scenarios did not run on it),
// unless it read RR's runs alone, which every column shares.
func cellOf(s *Set, d deployment, c Claim) Cell {
	backbone := d.backbone
	cell := Cell{Backbone: backbone, Nodes: d.nodes, Claim: c}
	var own, free int
	for _, id := range c.Runs {
		r := s.byID(id)
		switch {
		case r == nil:
		case r.Summary.Backbone() == "":
			free++
		default:
			own++
		}
	}
	switch {
	case own > 0:
	case free > 0:
		cell.RROnly = true
	default:
		why := c.Evidence
		cell.Claim = Claim{ID: c.ID, Claim: c.Claim, Status: NotMeasured, Runs: []string{},
			Evidence: fmt.Sprintf("not measured on %s: %s", cell.Column(), notMeasuredHint(why, d))}
	}
	return cell
}

// notMeasuredHint turns a rule's "no smoke run among the inputs: run
// `edabench run --scenario smoke`" into the command for this backbone and
// deployment.
func notMeasuredHint(evidence string, d deployment) string {
	var flags string
	if d.backbone != brokernode.Default {
		flags += " --broker " + d.backbone
	}
	if d.nodes > 1 {
		flags += fmt.Sprintf(" --cluster %d", d.nodes)
		// make bench runs one node; make bench-cluster runs smoke, the
		// spike and the node faults only.
		evidence = strings.ReplaceAll(evidence, "(make bench runs it)", "(make bench runs it on one node)")
	}
	if flags == "" {
		return evidence
	}
	return strings.ReplaceAll(evidence, "`edabench run --scenario", "`edabench run"+flags+" --scenario")
}

func sortedCopy(s []string) []string {
	out := slices.Clone(s)
	sort.Strings(out)
	return out
}

// Cell is the claim's cell on the backbone (its first column: the single
// node's when there is one), nil if the matrix has no such column.
func (r Row) Cell(backbone string) *Cell {
	for i := range r.Cells {
		if r.Cells[i].Backbone == backbone {
			return &r.Cells[i]
		}
	}
	return nil
}

// CellAt is the claim's cell on the backbone deployed on nodes (1 for the
// single node), nil if the matrix has no such column.
func (r Row) CellAt(backbone string, nodes int) *Cell {
	for i := range r.Cells {
		if r.Cells[i].Backbone == backbone && r.Cells[i].Nodes == nodes {
			return &r.Cells[i]
		}
	}
	return nil
}
