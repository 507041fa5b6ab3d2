// Command k6smoke is `make k6-smoke`: it starts the private broker and each
// twin the way the harness does (harness/launch), runs a k6 script (by
// default xk6-eda/examples/smoke.js) against it with bin/k6, shows k6's
// end-of-test summary, and prints the twin's own count of completed orders
// next to it.
//
// With --crosscheck, edabench drives the same twin at the same rate at the
// same time as k6, with the same arrival process (evenly spaced: k6's
// constant-arrival-rate, edabench's --arrival uniform; crosscheck.go says
// why), and both tools' end-to-end p50 are printed side by side:
// the same latency measured by two instruments under the same conditions
// should agree (within 15% is the goal; printed, not asserted). At the same
// time because on a shared machine two runs one after the other differ by
// more than that (seen: each tool's p50 moved 20-30% between runs).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/edabench/edabench/harness/brokernode"
	"github.com/edabench/edabench/harness/brokernodes"
	"github.com/edabench/edabench/harness/launch"
	"github.com/edabench/edabench/targets/workflow"
	"github.com/edabench/edabench/xk6-eda/internal/twins"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "k6smoke:", err)
		os.Exit(1)
	}
}

func run() error {
	k6 := flag.String("k6", "bin/k6", "the k6 binary with xk6-eda (make k6)")
	target := flag.String("target", "bin/target", "the twins' binary (make build); built into a temporary directory when missing")
	script := flag.String("script", "xk6-eda/examples/smoke.js", "the k6 script")
	twinList := flag.String("twins", "rr,eda", "the twins to run against, in order")
	duration := flag.String("duration", "", "passed to the script as DURATION (the examples' default when empty)")
	rate := flag.String("rate", "", "passed to the script as RATE, orders/s (the examples' default when empty)")
	crosscheck := flag.String("crosscheck", "", "an edabench binary: while k6 runs, drive the same twin with it at the same --rate and --duration, with evenly spaced arrivals as k6's (--arrival uniform), and compare end-to-end p50")
	out := flag.String("out", "results", "with --crosscheck: where edabench writes its runs")
	broker := flag.String("broker", brokernode.Default, "the EDA and hybrid twins' backbone: "+strings.Join(brokernodes.Builtin().Names(), " or ")+" (its private node is started or reused; over Kafka and NATS the twins declare k6's end queue, PREFIX.k6)")
	flag.Parse()
	if *crosscheck != "" && (*rate == "" || *duration == "") {
		return errors.New("--crosscheck needs --rate and --duration, so both tools run the same load")
	}
	if _, err := brokernodes.Builtin().Lookup(*broker); err != nil {
		return fmt.Errorf("--broker: %w", err)
	}
	if *crosscheck != "" && *broker != brokernode.Default {
		return fmt.Errorf("--crosscheck with --broker %s: the cross-check drives the twin over RabbitMQ only; drop one of them", *broker)
	}
	cc := &crossCheck{edabench: *crosscheck, rate: *rate, duration: *duration, out: *out}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	dir, err := os.MkdirTemp("", "xk6-eda-smoke-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin := *target
	if _, err := os.Stat(bin); err != nil {
		fmt.Println("k6smoke: building the target binary...")
		if bin, err = launch.BuildTarget(ctx, dir); err != nil {
			return err
		}
	}
	fmt.Printf("k6smoke: starting (or reusing) the private %s node...\n", *broker)
	kind, err := brokernodes.Builtin().Lookup(*broker)
	if err != nil {
		return fmt.Errorf("--broker: %w", err)
	}
	node, err := kind.Start(ctx)
	if err != nil {
		return err
	}
	var failed []string
	for _, twin := range splitComma(*twinList) {
		if err := runOne(ctx, node, *broker, bin, *k6, *script, *duration, *rate, filepath.Join(dir, twin), twin, cc); err != nil {
			fmt.Fprintf(os.Stderr, "k6smoke: %s twin: %v\n", twin, err)
			failed = append(failed, twin)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	cc.print(os.Stdout)
	if len(failed) > 0 {
		return fmt.Errorf("failed against %v", failed)
	}
	return nil
}

func runOne(ctx context.Context, node brokernode.Node, broker, bin, k6, script, duration, rate, dir, twin string, cc *crossCheck) (err error) {
	fmt.Printf("\nk6smoke: starting the %s twin...\n", twin)
	r, err := twins.StartOver(ctx, node, broker, bin, dir, twin)
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		err = errors.Join(err, r.Stop(sctx))
	}()
	export := filepath.Join(dir, "k6-summary.json")
	cmd := exec.CommandContext(ctx, k6, "run", "--summary-export", export, script)
	cmd.Env = append(os.Environ(), r.Env()...)
	cmd.Env = append(cmd.Env, "K6_NO_USAGE_REPORT=true") // no network: edabench stays on loopback
	if duration != "" {
		cmd.Env = append(cmd.Env, "DURATION="+duration)
	}
	if rate != "" {
		cmd.Env = append(cmd.Env, "RATE="+rate)
	}
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	var finish func(k6Export string, k6Err error)
	if cc.edabench != "" {
		finish = cc.start(ctx, r, node, twin, dir)
	}
	fmt.Printf("k6smoke: %s run %s against the %s twin (gateway %s)\n", k6, script, twin, r.Twin.GatewayAddr())
	runErr := cmd.Run()
	if finish != nil {
		finish(export, runErr)
	}
	applied, aerr := r.Applied(ctx, workflow.Notification)
	if aerr == nil {
		also := ""
		if finish != nil {
			also = ", edabench's orders included"
		}
		fmt.Printf("k6smoke: the %s twin's audit: %d orders completed (notification step applied%s); compare eda_orders_completed above\n", twin, applied, also)
	}
	return errors.Join(runErr, aerr)
}

func splitComma(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ',' {
			if i > start {
				out = append(out, s[start:i])
			}
			start = i + 1
		}
	}
	return out
}
