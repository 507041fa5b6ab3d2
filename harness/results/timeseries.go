package results

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
)

// TimeseriesFile is the per-second file's name inside a run folder.
const TimeseriesFile = "timeseries.csv"

// The columns of timeseries.csv, one row per twin and second of its load.
const (
	ColT          = "t_s" // seconds since the twin's load started
	ColTwin       = "twin"
	ColPhase      = "phase"
	ColOffered    = "offered"
	ColReplies    = "replies"
	ColErrors     = "errors"
	ColTimeouts   = "timeouts"
	ColDropped    = "dropped"
	ColEnded      = "ended"
	ColInFlight   = "in_flight"
	ColAckP50     = "ack_p50_ms"
	ColAckP99     = "ack_p99_ms"
	ColE2EP50     = "e2e_p50_ms"
	ColE2EP99     = "e2e_p99_ms"
	ColQueueDepth = "queue_depth"
	ColLagMs      = "lag_ms"
	ColFaults     = "faults" // the faults active, "+"-separated
	// The host's interference in the second, appended after faults so
	// positional readers of older files keep working; empty when unknown.
	ColStealPct         = "steal_pct"          // share of all CPU time the hypervisor stole
	ColCPUPressurePct   = "cpu_pressure_pct"   // share of the second some task waited for a CPU (PSI)
	ColCPUPressureAvg10 = "cpu_pressure_avg10" // the kernel's PSI some avg10 at the second's end
)

// Columns lists timeseries.csv's columns in the order the runner writes
// them, so the writer and the readers share one list.
func Columns() []string {
	return []string{ColT, ColTwin, ColPhase, ColOffered, ColReplies, ColErrors, ColTimeouts, ColDropped,
		ColEnded, ColInFlight, ColAckP50, ColAckP99, ColE2EP50, ColE2EP99, ColQueueDepth, ColLagMs, ColFaults,
		ColStealPct, ColCPUPressurePct, ColCPUPressureAvg10}
}

// Timeseries is timeseries.csv split by twin. Columns are looked up by
// name, so a file from an older or newer harness with columns missing or
// added still gives what it has.
type Timeseries struct {
	columns map[string]bool
	twins   map[string]*TwinSeries
}

// TwinSeries is one twin's rows, in file order.
type TwinSeries struct {
	T     []float64 // t_s of each row
	Lines []int     // each row's line in the file, for messages
	num   map[string][]float64
	text  map[string][]string
}

// isText says which columns are not numbers.
func isText(column string) bool {
	return column == ColTwin || column == ColPhase || column == ColFaults
}

// ReadTimeseries reads dir/timeseries.csv. An error wrapping
// fs.ErrNotExist means the run has none; other errors are DecodeTimeseries'
// (line numbers, no file name).
func ReadTimeseries(dir string) (*Timeseries, error) {
	f, err := os.Open(filepath.Join(dir, TimeseriesFile))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return DecodeTimeseries(f)
}

// DecodeTimeseries reads a timeseries.csv: it needs the t_s and twin
// columns; a cell of another column that is not a number reads as NaN.
func DecodeTimeseries(r io.Reader) (*Timeseries, error) {
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
	ts := &Timeseries{columns: map[string]bool{}, twins: map[string]*TwinSeries{}}
	for i, h := range header {
		idx[h] = i
		ts.columns[h] = true
	}
	ti, ok1 := idx[ColT]
	wi, ok2 := idx[ColTwin]
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
		ts.twinSeries(rec[wi]).add(line, t, rec, idx)
	}
	return ts, nil
}

func (ts *Timeseries) twinSeries(twin string) *TwinSeries {
	s := ts.twins[twin]
	if s == nil {
		s = &TwinSeries{num: map[string][]float64{}, text: map[string][]string{}}
		ts.twins[twin] = s
	}
	return s
}

func (s *TwinSeries) add(line int, t float64, rec []string, idx map[string]int) {
	s.T = append(s.T, t)
	s.Lines = append(s.Lines, line)
	for name, i := range idx {
		cell := ""
		if i < len(rec) {
			cell = rec[i]
		}
		if isText(name) {
			s.text[name] = append(s.text[name], cell)
			continue
		}
		v, err := strconv.ParseFloat(cell, 64)
		if err != nil {
			v = math.NaN()
		}
		s.num[name] = append(s.num[name], v)
	}
}

// Has says whether the file has the column.
func (ts *Timeseries) Has(column string) bool { return ts.columns[column] }

// Require names the first of columns the file lacks.
func (ts *Timeseries) Require(columns ...string) error {
	for _, c := range columns {
		if !ts.columns[c] {
			return fmt.Errorf("no %q column", c)
		}
	}
	return nil
}

// Twin is one twin's rows, nil if the file has none.
func (ts *Timeseries) Twin(name string) *TwinSeries {
	if ts == nil {
		return nil
	}
	return ts.twins[name]
}

// Twins names the twins with rows, sorted.
func (ts *Timeseries) Twins() []string {
	out := make([]string, 0, len(ts.twins))
	for t := range ts.twins {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// LastSecond is the largest t_s of any twin: the end of every time axis.
func (ts *Timeseries) LastSecond() float64 {
	last := 0.0
	for _, tw := range ts.twins {
		for _, t := range tw.T {
			last = math.Max(last, t)
		}
	}
	return last
}

// Len is the number of rows.
func (s *TwinSeries) Len() int { return len(s.T) }

// Num is a numeric column, NaN where a cell is not a number; nil if the
// file has no such column.
func (s *TwinSeries) Num(column string) []float64 { return s.num[column] }

// Text is a text column (phase, faults); nil if the file has none.
func (s *TwinSeries) Text(column string) []string { return s.text[column] }
