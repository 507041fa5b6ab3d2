package results

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/edabench/edabench/harness/cpubill"
	"github.com/edabench/edabench/internal/twinkind"
)

// WriteTable prints the twins side by side: the figures an architect reads
// first, with the accounting that proves none was lost.
func WriteTable(w io.Writer, s *Summary) error {
	// rr, eda, hybrid whatever the map order, then any other twin by name.
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
	twins = append(twins, others...)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	// The broker twins carry their backbone (eda@kafka): tables of runs on
	// two backbones are read side by side.
	labels := make([]string, len(twins))
	for i, t := range twins {
		labels[i] = TwinLabel(t, s.Backbone())
	}
	fmt.Fprintf(tw, "\t%s\t\n", strings.Join(labels, "\t"))
	row := func(label string, f func(*TwinResult) string) {
		cells := make([]string, len(twins))
		for i, t := range twins {
			cells[i] = f(s.Twins[t])
		}
		fmt.Fprintf(tw, "%s\t%s\t\n", label, strings.Join(cells, "\t"))
	}
	num := func(v int64) string { return fmt.Sprint(v) }
	msf := func(v float64) string { return fmt.Sprintf("%.2f ms", v) }
	row("offered", func(r *TwinResult) string { return fmt.Sprintf("%.0f/s", r.OfferedRPS) })
	row("achieved", func(r *TwinResult) string { return fmt.Sprintf("%.0f/s", r.AchievedRPS) })
	row("sent", func(r *TwinResult) string { return num(r.Sent) })
	row("ok", func(r *TwinResult) string { return num(r.OK) })
	row("rejected", func(r *TwinResult) string { return num(r.Rejected) })
	row("errors", func(r *TwinResult) string { return num(r.Errors) })
	row("timeouts", func(r *TwinResult) string { return num(r.Timeouts) })
	row("dropped", func(r *TwinResult) string { return num(r.Dropped) })
	row("ack p50", func(r *TwinResult) string { return msf(r.Ack.P50) })
	row("ack p99", func(r *TwinResult) string { return msf(r.Ack.P99) })
	row("ack p99.9", func(r *TwinResult) string { return msf(r.Ack.P999) })
	row("e2e p50", func(r *TwinResult) string { return msf(r.E2E.P50) })
	row("e2e p99", func(r *TwinResult) string { return msf(r.E2E.P99) })
	row("e2e max", func(r *TwinResult) string { return msf(r.E2E.Max) })
	row("orders accepted", func(r *TwinResult) string { return num(r.Orders.Accepted) })
	row("orders completed", func(r *TwinResult) string { return num(r.Orders.Completed) })
	row("orders lost", func(r *TwinResult) string { return num(r.Orders.Lost) })
	row("max queue depth", func(r *TwinResult) string { return num(r.Lag.MaxQueueDepth) })
	row("max consumer lag", func(r *TwinResult) string { return msf(r.Lag.MaxLagMs) })
	row("drain", func(r *TwinResult) string { return msf(r.Orders.DrainMs) })
	row("CPU per order", func(r *TwinResult) string { return msf(r.CPUPerOrderMs) })
	row("generator CPU/1k req", func(r *TwinResult) string { return fmt.Sprintf("%.3f s", r.GeneratorCPUPer1k) })
	audit := func(f func(a *TwinResult) int64) func(*TwinResult) string {
		return func(r *TwinResult) string {
			if r.Audit == nil {
				return "-"
			}
			return num(f(r))
		}
	}
	row("audit: lost", audit(func(r *TwinResult) int64 { return r.Audit.Lost }))
	row("audit: indeterminate", audit(func(r *TwinResult) int64 { return r.Audit.Indeterminate }))
	row("audit: duplicates delivered", audit(func(r *TwinResult) int64 { return r.Audit.DuplicatesDelivered }))
	row("audit: duplicates applied", audit(func(r *TwinResult) int64 { return r.Audit.DuplicatesApplied }))
	row("audit: orphaned effects", audit(func(r *TwinResult) int64 { return r.Audit.OrphanedEffects }))
	row("audit: dead-lettered", audit(func(r *TwinResult) int64 { return r.Audit.DeadLettered }))
	row("knee", func(r *TwinResult) string {
		if r.Knee == nil {
			return "-"
		}
		if !r.Knee.Reached {
			return fmt.Sprintf(">= %.0f/s", r.Knee.RPS)
		}
		return fmt.Sprintf("%.0f/s", r.Knee.RPS)
	})
	if err := tw.Flush(); err != nil {
		return err
	}
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
