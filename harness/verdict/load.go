package verdict

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/edabench/edabench/harness/results"
	"github.com/edabench/edabench/harness/staleness"
)

// ErrNoRuns means none of the paths given held a readable summary.json.
var ErrNoRuns = errors.New("no run summaries found")

// Run is one run folder: its summary and what the verdict reads besides it.
type Run struct {
	Dir      string // as given (or found), not resolved, so a results/latest link keeps its parent
	Summary  results.Summary
	Scenario results.ScenarioInfo
	// inChain marks the runs of the chain series Select found, whose
	// conditions name their length.
	inChain bool
}

// ID is the run's id, or its folder's name for a summary without one.
func (r *Run) ID() string {
	if r.Summary.RunID != "" {
		return r.Summary.RunID
	}
	return filepath.Base(r.Dir)
}

// Key is what makes two runs a repeat of one another: the scenario they
// ran and its chain length. Of the runs with one key, Select keeps one.
func (r *Run) Key() string {
	if r.Scenario.Steps > 0 {
		return fmt.Sprintf("%s/steps=%d", r.Scenario.Name, r.Scenario.Steps)
	}
	return r.Scenario.Name
}

// Profile is the deployment profile the run ran under, as the matrix's
// columns name it: "" for the historical one (loopback network, shared
// CPUs), else its network and/or "isolated", e.g. "datacenter, isolated".
func (r *Run) Profile() string {
	m, _ := r.Summary.Scenario.(map[string]any)
	var parts []string
	if n, ok := m["network"].(map[string]any); ok {
		if name, _ := n["name"].(string); name != "" && name != "loopback" {
			parts = append(parts, name)
		}
	}
	if d, _ := m["deployment"].(string); d != "" && d != "shared" {
		parts = append(parts, d)
	}
	return strings.Join(parts, ", ")
}

// Nodes is the size of the broker deployment the run's EDA and hybrid
// twins used: 3 for a replicated cluster (--cluster 3), 1 for the single
// node, and for summaries written before they recorded it.
func (r *Run) Nodes() int {
	if b := r.Summary.Environment.Broker; b != nil && b.Nodes > 1 {
		return b.Nodes
	}
	return 1
}

// Twin is the twin's result, nil if the run did not drive it.
func (r *Run) Twin(name string) *results.TwinResult { return r.Summary.Twins[name] }

// staleness is the twin's staleness probe result, nil if the run has none.
func (r *Run) staleness(twin string) *staleness.Result {
	if t := r.Twin(twin); t != nil {
		return t.Staleness
	}
	return nil
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
	f, err := results.ReadSummary(dir)
	if err != nil {
		return nil, fmt.Errorf("%w (skipped; is the run still being written?)", err)
	}
	r := &Run{Dir: dir, Summary: f.Summary, Scenario: f.Scenario}
	if r.Summary.SchemaVersion != results.SchemaVersion {
		return nil, fmt.Errorf("%s: schema_version %d, this edabench reads %d (skipped; rerun the scenario)",
			f.Path, r.Summary.SchemaVersion, results.SchemaVersion)
	}
	if f.ScenarioErr != nil {
		return nil, fmt.Errorf("%s: %w (skipped)", f.Path, f.ScenarioErr)
	}
	if r.Scenario.Name == "" {
		return nil, fmt.Errorf("%s: the scenario has no name (skipped)", f.Path)
	}
	return r, nil
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
	ts, err := results.ReadTimeseries(r.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read the per-second figures: %w", err)
	}
	if err == nil {
		err = ts.Require(results.ColT, results.ColTwin, results.ColReplies, results.ColAckP99, results.ColE2EP99)
	}
	if err != nil {
		return nil, fmt.Errorf("%s/timeseries.csv: %w", r.Dir, err)
	}
	rows := ts.Twin(twin)
	if rows == nil {
		return nil, nil
	}
	replies, ack, e2e := rows.Num(results.ColReplies), rows.Num(results.ColAckP99), rows.Num(results.ColE2EP99)
	out := make([]second, rows.Len())
	for i := range out {
		out[i] = second{t: rows.T[i], ackP99: ack[i], e2eP99: e2e[i], hasAck: !math.IsNaN(ack[i]), hasE2E: !math.IsNaN(e2e[i])}
		if !math.IsNaN(replies[i]) {
			out[i].replies = int64(replies[i])
		}
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
