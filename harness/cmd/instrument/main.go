// Command instrument is `make bench-instrument`: it measures edabench, the
// instrument, against the tools people would use instead, on this machine,
// in one run (issue 9; docs/performance.md):
//
//  1. generator cost: ghz and edabench drive the RR twin at the same rates;
//     CPU per 1,000 requests, peak RSS, p50/p99, highest sustainable rate;
//  2. latency fidelity: a 1 s freeze of the RR gateway in a 10 s run, as
//     edabench, ghz and k6 report it, next to what the schedule implies;
//  3. broker ceiling: a publish-confirm/consume-ack probe of each private
//     broker (--brokers, RabbitMQ and Kafka by default, side by side) with
//     the twin's settings, and the EDA twin's knee over it as a share;
//  4. soak memory: edabench and bin/k6 (xk6-eda, HDR on) soak a twin; RSS
//     every 10 s, growth after the first minute;
//  5. suite time: `make bench` end to end;
//  6. the floor: a bare open-loop grpc-go client (bareclient) and edabench,
//     every observer on, drive the RR twin at the same rates; CPU per
//     request of each and the ratio.
//
// Everything goes to OUT/instrument-<time>/: performance.md (the table),
// results.json (every figure) and raw/ (each tool's own output).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"github.com/edabench/edabench/internal/twinkind"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/edabench/edabench/harness/brokernodes"
	"github.com/edabench/edabench/harness/launch"
	"github.com/edabench/edabench/harness/runner"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "instrument:", err)
		os.Exit(1)
	}
}

// config is every knob; durations are already scaled.
type config struct {
	out   string
	parts []int
	cost  string

	edabench, target, ghz, k6, root string

	rates        []float64
	genDur       time.Duration
	searchDur    time.Duration
	searchBudget time.Duration

	fidRate             float64
	fidDur, freezeAt    time.Duration
	freezeFor           time.Duration
	fidVUs, fidMaxVUs   int
	probeDur, rampDur   time.Duration
	rampDurSet          bool
	shareScenario       string
	holdDur             time.Duration
	probePublishers     int
	pairs               int
	brokers             []string
	soakDur, soakWarmup time.Duration
	soakEvery           time.Duration
	soakRate            float64
	soakTwin            string
	floorRates          []float64
	floorDur            time.Duration
}

func parseFlags(args []string) (config, error) {
	var c config
	fs := flag.NewFlagSet("instrument", flag.ContinueOnError)
	fs.StringVar(&c.out, "out", "results", "results folder: the run goes to OUT/instrument-<time>/")
	parts := fs.String("parts", "1,2,3,4,5,6", "the parts to run: 1 generator cost, 2 latency fidelity, 3 broker ceiling, 4 soak memory, 5 suite time, 6 the floor (a bare grpc-go client)")
	scale := fs.Float64("scale", 1, "multiplies every default duration (0.1 for a quick try); explicit duration flags are not scaled")
	fs.StringVar(&c.cost, "cost", "dist=exponential,mean=1ms,cap=10ms", "the twins' step cost (the smoke scenario's)")
	fs.StringVar(&c.edabench, "edabench", "bin/edabench", "edabench binary (make build)")
	fs.StringVar(&c.target, "target", "bin/target", "the twins' binary (make build)")
	fs.StringVar(&c.ghz, "ghz", "bin/ghz", "ghz binary (make ghz)")
	fs.StringVar(&c.k6, "k6", "bin/k6", "k6 with xk6-eda (make k6)")
	rates := fs.String("rates", "500,2000,5000", "part 1: the fixed rates, orders/s")
	genDur := fs.Duration("gen-duration", 0, "part 1: each fixed-rate run (default 10s, scaled)")
	searchDur := fs.Duration("search-duration", 0, "part 1: each step of the highest-rate search (default 5s, scaled)")
	searchBudget := fs.Duration("search-budget", 0, "part 1: time allowed per tool for the search (default 90s, scaled)")
	fs.Float64Var(&c.fidRate, "fidelity-rate", 200, "part 2: the rate, orders/s")
	fidDur := fs.Duration("fidelity-duration", 10*time.Second, "part 2: each run (not scaled: the freeze needs a run around it)")
	fs.DurationVar(&c.freezeAt, "freeze-at", 4*time.Second, "part 2: when the gateway is frozen, from the generator's start")
	fs.DurationVar(&c.freezeFor, "freeze-for", time.Second, "part 2: how long the gateway stays frozen (SIGSTOP)")
	fs.IntVar(&c.fidVUs, "fidelity-vus", 10, "part 2: ghz's concurrency and k6's constant VUs (closed loops)")
	fs.IntVar(&c.fidMaxVUs, "fidelity-max-vus", 50, "part 2: k6 constant-arrival-rate's maxVUs (as in xk6-eda/examples/smoke.js)")
	probeDur := fs.Duration("probe-duration", 0, "part 3: the broker probe (default 30s, scaled)")
	rampDur := fs.Duration("ramp-duration", 0, "part 3: with --share-scenario capacity, the ramp's steps in all (default the capacity scenario's 5m20s, scaled; it stops at the first step the twin does not keep up with); with knee, the search's bound if set")
	fs.StringVar(&c.shareScenario, "share-scenario", shareKnee, "part 3: where the EDA twin's sustainable rate comes from: knee (the knee search's completion knee, claim 3's figure, up to 6,400/s within 100 s) or capacity (50/s steps of 8 s up to 2,000/s)")
	holdDur := fs.Duration("hold", 0, "part 3: after each knee, hold the EDA twin at it this long (after a 6 s climb), metered: whether it sustains the knee, and the CPU split at it (default 20s, scaled; 0s: no hold)")
	brokers := fs.String("brokers", strings.Join(brokernodes.Builtin().Names(), ","), "part 3: the backbones measured side by side, in this order, comma separated")
	fs.IntVar(&c.pairs, "pairs", 5, "part 3: probe-and-ramp pairs per backbone, interleaved (the order alternates), for the share's interval; 1 for a single reading")
	fs.IntVar(&c.probePublishers, "probe-publishers", 0, "part 3: concurrent publishers per queue of the probe (default: the twin's prefetch on the backbone, one publish per handler in flight: RabbitMQ and NATS 256, Kafka 64)")
	soak := fs.Duration("soak", 0, "part 4: each soak (default 20m, or $SOAK, scaled)")
	soakWarmup := fs.Duration("soak-warmup", 0, "part 4: growth counts from this point (default 1m, scaled)")
	fs.DurationVar(&c.soakEvery, "soak-every", 10*time.Second, "part 4: RSS sampling period")
	fs.Float64Var(&c.soakRate, "soak-rate", 50, "part 4: each soak's rate, orders/s (two twins soak at once: keep them inside the cores)")
	fs.StringVar(&c.soakTwin, "soak-twin", twinkind.EDA, "part 4: the twin soaked: eda (completions tracked across the broker) or rr")
	floorRates := fs.String("floor-rates", "100,1000", "part 6: the rates, orders/s, at which edabench and the bare client take turns")
	floorDur := fs.Duration("floor-duration", 0, "part 6: each run (default 30s, scaled)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if *scale <= 0 {
		return c, fmt.Errorf("--scale %v: want a positive factor", *scale)
	}
	err := c.parseLists(*parts, *rates, *brokers, *floorRates)
	if err != nil {
		return c, err
	}
	soakDefault := 20 * time.Minute
	if s := os.Getenv("SOAK"); s != "" {
		if soakDefault, err = time.ParseDuration(s); err != nil {
			return c, fmt.Errorf("SOAK=%q: want a duration such as 20m: %w", s, err)
		}
	}
	pick := func(explicit, def time.Duration) time.Duration {
		if explicit > 0 {
			return explicit
		}
		return (time.Duration(float64(def) * *scale)).Round(100 * time.Millisecond)
	}
	c.genDur = pick(*genDur, 10*time.Second)
	c.searchDur = pick(*searchDur, 5*time.Second)
	c.searchBudget = pick(*searchBudget, 90*time.Second)
	c.fidDur = *fidDur
	c.probeDur = pick(*probeDur, 30*time.Second)
	c.rampDur = pick(*rampDur, 320*time.Second)
	c.rampDurSet = *rampDur > 0
	c.holdDur = pick(*holdDur, 20*time.Second)
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "hold" && *holdDur == 0 {
			c.holdDur = 0
		}
	})
	c.soakDur = pick(*soak, soakDefault)
	c.soakWarmup = pick(*soakWarmup, time.Minute)
	c.floorDur = pick(*floorDur, floorDefault)
	if c.freezeAt+c.freezeFor >= c.fidDur {
		return c, fmt.Errorf("--freeze-at %v + --freeze-for %v must end inside the %v fidelity run", c.freezeAt, c.freezeFor, c.fidDur)
	}
	return c, nil
}

// parseLists reads the list flags and checks the choices.
func (c *config) parseLists(parts, rates, brokers, floorRates string) error {
	var err error
	if c.parts, err = parseParts(parts); err != nil {
		return err
	}
	if c.rates, err = parseRates(rates); err != nil {
		return err
	}
	if c.brokers, err = parseBrokers(brokers); err != nil {
		return err
	}
	if c.floorRates, err = parseRates(floorRates); err != nil {
		return fmt.Errorf("--floor-rates: %w", err)
	}
	if c.pairs < 1 || c.pairs > 20 {
		return fmt.Errorf("--pairs %d: want 1 to 20 (each pair is a probe and a ramp of up to --ramp-duration)", c.pairs)
	}
	if c.shareScenario != shareKnee && c.shareScenario != shareCapacity {
		return fmt.Errorf("--share-scenario %q: want %s or %s", c.shareScenario, shareKnee, shareCapacity)
	}
	if c.soakTwin != twinkind.RR && c.soakTwin != twinkind.EDA {
		return fmt.Errorf("--soak-twin %q: want rr or eda", c.soakTwin)
	}
	return nil
}

func parseParts(s string) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 6 {
			return nil, fmt.Errorf("--parts %q: want numbers 1 to 6, comma separated", s)
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out, nil
}

// parseBrokers reads --brokers: broker node kinds edabench can run, each
// once, in the order given.
func parseBrokers(s string) ([]string, error) {
	var out []string
	for f := range strings.SplitSeq(s, ",") {
		b := strings.TrimSpace(f)
		if _, err := brokernodes.Builtin().Lookup(b); err != nil {
			return nil, fmt.Errorf("--brokers %q: %w", s, err)
		}
		if !slices.Contains(out, b) {
			out = append(out, b)
		}
	}
	return out, nil
}

func parseRates(s string) ([]float64, error) {
	var out []float64
	for f := range strings.SplitSeq(s, ",") {
		r, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || r <= 0 {
			return nil, fmt.Errorf("--rates %q: want positive rates in orders/s, comma separated", s)
		}
		out = append(out, r)
	}
	return out, nil
}

// checkTools fails before any load starts, naming what is missing and how
// to get it, rather than half-way through a long run.
func (c *config) checkTools() error {
	type tool struct{ flag, make string }
	eb, tg, ghz, k6 := tool{"edabench", "make build"}, tool{"target", "make build"}, tool{"ghz", "make ghz"}, tool{"k6", "make k6"}
	needs := map[int][]tool{1: {eb, tg, ghz}, 2: {eb, tg, ghz, k6}, 3: {eb, tg}, 4: {eb, tg, k6}, 6: {eb, tg}}
	paths := map[string]*string{"edabench": &c.edabench, "target": &c.target, "ghz": &c.ghz, "k6": &c.k6}
	var errs []error
	seen := map[string]bool{}
	for _, p := range c.parts {
		for _, n := range needs[p] {
			if seen[n.flag] {
				continue
			}
			seen[n.flag] = true
			path := *paths[n.flag]
			if !filepath.IsAbs(path) {
				path = filepath.Join(c.root, path)
			}
			if st, err := os.Stat(path); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
				errs = append(errs, fmt.Errorf("%s not found at %s (--%s): run `%s` first", n.flag, path, n.flag, n.make))
				continue
			}
			*paths[n.flag] = path
		}
	}
	return errors.Join(errs...)
}

func run() error {
	c, err := parseFlags(os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	// targets/bus and harness/broker log through the default logger; their
	// connection chatter would bury the figures.
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if c.root, err = launch.ModuleRoot(ctx); err != nil {
		return err
	}
	if err := c.checkTools(); err != nil {
		return err
	}
	out := c.out
	if !filepath.IsAbs(out) {
		out = filepath.Join(c.root, out)
	}
	dir := filepath.Join(out, "instrument-"+time.Now().Format("20060102-150405"))
	if err := os.MkdirAll(filepath.Join(dir, "raw"), 0o755); err != nil {
		return fmt.Errorf("results folder: %w", err)
	}
	r := &report{Started: time.Now(), Machine: runner.Environment(ctx), Parts: c.parts, Errors: map[string]string{}}
	r.Settings = c.settings()
	fmt.Printf("instrument: parts %v; results in %s\n", c.parts, dir)
	s := &session{cfg: c, dir: dir, raw: filepath.Join(dir, "raw")}

	steps := map[int]struct {
		name string
		run  func(context.Context) error
	}{
		1: {"generator", func(ctx context.Context) (err error) { r.Generator, err = s.generator(ctx); return }},
		2: {"fidelity", func(ctx context.Context) (err error) { r.Fidelity, err = s.fidelity(ctx); return }},
		3: {"ceiling", func(ctx context.Context) (err error) { r.Ceiling, err = s.ceiling(ctx); return }},
		4: {"soak", func(ctx context.Context) (err error) { r.Soak, err = s.soak(ctx); return }},
		5: {"suite", func(ctx context.Context) (err error) { r.Suite, err = s.suite(ctx); return }},
		6: {"floor", func(ctx context.Context) (err error) { r.Floor, err = s.floor(ctx); return }},
	}
	var failed []string
	for _, p := range c.parts {
		st := steps[p]
		fmt.Printf("\ninstrument: part %d, %s\n", p, st.name)
		// A part that fails is reported and the next one still runs: one
		// broken peer must not cost the other measurements.
		if err := st.run(ctx); err != nil {
			fmt.Fprintf(os.Stderr, "instrument: part %d (%s): %v\n", p, st.name, err)
			r.Errors[st.name] = err.Error()
			failed = append(failed, st.name)
		}
		if ctx.Err() != nil {
			break
		}
	}
	r.Ended = time.Now()
	if err := r.write(dir); err != nil {
		return err
	}
	fmt.Printf("\n%s\ninstrument: %s\n", r.markdown(), filepath.Join(dir, "performance.md"))
	if ctx.Err() != nil {
		return fmt.Errorf("interrupted; partial results written: %w", ctx.Err())
	}
	if len(failed) > 0 {
		return fmt.Errorf("parts failed: %s (their errors are in performance.md)", strings.Join(failed, ", "))
	}
	return nil
}

// settings records the durations and rates a run used, for the table's
// header: figures from a scaled-down try must not pass for a full run.
func (c config) settings() map[string]string {
	return map[string]string{
		"rates": fmt.Sprint(c.rates), "gen_duration": c.genDur.String(), "search_duration": c.searchDur.String(),
		"search_budget": c.searchBudget.String(), "fidelity": fmt.Sprintf("%v/s for %v, freeze %v at %v", c.fidRate, c.fidDur, c.freezeFor, c.freezeAt),
		"probe_duration": c.probeDur.String(), "ramp_duration": c.rampDur.String(), "share_scenario": c.shareScenario, "hold": c.holdDur.String(), "pairs": fmt.Sprint(c.pairs), "brokers": strings.Join(c.brokers, ","),
		"soak": fmt.Sprintf("%v at %v/s against %s, RSS every %v, growth after %v", c.soakDur, c.soakRate, c.soakTwin, c.soakEvery, c.soakWarmup),
		"cost": c.cost, "floor": fmt.Sprintf("%v/s for %v each", c.floorRates, c.floorDur),
	}
}
