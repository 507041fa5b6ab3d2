package output

import (
	"errors"
	"io"
	"os"
	"path/filepath"

	"github.com/edabench/edabench/harness/record"
	"github.com/edabench/edabench/harness/results"
)

// Histograms writes each twin's four latency series: TWIN.SERIES.hlog, the
// interval log written as the seconds pass (under a temp name until the
// twin ends, so a reader never sees half a log), and TWIN.SERIES.hgrm, the
// whole run's percentiles.
type Histograms struct {
	Nop
	dir  string
	tmp  [Series]*os.File
	logs [Series]*record.LogWriter
	err  error // opening the logs: reported when the twin ends
}

func NewHistograms(dir string) *Histograms { return &Histograms{dir: dir} }

func (h *Histograms) TwinStarted(tw TwinStart) {
	h.tmp, h.logs, h.err = [Series]*os.File{}, [Series]*record.LogWriter{}, nil
	for i, name := range SeriesNames() {
		f, err := os.CreateTemp(h.dir, "."+tw.Name+"."+name+".hlog.*")
		if err != nil {
			h.err = err
			continue
		}
		lw, err := record.NewLogWriter(f, tw.Start)
		if err != nil {
			h.err = err
			continue
		}
		h.tmp[i], h.logs[i] = f, lw
	}
}

func (h *Histograms) Tick(t Tick) {
	for i, lw := range h.logs {
		if lw != nil {
			lw.Write(t.Interval[i], t.Row.Phase)
		}
	}
}

func (h *Histograms) TwinEnded(tw TwinEnd) error {
	errs := []error{h.err}
	for i, name := range SeriesNames() {
		if f := h.tmp[i]; f != nil {
			errs = append(errs, f.Sync(), f.Close(), os.Rename(f.Name(), filepath.Join(h.dir, tw.Name+"."+name+".hlog")))
		}
		total := tw.Totals[i]
		errs = append(errs, results.WriteFile(filepath.Join(h.dir, tw.Name+"."+name+".hgrm"), func(w io.Writer) error {
			return record.WriteHgrm(w, total)
		}))
	}
	h.tmp, h.logs = [Series]*os.File{}, [Series]*record.LogWriter{}
	return errors.Join(errs...)
}
