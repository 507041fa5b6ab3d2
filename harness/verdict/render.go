package verdict

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/edabench/edabench/harness/stats"
)

// WriteJSON writes verdict.json.
func (v Verdict) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("encode the verdict: %w", err)
	}
	return nil
}

// WriteMarkdown writes verdict.md: one table row per claim, everything
// verdict.json says but the figures (the evidence quotes the deciding ones).
func (v Verdict) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# Verdict\n\nGenerated %s by `edabench verdict` from the runs' figures only. ", v.GeneratedAt.Format(time.RFC3339))
	b.WriteString("How each claim is decided, and the weaknesses of each method: docs/verdict.md. ")
	b.WriteString("Each deciding figure is the median over the scenario's repetitions with the order-statistics interval of that median ")
	b.WriteString("and its coverage (n=1: a point, the claim is marked single run); every figure is in verdict.json.\n\n")
	b.WriteString("| # | claim | status | evidence | deciding figures: median [interval] (n, coverage) | conditions | runs |\n|---|---|---|---|---|---|---|\n")
	for _, c := range v.Claims {
		status := string(c.Status)
		if c.SingleRun {
			status += " (single run)"
		}
		fmt.Fprintf(&b, "| %d | %s | **%s** | %s | %s | %s | %s |\n", c.ID, cell(c.Claim), status, cell(c.Evidence),
			cell(intervalList(c.Intervals, "; ")), cell(c.Conditions), cell(strings.Join(c.Runs, ", ")))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// intervalList is the claim's deciding figures, by name.
func intervalList(ivs map[string]stats.Interval, sep string) string {
	names := make([]string, 0, len(ivs))
	for k := range ivs {
		names = append(names, k)
	}
	sort.Strings(names)
	out := make([]string, len(names))
	for i, k := range names {
		out[i] = k + " " + ivs[k].String()
	}
	return strings.Join(out, sep)
}

// cell keeps a value inside its Markdown table cell.
func cell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	s = strings.ReplaceAll(s, "\n", " ")
	if s == "" {
		return "–"
	}
	return s
}

// WriteTable writes the verdict for a terminal: a status line per claim,
// its evidence under it.
func (v Verdict) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tSTATUS\tCLAIM")
	for _, c := range v.Claims {
		status := string(c.Status)
		if c.SingleRun {
			status += " (single run)"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\n", c.ID, status, c.Claim)
		fmt.Fprintf(tw, "\t\t  %s\n", c.Evidence)
		if len(c.Runs) > 0 {
			fmt.Fprintf(tw, "\t\t  runs: %s\n", strings.Join(c.Runs, ", "))
		}
	}
	return tw.Flush()
}
