// Package gate decides whether a run's summary.json is good enough to pass
// CI: a gate file lists checks (an absolute limit, or an allowed regression
// against a baseline run), Evaluate applies them, and the writers report the
// results as a table or as JUnit XML. Evaluation knows nothing about output,
// so one evaluation can feed every report.
package gate

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// ErrInvalid marks a gate file that cannot be used: the caller's input is
// wrong, not the run it checks.
var ErrInvalid = errors.New("invalid gate file")

// Op compares a run's figure with a check's value.
type Op string

// The comparison operators a check may use.
const (
	Less         Op = "<"
	LessEqual    Op = "<="
	Equal        Op = "=="
	GreaterEqual Op = ">="
	Greater      Op = ">"
)

func (o Op) valid() bool {
	switch o {
	case Less, LessEqual, Equal, GreaterEqual, Greater:
		return true
	}
	return false
}

func (o Op) holds(v, limit float64) bool {
	switch o {
	case Less:
		return v < limit
	case LessEqual:
		return v <= limit
	case Equal:
		return v == limit
	case GreaterEqual:
		return v >= limit
	case Greater:
		return v > limit
	}
	return false
}

// Better says which direction of a figure is an improvement, so that a
// regression check knows what "worse" means.
type Better string

// Lower is the default: latencies, errors and CPU get worse as they grow.
// Higher suits throughputs such as achieved_rps and knee.rps.
const (
	Lower  Better = "lower"
	Higher Better = "higher"
)

// Check is one line of the gate: either Metric Op Value, or Metric may not
// be more than MaxRegression worse than in the baseline run.
type Check struct {
	Metric string // dotted path into summary.json
	Op     Op     // absolute checks only
	Value  float64
	// MaxRegression is a fraction (0.15 for "15%"); Regression tells the
	// two kinds of check apart.
	MaxRegression float64
	Regression    bool
	Better        Better
	Line          int // in the gate file, for messages
}

// Name is how reports show the check: its metric and limit.
func (c Check) Name() string {
	if c.Regression {
		return fmt.Sprintf("%s regresses at most %s (%s is better)", c.Metric, formatPercent(c.MaxRegression), c.Better)
	}
	return fmt.Sprintf("%s %s %s", c.Metric, c.Op, FormatNumber(c.Value))
}

// File is a parsed gate file.
type File struct {
	Checks []Check
}

// NeedsBaseline reports whether any check compares against a baseline run.
func (f *File) NeedsBaseline() bool {
	return slices.ContainsFunc(f.Checks, func(c Check) bool { return c.Regression })
}

// Load reads and parses a gate file; errors name the file.
func Load(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	f, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

const example = `checks:
  - metric: twins.eda.e2e.p99_ms
    op: "<"
    value: 500
  - metric: twins.rr.ack.p99_ms
    max_regression: 15%`

// Parse decodes a gate file strictly: an unknown key, a missing field or a
// value of the wrong kind is an error naming the check and its line, since
// a gate that silently ignores a misspelt check passes when it should not.
func Parse(data []byte) (*File, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: empty file; a gate file looks like:\n%s", ErrInvalid, example)
		}
		return nil, fmt.Errorf("%w: not valid YAML: %w", ErrInvalid, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: line %d: more than one YAML document (---); put all checks in one", ErrInvalid, extra.Line)
	}
	if len(doc.Content) == 0 {
		return nil, fmt.Errorf("%w: empty file; a gate file looks like:\n%s", ErrInvalid, example)
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%w: line %d: want a mapping with a checks list, like:\n%s", ErrInvalid, root.Line, example)
	}
	var checks *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if k.Value != "checks" {
			return nil, fmt.Errorf("%w: line %d: unknown key %q; the only top-level key is checks", ErrInvalid, k.Line, k.Value)
		}
		checks = v
	}
	if checks == nil {
		return nil, fmt.Errorf("%w: no checks key; a gate file looks like:\n%s", ErrInvalid, example)
	}
	if checks.Kind != yaml.SequenceNode || len(checks.Content) == 0 {
		return nil, fmt.Errorf("%w: line %d: checks must be a non-empty list of checks, like:\n%s", ErrInvalid, checks.Line, example)
	}
	f := &File{}
	for i, n := range checks.Content {
		c, err := parseCheck(n)
		if err != nil {
			return nil, fmt.Errorf("%w: check %d (line %d): %w", ErrInvalid, i+1, n.Line, err)
		}
		f.Checks = append(f.Checks, c)
	}
	return f, nil
}

func parseCheck(n *yaml.Node) (Check, error) {
	c := Check{Line: n.Line, Better: Lower}
	if n.Kind != yaml.MappingNode {
		return c, errors.New("want a mapping with metric and either op and value or max_regression")
	}
	keys := []string{"metric", "op", "value", "max_regression", "better"}
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if !slices.Contains(keys, k.Value) {
			return c, fmt.Errorf("line %d: unknown key %q; allowed: %s", k.Line, k.Value, strings.Join(keys, ", "))
		}
		if seen[k.Value] != nil {
			return c, fmt.Errorf("line %d: %s given twice", k.Line, k.Value)
		}
		if v.Kind != yaml.ScalarNode {
			return c, fmt.Errorf("line %d: %s must be a single value", v.Line, k.Value)
		}
		seen[k.Value] = v
	}
	m := seen["metric"]
	if m == nil || strings.TrimSpace(m.Value) == "" {
		return c, errors.New("metric missing: add metric: a dotted path into summary.json, e.g. twins.eda.e2e.p99_ms")
	}
	c.Metric = strings.TrimSpace(m.Value)
	if strings.HasPrefix(c.Metric, ".") || strings.HasSuffix(c.Metric, ".") || strings.Contains(c.Metric, "..") || strings.ContainsAny(c.Metric, " \t") {
		return c, fmt.Errorf("line %d: metric %q: want dot-separated keys without spaces, e.g. twins.eda.e2e.p99_ms", m.Line, c.Metric)
	}
	if b := seen["better"]; b != nil {
		c.Better = Better(b.Value)
		if c.Better != Lower && c.Better != Higher {
			return c, fmt.Errorf("line %d: better %q: want lower or higher", b.Line, b.Value)
		}
	}
	op, val, reg := seen["op"], seen["value"], seen["max_regression"]
	switch {
	case reg != nil && (op != nil || val != nil):
		return c, errors.New("has both op/value and max_regression; split it into two checks, one absolute and one against the baseline")
	case reg != nil:
		c.Regression = true
		p, err := parsePercent(reg.Value)
		if err != nil {
			return c, fmt.Errorf("line %d: max_regression %q: %w", reg.Line, reg.Value, err)
		}
		c.MaxRegression = p
		return c, nil
	case op == nil && val == nil:
		return c, errors.New(`neither value nor max_regression: add op and value (an absolute limit, e.g. op: "<" and value: 500) or max_regression (against --baseline, e.g. 15%)`)
	case op == nil:
		return c, errors.New(`value without op: add op, one of < <= == >= > (quote it in YAML: op: "<")`)
	case val == nil:
		return c, fmt.Errorf("line %d: op without value: add value, the number to compare with", op.Line)
	}
	if seen["better"] != nil {
		return c, fmt.Errorf("line %d: better only applies to max_regression; the op already says which way the limit goes", seen["better"].Line)
	}
	c.Op = Op(op.Value)
	if !c.Op.valid() {
		return c, fmt.Errorf(`line %d: op %q: want one of < <= == >= > (quote it in YAML: op: "<")`, op.Line, op.Value)
	}
	v, err := strconv.ParseFloat(val.Value, 64)
	if err != nil || math.IsNaN(v) {
		return c, fmt.Errorf("line %d: value %q: want a number, e.g. 500 or 0.5", val.Line, val.Value)
	}
	c.Value = v
	return c, nil
}

// parsePercent reads "15%" as 0.15. A bare number is refused: 0.15 and 15
// would both be plausible readings of it.
func parsePercent(s string) (float64, error) {
	t := strings.TrimSpace(s)
	num, ok := strings.CutSuffix(t, "%")
	if !ok {
		return 0, errors.New("want a percentage with a % sign, e.g. 15%")
	}
	p, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil || math.IsNaN(p) || math.IsInf(p, 0) {
		return 0, errors.New("want a number before the %, e.g. 15%")
	}
	if p < 0 {
		return 0, errors.New("must not be negative; 0% allows no regression at all")
	}
	return p / 100, nil
}

func formatPercent(f float64) string {
	return strconv.FormatFloat(f*100, 'f', -1, 64) + "%"
}
