package output

import (
	"context"
	"path/filepath"

	"github.com/edabench/edabench/harness/results"
)

// Summary writes summary.json once the run ended, however it ended.
type Summary struct {
	Nop
	dir string
}

func NewSummary(dir string) *Summary { return &Summary{dir: dir} }

func (s *Summary) Stop(_ context.Context, sum *results.Summary) error {
	return results.WriteJSON(filepath.Join(s.dir, "summary.json"), sum)
}
