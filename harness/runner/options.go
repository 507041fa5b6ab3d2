// Package runner runs a scenario against the twins: it starts the private
// broker and each twin's services, drives the open-model load, records the
// latencies, samples lag and resource use, drains, and writes the results.
// Twins run one after the other on identical schedules, so their figures
// are comparable.
package runner

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"time"

	"github.com/edabench/edabench/harness/brokernode"
	"github.com/edabench/edabench/harness/brokernodes"
	"github.com/edabench/edabench/harness/load"
	"github.com/edabench/edabench/harness/scenario"
	"github.com/edabench/edabench/internal/loopback"
	"github.com/edabench/edabench/internal/twinkind"
	"github.com/edabench/edabench/targets/bus/drivers"
)

// Options configure a run. Build them with the With* options (ghz-style).
type Options struct {
	Twins    []string // "rr", "eda", "hybrid", in run order
	Scenario *scenario.Scenario
	OutDir   string // results base folder (default "results")
	// Target drives a twin that is already running at this gateway address
	// instead of starting one; it implies a single twin.
	Target string
	// BrokerURL and Prefix tell an external EDA or hybrid twin's broker and
	// names, for the completion observer; ignored when the runner starts the twin.
	BrokerURL, Prefix string
	Binary            string // the target binary; built from source when empty
	// BinaryArgs go before every service's flags (launch.Spec.BinaryArgs):
	// {"serve"} when Binary is edabench itself.
	BinaryArgs  []string
	MetricsAddr string // the harness's own /metrics ("" = 127.0.0.1:0; "off" = none)
	Progress    io.Writer
	TTY         bool // live \r line instead of periodic plain lines
	Log         *slog.Logger
	Seed        uint64
	Conns       int // gRPC connections the load spreads over (default 4)
	// Broker names the broker kind the EDA and hybrid twins run over: its
	// default node (brokernodes.Builtin) and the driver of the same name
	// (drivers.Builtin); default brokernode.Default. RR ignores it.
	Broker string
	// Node is the private node to start or reuse instead of Broker's
	// default node: tests that restart it give one of their own.
	Node brokernode.Node
	// Cluster is the size of the broker's private cluster: > 1 runs the
	// twins over that many replicated nodes (--cluster, else the
	// scenario's brokers.nodes); 0 or 1 the single node.
	Cluster int
	// Shard runs one interleaved slice of the schedule (edabench run
	// --shard I/N) against Target; edabench merge joins the slices.
	Shard load.Shard
	// StartAt is the schedule's time zero shared by every shard (zero:
	// when the twin is ready). A run ready after it fails rather than
	// start late, since every latency would carry the delay.
	StartAt time.Time
	// Allow names the targets a run may drive beyond loopback (in a
	// cluster: the twins' Services); nil keeps the loopback-only rule.
	Allow *loopback.Allowlist
}

// Option sets one field.
type Option func(*Options)

func WithTwins(t ...string) Option             { return func(o *Options) { o.Twins = t } }
func WithScenario(s *scenario.Scenario) Option { return func(o *Options) { o.Scenario = s } }
func WithOutDir(d string) Option               { return func(o *Options) { o.OutDir = d } }
func WithTarget(addr string) Option            { return func(o *Options) { o.Target = addr } }
func WithExternalBroker(url, prefix string) Option {
	return func(o *Options) { o.BrokerURL, o.Prefix = url, prefix }
}

// WithBinary sets the command that runs a twin service: the target binary,
// or a binary that serves as one under leading args (edabench serve).
func WithBinary(path string, args ...string) Option {
	return func(o *Options) { o.Binary, o.BinaryArgs = path, args }
}
func WithMetricsAddr(addr string) Option { return func(o *Options) { o.MetricsAddr = addr } }
func WithProgress(w io.Writer, tty bool) Option {
	return func(o *Options) { o.Progress, o.TTY = w, tty }
}
func WithLogger(l *slog.Logger) Option { return func(o *Options) { o.Log = l } }
func WithSeed(s uint64) Option         { return func(o *Options) { o.Seed = s } }

// WithBroker names the broker kind (a name in drivers.Builtin and
// brokernodes.Builtin); "" keeps the default.
func WithBroker(name string) Option { return func(o *Options) { o.Broker = name } }

// WithCluster runs the broker as a private cluster of nodes members; 0
// keeps the scenario's brokers.nodes.
func WithCluster(nodes int) Option { return func(o *Options) { o.Cluster = nodes } }

// WithShard runs one slice of the schedule (see Options.Shard).
func WithShard(sh load.Shard) Option { return func(o *Options) { o.Shard = sh } }

// WithStartAt sets the shared time zero (see Options.StartAt).
func WithStartAt(t time.Time) Option { return func(o *Options) { o.StartAt = t } }

// WithAllow lets the run drive the targets allow names (see Options.Allow).
func WithAllow(allow *loopback.Allowlist) Option { return func(o *Options) { o.Allow = allow } }

// WithNode sets the private node to start, for a test that restarts it.
func WithNode(n brokernode.Node) Option { return func(o *Options) { o.Node = n } }

// ErrInvalid marks an option the user must fix (the CLI exits 2).
var ErrInvalid = errors.New("invalid run options")

func (o *Options) defaults() error {
	if o.OutDir == "" {
		o.OutDir = "results"
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	if o.Conns == 0 {
		o.Conns = 4
	}
	if o.Scenario == nil {
		return fmt.Errorf("%w: no scenario", ErrInvalid)
	}
	if err := o.checkBroker(); err != nil {
		return err
	}
	if o.Cluster == 0 {
		o.Cluster = o.Scenario.BrokerNodes
	}
	if o.Cluster < 0 || o.Cluster > scenario.MaxBrokerNodes {
		return fmt.Errorf("%w: --cluster %d: use 1 (the single node) or 3 (a replicated cluster), at most %d", ErrInvalid, o.Cluster, scenario.MaxBrokerNodes)
	}
	if len(o.Twins) == 0 {
		return fmt.Errorf("%w: no twin: want rr, eda, hybrid, both or all", ErrInvalid)
	}
	for _, t := range o.Twins {
		if err := twinkind.Check(t); err != nil {
			return fmt.Errorf("%w: %w", ErrInvalid, err)
		}
	}
	if o.Target != "" {
		if len(o.Twins) != 1 {
			return fmt.Errorf("%w: --target drives one running twin: pass --twin rr, eda or hybrid, not several", ErrInvalid)
		}
		if err := o.Allow.Check(o.Target); err != nil {
			return fmt.Errorf("%w: --target: %v", ErrInvalid, err)
		}
		if twinkind.Of(o.Twins[0]).UsesBroker() {
			if o.BrokerURL == "" || o.Prefix == "" {
				return fmt.Errorf("%w: --target with --twin %s needs --broker-url (--amqp on RabbitMQ) and --prefix of the running twin, to observe its completions", ErrInvalid, o.Twins[0])
			}
			if err := checkBrokerURL(o.Broker, o.BrokerURL); err != nil {
				return fmt.Errorf("%w: --broker-url with --broker %s: %w", ErrInvalid, o.Broker, err)
			}
		}
	}
	return o.checkShard()
}

// checkShard refuses a shard that could not be merged back into one run:
// one generator's slice of a search or a ramp would judge its steps on a
// fraction of the load, and a shard that starts its own twin would not
// share it with the others.
func (o *Options) checkShard() error {
	if err := o.Shard.Check(); err != nil {
		return fmt.Errorf("%w: --shard: %w", ErrInvalid, err)
	}
	if !o.Shard.Sharded() {
		return nil
	}
	if o.Target == "" {
		return fmt.Errorf("%w: --shard %s drives a twin every shard shares: start it once and pass its gateway as --target", ErrInvalid, o.Shard)
	}
	if ex := o.Scenario.Executor(); ex != "stages" {
		return fmt.Errorf("%w: --shard: scenario %s is a %s, whose steps are judged on the whole load; shard a scenario of plain stages", ErrInvalid, o.Scenario.Name, ex)
	}
	if !nodeDepthIsBacklog(o.Broker) && slices.ContainsFunc(o.Twins, func(n string) bool { return twinkind.Of(n).UsesBroker() }) {
		return fmt.Errorf("%w: --shard with --twin %s over %s: the shards would share the end queue the twin declared (--end-queue) and each see only some of its orders end; shard the RR twin, or the twin over RabbitMQ (each shard its own queue)", ErrInvalid, o.Twins[0], o.Broker)
	}
	if len(o.Scenario.Faults) > 0 {
		return fmt.Errorf("%w: --shard: scenario %s injects faults, which need the twin the run starts itself; shard a scenario without faults", ErrInvalid, o.Scenario.Name)
	}
	return nil
}

// checkBroker settles the broker kind: --broker, else the scenario's
// broker key, else the default; it must be both a node kind and a driver,
// since the run starts the one and the twins dial the other.
func (o *Options) checkBroker() error {
	if o.Broker == "" {
		o.Broker = o.Scenario.Broker
	}
	if o.Broker == "" {
		o.Broker = brokernode.Default
	}
	if _, err := brokernodes.Builtin().Lookup(o.Broker); err != nil {
		return fmt.Errorf("%w: --broker: %w", ErrInvalid, err)
	}
	if _, err := drivers.Builtin().Lookup(o.Broker); err != nil {
		return fmt.Errorf("%w: --broker: %w", ErrInvalid, err)
	}
	return nil
}

// checkBrokerURL says whether url is in broker's form (its driver's
// Kind.CheckURL: an AMQP URL for RabbitMQ, HOST:PORT seeds for Kafka...;
// each refuses the others').
func checkBrokerURL(broker, url string) error {
	kind, err := drivers.Builtin().Lookup(broker)
	if err != nil {
		return err
	}
	return kind.CheckURL(url)
}

// tick is how often the recorders are cut into intervals, lag sampled and
// progress shown.
const tick = time.Second
