// Command edabench measures the event-driven and request-response twins
// against each other. See `edabench help`.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/edabench/edabench/harness/brokernode"
	"github.com/edabench/edabench/harness/brokernodes"
	"github.com/edabench/edabench/harness/isolate"
	"github.com/edabench/edabench/harness/load"
	"github.com/edabench/edabench/harness/netprofile"
	"github.com/edabench/edabench/harness/results"
	"github.com/edabench/edabench/harness/runner"
	"github.com/edabench/edabench/harness/scenario"
	"github.com/edabench/edabench/internal/twinkind"
	"github.com/edabench/edabench/targets/bus/drivers"
	"github.com/edabench/edabench/targets/serve"
	"github.com/edabench/edabench/targets/workflow"
	"golang.org/x/term"
)

const usage = `edabench measures an event-driven (EDA) and a request-response (RR) twin of
one order workflow against each other, with an open-model load.

Usage:
  edabench run [flags]        start the broker and the twins, drive a scenario, write results
  edabench gate --file GATE.yaml RUN_DIR
                              check a run against a gate file's limits (CI); see edabench gate --help
  edabench merge [--out DIR] RUN_DIR...
                              join the run folders of a sharded load (run --shard I/N) into one run,
                              percentiles merged exactly from the .hlog logs (edabench merge -h)
  edabench compare RUN_A RUN_B
                              two runs' figures side by side; see edabench compare --help
  edabench report RUN_DIR...  write RUN_DIR/report.html, one self-contained page (edabench report -h)
  edabench verdict [--out DIR] RUN_DIR...
                              decide each architecture claim (docs/verdict.md) from the runs' figures (edabench verdict -h)
  edabench scenarios [NAME]   list the built-in scenarios, or print one's YAML to copy and edit
  edabench serve --twin rr|eda|hybrid --service NAME [flags]
                              one service of a twin, as bin/target runs it (edabench run starts its own; edabench serve -h)
  edabench help               this text

Run flags:
`

const runExamples = `
Examples:
  edabench run --scenario smoke                       both twins, the 30 s smoke scenario
  edabench run --twin all --scenario smoke            rr, eda and hybrid side by side
  edabench run --twin all --scenario smoke --repeat 3 three repetitions (seeds 1-3), twins interleaved:
                                                      edabench verdict gives each figure its interval
  edabench run --twin eda --scenario spike --rate 800 spike peaking at 800 orders/s
  edabench run --twin all --broker kafka --scenario smoke
                                                      the EDA and hybrid twins over the private
                                                      Kafka node (make kafka fetches it once)
  edabench run --scenario soak --duration 2m          a short soak
  edabench run --twin rr --scenario chain --steps 2   the RR chain cut to gateway, payment, inventory
  edabench run --twin rr --target 127.0.0.1:7100 --scenario smoke
  edabench run --twin eda --target 127.0.0.1:7200 --broker kafka --broker-url 127.0.0.1:9102 --prefix edabench
                                                      drive a twin you started yourself
  edabench run --twin rr --target 127.0.0.1:7100 --shard 2/4 --start-at 2026-12-05T08:00:00Z
                                                      the second of four generators sharing one schedule
                                                      (edabench merge joins the four run folders)
  edabench scenarios spike > my-spike.yaml            copy a built-in scenario, edit it, then
  edabench run --scenario ./my-spike.yaml             run your file (a value with / or . is a path)

Scenarios: --scenario NAME is one built into edabench (edabench scenarios lists
them), whatever the working directory; a value with a / or a . is a file.
The twins' services run as --binary, else as the target binary beside
edabench (make build puts both in bin/), else as edabench serve: an installed
edabench needs neither.

Latency is measured from each request's intended send time (no coordinated
omission); the uncorrected service time is reported too. Results go to
OUT/<run-id>/ (OUT/latest points at it): summary.json, .hgrm and .hlog
histograms, timeseries.csv, the services' logs. An interrupted run (Ctrl-C)
still writes what it measured, with "partial": true.

Exit status: 0 done, 1 the run failed (partial results written), 2 bad input,
130 interrupted.
`

// cli is one invocation of edabench.
type cli struct {
	// self is this executable, which serves as every twin service (edabench
	// serve) when no target binary is at hand; empty in the tests, whose
	// binary cannot.
	self string
}

func main() {
	var c cli
	if exe, err := os.Executable(); err == nil {
		c.self = exe
	}
	os.Exit(c.run(os.Args[1:], os.Stdout, os.Stderr))
}

func (c cli) run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stdout, usage)
		fs, _ := runFlags(stdout)
		fs.PrintDefaults()
		fmt.Fprint(stdout, runExamples)
		return 0
	}
	switch args[0] {
	case "run":
		return c.runCmd(args[1:], stdout, stderr)
	case "scenarios":
		return scenariosCmd(args[1:], stdout, stderr)
	case "serve":
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		return serve.Main(ctx, "edabench serve", args[1:], stdout, stderr)
	case "gate":
		return gateCmd(args[1:], stdout, stderr)
	case "compare":
		return compareCmd(args[1:], stdout, stderr)
	case "report":
		return reportCmd(args[1:], stdout, stderr)
	case "verdict":
		return verdictCmd(args[1:], stdout, stderr)
	case "merge":
		return mergeCmd(args[1:], stdout, stderr)
	default:
		fmt.Fprintf(stderr, "edabench: unknown command %q: want run, merge, scenarios, report, verdict, gate, compare, serve or help\n", args[0])
		return 2
	}
}

type runOpts struct {
	twin, scenario, topology, broker, out, target, amqp, brokerURL, prefix, metrics, binary, logLevel, arrival string
	network, deployment, steps                                                                                 string
	shard, startAt, allow                                                                                      string
	rate                                                                                                       float64
	duration                                                                                                   time.Duration
	seed                                                                                                       uint64
	repeat, cluster                                                                                            int
	// stepCounts are the workflow lengths --steps asks for, one run each
	// (nil: the scenario's).
	stepCounts []int
}

// maxRepeat bounds --repeat: twenty repetitions of the longest shipped
// scenario already take hours on 2 cores, and an order-statistics interval
// at n=20 is as tight as a verdict needs (x(6)..x(15)).
const maxRepeat = 20

func runFlags(w io.Writer) (*flag.FlagSet, *runOpts) {
	o := &runOpts{}
	fs := flag.NewFlagSet("edabench run", flag.ContinueOnError)
	fs.SetOutput(w)
	fs.StringVar(&o.twin, "twin", "both", "rr, eda, hybrid, both (rr and eda) or all (the three): several run one after the other on identical schedules")
	fs.StringVar(&o.scenario, "scenario", "smoke", "a built-in scenario ("+strings.Join(scenario.Shipped(), ", ")+"; see edabench scenarios), or a scenario file's path (a value with a / or a .)")
	fs.StringVar(&o.topology, "topology", "", "chain or fanout (default: the scenario's)")
	fs.StringVar(&o.broker, "broker", "", "the backbone of the EDA and hybrid twins: "+strings.Join(brokernodes.Builtin().Names(), " or ")+"; edabench starts (or reuses) its private node (make kafka fetches Kafka first) (default: the scenario's broker key, else "+brokernode.Default+"; RR ignores it)")
	fs.StringVar(&o.steps, "steps", "", "run the first N workflow steps, 1 to 4 (payment, inventory, shipping, notification); N+1 hops in the RR chain; A..B runs once per length from A to B, into a run folder each (default: the scenario's)")
	fs.StringVar(&o.network, "network", "", "the network every hop carries, one way, for the whole run: "+strings.Join(netprofile.Names(), ", ")+" (figures and sources in docs/verdict.md), or custom figures latency=1ms,jitter=200us[,bandwidth_kbps=N] (default: the scenario's network key, else loopback)")
	fs.StringVar(&o.deployment, "deployment", "", "shared (every process competes for the cores) or isolated (each tier, generator, every service and the broker, capped at its CPU budget with a cgroup, as on separate hosts; needs root and a cgroup cpu controller) (default: the scenario's deployment key, else shared)")
	fs.Float64Var(&o.rate, "rate", 0, "override the scenario's peak rate, in orders/s (its stages scale with it)")
	fs.DurationVar(&o.duration, "duration", 0, "override the scenario's total load duration (its stages scale with it)")
	fs.StringVar(&o.arrival, "arrival", "", "override the scenario's arrival process: uniform (requests evenly spaced, as k6's constant-arrival-rate and wrk2 send them) poisson (exponential gaps, as independent users) or on-off (the same mean rate in bursts: Poisson at 4x the rate for the first 250 ms of every second, nothing for the rest)")
	fs.StringVar(&o.out, "out", "results", "results folder")
	fs.IntVar(&o.cluster, "cluster", 0, "run the EDA and hybrid twins over the broker's private cluster of N replicated nodes (3: RabbitMQ quorum queues on three nodes, Kafka replication factor 3 with min.insync.replicas 2); default the scenario's brokers.nodes, else the single node")
	fs.Uint64Var(&o.seed, "seed", 1, "seed of the arrival times and the services' draws")
	fs.IntVar(&o.repeat, "repeat", 1, fmt.Sprintf("run the scenario N times (1 to %d), each repetition with its own seed (--seed, --seed+1, ...) and run folder and the twins in the same order in each (rr, eda, hybrid, rr, eda, hybrid, ...), so a drifting machine hurts every twin alike; edabench verdict reads them together", maxRepeat))
	fs.StringVar(&o.target, "target", "", "gateway address of a twin already running (with --twin rr, eda or hybrid): no twin is started; checked first, as --broker-url is (an edabench gateway must answer there)")
	fs.StringVar(&o.brokerURL, "broker-url", "", "with --target and --twin eda or hybrid: the broker URL of the running twin, in --broker's form ("+urlForms()+"; where the driver routes itself, the twin started with --end-queue PREFIX.harness)")
	fs.StringVar(&o.amqp, "amqp", "", "RabbitMQ's name for --broker-url (kept for scripts written before Kafka)")
	fs.StringVar(&o.prefix, "prefix", "edabench", "with --target and --twin eda or hybrid: the running twin's --prefix")
	fs.StringVar(&o.metrics, "metrics-addr", "127.0.0.1:0", "address of the harness's live /metrics, or off")
	fs.StringVar(&o.binary, "binary", "", "the target binary (default: target beside edabench, else edabench itself as edabench serve)")
	fs.StringVar(&o.logLevel, "log-level", "warn", "debug, info, warn or error (logs go to stderr)")
	fs.StringVar(&o.shard, "shard", "", "I/N: run the I-th of N interleaved slices of the schedule (every N-th arrival, at one generator's times) against --target; N shards with one --start-at offer the scenario's rate and edabench merge joins their runs; job/N takes I from an Indexed Job's JOB_COMPLETION_INDEX (+1)")
	fs.StringVar(&o.startAt, "start-at", "", "the schedule's time zero, shared by every shard: RFC 3339 (2026-12-05T08:00:00Z) or unix milliseconds; the run waits for it and fails if its twin is ready after it")
	fs.StringVar(&o.allow, "allow", os.Getenv("EDABENCH_ALLOW"), "comma-separated HOST[:PORT] targets the harness may drive beyond loopback (in a cluster: the twin's Services); anything else is refused (default $EDABENCH_ALLOW; empty: loopback only)")
	return fs, o
}

func (c cli) runCmd(args []string, stdout, stderr io.Writer) int {
	fs, o := runFlags(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage); fs.PrintDefaults(); fmt.Fprint(stderr, runExamples) }
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "edabench run: unexpected argument %q (flags only; see edabench help)\n", fs.Arg(0))
		return 2
	}
	bad := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "edabench run: "+format+"\n", a...)
		return 2
	}
	twins, sc, level, err := o.check()
	if err != nil {
		return bad("%v", err)
	}
	sh, err := o.checkShard(os.Getenv, time.Now())
	if err != nil {
		return bad("%v", err)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	// The broker and bus packages log through the default logger.
	slog.SetDefault(log)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	tty := false
	if f, ok := stdout.(*os.File); ok {
		tty = term.IsTerminal(int(f.Fd()))
	}
	lengths := o.stepCounts
	if lengths == nil {
		lengths = []int{0} // the scenario's
	}
	for _, n := range lengths {
		one := sc
		if n != 0 {
			cp := *sc // the runner reads the scenario, never writes it
			cp.Steps = n
			one = &cp
			if len(lengths) > 1 {
				fmt.Fprintf(stdout, "workflow of %d step(s)\n", n)
			}
		}
		if code := c.repeatRuns(ctx, o, one, twins, sh, log, stdout, stderr, tty); code != 0 {
			return code
		}
	}
	return 0
}

// repeatRuns runs one scenario --repeat times.
func (c cli) repeatRuns(ctx context.Context, o *runOpts, sc *scenario.Scenario, twins []string, sh shardOpts, log *slog.Logger, stdout, stderr io.Writer, tty bool) int {
	for i := range o.repeat {
		// Each repetition draws its own schedule. The runner draws from
		// this seed, not from the scenario file's seed key, so the scenario
		// records the seed drawn: its summary then says which schedule,
		// and which repetition, it is (the file's key went unused before).
		seed := o.seed + uint64(i)
		sc.Seed = seed
		if o.repeat > 1 {
			fmt.Fprintf(stdout, "repetition %d of %d (seed %d)\n", i+1, o.repeat, seed)
		}
		code, err := c.runOnce(ctx, o, stdout, tty, runner.WithTwins(twins...), runner.WithScenario(sc), runner.WithSeed(seed),
			runner.WithLogger(log), runner.WithShard(sh.shard), runner.WithStartAt(sh.startAt), runner.WithAllow(sh.allow))
		switch {
		case errors.Is(err, runner.ErrInvalid):
			// "edabench run: --target ...", not "edabench run: invalid run options: --target ...".
			fmt.Fprintf(stderr, "edabench run: %s\n", strings.TrimPrefix(err.Error(), runner.ErrInvalid.Error()+": "))
			return 2
		case ctx.Err() != nil:
			fmt.Fprintf(stderr, "edabench run: interrupted in repetition %d of %d; its partial results written, the %d before it complete\n", i+1, o.repeat, i)
			return 130
		case err != nil:
			fmt.Fprintf(stderr, "edabench run: %v\n", err)
			return code
		}
	}
	return 0
}

// runOnce runs the scenario once into its own run folder and prints its
// table; the options given are the repetition's own.
func (c cli) runOnce(ctx context.Context, o *runOpts, stdout io.Writer, tty bool, opts ...runner.Option) (int, error) {
	bin, binArgs := c.targetCommand(o.binary)
	opts = append(opts, runner.WithOutDir(o.out), runner.WithTarget(o.target), runner.WithExternalBroker(o.brokerURL, o.prefix), runner.WithBroker(o.broker), runner.WithCluster(o.cluster),
		runner.WithBinary(bin, binArgs...), runner.WithMetricsAddr(o.metrics), runner.WithProgress(stdout, tty))
	sum, dir, err := runner.Run(ctx, opts...)
	if tty {
		fmt.Fprintln(stdout) // end the progress line
	}
	if sum != nil {
		fmt.Fprintln(stdout)
		results.WriteTable(stdout, sum)
		fmt.Fprintf(stdout, "\nresults: %s\n", dir)
	}
	if err != nil {
		return 1, err // the caller names the command
	}
	return 0, nil
}

// urlForms is each driver's client URL form, by its private node's URL.
func urlForms() string {
	var out []string
	for _, k := range drivers.Builtin().Kinds() {
		out = append(out, k.Title+": "+k.DefaultURL)
	}
	return strings.Join(out, "; ")
}

// settleBrokerURL folds --amqp, RabbitMQ's name for it, into --broker-url.
func (o *runOpts) settleBrokerURL() error {
	switch {
	case o.amqp == "":
		return nil
	case o.broker != "" && o.broker != brokernode.Default:
		return fmt.Errorf("--amqp is RabbitMQ's broker URL; with --broker %s give the running twin's as --broker-url (%s) and drop --amqp", o.broker, urlForms())
	case o.brokerURL != "" && o.brokerURL != o.amqp:
		return fmt.Errorf("--amqp %q and --broker-url %q disagree: --amqp is another name for --broker-url; give one", o.amqp, o.brokerURL)
	}
	o.brokerURL = o.amqp
	return nil
}

// check validates the run flags and applies them to the scenario.
func (o *runOpts) check() ([]string, *scenario.Scenario, slog.Level, error) {
	twins, err := twinkind.ParseSet(o.twin)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("--twin: %w", err)
	}
	if err := o.settleBrokerURL(); err != nil {
		return nil, nil, 0, err
	}
	if o.rate < 0 {
		return nil, nil, 0, fmt.Errorf("--rate %v: must be positive (orders per second)", o.rate)
	}
	if o.duration < 0 {
		return nil, nil, 0, fmt.Errorf("--duration %v: must be positive", o.duration)
	}
	if o.repeat < 1 || o.repeat > maxRepeat {
		return nil, nil, 0, fmt.Errorf("--repeat %d: want 1 to %d", o.repeat, maxRepeat)
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		return nil, nil, 0, fmt.Errorf("--log-level %q: want debug, info, warn or error", o.logLevel)
	}
	sc, err := scenario.Resolve(o.scenario)
	if err != nil {
		return nil, nil, 0, err
	}
	if o.topology != "" {
		if o.topology != "chain" && o.topology != "fanout" {
			return nil, nil, 0, fmt.Errorf("--topology %q: want chain or fanout", o.topology)
		}
		sc.Topology = o.topology
	}
	if o.stepCounts, err = parseSteps(o.steps); err != nil {
		return nil, nil, 0, err
	}
	if len(o.stepCounts) > 0 {
		if err := sc.OverrideSteps(o.stepCounts[0]); err != nil {
			return nil, nil, 0, err
		}
	}
	if o.network != "" {
		if sc.Network, err = netprofile.Parse(o.network); err != nil {
			return nil, nil, 0, fmt.Errorf("--network: %w", err)
		}
	}
	if o.deployment != "" {
		if err := isolate.CheckMode(o.deployment); err != nil {
			return nil, nil, 0, fmt.Errorf("--deployment: %w", err)
		}
		sc.Deployment = o.deployment
	}
	if err := sc.Override(o.rate, o.duration); err != nil {
		return nil, nil, 0, err
	}
	if o.arrival != "" {
		// The same process on both sides of a comparison: EDA's end-to-end
		// latency moves with burstiness alone (docs/verdict.md).
		a := load.Arrival(o.arrival)
		if err := load.CheckArrival(a); err != nil {
			return nil, nil, 0, fmt.Errorf("--arrival: %w", err)
		}
		sc.Arrival = a
	}
	return twins, sc, level, nil
}

// parseSteps reads --steps: N, or A..B for every length from A to B.
func parseSteps(s string) ([]int, error) {
	if s == "" {
		return nil, nil
	}
	lo, hi, isRange := strings.Cut(s, "..")
	if !isRange {
		hi = lo
	}
	a, errA := strconv.Atoi(strings.TrimSpace(lo))
	b, errB := strconv.Atoi(strings.TrimSpace(hi))
	switch {
	case errA != nil || errB != nil:
		return nil, fmt.Errorf("--steps %q: want a number of steps, 1 to %d, or a range such as 1..4", s, workflow.MaxSteps)
	case a > b:
		return nil, fmt.Errorf("--steps %q: the range runs from the shorter workflow to the longer, e.g. 1..4", s)
	}
	var out []int
	for n := a; n <= b; n++ {
		if err := workflow.CheckStepCount(n); err != nil {
			return nil, fmt.Errorf("--steps %q: %d must be 1 to %d: run the first N of payment, inventory, shipping, notification", s, n, workflow.MaxSteps)
		}
		out = append(out, n)
	}
	return out, nil
}

// targetCommand is what runs the twins' services: --binary; else the
// target built beside edabench (make build puts both in bin/); else edabench
// itself, whose serve subcommand is the target's code, so an installed
// edabench needs neither a target binary nor the source to build one. With
// no executable of its own (the tests) the runner's default stands: the
// target beside the test binary, or built from source.
func (c cli) targetCommand(binary string) (string, []string) {
	if binary != "" || c.self == "" {
		return binary, nil
	}
	if p := filepath.Join(filepath.Dir(c.self), "target"); isFile(p) {
		return p, nil
	}
	return c.self, []string{"serve"}
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}
