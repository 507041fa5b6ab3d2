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
	// Profile is the deployment profile of the column's runs (Run.Profile):
	// "" for loopback and shared CPUs.
	Profile string `json:"profile,omitempty"`
}

// Cell is one claim on one backbone: the claim as its rule decided it
// over that backbone's runs and the runs that use no backbone (RR's).
type Cell struct {
	Backbone string `json:"backbone"`
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
	// Used is how many runs the cells read (each counted once).
	Used int `json:"-"`
}

// column is one column of the matrix: a backbone under a profile.
type column struct{ backbone, profile string }

// EvaluateMatrix groups the runs by backbone (results.Summary.Backbone)
// and deployment profile (Run.Profile), and decides every claim once per
// pair present, each over that pair's runs plus the runs of the profile
// that use no backbone: an RR-only run is the RR arm of every backbone's
// comparison under its profile, never another's. Within a group the runs
// are selected by content as ever (Select). With no backbone among a
// profile's runs (RR alone), its one column is the default broker's.
func EvaluateMatrix(runs []*Run, now time.Time) Matrix {
	m := Matrix{GeneratedAt: now.UTC().Truncate(time.Second)}
	groups := map[column][]*Run{}
	byProfile := map[string]map[string][]*Run{}
	versions := map[string][]string{}
	for _, r := range runs {
		b, p := r.Summary.Backbone(), r.Profile()
		groups[column{b, p}] = append(groups[column{b, p}], r)
		if byProfile[p] == nil {
			byProfile[p] = map[string][]*Run{}
		}
		byProfile[p][b] = append(byProfile[p][b], r)
		if v := r.Summary.BackboneVersion(); b != "" && v != "" && !slices.Contains(versions[b], v) {
			versions[b] = append(versions[b], v)
		}
	}
	profiles := slices.Sorted(maps.Keys(byProfile)) // "" (the historical profile) first
	used := map[string]bool{}
	for _, p := range profiles {
		for _, b := range backboneOrder(byProfile[p]) {
			m.Backbones = append(m.Backbones, Backbone{Name: b, Versions: sortedCopy(versions[b]), Profile: p})
			set := Select(groupRuns(groups[column{b, p}], groups[column{"", p}]))
			for _, r := range set.Used() {
				used[r.ID()] = true
			}
			v := Evaluate(set, now)
			for i, c := range v.Claims {
				if len(m.Claims) <= i {
					m.Claims = append(m.Claims, Row{ID: c.ID, Claim: c.Claim})
				}
				cell := cellOf(set, b, c)
				cell.Profile = p
				m.Claims[i].Cells = append(m.Claims[i].Cells, cell)
			}
		}
	}
	m.Used = len(used)
	return m
}

// backboneOrder is the columns: the default broker first (the historical
// one), then the others by name.
func backboneOrder(groups map[string][]*Run) []string {
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
func cellOf(s *Set, backbone string, c Claim) Cell {
	cell := Cell{Backbone: backbone, Claim: c}
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
			Evidence: fmt.Sprintf("not measured on %s: %s", backbone, notMeasuredHint(why, backbone))}
	}
	return cell
}

// notMeasuredHint turns a rule's "no smoke run among the inputs: run
// `edabench run --scenario smoke`" into the command for this backbone.
func notMeasuredHint(evidence, backbone string) string {
	if backbone == brokernode.Default {
		return evidence
	}
	return strings.ReplaceAll(evidence, "`edabench run --scenario", "`edabench run --broker "+backbone+" --scenario")
}

func sortedCopy(s []string) []string {
	out := slices.Clone(s)
	sort.Strings(out)
	return out
}

// Cell is the claim's cell on the backbone, nil if the matrix has no such
// column.
func (r Row) Cell(backbone string) *Cell {
	for i := range r.Cells {
		if r.Cells[i].Backbone == backbone {
			return &r.Cells[i]
		}
	}
	return nil
}
