package report

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
)

// timeseries is timeseries.csv split by twin. Columns are looked up by
// name, so a file from an older or newer harness with columns missing or
// added still draws what it has.
type timeseries struct {
	columns map[string]bool
	twins   map[string]*twinSeries
}

// twinSeries is one twin's rows, in file order.
type twinSeries struct {
	t      []float64
	values map[string][]float64 // numeric columns; NaN where a cell is not a number
	text   map[string][]string  // phase, faults
}

// isText says which columns are not numbers.
func isText(column string) bool {
	return column == "twin" || column == "phase" || column == "faults"
}

func parseTimeseries(r io.Reader) (*timeseries, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, errors.New("empty file: want a header row")
	}
	if err != nil {
		return nil, err
	}
	idx := map[string]int{}
	ts := &timeseries{columns: map[string]bool{}, twins: map[string]*twinSeries{}}
	for i, h := range header {
		idx[h] = i
		ts.columns[h] = true
	}
	ti, ok1 := idx["t_s"]
	wi, ok2 := idx["twin"]
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("header %q: want at least the columns t_s and twin", header)
	}
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if len(rec) <= max(ti, wi) {
			return nil, fmt.Errorf("line %d: %d fields, fewer than the header's %d", line, len(rec), len(header))
		}
		t, err := strconv.ParseFloat(rec[ti], 64)
		if err != nil {
			return nil, fmt.Errorf("line %d: t_s %q: not a number", line, rec[ti])
		}
		tw := ts.twins[rec[wi]]
		if tw == nil {
			tw = &twinSeries{values: map[string][]float64{}, text: map[string][]string{}}
			ts.twins[rec[wi]] = tw
		}
		tw.t = append(tw.t, t)
		for name, i := range idx {
			cell := ""
			if i < len(rec) {
				cell = rec[i]
			}
			if isText(name) {
				tw.text[name] = append(tw.text[name], cell)
				continue
			}
			v, err := strconv.ParseFloat(cell, 64)
			if err != nil {
				v = math.NaN()
			}
			tw.values[name] = append(tw.values[name], v)
		}
	}
	return ts, nil
}

// lastSecond is the largest t_s of any twin: the end of every time axis.
func (ts *timeseries) lastSecond() float64 {
	last := 0.0
	for _, tw := range ts.twins {
		for _, t := range tw.t {
			last = math.Max(last, t)
		}
	}
	return last
}

// column returns a twin's column, or nil if the file has no such column
// or no such twin.
func (ts *timeseries) column(twin, name string) []float64 {
	if ts == nil || ts.twins[twin] == nil {
		return nil
	}
	return ts.twins[twin].values[name]
}

// points pairs a twin's column with t_s. With positiveOnly a value of 0 or
// less is a gap: the per-second percentiles are 0 in a second with no
// replies, which is no latency at all, not a zero one.
func (ts *timeseries) points(twin, name string, positiveOnly bool) []point {
	col := ts.column(twin, name)
	if col == nil {
		return nil
	}
	t := ts.twins[twin].t
	pts := make([]point, len(col))
	for i, v := range col {
		if positiveOnly && v <= 0 {
			v = math.NaN()
		}
		pts[i] = point{t[i], v}
	}
	return pts
}
