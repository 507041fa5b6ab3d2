package merge

import (
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/edabench/edabench/harness/record"
	"github.com/edabench/edabench/harness/results"
)

// Logs unions interval logs of one latency series written by several
// generators (xk6-eda's hdr option on k6-operator's runners writes
// k6.TWIN.KIND.hlog on each) into out.hlog and its whole-run percentiles
// out.hgrm. Intervals are joined by the second of absolute time they
// start nearest to, from the earliest interval of any log. It returns the
// merged total.
func Logs(paths []string, out string) (*hdrhistogram.Histogram, error) {
	if len(paths) < 1 {
		return nil, fmt.Errorf("%w: no interval log given: pass the generators' .hlog files", ErrInput)
	}
	if !strings.HasSuffix(out, ".hlog") {
		return nil, fmt.Errorf("%w: --hlog %s: want a file name ending in .hlog (the .hgrm goes beside it)", ErrInput, out)
	}
	var all []*hdrhistogram.Histogram
	base := int64(math.MaxInt64)
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInput, err)
		}
		ivs, err := record.ReadIntervals(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrInput, p, err)
		}
		for _, iv := range ivs {
			base = min(base, iv.StartTimeMs())
		}
		all = append(all, ivs...)
	}
	total := record.NewHistogram()
	if len(all) == 0 {
		base = time.Now().UnixMilli()
	}
	secs := map[int]*hdrhistogram.Histogram{}
	var err error
	for _, iv := range all {
		k := int(math.Round(float64(iv.StartTimeMs()-base) / 1000))
		if secs[k], err = record.MergeInterval(secs[k], iv); err != nil {
			return nil, err
		}
		if total, err = record.MergeInterval(total, iv); err != nil {
			return nil, err
		}
	}
	err = results.WriteFile(out, func(w io.Writer) error {
		lw, err := record.NewLogWriter(w, time.UnixMilli(base))
		if err != nil {
			return err
		}
		for _, k := range slices.Sorted(maps.Keys(secs)) {
			if err := lw.Write(secs[k], secs[k].Tag()); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	hgrm := strings.TrimSuffix(out, ".hlog") + ".hgrm"
	return total, results.WriteFile(hgrm, func(w io.Writer) error { return record.WriteHgrm(w, total) })
}
