package gate

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Result is one check applied to one run.
type Result struct {
	Check Check
	// Label overrides Check.Name() for rows that are not from the gate file.
	Label string
	Found bool // the metric is in the run (and the baseline) and is a number
	Value float64
	// Text is the run's figure as reports show it ("-" when not found).
	Text string
	// Limit is what the figure was held to, as reports show it.
	Limit string
	// Baseline and Change are set for regression checks: Change is the
	// fraction by which the run is worse than the baseline (negative when
	// better), in the check's direction.
	Baseline float64
	Change   float64
	Passed   bool
	// Message says why the check failed, in terms a person can act on.
	Message string
}

// Name is the check as reports list it.
func (r Result) Name() string {
	if r.Label != "" {
		return r.Label
	}
	return r.Check.Name()
}

// Complete is the row that fails a gate on a partial run: figures from a
// run that did not finish its schedule are not comparable with a limit.
func Complete(run map[string]any) Result {
	r := Result{Label: "partial", Check: Check{Metric: "partial"}, Limit: "== false", Found: true, Text: "false", Passed: true}
	if p, _ := run["partial"].(bool); p {
		r.Text, r.Value, r.Passed = "true", 1, false
		reason, _ := run["partial_reason"].(string)
		if reason == "" {
			reason = "no reason recorded"
		}
		r.Message = "run is partial: " + reason + " (pass --allow-partial to check it anyway)"
	}
	return r
}

// Evaluate applies every check to run, a decoded summary.json. baseline
// may be nil when no check is a regression check. A metric that is not in
// the run fails its check rather than being skipped: a gate must not pass
// because of a typo.
func (f *File) Evaluate(run, baseline map[string]any) []Result {
	out := make([]Result, 0, len(f.Checks))
	for _, c := range f.Checks {
		out = append(out, evaluate(c, run, baseline))
	}
	return out
}

func evaluate(c Check, run, baseline map[string]any) Result {
	r := Result{Check: c, Text: "-"}
	var allowed string
	if c.Regression {
		sign := "+"
		if c.Better == Higher {
			sign = "-"
		}
		allowed = fmt.Sprintf("at most %s%s", sign, formatPercent(c.MaxRegression))
		r.Limit = allowed + " vs baseline"
	} else {
		r.Limit = fmt.Sprintf("%s %s", c.Op, FormatNumber(c.Value))
	}
	v, err := Number(run, c.Metric)
	if err != nil {
		r.Message = err.Error()
		return r
	}
	r.Value, r.Text = v, FormatNumber(v)
	if !c.Regression {
		r.Found = true
		r.Passed = c.Op.holds(v, c.Value)
		if !r.Passed {
			r.Message = fmt.Sprintf("%s is %s, want %s %s", c.Metric, FormatNumber(v), c.Op, FormatNumber(c.Value))
		}
		return r
	}
	if baseline == nil {
		r.Message = "a max_regression check needs a baseline run: pass --baseline RUN_DIR"
		return r
	}
	b, err := Number(baseline, c.Metric)
	if err != nil {
		r.Message = "baseline: " + err.Error()
		return r
	}
	r.Found, r.Baseline = true, b
	r.Limit = fmt.Sprintf("baseline %s, %s", FormatNumber(b), allowed)
	r.Change = worse(c.Better, v, b)
	r.Text = fmt.Sprintf("%s (%s)", FormatNumber(v), formatChange(c.Better, r.Change))
	// A hair of tolerance, so that 15% computed in floating point is not
	// refused by a 15% limit.
	r.Passed = r.Change <= c.MaxRegression+1e-9
	if !r.Passed {
		if math.IsInf(r.Change, 1) {
			r.Message = fmt.Sprintf("%s is %s against a baseline of %s: any change away from 0 is a regression; use an absolute check for it", c.Metric, FormatNumber(v), FormatNumber(b))
		} else {
			r.Message = fmt.Sprintf("%s is %.1f%% worse than the baseline (%s vs %s); at most %s allowed", c.Metric, r.Change*100, FormatNumber(v), FormatNumber(b), formatPercent(c.MaxRegression))
		}
	}
	return r
}

// worse is the fraction by which v is worse than the baseline b in
// direction better; negative when v is better.
func worse(better Better, v, b float64) float64 {
	d := v - b
	if better == Higher {
		d = b - v
	}
	switch {
	case d == 0:
		return 0
	case b == 0:
		return math.Copysign(math.Inf(1), d)
	}
	return d / math.Abs(b)
}

// formatChange shows the change as a signed percent of the baseline, the
// way the figure moved (not the way it got worse), rounded to 0.1%.
func formatChange(better Better, w float64) string {
	moved := w
	if better == Higher {
		moved = -w
	}
	if math.IsInf(moved, 0) {
		return "baseline 0"
	}
	return fmt.Sprintf("%+.1f%%", moved*100)
}

// Number is the number at path (dot-separated map keys and array indexes)
// in a decoded summary.json. Its error names the path and, for a typo, the
// keys that were there to choose from.
func Number(doc map[string]any, path string) (float64, error) {
	v, err := Lookup(doc, path)
	if err != nil {
		return 0, err
	}
	switch n := v.(type) {
	case float64:
		return n, nil
	case int:
		return float64(n), nil
	case int64:
		return float64(n), nil
	case json.Number:
		return n.Float64()
	case map[string]any:
		return 0, fmt.Errorf("%s is an object, not a number; pick one of its keys: %s", path, strings.Join(keysOf(n), ", "))
	case []any:
		return 0, fmt.Errorf("%s is a list of %d, not a number; add an index, e.g. %s.0", path, len(n), path)
	case nil:
		return 0, fmt.Errorf("%s is null in this run, not a number", path)
	default:
		return 0, fmt.Errorf("%s is %v (%T), not a number", path, v, v)
	}
}

// Lookup walks path through doc.
func Lookup(doc map[string]any, path string) (any, error) {
	var cur any = doc
	parts := strings.Split(path, ".")
	for i, p := range parts {
		at := strings.Join(parts[:i], ".")
		where := at
		if where == "" {
			where = "summary.json"
		}
		switch node := cur.(type) {
		case map[string]any:
			next, ok := node[p]
			if !ok {
				keys := keysOf(node)
				msg := fmt.Sprintf("%s not found: %s has no key %q", path, where, p)
				if s := closest(p, keys); s != "" {
					msg += fmt.Sprintf(" (did you mean %q?)", s)
				}
				if len(keys) == 0 {
					return nil, fmt.Errorf("%s; it is empty in this run", msg)
				}
				return nil, fmt.Errorf("%s; keys there: %s", msg, strings.Join(keys, ", "))
			}
			cur = next
		case []any:
			idx, err := strconv.Atoi(p)
			if err != nil || idx < 0 || idx >= len(node) {
				if len(node) == 0 {
					return nil, fmt.Errorf("%s not found: %s is an empty list in this run", path, where)
				}
				return nil, fmt.Errorf("%s not found: %s is a list; want an index from 0 to %d, got %q", path, where, len(node)-1, p)
			}
			cur = node[idx]
		default:
			return nil, fmt.Errorf("%s not found: %s is %s, it has no key %q", path, where, describe(cur), p)
		}
	}
	return cur, nil
}

func describe(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	}
	return "a number"
}

func keysOf(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// closest is the key a typo most likely meant: within two edits, or the
// one key that contains it.
func closest(s string, keys []string) string {
	best, bestD := "", 3
	for _, k := range keys {
		if d := distance(s, k); d < bestD {
			best, bestD = k, d
		}
	}
	if best != "" {
		return best
	}
	var hits []string
	for _, k := range keys {
		if strings.Contains(k, s) || strings.Contains(s, k) {
			hits = append(hits, k)
		}
	}
	if len(hits) == 1 {
		return hits[0]
	}
	return ""
}

// distance is the Levenshtein distance.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// FormatNumber shows counts as integers and other figures to 3 decimals.
func FormatNumber(v float64) string {
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(math.Round(v*1000)/1000, 'f', -1, 64)
}
