package main

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/edabench/edabench/internal/twinkind"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/edabench/edabench/harness/broker"
	"github.com/edabench/edabench/harness/results"
	"github.com/edabench/edabench/xk6-eda/internal/twins"
)

// crossCheck compares k6 with xk6-eda against edabench on one twin.
type crossCheck struct {
	edabench, rate, duration, out string
	rows                          []crossRow
}

type crossRow struct {
	twin                   string
	k6P50, k6Count         float64
	ebP50, ebP50U, ebCount float64
	err                    string
}

// run drives the running twin with edabench (--target) and records both
// tools' end-to-end p50. Failures are recorded in the row, not returned:
// the cross-check reports, it does not gate.
func (c *crossCheck) run(ctx context.Context, r *twins.Running, node *broker.Node, twin, k6Export string) {
	row := crossRow{twin: twin}
	defer func() { c.rows = append(c.rows, row) }()
	var k6 struct {
		Metrics map[string]map[string]any `json:"metrics"`
	}
	b, err := os.ReadFile(k6Export)
	if err == nil {
		err = json.Unmarshal(b, &k6)
	}
	if err != nil {
		row.err = fmt.Sprintf("k6 summary: %v", err)
		return
	}
	num := func(metric, key string) float64 { v, _ := k6.Metrics[metric][key].(float64); return v }
	row.k6P50, row.k6Count = num("eda_e2e_duration", "med"), num("eda_orders_completed", "count")
	args := []string{"run", "--twin", twin, "--target", r.Twin.GatewayAddr(), "--scenario", "smoke",
		"--rate", c.rate, "--duration", c.duration, "--out", c.out, "--metrics-addr", "off"}
	if twinkind.UsesBroker(twin) {
		args = append(args, "--amqp", node.AMQPURL(), "--prefix", r.Prefix)
	}
	fmt.Printf("\nk6smoke: cross-check: %s %v\n", c.edabench, args)
	cmd := exec.CommandContext(ctx, c.edabench, args...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		row.err = fmt.Sprintf("edabench: %v", err)
		return
	}
	var sum results.Summary
	b, err = os.ReadFile(filepath.Join(c.out, "latest", "summary.json"))
	if err == nil {
		err = json.Unmarshal(b, &sum)
	}
	if err != nil || sum.Twins[twin] == nil {
		row.err = fmt.Sprintf("edabench summary: %v", err)
		return
	}
	t := sum.Twins[twin]
	row.ebP50, row.ebP50U, row.ebCount = t.E2E.P50, t.E2EUncorrected.P50, float64(t.E2E.Count)
}

// print writes the side-by-side table.
func (c *crossCheck) print(w io.Writer) {
	if len(c.rows) == 0 {
		return
	}
	fmt.Fprintf(w, "\nCross-check at %s orders/s for %s: end-to-end p50, ms (goal: within 15%%)\n", c.rate, c.duration)
	fmt.Fprintf(w, "%-5s %12s %16s %22s %9s %8s\n", "twin", "k6+xk6-eda", "edabench", "edabench uncorrected", "diff", "within")
	for _, r := range c.rows {
		if r.err != "" {
			fmt.Fprintf(w, "%-5s %s\n", r.twin, r.err)
			continue
		}
		// k6 times from the actual send, like edabench's uncorrected figure;
		// at a light load the two edabench figures agree anyway.
		d := 100 * (r.k6P50 - r.ebP50U) / r.ebP50U
		within := "yes"
		if math.Abs(d) > 15 || math.IsNaN(d) {
			within = "no"
		}
		fmt.Fprintf(w, "%-5s %12.2f %16.2f %22.2f %+8.1f%% %8s\n", r.twin, r.k6P50, r.ebP50, r.ebP50U, d, within)
	}
	fmt.Fprintln(w, "k6's constant-arrival-rate spaces requests evenly; the smoke scenario's are Poisson: the same mean rate.")
}
