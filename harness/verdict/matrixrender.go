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
func (m Matrix) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(m); err != nil {
		return fmt.Errorf("encode the verdict: %w", err)
	}
	return nil
}

// Label is a backbone as a column title: its name and versions, its
// cluster's size when it is not one node ("x3"), and the deployment
// profile when it is not the historical one.
func (b Backbone) Label() string {
	l := b.Name
	if len(b.Versions) > 0 {
		l += " " + strings.Join(b.Versions, ", ")
	}
	return l + deploymentSuffix(b.Nodes, b.Profile)
}

// Column is the cell's column as its rows name it: the backbone, its
// cluster's size when not one node, and the profile when not the
// historical one: "rabbitmq x3 · datacenter".
func (c Cell) Column() string { return c.Backbone + deploymentSuffix(c.Nodes, c.Profile) }

// deploymentSuffix is what a column's title adds to its backbone: " x3"
// for a three-node cluster, " · PROFILE" for a profile not the historical.
func deploymentSuffix(nodes int, profile string) string {
	var s string
	if nodes > 1 {
		s = fmt.Sprintf(" x%d", nodes)
	}
	if profile != "" {
		s += " · " + profile
	}
	return s
}

// StatusText is the cell's status as the matrix shows it: "(single run)"
// when a deciding figure rests on one run, "(RR only)" when the cell is
// RR's runs alone and so the same in every column.
func (c Cell) StatusText() string {
	s := string(c.Status)
	if c.SingleRun {
		s += " (single run)"
	}
	if c.RROnly {
		s += " (RR only)"
	}
	return s
}

// WriteMarkdown writes verdict.md: the matrix (a row per claim, a column
// per backbone, each cell its status and deciding figures with their
// intervals), then each claim's details per backbone.
func (m Matrix) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# Verdict\n\nGenerated %s by `edabench verdict` from the runs' figures only. ", m.GeneratedAt.Format(time.RFC3339))
	b.WriteString("How each claim is decided, and the weaknesses of each method: docs/verdict.md. ")
	b.WriteString("Each claim is decided once per backbone and broker deployment (one node; `x3`: a replicated three-node cluster), over that column's runs and RR's (which use none). ")
	b.WriteString("On a cluster, claims 5 and 6 count the broker's own member failures (failure-node-kill, failure-node-pause) with the service faults. ")
	b.WriteString("Each deciding figure is the median over the scenario's repetitions with the order-statistics interval of that median ")
	b.WriteString("and its coverage (n=1: a point, the cell is marked single run); `not measured`: the claim's scenarios did not run on that backbone; ")
	b.WriteString("`RR only`: the cell read RR's runs alone, the same in every column. Every figure is in verdict.json.\n\n")
	b.WriteString("## The matrix\n\n| # | claim |")
	for _, bb := range m.Backbones {
		fmt.Fprintf(&b, " %s |", cell(bb.Label()))
	}
	b.WriteString("\n|---|---|" + strings.Repeat("---|", len(m.Backbones)) + "\n")
	for _, r := range m.Claims {
		fmt.Fprintf(&b, "| %d | %s |", r.ID, cell(r.Claim))
		for _, c := range r.Cells {
			text := "**" + c.StatusText() + "**"
			if figs := intervalList(c.Intervals, "; "); figs != "" {
				text += ": " + figs
			}
			fmt.Fprintf(&b, " %s |", cell(text))
		}
		b.WriteString("\n")
	}
	m.writeReplication(&b)
	b.WriteString("\n## The claims, per backbone\n")
	for _, r := range m.Claims {
		fmt.Fprintf(&b, "\n### %d. %s\n\n", r.ID, r.Claim)
		b.WriteString("| backbone | status | evidence | deciding figures: median [interval] (n, coverage) | conditions | runs |\n|---|---|---|---|---|---|\n")
		for _, c := range r.Cells {
			fmt.Fprintf(&b, "| %s | **%s** | %s | %s | %s | %s |\n", cell(c.Column()), cell(c.StatusText()), cell(c.Evidence),
				cell(intervalList(c.Intervals, "; ")), cell(c.Conditions), cell(strings.Join(c.Runs, ", ")))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteTable writes the matrix for a terminal: a line per claim, a line
// per backbone under it with the status and the evidence.
func (m Matrix) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tBACKBONE\tSTATUS\tCLAIM / EVIDENCE")
	for _, r := range m.Claims {
		fmt.Fprintf(tw, "%d\t\t\t%s\n", r.ID, r.Claim)
		for _, c := range r.Cells {
			fmt.Fprintf(tw, "\t%s\t%s\t%s\n", c.Column(), c.StatusText(), c.Evidence)
		}
	}
	return tw.Flush()
}
