package verdict

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/edabench/edabench/harness/record"
	"github.com/edabench/edabench/harness/results"
)

// ErrNoRuns means none of the paths given held a readable summary.json.
var ErrNoRuns = errors.New("no run summaries found")

// Run is one run folder: its summary and what the verdict reads besides it.
type Run struct {
	Dir      string // as given (or found), not resolved, so a results/latest link keeps its parent
	Summary  results.Summary
	Scenario ScenarioInfo
	// Staleness is twins.<twin>.staleness, read apart from Summary so the
	// verdict works before and after the key joins results.TwinResult.
	Staleness map[string]*Staleness
}

// Staleness is what harness/staleness writes: the latency summary from the
// reply until a read said COMPLETED, and its read counts. The counts are
// pointers: a summary written before they existed has none.
type Staleness struct {
	record.Summary
	Sampled               *int64 `json:"sampled"`
	Completed             *int64 `json:"completed"`
	StaleReads            *int64 `json:"stale_reads"`
	ImmediatelyConsistent *int64 `json:"immediately_consistent"`
}

// ID is the run's id, or its folder's name for a summary without one.
func (r *Run) ID() string {
	if r.Summary.RunID != "" {
		return r.Summary.RunID
	}
	return filepath.Base(r.Dir)
}

// Key is what makes two runs measure the same thing: the scenario, and for
// the chain scenario its length.
func (r *Run) Key() string {
	// Every scenario writes its steps (4 by default); only the chain
	// scenario is run at several lengths to be compared.
	if r.Scenario.Name == "chain" && r.Scenario.Steps > 0 {
		return fmt.Sprintf("%s/steps=%d", r.Scenario.Name, r.Scenario.Steps)
	}
	return r.Scenario.Name
}

// Twin is the twin's result, nil if the run did not drive it.
func (r *Run) Twin(name string) *results.TwinResult { return r.Summary.Twins[name] }

// ScenarioInfo is the part of summary.json's scenario object the rules read.
type ScenarioInfo struct {
	Name   string      `json:"name"`
	Stages []StageInfo `json:"stages"`
	Ramp   *struct {
		StartRate    float64 `json:"start_rate"`
		Step         float64 `json:"step"`
		StepDuration string  `json:"step_duration"`
		MaxRate      float64 `json:"max_rate"`
	} `json:"ramp"`
	SLO struct {
		P99          string  `json:"p99"`
		MaxErrorRate float64 `json:"max_error_rate"`
	} `json:"slo"`
	Topology string      `json:"topology"`
	Cost     string      `json:"cost"`
	Faults   []FaultInfo `json:"faults"`
	// Steps is the chain scenario's number of workflow steps (hops = steps+1).
	Steps count `json:"steps"`
}

// count reads a whole number written as a JSON number or a string, so a
// change in how the chain scenario writes "steps" does not drop its runs.
type count int

func (c *count) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "" || s == "null" {
		*c = 0
		return nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || f != math.Trunc(f) {
		return fmt.Errorf("steps %s: want a whole number of workflow steps", b)
	}
	*c = count(f)
	return nil
}

// StageInfo is one stage as summary.json writes it.
type StageInfo struct {
	Name     string   `json:"name"`
	Duration string   `json:"duration"`
	Rate     float64  `json:"rate"`
	To       *float64 `json:"to"`
}

// FaultInfo is one scenario fault as summary.json writes it.
type FaultInfo struct {
	Type     string `json:"type"`
	Target   string `json:"target"`
	At       string `json:"at"`
	Duration string `json:"duration"`
	Mean     string `json:"mean"`
}

// Load reads every run under paths: a path is a run folder (it holds
// summary.json) or a folder of run folders. Folders that cannot be read as
// runs are reported in warnings and skipped, so one broken run does not
// hide the others; ErrNoRuns when nothing was found.
func Load(paths []string) (runs []*Run, warnings []string, err error) {
	seen := map[string]bool{}
	add := func(dir string) {
		real, err := filepath.EvalSymlinks(dir)
		if err != nil {
			real = dir
		}
		if seen[real] {
			return
		}
		seen[real] = true
		r, err := ReadRun(dir)
		if err != nil {
			warnings = append(warnings, err.Error())
			return
		}
		runs = append(runs, r)
	}
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, warnings, fmt.Errorf("%s: %w (give a run folder or a folder of runs, e.g. results/)", p, err)
		}
		if !fi.IsDir() {
			return nil, warnings, fmt.Errorf("%s is not a folder (give a run folder or a folder of runs, e.g. results/)", p)
		}
		if exists(filepath.Join(p, "summary.json")) {
			add(p)
			continue
		}
		entries, err := os.ReadDir(p)
		if err != nil {
			return nil, warnings, fmt.Errorf("list %s: %w", p, err)
		}
		for _, e := range entries {
			// results/latest is a link to a run that is listed anyway.
			if e.Type()&os.ModeSymlink != 0 || !e.IsDir() {
				continue
			}
			sub := filepath.Join(p, e.Name())
			if exists(filepath.Join(sub, "summary.json")) {
				add(sub)
			}
		}
	}
	if len(runs) == 0 {
		return nil, warnings, ErrNoRuns
	}
	return runs, warnings, nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// ReadRun reads one run folder's summary.json.
func ReadRun(dir string) (*Run, error) {
	b, err := os.ReadFile(filepath.Join(dir, "summary.json"))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", dir, err)
	}
	r := &Run{Dir: dir}
	if err := json.Unmarshal(b, &r.Summary); err != nil {
		return nil, fmt.Errorf("%s/summary.json: %w (skipped; is the run still being written?)", dir, err)
	}
	if r.Summary.SchemaVersion != results.SchemaVersion {
		return nil, fmt.Errorf("%s/summary.json: schema_version %d, this edabench reads %d (skipped; rerun the scenario)",
			dir, r.Summary.SchemaVersion, results.SchemaVersion)
	}
	var extra struct {
		Scenario ScenarioInfo `json:"scenario"`
		Twins    map[string]struct {
			Staleness *Staleness `json:"staleness"`
		} `json:"twins"`
	}
	if err := json.Unmarshal(b, &extra); err != nil {
		return nil, fmt.Errorf("%s/summary.json: scenario: %w (skipped)", dir, err)
	}
	if extra.Scenario.Name == "" {
		return nil, fmt.Errorf("%s/summary.json: the scenario has no name (skipped)", dir)
	}
	r.Scenario = extra.Scenario
	for t, x := range extra.Twins {
		if x.Staleness != nil {
			if r.Staleness == nil {
				r.Staleness = map[string]*Staleness{}
			}
			r.Staleness[t] = x.Staleness
		}
	}
	return r, nil
}

// Set is the runs a verdict uses: one per scenario (and chain length).
type Set struct {
	byKey map[string]*Run
	all   []*Run
}

// Select keeps, for each scenario, the run that best represents it: a
// finished run before a partial one (a partial run measured less than the
// scenario asked), one that drove both twins before one that did not
// (every claim compares them), then the most recent.
func Select(runs []*Run) *Set {
	s := &Set{byKey: map[string]*Run{}, all: runs}
	for _, r := range runs {
		if cur, ok := s.byKey[r.Key()]; !ok || better(r, cur) {
			s.byKey[r.Key()] = r
		}
	}
	return s
}

func better(a, b *Run) bool {
	if a.Summary.Partial != b.Summary.Partial {
		return !a.Summary.Partial
	}
	if ab, bb := bothTwins(a), bothTwins(b); ab != bb {
		return ab
	}
	if !a.Summary.StartedAt.Equal(b.Summary.StartedAt) {
		return a.Summary.StartedAt.After(b.Summary.StartedAt)
	}
	return a.ID() > b.ID()
}

func bothTwins(r *Run) bool { return r.Twin("rr") != nil && r.Twin("eda") != nil }

// Scenario is the run selected for a scenario, nil if there is none.
func (s *Set) Scenario(name string) *Run { return s.byKey[name] }

// Chain is the selected chain runs, shortest chain first.
func (s *Set) Chain() []*Run {
	var out []*Run
	for _, r := range s.byKey {
		if r.Scenario.Name == "chain" && r.Scenario.Steps > 0 {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Scenario.Steps < out[j].Scenario.Steps })
	return out
}

// Failures is the selected failure-* runs, by name.
func (s *Set) Failures() []*Run {
	var out []*Run
	for _, r := range s.byKey {
		if strings.HasPrefix(r.Scenario.Name, "failure-") {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Scenario.Name < out[j].Scenario.Name })
	return out
}

// All is every run read, selected or not.
func (s *Set) All() []*Run { return s.all }

// Selected is the runs the verdict may use, by key.
func (s *Set) Selected() []*Run {
	var out []*Run
	for _, r := range s.byKey {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key() < out[j].Key() })
	return out
}

// second is one row of timeseries.csv: the columns the rules read.
type second struct {
	t              float64
	replies        int64
	ackP99, e2eP99 float64
	hasAck, hasE2E bool
}

// timeseries reads the run's timeseries.csv rows of one twin.
func (r *Run) timeseries(twin string) ([]second, error) {
	b, err := os.ReadFile(filepath.Join(r.Dir, "timeseries.csv"))
	if err != nil {
		return nil, fmt.Errorf("read the per-second figures: %w", err)
	}
	cr := csv.NewReader(bytes.NewReader(b))
	head, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("%s/timeseries.csv: %w", r.Dir, err)
	}
	col := map[string]int{}
	for i, h := range head {
		col[h] = i
	}
	for _, need := range []string{"t_s", "twin", "replies", "ack_p99_ms", "e2e_p99_ms"} {
		if _, ok := col[need]; !ok {
			return nil, fmt.Errorf("%s/timeseries.csv: no %q column", r.Dir, need)
		}
	}
	get := func(row []string, name string) string {
		if i, ok := col[name]; ok && i < len(row) {
			return row[i]
		}
		return ""
	}
	num := func(row []string, name string) (float64, bool) {
		v, err := strconv.ParseFloat(get(row, name), 64)
		return v, err == nil
	}
	var out []second
	for {
		row, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s/timeseries.csv: %w", r.Dir, err)
		}
		if get(row, "twin") != twin {
			continue
		}
		var s second
		s.t, _ = num(row, "t_s")
		rep, _ := num(row, "replies")
		s.replies = int64(rep)
		s.ackP99, s.hasAck = num(row, "ack_p99_ms")
		s.e2eP99, s.hasE2E = num(row, "e2e_p99_ms")
		out = append(out, s)
	}
	return out, nil
}

// parseDur reads a duration as summary.json writes it ("10s", "1m30s").
func parseDur(s string) (time.Duration, bool) {
	d, err := time.ParseDuration(s)
	return d, err == nil
}

// costMean is the mean of a cost model such as
// "dist=exponential,mean=1ms,cap=10ms"; 0 when it names none.
func costMean(cost string) time.Duration {
	for _, kv := range strings.Split(cost, ",") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(kv), "mean="); ok {
			if d, ok := parseDur(v); ok {
				return d
			}
		}
	}
	return 0
}
