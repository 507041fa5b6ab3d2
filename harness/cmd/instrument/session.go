package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/edabench/edabench/harness/brokernode"
	"github.com/edabench/edabench/harness/brokernodes"
	"github.com/edabench/edabench/harness/launch"
	"github.com/edabench/edabench/harness/peers"
	"github.com/edabench/edabench/harness/results"
	"github.com/edabench/edabench/internal/twinkind"
	"github.com/edabench/edabench/targets/eda"
	"github.com/edabench/edabench/targets/workflow"
)

// session is one instrument run: its settings, folders and the brokers.
type session struct {
	cfg      config
	dir, raw string
	nodes    map[string]brokernode.Node // by broker, started (or reused) on first need; never stopped: they are shared
	twins    atomic.Int64               // numbers the twins' folders: the soak starts two at once
}

// broker is the private RabbitMQ node, the backbone of every part but
// the ceiling's side by side.
func (s *session) broker(ctx context.Context) (brokernode.Node, error) {
	return s.brokerNode(ctx, brokernode.Default)
}

// brokerNode starts broker's private node, or finds the one running.
func (s *session) brokerNode(ctx context.Context, broker string) (brokernode.Node, error) {
	if n := s.nodes[broker]; n != nil {
		return n, nil
	}
	fmt.Printf("instrument: starting (or reusing) the private %s node...\n", broker)
	kind, err := brokernodes.Builtin().Lookup(broker)
	if err != nil {
		return nil, err
	}
	n, err := kind.Start(ctx)
	if err != nil {
		return nil, fmt.Errorf("the private %s node did not start: %w (try `go run ./harness/cmd/brokerctl up --broker %s`)", broker, err, broker)
	}
	if s.nodes == nil {
		s.nodes = map[string]brokernode.Node{}
	}
	s.nodes[broker] = n
	return n, nil
}

// twin is a twin this run started; stop stops it and, for EDA, deletes its
// queues so the shared broker does not collect idle quorum queues.
type twin struct {
	*launch.Twin
	name, prefix, amqp string
	// release drops the claim on prefix (and deletes what is left under
	// it); a no-op for a twin without a broker.
	release func(context.Context)
}

func (s *session) startTwin(ctx context.Context, name string) (*twin, error) {
	spec := launch.Spec{Twin: name, Topology: workflow.Chain, Binary: s.cfg.target, Cost: s.cfg.cost, Seed: 1,
		Dir: filepath.Join(s.raw, fmt.Sprintf("twin-%s-%d", name, s.twins.Add(1)))}
	t := &twin{name: name, release: func(context.Context) {}}
	if twinkind.Of(name).UsesBroker() {
		node, err := s.broker(ctx)
		if err != nil {
			return nil, err
		}
		b := make([]byte, 4)
		_, _ = rand.Read(b)
		t.prefix, t.amqp = "instrument"+hex.EncodeToString(b), node.ClientURL()
		spec.URL, spec.Prefix = t.amqp, t.prefix
		// Before the twin declares anything: an instrument run killed
		// half-way leaves queues the next node start deletes.
		t.release = node.Claim(ctx, brokernode.Topology{Prefixes: []string{t.prefix}})
	}
	tw, err := launch.Start(ctx, spec)
	if err != nil {
		t.release(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("start the %s twin: %w (its logs: %s)", name, err, filepath.Join(spec.Dir, "logs"))
	}
	t.Twin = tw
	fmt.Printf("instrument: %s twin up, gateway %s\n", name, tw.GatewayAddr())
	return t, nil
}

func (t *twin) stop(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	err := t.Stop(ctx)
	if twinkind.Of(t.name).UsesBroker() {
		err = errors.Join(err, eda.DeleteTopology(ctx, t.amqp, eda.Config{Prefix: t.prefix, Topology: workflow.Chain}))
	}
	t.release(ctx)
	return err
}

// edabenchArgs drives t with edabench at rate for d (the smoke scenario:
// Poisson arrivals, 5 s deadline, 512 in flight).
func (t *twin) edabenchArgs(scenario string, rate float64, d time.Duration) []string {
	args := []string{"run", "--twin", t.name, "--target", t.GatewayAddr(), "--scenario", scenario, "--metrics-addr", "off"}
	if rate > 0 {
		args = append(args, "--rate", fmt.Sprint(rate))
	}
	if d > 0 {
		args = append(args, "--duration", d.String())
	}
	if twinkind.Of(t.name).UsesBroker() {
		args = append(args, "--amqp", t.amqp, "--prefix", t.prefix)
	}
	return args
}

// logFile is raw/<name>.log, for a tool's own console output.
func (s *session) logFile(name string) (*os.File, error) {
	f, err := os.Create(filepath.Join(s.raw, name+".log"))
	if err != nil {
		return nil, fmt.Errorf("log file: %w", err)
	}
	return f, nil
}

// runEdabench runs `edabench run ... --out raw/<name>` and reads its
// summary.json.
func (s *session) runEdabench(ctx context.Context, name, twinName string, args []string, spec peers.Spec) (toolResult, *results.TwinResult, peers.Result, error) {
	out := filepath.Join(s.raw, name)
	log, err := s.logFile(name)
	if err != nil {
		return toolResult{}, nil, peers.Result{}, err
	}
	defer log.Close()
	spec.Path, spec.Args, spec.Dir = s.cfg.edabench, append(args, "--out", out), s.cfg.root
	spec.Stdout, spec.Stderr = log, log
	pr, runErr := peers.Run(ctx, spec)
	// Exit 1 still writes a (partial) summary: an overloaded run is a
	// measurement here, not a failure.
	if runErr != nil && peers.ExitCode(runErr) != 1 {
		return toolResult{}, nil, pr, fmt.Errorf("edabench %s: %w (its output: %s)", strings.Join(args, " "), runErr, log.Name())
	}
	b, err := os.ReadFile(filepath.Join(out, "latest", "summary.json"))
	if err != nil {
		return toolResult{}, nil, pr, fmt.Errorf("edabench wrote no summary (its output: %s): %w", log.Name(), err)
	}
	tr, tw, err := fromEdabench(b, twinName)
	return tr, tw, pr, err
}

// ghzArgs are the flags every ghz run shares: the twin's proto and call,
// a JSON order like the harness's with a unique ID per request (ghz fills
// the template for each call), edabench's 4 connections and 5 s deadline.
func (s *session) ghzArgs(addr string) []string {
	order := `{"order_id":"ghz-{{.UUID}}","customer":"load","items":[{"sku":"sku-1","quantity":1}],"amount_cents":1999}`
	return []string{"--insecure", "--proto", filepath.Join(s.cfg.root, "targets/api/order.proto"),
		"--import-paths", filepath.Join(s.cfg.root, "targets/api"),
		"--call", "edabench.v1.OrderService/PlaceOrder", "--connections", "4", "-t", "5s", "-d", order, addr}
}

// runGhz runs ghz with JSON output into raw/<name>.json.
func (s *session) runGhz(ctx context.Context, name string, args []string, spec peers.Spec) (toolResult, peers.Result, error) {
	out := filepath.Join(s.raw, name+".json")
	log, err := s.logFile(name)
	if err != nil {
		return toolResult{}, peers.Result{}, err
	}
	defer log.Close()
	spec.Path, spec.Args, spec.Dir = s.cfg.ghz, append([]string{"-O", "json", "-o", out}, args...), s.cfg.root
	spec.Stdout, spec.Stderr = log, log
	pr, runErr := peers.Run(ctx, spec)
	b, err := os.ReadFile(out)
	if err != nil {
		return toolResult{}, pr, fmt.Errorf("ghz wrote no report (%v; its output: %s): %w", runErr, log.Name(), err)
	}
	tr, err := parseGhz(b)
	return tr, pr, err
}

// runK6 runs an xk6-eda script with --summary-export raw/<name>.json.
// Exit 99 (thresholds crossed) is a measurement, not a failure.
func (s *session) runK6(ctx context.Context, name, script string, env []string, loadSeconds float64, needP99 bool, spec peers.Spec) (toolResult, peers.Result, error) {
	out := filepath.Join(s.raw, name+".json")
	log, err := s.logFile(name)
	if err != nil {
		return toolResult{}, peers.Result{}, err
	}
	defer log.Close()
	spec.Path, spec.Dir = s.cfg.k6, s.cfg.root
	// spec.Args are extra k6 flags, placed before the script.
	spec.Args = append(append([]string{"run", "--no-color", "--quiet", "--summary-export", out}, spec.Args...), filepath.Join(s.cfg.root, script))
	// No network: every load stays on loopback.
	spec.Env = append(append(spec.Env, env...), "K6_NO_USAGE_REPORT=true")
	spec.Stdout, spec.Stderr = log, log
	pr, runErr := peers.Run(ctx, spec)
	if runErr != nil && peers.ExitCode(runErr) != 99 {
		return toolResult{}, pr, fmt.Errorf("k6 %s: %w (its output: %s)", script, runErr, log.Name())
	}
	b, err := os.ReadFile(out)
	if err != nil {
		return toolResult{}, pr, fmt.Errorf("k6 wrote no summary (its output: %s): %w", log.Name(), err)
	}
	tr, err := parseK6(b, loadSeconds, needP99)
	return tr, pr, err
}

// k6Env tells the xk6-eda example scripts where the twin is; a twin over
// the broker (EDA, hybrid) needs its broker and prefix, or the extension
// listens for completions under the default prefix and counts every order
// lost.
func (t *twin) k6Env() []string {
	env := []string{"TWIN=" + t.name, "GRPC=" + t.GatewayAddr()}
	if twinkind.Of(t.name).UsesBroker() {
		env = append(env, "AMQP="+t.amqp, "PREFIX="+t.prefix)
	}
	return env
}
