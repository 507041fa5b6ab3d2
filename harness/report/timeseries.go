package report

import (
	"math"

	"github.com/edabench/edabench/harness/results"
)

// column returns a twin's column of timeseries.csv, or nil if the file has
// no such column or no such twin.
func column(ts *results.Timeseries, twin, name string) []float64 {
	s := ts.Twin(twin)
	if s == nil {
		return nil
	}
	return s.Num(name)
}

// points pairs a twin's column with t_s. With positiveOnly a value of 0 or
// less is a gap: the per-second percentiles are 0 in a second with no
// replies, which is no latency at all, not a zero one.
func points(ts *results.Timeseries, twin, name string, positiveOnly bool) []point {
	col := column(ts, twin, name)
	if col == nil {
		return nil
	}
	t := ts.Twin(twin).T
	pts := make([]point, len(col))
	for i, v := range col {
		if positiveOnly && v <= 0 {
			v = math.NaN()
		}
		pts[i] = point{t[i], v}
	}
	return pts
}
