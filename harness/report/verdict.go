package report

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

// verdict is verdict.json, the answer to the benchmark's claims. Its
// fields are read leniently: a claim with fields missing is still shown.
type verdict struct {
	Claims      []claim `json:"claims"`
	GeneratedAt string  `json:"generated_at"`
}

type claim struct {
	ID         any    `json:"id"`
	Claim      string `json:"claim"`
	Status     string `json:"status"`
	Evidence   string `json:"evidence"`
	Conditions string `json:"conditions"`
	Runs       []any  `json:"runs"`
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
	}
	return "neutral"
}
