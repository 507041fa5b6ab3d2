package report

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/edabench/edabench/harness/stats"
)

// verdict is verdict.json, the answer to the benchmark's claims: the
// matrix (each claim a cell per backbone), or, as written before the
// backbones, each claim with its status. Its fields are read leniently: a
// claim with fields missing is still shown.
type verdict struct {
	Claims      []claim    `json:"claims"`
	Backbones   []backbone `json:"backbones"`
	GeneratedAt string     `json:"generated_at"`
}

type backbone struct {
	Name     string   `json:"name"`
	Versions []string `json:"versions"`
	Nodes    int      `json:"nodes"` // 0 (written before it) or 1: the single node
	Profile  string   `json:"profile"`
}

type claim struct {
	ID    any    `json:"id"`
	Claim string `json:"claim"`
	verdictCell
	// Cells are the claim per backbone; none in a verdict written before
	// the matrix, whose claim is then its own one cell.
	Cells []verdictCell `json:"cells"`
}

// verdictCell is one claim on one backbone.
type verdictCell struct {
	Backbone   string                    `json:"backbone"`
	Nodes      int                       `json:"nodes"`
	Profile    string                    `json:"profile"`
	Status     string                    `json:"status"`
	Evidence   string                    `json:"evidence"`
	Conditions string                    `json:"conditions"`
	Runs       []any                     `json:"runs"`
	Intervals  map[string]stats.Interval `json:"intervals"`
	SingleRun  bool                      `json:"single_run"`
	RROnly     bool                      `json:"rr_only"`
}

// cells is the claim's cells: its own status for a verdict without them.
func (c claim) cells() []verdictCell {
	if len(c.Cells) > 0 {
		return c.Cells
	}
	return []verdictCell{c.verdictCell}
}

func readVerdict(path string) (*verdict, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var v verdict
	if err := json.Unmarshal(data, &v); err != nil {
		return nil, fmt.Errorf("%w (want {\"claims\": [{\"id\", \"claim\", \"status\", \"evidence\", \"conditions\", \"runs\"}], \"generated_at\"})", err)
	}
	return &v, nil
}

// statusClass maps a claim's status to its colour in the page.
func statusClass(status string) string {
	s := strings.ToLower(strings.TrimSpace(status))
	s = strings.NewReplacer("_", " ", "-", " ").Replace(s)
	switch s {
	case "holds", "hold", "pass", "passed", "true":
		return "good"
	case "does not hold", "not holds", "fails", "failed", "fail", "false":
		return "bad"
	case "inconclusive", "unknown":
		return "warn"
	case "not measured":
		return "neutral"
	}
	return "neutral"
}
