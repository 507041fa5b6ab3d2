package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/edabench/edabench/harness/brokernode"
	"github.com/edabench/edabench/harness/load"
	"github.com/edabench/edabench/harness/results"
	"github.com/edabench/edabench/internal/twinkind"
	"github.com/edabench/edabench/xk6-eda/internal/twins"
)

// crossArrival is the arrival process edabench's side of the cross-check
// uses: k6's constant-arrival-rate executor spaces requests evenly and has
// no Poisson executor, so edabench runs the smoke scenario uniform at the
// same rate. EDA's end-to-end p50 moves with burstiness alone (issue 17:
// 16.1 ms uniform against 24.2 ms Poisson at 100/s on one twin), so
// comparing k6's even spacing with the smoke scenario's Poisson measured
// the arrival process, not the instruments.
const crossArrival = load.Uniform

// k6ThresholdsCrossed is k6's exit code when a script's thresholds failed
// (k6's errext/exitcodes.ThresholdsHaveFailed), the run itself complete.
const k6ThresholdsCrossed = 99

// crossCheck compares k6 with xk6-eda against edabench on one twin.
type crossCheck struct {
	edabench, rate, duration, out string
	rows                          []crossRow
}

type crossRow struct {
	twin                   string
	arrival                string // the process edabench's summary says it ran
	note                   string
	k6P50, k6Count         float64
	ebP50, ebP50U, ebCount float64
	err                    string
}

// start drives the running twin with edabench (--target) in the
// background, its output in dir; finish waits for it and records both
// tools' end-to-end p50. Failures are recorded in the row, not returned:
// the cross-check reports, it does not gate.
func (c *crossCheck) start(ctx context.Context, r *twins.Running, node brokernode.Node, twin, dir string) (finish func(k6Export string, k6Err error)) {
	row := crossRow{twin: twin}
	args := []string{"run", "--twin", twin, "--target", r.Twin.GatewayAddr(), "--scenario", "smoke",
		"--rate", c.rate, "--duration", c.duration, "--arrival", string(crossArrival), "--out", c.out, "--metrics-addr", "off"}
	if twinkind.Of(twin).UsesBroker() {
		args = append(args, "--amqp", node.ClientURL(), "--prefix", r.Prefix)
	}
	logPath := filepath.Join(dir, "edabench-crosscheck.log")
	fmt.Printf("k6smoke: cross-check: %s %v, at the same time as k6 (its output: %s)\n", c.edabench, args, logPath)
	cmd := exec.CommandContext(ctx, c.edabench, args...)
	done := make(chan error, 1)
	if log, err := os.Create(logPath); err != nil {
		done <- err
	} else {
		cmd.Stdout, cmd.Stderr = log, log
		go func() {
			defer log.Close()
			done <- cmd.Run()
		}()
	}
	return func(k6Export string, k6Err error) {
		defer func() { c.rows = append(c.rows, row) }()
		ebErr := <-done
		var exit *exec.ExitError
		if errors.As(k6Err, &exit) && exit.ExitCode() == k6ThresholdsCrossed {
			// The script's thresholds failed, the measurement did not: a
			// loaded machine's p50 is still compared, and the row says so.
			row.note, k6Err = "k6's thresholds crossed", nil
		}
		switch {
		case k6Err != nil:
			row.err = fmt.Sprintf("k6: %v", k6Err)
		case ebErr != nil:
			// The log goes with the temporary folder: keep it in --out.
			row.err = fmt.Sprintf("edabench: %v: %s", ebErr, keepLog(logPath, filepath.Join(c.out, "edabench-crosscheck-"+twin+".log")))
		}
		if row.err != "" {
			return
		}
		if err := row.readK6(k6Export); err != nil {
			row.err = fmt.Sprintf("k6 summary: %v", err)
			return
		}
		if err := row.readEdabench(filepath.Join(c.out, "latest", "summary.json"), twin); err != nil {
			row.err = fmt.Sprintf("edabench summary: %v", err)
		}
	}
}

func (row *crossRow) readK6(path string) error {
	var k6 struct {
		Metrics map[string]map[string]any `json:"metrics"`
	}
	b, err := os.ReadFile(path)
	if err == nil {
		err = json.Unmarshal(b, &k6)
	}
	if err != nil {
		return err
	}
	num := func(metric, key string) float64 { v, _ := k6.Metrics[metric][key].(float64); return v }
	row.k6P50, row.k6Count = num("eda_e2e_duration", "med"), num("eda_orders_completed", "count")
	return nil
}

func (row *crossRow) readEdabench(path, twin string) error {
	var sum results.Summary
	b, err := os.ReadFile(path)
	if err == nil {
		err = json.Unmarshal(b, &sum)
	}
	if err != nil {
		return err
	}
	t := sum.Twins[twin]
	if t == nil {
		return fmt.Errorf("%s has no %s twin", path, twin)
	}
	row.ebP50, row.ebP50U, row.ebCount = t.E2E.P50, t.E2EUncorrected.P50, float64(t.E2E.Count)
	if sc, ok := sum.Scenario.(map[string]any); ok {
		row.arrival, _ = sc["arrival"].(string)
	}
	return nil
}

// print writes the side-by-side table.
func (c *crossCheck) print(w io.Writer) {
	if len(c.rows) == 0 {
		return
	}
	fmt.Fprintf(w, "\nCross-check at %s orders/s for %s, %s arrivals on both sides: end-to-end p50, ms (goal: within 15%%)\n", c.rate, c.duration, crossArrival)
	fmt.Fprintf(w, "%-7s %12s %16s %22s %9s %8s %18s %s\n", "twin", "k6+xk6-eda", "edabench", "edabench uncorrected", "diff", "within", "orders k6/edabench", "edabench arrival")
	for _, r := range c.rows {
		if r.err != "" {
			fmt.Fprintf(w, "%-7s %s\n", r.twin, r.err)
			continue
		}
		// k6 times from the actual send, like edabench's uncorrected figure;
		// at a light load the two edabench figures agree anyway.
		d := 100 * (r.k6P50 - r.ebP50U) / r.ebP50U
		within := "yes"
		if math.Abs(d) > 15 || math.IsNaN(d) {
			within = "no"
		}
		arrival := r.arrival
		if arrival != string(crossArrival) {
			// An edabench without --arrival ran the scenario's own process.
			arrival += " (not k6's: not like with like)"
		}
		if r.note != "" {
			arrival += "; " + r.note
		}
		fmt.Fprintf(w, "%-7s %12.2f %16.2f %22.2f %+8.1f%% %8s %18s %s\n", r.twin, r.k6P50, r.ebP50, r.ebP50U, d, within,
			fmt.Sprintf("%.0f/%.0f", r.k6Count, r.ebCount), arrival)
	}
	fmt.Fprintln(w, "Both tools ran at once against the same twin, each at the rate (the twin served twice it).")
	fmt.Fprintf(w, "Arrivals: k6's constant-arrival-rate spaces requests evenly; edabench ran the smoke scenario with --arrival %s, evenly spaced too\n", crossArrival)
	fmt.Fprintln(w, "(the smoke scenario's own arrivals are Poisson, which alone raises EDA's end-to-end p50). A report, not a gate.")
}

// keepLog copies a failed edabench's log to dst and says where it is and
// its last line.
func keepLog(src, dst string) string {
	b, err := os.ReadFile(src)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	where := "its log: " + dst
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err == nil {
		err = os.WriteFile(dst, b, 0o644)
	}
	if err != nil {
		where = "its log could not be kept: " + err.Error()
	}
	return lines[len(lines)-1] + " (" + where + ")"
}
