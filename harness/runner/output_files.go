package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/edabench/edabench/harness/record"
	"github.com/edabench/edabench/harness/results"
)

// summaryFile writes summary.json once the run ended, however it ended.
type summaryFile struct {
	nopOutput
	dir string
}

func (s *summaryFile) stop(_ context.Context, sum *results.Summary) error {
	return results.WriteJSON(filepath.Join(s.dir, "summary.json"), sum)
}

// timeseriesFile writes timeseries.csv: one row per twin and second, in
// the columns results.Columns names (ReadTimeseries reads them back).
type timeseriesFile struct {
	nopOutput
	dir  string
	rows strings.Builder
}

func (f *timeseriesFile) twinEnded(tw twinEnd) error {
	for _, r := range tw.series {
		fmt.Fprintf(&f.rows, "%d,%s,%s,%d,%d,%d,%d,%d,%d,%d,%.3f,%.3f,%.3f,%.3f,%d,%.1f,%s\n", r.sec, tw.name, r.phase,
			r.offered, r.replies, r.errors, r.timeouts, r.dropped, r.ended, r.inFlight,
			r.ackP50, r.ackP99, r.e2eP50, r.e2eP99, r.depth, r.lagMs, r.faults)
	}
	return nil
}

func (f *timeseriesFile) stop(context.Context, *results.Summary) error {
	return results.WriteFile(filepath.Join(f.dir, "timeseries.csv"), func(w io.Writer) error {
		_, err := io.WriteString(w, strings.Join(results.Columns(), ",")+"\n"+f.rows.String())
		return err
	})
}

// histogramFiles writes each twin's four latency series: TWIN.SERIES.hlog,
// the interval log written as the seconds pass (under a temp name until the
// twin ends, so a reader never sees half a log), and TWIN.SERIES.hgrm, the
// whole run's percentiles.
type histogramFiles struct {
	nopOutput
	dir  string
	tmp  [4]*os.File
	logs [4]*record.LogWriter
	err  error // opening the logs: reported when the twin ends
}

func (h *histogramFiles) twinStarted(tw twinStart) {
	h.tmp, h.logs, h.err = [4]*os.File{}, [4]*record.LogWriter{}, nil
	for i := range h.tmp {
		f, err := os.CreateTemp(h.dir, "."+tw.name+"."+metricNames[i]+".hlog.*")
		if err != nil {
			h.err = err
			continue
		}
		lw, err := record.NewLogWriter(f, tw.start)
		if err != nil {
			h.err = err
			continue
		}
		h.tmp[i], h.logs[i] = f, lw
	}
}

func (h *histogramFiles) tick(t tickEvent) {
	for i, lw := range h.logs {
		if lw != nil {
			lw.Write(t.iv[i], t.row.phase)
		}
	}
}

func (h *histogramFiles) twinEnded(tw twinEnd) error {
	errs := []error{h.err}
	for i, f := range h.tmp {
		if f != nil {
			errs = append(errs, f.Sync(), f.Close(), os.Rename(f.Name(), filepath.Join(h.dir, tw.name+"."+metricNames[i]+".hlog")))
		}
		total := tw.totals[i]
		errs = append(errs, results.WriteFile(filepath.Join(h.dir, tw.name+"."+metricNames[i]+".hgrm"), func(w io.Writer) error {
			return record.WriteHgrm(w, total)
		}))
	}
	h.tmp, h.logs = [4]*os.File{}, [4]*record.LogWriter{}
	return errors.Join(errs...)
}
