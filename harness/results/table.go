package results

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/edabench/edabench/harness/audit"
	"github.com/edabench/edabench/harness/cpubill"
	"github.com/edabench/edabench/internal/twinkind"
)

// WriteTable prints the twins side by side: the figures an architect reads
// first, with the accounting that proves none was lost.
func WriteTable(w io.Writer, s *Summary) error {
	twins := tableTwins(s)
	if err := writeFigures(w, s, twins); err != nil {
		return err
	}
	writeNotes(w, s, twins)
	return writeFaultWindows(w, s, twins)
}

// tableTwins orders the columns: rr, eda, hybrid whatever the map order,
// then any other twin by name.
func tableTwins(s *Summary) []string {
	var twins, others []string
	for _, t := range twinkind.All() {
		if _, ok := s.Twins[t]; ok {
			twins = append(twins, t)
		}
	}
	for t := range s.Twins {
		if twinkind.Check(t) != nil {
			others = append(others, t)
		}
	}
	sort.Strings(others)
	return append(twins, others...)
}

// tableRow is one line of the figures table: its label and its cell.
type tableRow struct {
	label string
	cell  func(*TwinResult) string
}

func tableRows() []tableRow {
	num := func(v int64) string { return fmt.Sprint(v) }
	msf := func(v float64) string { return fmt.Sprintf("%.2f ms", v) }
	audited := func(f func(a *audit.Report) int64) func(*TwinResult) string {
		return func(r *TwinResult) string {
			if r.Audit == nil {
				return "-"
			}
			return num(f(r.Audit))
		}
	}
	return []tableRow{
		{"offered", func(r *TwinResult) string { return fmt.Sprintf("%.0f/s", r.OfferedRPS) }},
		{"achieved", func(r *TwinResult) string { return fmt.Sprintf("%.0f/s", r.AchievedRPS) }},
		{"sent", func(r *TwinResult) string { return num(r.Sent) }},
		{"ok", func(r *TwinResult) string { return num(r.OK) }},
		{"rejected", func(r *TwinResult) string { return num(r.Rejected) }},
		{"errors", func(r *TwinResult) string { return num(r.Errors) }},
		{"timeouts", func(r *TwinResult) string { return num(r.Timeouts) }},
		{"dropped", func(r *TwinResult) string { return num(r.Dropped) }},
		{"ack p50", func(r *TwinResult) string { return msf(r.Ack.P50) }},
		{"ack p99", func(r *TwinResult) string { return msf(r.Ack.P99) }},
		{"ack p99.9", func(r *TwinResult) string { return msf(r.Ack.P999) }},
		{"e2e p50", func(r *TwinResult) string { return msf(r.E2E.P50) }},
		{"e2e p99", func(r *TwinResult) string { return msf(r.E2E.P99) }},
		{"e2e max", func(r *TwinResult) string { return msf(r.E2E.Max) }},
		{"orders accepted", func(r *TwinResult) string { return num(r.Orders.Accepted) }},
		{"orders completed", func(r *TwinResult) string { return num(r.Orders.Completed) }},
		{"orders lost", func(r *TwinResult) string { return num(r.Orders.Lost) }},
		{"max queue depth", func(r *TwinResult) string { return num(r.Lag.MaxQueueDepth) }},
		{"max consumer lag", func(r *TwinResult) string { return msf(r.Lag.MaxLagMs) }},
		{"drain", func(r *TwinResult) string { return msf(r.Orders.DrainMs) }},
		{"CPU per order", func(r *TwinResult) string { return msf(r.CPUPerOrderMs) }},
		{"generator CPU/1k req", func(r *TwinResult) string { return fmt.Sprintf("%.3f s", r.GeneratorCPUPer1k) }},
		{"audit: lost", audited(func(a *audit.Report) int64 { return a.Lost })},
		{"audit: indeterminate", audited(func(a *audit.Report) int64 { return a.Indeterminate })},
		{"audit: duplicates delivered", audited(func(a *audit.Report) int64 { return a.DuplicatesDelivered })},
		{"audit: duplicates applied", audited(func(a *audit.Report) int64 { return a.DuplicatesApplied })},
		{"audit: orphaned effects", audited(func(a *audit.Report) int64 { return a.OrphanedEffects })},
		{"audit: dead-lettered", audited(func(a *audit.Report) int64 { return a.DeadLettered })},
		{"knee", kneeCell},
	}
}

func kneeCell(r *TwinResult) string {
	switch {
	case r.Knee == nil:
		return "-"
	case !r.Knee.Reached:
		return fmt.Sprintf(">= %.0f/s", r.Knee.RPS)
	}
	return fmt.Sprintf("%.0f/s", r.Knee.RPS)
}

// writeFigures is the table itself. The broker twins carry their backbone
// (eda@kafka): tables of runs on two backbones are read side by side.
func writeFigures(w io.Writer, s *Summary, twins []string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	labels := make([]string, len(twins))
	for i, t := range twins {
		labels[i] = TwinLabel(t, s.Deployment())
	}
	fmt.Fprintf(tw, "\t%s\t\n", strings.Join(labels, "\t"))
	for _, row := range tableRows() {
		cells := make([]string, len(twins))
		for i, t := range twins {
			cells[i] = row.cell(s.Twins[t])
		}
		fmt.Fprintf(tw, "%s\t%s\t\n", row.label, strings.Join(cells, "\t"))
	}
	return tw.Flush()
}

// writeNotes says what the table cannot: a partial run, why a knee reads
// as it does, what the audit could not read, the harness's own bill.
func writeNotes(w io.Writer, s *Summary, twins []string) {
	if s.Partial {
		fmt.Fprintf(w, "PARTIAL: %s\n", s.PartialReason)
	}
	for _, t := range twins {
		if k := s.Twins[t].Knee; k != nil && k.Reason != "" {
			fmt.Fprintf(w, "%s knee: %s\n", t, k.Reason)
		}
		if a := s.Twins[t].Audit; a != nil && len(a.Unaudited) > 0 {
			fmt.Fprintf(w, "%s audit could not read: %s\n", t, strings.Join(a.Unaudited, ", "))
		}
	}
	for _, t := range twins {
		if h := s.Twins[t].HarnessCPU; h != nil {
			fmt.Fprintf(w, "%s harness CPU per 1k req: %s\n", t, harnessBill(h))
		}
	}
}

// writeFaultWindows lists each fault window, when any twin had one.
func writeFaultWindows(w io.Writer, s *Summary, twins []string) error {
	var faults bool
	for _, t := range twins {
		faults = faults || len(s.Twins[t].Faults) > 0
	}
	if !faults {
		return nil
	}
	fmt.Fprintln(w, "\nfault windows:")
	ft := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(ft, "twin\tfault\twindow\terrors\ttimeouts\tdropped\tbacklog\trecovery\tdrain\t")
	for _, t := range twins {
		for _, f := range s.Twins[t].Faults {
			fmt.Fprintf(ft, "%s\t%s\t%.1f-%.1fs\t%d\t%d\t%d\t%d\t%s\t%s\t\n", t, f.Fault, f.StartS, f.EndS, f.Errors, f.Timeouts,
				f.Dropped, f.Backlog, msOrNever(f.RecoveryMs), msOrNever(f.DrainMs))
			if f.Error != "" {
				fmt.Fprintf(ft, "%s\t%s\t(%s)\t\t\t\t\t\t\t\n", t, f.Fault, f.Error)
			}
			if f.Node != "" {
				fmt.Fprintf(ft, "%s\t%s\t(%s)\t\t\t\t\t\t\t\n", t, f.Fault, nodeLine(f))
			}
		}
	}
	return ft.Flush()
}

// nodeLine is what a node fault measured, in words.
func nodeLine(f FaultWindow) string {
	line := f.Node
	switch {
	case f.Queue == "":
		line += ", led none of the busiest queue"
	case f.NewLeaderMs < 0:
		line += ", led " + f.Queue + "; no new leader in the window"
	default:
		line += fmt.Sprintf(", led %s; new leader after %s", f.Queue, msOrNever(f.NewLeaderMs))
	}
	return fmt.Sprintf("%s; %d s with failed orders", line, f.UnavailableS)
}

func msOrNever(v float64) string {
	if v < 0 {
		return "never"
	}
	return fmt.Sprintf("%.0f ms", v)
}

// harnessBill is the harness's CPU split on one line: load and runtime,
// then each observer that ran.
func harnessBill(h *cpubill.Split) string {
	parts := []string{fmt.Sprintf("%.3f s, load and runtime %.3f", h.ProcessPer1kS, h.LoadAndRuntimePer1kS)}
	for _, n := range h.Names() {
		if o := h.Observers[n]; o.Spans > 0 {
			parts = append(parts, fmt.Sprintf("%s %.4f", n, o.Per1kS))
		}
	}
	return strings.Join(parts, ", ")
}
