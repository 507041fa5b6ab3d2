package output

import (
	"context"
	"log/slog"

	"github.com/edabench/edabench/harness/launch"
	"github.com/edabench/edabench/harness/results"
)

// FileSD announces the harness's live /metrics to a Prometheus with file
// SD (make observe, the dashboards' test) for as long as the run lasts.
type FileSD struct {
	Nop
	addr func() string
	log  *slog.Logger
	rm   func()
}

// NewFileSD announces the address addr gives at Start: that of an output
// started before it.
func NewFileSD(addr func() string, log *slog.Logger) *FileSD { return &FileSD{addr: addr, log: log} }

func (f *FileSD) Start(_ context.Context, run Run) error {
	rm, err := launch.WriteFileSD(launch.FileSDDir(), "harness", []string{f.addr()}, run.Labels)
	if err != nil {
		f.log.Warn("file SD for the harness", "err", err)
	}
	f.rm = rm
	return nil
}

func (f *FileSD) Stop(context.Context, *results.Summary) error {
	if f.rm != nil {
		f.rm()
	}
	return nil
}
