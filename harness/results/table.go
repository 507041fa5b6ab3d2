package results

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
)

// WriteTable prints the twins side by side: the figures an architect reads
// first, with the accounting that proves none was lost.
func WriteTable(w io.Writer, s *Summary) error {
	twins := make([]string, 0, len(s.Twins))
	for t := range s.Twins {
		twins = append(twins, t)
	}
	// rr before eda, whatever the map order.
	sort.Sort(sort.Reverse(sort.StringSlice(twins)))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "\t%s\t\n", strings.Join(twins, "\t"))
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
	}
	return nil
}
