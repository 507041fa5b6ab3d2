// Package compare sets two runs' summary.json side by side: every numeric
// figure under twins, with the change from the first run to the second.
// It reads decoded JSON rather than results.Summary so that runs written by
// an older or newer harness still compare on the keys they share.
package compare

import (
	"fmt"

	"github.com/edabench/edabench/harness/results"
	"github.com/edabench/edabench/internal/twinkind"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// curated are the figures most comparisons are about, per twin, in the
// order the run table shows them; the default view lists only these.
func curated() []string {
	return []string{
		"offered_rps", "achieved_rps",
		"ok", "errors", "timeouts",
		"ack.p50_ms", "ack.p99_ms", "ack.p999_ms", "ack.max_ms",
		"e2e.p50_ms", "e2e.p99_ms", "e2e.p999_ms", "e2e.max_ms",
		"orders.accepted", "orders.completed", "orders.lost",
		"audit.lost", "audit.duplicates_applied", "audit.orphaned_effects",
		"cpu_per_order_ms", "knee.rps",
	}
}

// Options chooses the rows.
type Options struct {
	// Filters keeps the metrics whose path contains any of them, among all
	// metrics (not only the curated ones).
	Filters []string
	// All lists every metric, the curated ones first.
	All bool
}

// Row is one metric of both runs; In* is false where a run lacks it.
type Row struct {
	Metric   string
	A, B     float64
	InA, InB bool
}

// Flatten maps the path of every numeric leaf under twins (map keys and
// list indexes joined with dots, as gate files name them) to its value.
func Flatten(summary map[string]any) map[string]float64 {
	out := map[string]float64{}
	if twins, ok := summary["twins"]; ok {
		flatten("twins", twins, out)
	}
	return out
}

func flatten(path string, v any, out map[string]float64) {
	switch n := v.(type) {
	case float64:
		out[path] = n
	case map[string]any:
		for k, c := range n {
			flatten(path+"."+k, c, out)
		}
	case []any:
		for i, c := range n {
			flatten(path+"."+strconv.Itoa(i), c, out)
		}
	}
}

// Rows lists the metrics chosen by o, and how many were left out for
// being 0 in both runs.
func Rows(a, b map[string]any, o Options) (rows []Row, zeros int) {
	fa, fb := Flatten(a), Flatten(b)
	all := map[string]bool{}
	for k := range fa {
		all[k] = true
	}
	for k := range fb {
		all[k] = true
	}
	var order []string
	for _, twin := range twinOrder(a, b) {
		for _, m := range curated() {
			if p := "twins." + twin + "." + m; all[p] {
				order = append(order, p)
			}
		}
	}
	if o.All || len(o.Filters) > 0 {
		rest := slices.Sorted(maps.Keys(all))
		rest = slices.DeleteFunc(rest, func(p string) bool { return slices.Contains(order, p) })
		order = append(order, rest...)
	}
	for _, p := range order {
		if len(o.Filters) > 0 && !slices.ContainsFunc(o.Filters, func(f string) bool { return strings.Contains(p, f) }) {
			continue
		}
		va, inA := fa[p]
		vb, inB := fb[p]
		if va == 0 && vb == 0 {
			// Absent counts as 0 here: a figure that is 0 or missing on
			// both sides (no errors, no faults) says nothing about the change.
			zeros++
			continue
		}
		rows = append(rows, Row{Metric: p, A: va, B: vb, InA: inA, InB: inB})
	}
	return rows, zeros
}

// twinOrder is rr, eda, hybrid, as the run table has them, then any other twin.
func twinOrder(a, b map[string]any) []string {
	seen := map[string]bool{}
	for _, s := range []map[string]any{a, b} {
		if t, ok := s["twins"].(map[string]any); ok {
			for k := range t {
				seen[k] = true
			}
		}
	}
	var out []string
	for _, t := range twinkind.All() {
		if seen[t] {
			out = append(out, t)
			delete(seen, t)
		}
	}
	return append(out, slices.Sorted(maps.Keys(seen))...)
}

// Info is the run's identity, shown above the figures so that a
// comparison of unlike runs (another scenario, a partial run) is plain.
func Info(summary map[string]any) [][2]string {
	str := func(v any) string {
		switch s := v.(type) {
		case nil:
			return "-"
		case string:
			return s
		}
		return fmt.Sprint(v)
	}
	scenario := "-"
	if sc, ok := summary["scenario"].(map[string]any); ok {
		scenario = str(sc["name"])
	}
	started := str(summary["started_at"])
	if t, err := time.Parse(time.RFC3339Nano, started); err == nil {
		started = t.UTC().Format(time.RFC3339)
	}
	partial := str(summary["partial"])
	if r, ok := summary["partial_reason"].(string); ok && r != "" {
		partial += " (" + r + ")"
	}
	backbone, twins := backboneOf(summary)
	if backbone == "" {
		backbone = "- (RR only)"
	}
	return [][2]string{
		{"run", str(summary["run_id"])},
		{"scenario", scenario},
		{"started_at", started},
		{"partial", partial},
		{"backbone", backbone},
		{"twins", twins},
	}
}

// backboneOf is the run's backbone (results.BackboneOf) and its twins,
// each broker twin named with it ("rr, eda@kafka"): runs on two backbones
// compare side by side, and the rows' twins.eda paths (the gate's names)
// do not say which broker each side ran over.
func backboneOf(summary map[string]any) (string, string) {
	var names []string
	if t, ok := summary["twins"].(map[string]any); ok {
		names = slices.Sorted(maps.Keys(t))
	}
	var broker string
	var nodes float64
	if env, ok := summary["environment"].(map[string]any); ok {
		if b, ok := env["broker"].(map[string]any); ok {
			broker, _ = b["name"].(string)
			nodes, _ = b["nodes"].(float64)
		}
	}
	backbone := results.BackboneOf(names, broker)
	var labels []string
	for _, t := range twinOrder(summary, nil) {
		labels = append(labels, results.TwinLabel(t, results.DeploymentOf(backbone, int(nodes))))
	}
	if len(labels) == 0 {
		return backbone, "-"
	}
	return backbone, strings.Join(labels, ", ")
}

// Write prints the runs' identities and the chosen rows as a table.
func Write(w io.Writer, a, b map[string]any, o Options) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "\tA\tB")
	ia, ib := Info(a), Info(b)
	for i := range ia {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", ia[i][0], ia[i][1], ib[i][1])
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	// A table of its own: the run ids are wider than any figure.
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	rows, zeros := Rows(a, b, o)
	fmt.Fprintln(tw, "metric\tA\tB\tchange")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Metric, cell(r.A, r.InA), cell(r.B, r.InB), change(r))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(rows) == 0 {
		fmt.Fprintln(w, "(no metric matches)")
	}
	var notes []string
	if zeros > 0 {
		notes = append(notes, fmt.Sprintf("%d metrics 0 in both runs not shown", zeros))
	}
	if !o.All && len(o.Filters) == 0 {
		notes = append(notes, "--all lists every metric, --filter SUBSTR picks some")
	}
	if len(notes) > 0 {
		fmt.Fprintf(w, "\n(%s)\n", strings.Join(notes, "; "))
	}
	return nil
}

func cell(v float64, ok bool) string {
	if !ok {
		return "-"
	}
	return formatNumber(v)
}

// change is B - A and its percent of A.
func change(r Row) string {
	if !r.InA || !r.InB {
		return ""
	}
	d := r.B - r.A
	if d == 0 {
		return "0"
	}
	s := formatNumber(d)
	if d > 0 {
		s = "+" + s
	}
	if r.A != 0 {
		s += fmt.Sprintf(" (%+.1f%%)", d/math.Abs(r.A)*100)
	}
	return s
}

// formatNumber shows counts as integers and other figures to 3 decimals.
func formatNumber(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(math.Round(v*1000)/1000, 'f', -1, 64)
}
