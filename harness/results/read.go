package results

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// SummaryFile is one summary.json read back: the typed figures every
// reader shares, the scenario as it ran, and two untyped views of the same
// bytes for what a type cannot answer.
type SummaryFile struct {
	Path    string // the file read; empty for DecodeSummary
	Summary Summary
	// Scenario is Summary.Scenario read into the keys the readers use. A
	// scenario of another shape leaves it zero and sets ScenarioErr: a
	// report still shows such a run, the verdict skips it.
	Scenario    ScenarioInfo
	ScenarioErr error
	// Tree is the whole document as generic JSON: what gate and compare
	// walk by dotted paths (twins.eda.e2e.p99_ms), keys the harness adds
	// later included.
	Tree map[string]any
	// Raw keeps the parts shown as written, keys in file order.
	Raw RawSummary
}

// RawSummary is the scenario, the environment and each twin's objects as
// written, so that a field added later shows up without a change in the
// reader.
type RawSummary struct {
	Scenario    json.RawMessage                       `json:"scenario"`
	Environment json.RawMessage                       `json:"environment"`
	Twins       map[string]map[string]json.RawMessage `json:"twins"`
}

// ScenarioInfo is the scenario object of summary.json (harness/scenario
// writes it) as its readers use it.
type ScenarioInfo struct {
	Name        string      `json:"name"`
	Description string      `json:"description"`
	Source      string      `json:"source"`
	Stages      []StageInfo `json:"stages"`
	Ramp        *RampInfo   `json:"ramp"`
	Search      *SearchInfo `json:"search"`
	SLO         struct {
		P99          string  `json:"p99"`
		MaxErrorRate float64 `json:"max_error_rate"`
	} `json:"slo"`
	Topology string      `json:"topology"`
	Cost     string      `json:"cost"`
	Faults   []FaultInfo `json:"faults"`
	// Timeout is the per-request deadline as the scenario wrote it ("5s");
	// "" in a summary that does not carry it.
	Timeout string `json:"timeout"`
	// Steps is the number of workflow steps (hops = steps+1); 0 in a
	// summary written before the key existed.
	Steps Count `json:"steps"`
}

// SearchInfo is a knee search's settings, as far as a reader needs them.
type SearchInfo struct {
	Start     float64 `json:"start"`
	Factor    float64 `json:"factor"`
	MaxRate   float64 `json:"max_rate"`
	Precision float64 `json:"precision"`
	SLO       struct {
		AckP99 string `json:"ack_p99"`
		E2EP99 string `json:"e2e_p99"`
	} `json:"slo"`
}

// RampInfo is a ramp scenario's steps.
type RampInfo struct {
	StartRate    float64 `json:"start_rate"`
	Step         float64 `json:"step"`
	StepDuration string  `json:"step_duration"`
	MaxRate      float64 `json:"max_rate"`
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

// Count reads a whole number written as a JSON number or a string, so a
// change in how the scenario writes "steps" does not drop its runs.
type Count int

func (c *Count) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "" || s == "null" {
		*c = 0
		return nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || f != math.Trunc(f) {
		return fmt.Errorf("steps %s: want a whole number of workflow steps", b)
	}
	*c = Count(f)
	return nil
}

// ReadSummary reads a run's summary.json. arg may be the run folder, the
// file itself, or the OUT/latest link. An error wrapping fs.ErrNotExist
// means there is no such file.
func ReadSummary(arg string) (*SummaryFile, error) {
	st, err := os.Stat(arg)
	if err != nil {
		return nil, fmt.Errorf("run %s: %w; pass a run folder (OUT/<run-id>), its summary.json, or OUT/latest", arg, err)
	}
	path := arg
	if st.IsDir() {
		path = filepath.Join(arg, "summary.json")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, noSummary(fmt.Sprintf("%s has no summary.json: is it a run folder? (edabench run writes OUT/<run-id>/summary.json)", arg))
		}
		return nil, err
	}
	f, err := DecodeSummary(path, b)
	if err != nil {
		return nil, err
	}
	f.Path = path
	return f, nil
}

// noSummary is the error for a folder without a summary.json: its message
// says what to pass, and errors.Is finds fs.ErrNotExist in it.
type noSummary string

func (e noSummary) Error() string        { return string(e) }
func (e noSummary) Is(target error) bool { return target == fs.ErrNotExist }

// DecodeSummary decodes the bytes of a summary.json; name is how errors
// call it.
func DecodeSummary(name string, b []byte) (*SummaryFile, error) {
	f := &SummaryFile{}
	if err := json.Unmarshal(b, &f.Tree); err != nil {
		return nil, fmt.Errorf("%s is not valid JSON: %w", name, err)
	}
	if _, ok := f.Tree["twins"]; !ok {
		return nil, fmt.Errorf("%s has no twins key: is it an edabench summary.json?", name)
	}
	if err := json.Unmarshal(b, &f.Summary); err != nil {
		return nil, fmt.Errorf("%s: %w (want the summary.json edabench run writes)", name, err)
	}
	if err := json.Unmarshal(b, &f.Raw); err != nil {
		return nil, fmt.Errorf("%s: %w (want the summary.json edabench run writes)", name, err)
	}
	if len(f.Raw.Scenario) > 0 {
		if err := json.Unmarshal(f.Raw.Scenario, &f.Scenario); err != nil {
			f.Scenario, f.ScenarioErr = ScenarioInfo{}, fmt.Errorf("scenario: %w", err)
		}
	}
	return f, nil
}
