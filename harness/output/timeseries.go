package output

import (
	"context"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/edabench/edabench/harness/hoststat"
	"github.com/edabench/edabench/harness/results"
)

// Timeseries writes timeseries.csv: one row per twin and second, in the
// columns results.Columns names, once the run ended.
type Timeseries struct {
	Nop
	dir  string
	rows strings.Builder
}

func NewTimeseries(dir string) *Timeseries { return &Timeseries{dir: dir} }

func (f *Timeseries) TwinEnded(tw TwinEnd) error {
	for _, r := range tw.Series {
		fmt.Fprintf(&f.rows, "%d,%s,%s,%d,%d,%d,%d,%d,%d,%d,%.3f,%.3f,%.3f,%.3f,%d,%.1f,%s,%s\n", r.Sec, tw.Name, r.Phase,
			r.Offered, r.Replies, r.Errors, r.Timeouts, r.Dropped, r.Ended, r.InFlight,
			r.AckP50, r.AckP99, r.E2EP50, r.E2EP99, r.Depth, r.LagMs, r.Faults,
			hostCells(r.Host))
	}
	return nil
}

func (f *Timeseries) Stop(context.Context, *results.Summary) error {
	return results.WriteFile(filepath.Join(f.dir, "timeseries.csv"), func(w io.Writer) error {
		_, err := io.WriteString(w, strings.Join(results.Columns(), ",")+"\n"+f.rows.String())
		return err
	})
}

// hostCells are the steal, pressure and avg10 cells.
func hostCells(h *hoststat.Sample) string {
	if h == nil {
		return ",,"
	}
	return cell(h.StealPct) + "," + cell(h.PressurePct) + "," + cell(h.PressureAvg)
}

// cell writes an unknown figure as an empty cell, which readers take as
// unknown (NaN), never as zero.
func cell(v float64) string {
	if math.IsNaN(v) {
		return ""
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}
