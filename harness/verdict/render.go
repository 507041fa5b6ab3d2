package verdict

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
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
	b.WriteString("The deciding figures are in verdict.json.\n\n")
	b.WriteString("| # | claim | status | evidence | conditions | runs |\n|---|---|---|---|---|---|\n")
	for _, c := range v.Claims {
		fmt.Fprintf(&b, "| %d | %s | **%s** | %s | %s | %s |\n", c.ID, cell(c.Claim), c.Status, cell(c.Evidence),
			cell(c.Conditions), cell(strings.Join(c.Runs, ", ")))
	}
	_, err := io.WriteString(w, b.String())
	return err
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
		fmt.Fprintf(tw, "%d\t%s\t%s\n", c.ID, c.Status, c.Claim)
		fmt.Fprintf(tw, "\t\t  %s\n", c.Evidence)
		if len(c.Runs) > 0 {
			fmt.Fprintf(tw, "\t\t  runs: %s\n", strings.Join(c.Runs, ", "))
		}
	}
	return tw.Flush()
}
