// Package serve runs one service of one edabench twin as its own OS process
// (so faults can kill, pause or starve it), or a whole twin in one process
// for quick local use. It is the whole of the target command (bin/target)
// and of `edabench serve`, so an installed edabench can start every twin
// service itself; see Main.
package serve

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/edabench/edabench/harness/supervise"
	"github.com/edabench/edabench/internal/loopback"
	"github.com/edabench/edabench/internal/twinkind"
	"github.com/edabench/edabench/targets/bus"
	"github.com/edabench/edabench/targets/bus/drivers"
	"github.com/edabench/edabench/targets/eda"
	"github.com/edabench/edabench/targets/rr"
	"github.com/edabench/edabench/targets/workflow"
)

const usageTemplate = `CMD runs one service of an edabench twin.

Usage:
  CMD --twin rr|eda|hybrid --service NAME [flags]

Services: gateway, payment, inventory, shipping, notification, or all (the
whole twin in one process: quick to start, but faults need one process per
service).

The RR twin is a gRPC call chain: gateway -> payment -> inventory -> shipping
-> notification (or, with --topology fanout, payment then the other three in
parallel). Each RR service needs the addresses of the steps it calls:
  CMD --twin rr --service notification --listen 127.0.0.1:7104
  CMD --twin rr --service shipping --listen 127.0.0.1:7103 --peer notification=127.0.0.1:7104
  ...
  CMD --twin rr --service gateway --listen 127.0.0.1:7100 --peer payment=127.0.0.1:7101

--steps N runs only the first N steps (1 to 4; payment always first): with
--steps 2 the RR chain is gateway -> payment -> inventory, so each extra step
adds one hop. Every service of a twin must agree on --topology and --steps,
and services of steps outside the plan are not started at all.

The EDA twin is choreographed over RabbitMQ: every service connects to the
broker; only the gateway listens for gRPC:
  CMD --twin eda --service payment --amqp amqp://guest:guest@127.0.0.1:5682/
  CMD --twin eda --service gateway --listen 127.0.0.1:7200 --amqp ...
Start a private broker with ` + "`make broker-up`" + `.
Over Kafka instead (--broker kafka; the seed broker as --broker-url, default
the private node ` + "`make kafka`" + ` and ` + "`brokerctl up --broker kafka`" + ` start):
  CMD --twin eda --service payment --broker kafka --broker-url 127.0.0.1:9102
--amqp, --queue-type and --heartbeat are RabbitMQ's; --prefetch bounds the
records in flight per consumer on Kafka too. --kafka-via-seed dials every
broker through the --broker-url address (a proxy in front of a one-broker
node: Kafka clients otherwise follow the advertised listener around it).

The hybrid twin calls payment over gRPC from the gateway (RR's deadline,
retries and circuit breaker), then publishes PaymentCaptured and replies
PAYMENT_CAPTURED; inventory, shipping and notification are EDA consumers.
Payment listens for gRPC and needs no broker; the others need the broker:
  CMD --twin hybrid --service payment --listen 127.0.0.1:7301
  CMD --twin hybrid --service inventory --amqp ...
  CMD --twin hybrid --service gateway --listen 127.0.0.1:7300 --amqp ... --peer payment=127.0.0.1:7301

One process, one twin:
  CMD --twin eda --service all --listen 127.0.0.1:7200 --amqp ...

Call it with any gRPC client (reflection is on):
  grpcurl -plaintext -d '{"order_id":"o1","customer":"c","items":[{"sku":"a","quantity":1}],"amount_cents":100}' \
    127.0.0.1:7200 edabench.v1.OrderService/PlaceOrder

Every service serves on --http: /metrics, /healthz, /audit; with --admin,
/admin/cost (GET; PUT ?step=NAME with a JSON body such as
{"mean":"50ms","error_prob":0.1} to slow or break a step mid-run), and with
--pprof, /debug/pprof/. Both are off by default (edabench run turns
--admin on for the twins it starts, whose faults use it).

In a cluster (--allow, or $EDABENCH_ALLOW), --peer may name the listed
hosts (the twin's Services) and --listen/--http may bind 0.0.0.0:PORT:
the pod's NetworkPolicy, not loopback, then decides who reaches it. Once it serves, it prints one line
"EDABENCH_READY {json}" with its addresses on stdout (logs go to stderr).
SIGTERM or Ctrl-C shuts it down gracefully.

Cost specs (--cost, --step-cost) are comma-separated key=value pairs:
  dist=fixed|exponential|lognormal  mean=DURATION  cap=DURATION (default 10*mean)
  mode=wait|cpu (sleep, or spin on a core)  error=PROBABILITY  sigma=LOGNORMAL_SHAPE
  e.g. --cost dist=exponential,mean=2ms,cap=20ms --step-cost shipping=mean=10ms,mode=cpu

Flags:
`

type options struct {
	twin, service, listen, httpAddr, topology, dataDir string
	cost                                               string
	stepCosts                                          multiFlag
	peers                                              multiFlag
	seed                                               uint64
	steps                                              int
	fsync                                              bool
	logLevel                                           string
	// RR
	deadline, compTimeout time.Duration
	retries               int
	breakerFailures       int
	breakerOpen           time.Duration
	// EDA
	broker, brokerURL, endQueue string
	amqpURL, prefix             string
	prefetch, maxAttempts       int
	// driverFlags are the values of every driver's own flags
	// (bus.Kind.Flags), their defaults where not given.
	driverFlags map[string]string
	// Cluster: the allowlist, and the ops endpoints that are off by default
	admin, pprof bool
	allowList    string
	allow        *loopback.Allowlist
	set          map[string]bool // the flags given on the command line
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(s string) error { *m = append(*m, s); return nil }

// Main runs the service the flags in args describe until ctx ends (the
// callers cancel it on SIGTERM or Ctrl-C) and returns the exit status: 0
// stopped, 1 failed while serving, 2 bad flags. name is how the command was
// invoked ("target", "edabench serve"), for its help and its errors.
func Main(ctx context.Context, name string, args []string, stdout, stderr io.Writer) int {
	svc, code := prepare(name, args, stderr)
	if svc == nil {
		return code
	}
	if err := svc.run(ctx, stdout); err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 1
	}
	svc.log.Info("stopped")
	return 0
}

// flagSet defines the command's flags into o.
func flagSet(name string, stderr io.Writer, o *options) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, strings.ReplaceAll(usageTemplate, "CMD", name)); fs.PrintDefaults() }
	fs.StringVar(&o.twin, "twin", "", "twin: rr, eda or hybrid (required)")
	fs.StringVar(&o.service, "service", "", "service: gateway, payment, inventory, shipping, notification or all (required)")
	fs.StringVar(&o.listen, "listen", "127.0.0.1:0", "gRPC listen address (gateway and RR steps); port 0 picks a free one, announced on stdout")
	fs.StringVar(&o.httpAddr, "http", "127.0.0.1:0", "HTTP address for /metrics, /healthz, /audit (and /admin/cost, /debug/pprof/ when turned on)")
	fs.BoolVar(&o.admin, "admin", false, "serve /admin/cost, which changes a step's cost model mid-run (the harness's cost faults); off by default: anyone who reaches it can slow or break the service")
	fs.BoolVar(&o.pprof, "pprof", false, "serve Go's profiles on /debug/pprof/; off by default")
	fs.StringVar(&o.allowList, "allow", os.Getenv("EDABENCH_ALLOW"), "in a cluster: comma-separated HOST[:PORT] peers this service may call beyond loopback (the twin's Services), and --listen/--http may then bind all interfaces (0.0.0.0:PORT) for the pod's network; default $EDABENCH_ALLOW, empty: loopback only")
	fs.StringVar(&o.topology, "topology", "chain", "chain or fanout (every service of a twin must agree)")
	fs.IntVar(&o.steps, "steps", workflow.MaxSteps, "run the first N steps of payment, inventory, shipping, notification (1 to 4; every service of a twin must agree)")
	fs.StringVar(&o.dataDir, "data-dir", "", "directory for the steps' idempotency journals; empty keeps them in memory (lost on a crash, so a restarted consumer would re-apply)")
	fs.BoolVar(&o.fsync, "fsync", false, "fsync the journal on every record (survives power loss, not only a crash; slower)")
	fs.StringVar(&o.cost, "cost", "", "cost model of every step here (see above); default "+workflow.DefaultCost().String())
	fs.Var(&o.stepCosts, "step-cost", "STEP=SPEC: cost model of one step, over --cost (repeatable)")
	fs.Var(&o.peers, "peer", "RR, hybrid gateway: STEP=HOST:PORT of a step this service calls (repeatable)")
	fs.Uint64Var(&o.seed, "seed", 1, "seed of the service-time and failure draws")
	fs.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.DurationVar(&o.deadline, "deadline", 10*time.Second, "RR gateway: deadline of a PlaceOrder whose client set none")
	fs.DurationVar(&o.compTimeout, "compensation-timeout", 30*time.Second, "RR: how long a compensation is retried (in the background once the reply is sent); long enough to outlast a restart, or the effect stays in force")
	fs.IntVar(&o.retries, "retries", 2, "RR: retries of a call that failed with a retryable code (bounded by the deadline)")
	fs.IntVar(&o.breakerFailures, "breaker-failures", 5, "RR: consecutive failures that open a peer's circuit breaker")
	fs.DurationVar(&o.breakerOpen, "breaker-open", time.Second, "RR: how long an open breaker fails fast before a probe")
	fs.StringVar(&o.broker, "broker", bus.RabbitMQ, "EDA: the broker driver: "+strings.Join(drivers.Builtin().Names(), " or "))
	fs.StringVar(&o.brokerURL, "broker-url", "", "EDA: the broker's client URL in the driver's form (default: --amqp for "+bus.RabbitMQ+", else the private node's, "+defaultURLs()+")")
	fs.StringVar(&o.endQueue, "end-queue", "", "EDA: a subscriber's queue of the order ends to declare with the twin's topology (the harness's or k6's, on a broker whose driver routes itself: Kafka, NATS)")
	fs.StringVar(&o.amqpURL, "amqp", eda.DefaultConfig().URL, "EDA over RabbitMQ: broker URL (the private node `make broker-up` starts)")
	fs.StringVar(&o.prefix, "prefix", "edabench", "EDA: names the exchange (PREFIX.orders) and queues (PREFIX.SERVICE)")
	fs.IntVar(&o.prefetch, "prefetch", 0, "EDA: unacked deliveries per consumer, handled concurrently (default: the twin's for the broker: RabbitMQ and NATS 256, Kafka 64)")
	fs.IntVar(&o.maxAttempts, "max-attempts", 5, "EDA: deliveries of a message whose handler fails before it is dead-lettered")
	o.driverFlags = map[string]string{}
	for _, k := range drivers.Builtin().Kinds() {
		for _, f := range k.Flags {
			if _, dup := o.driverFlags[f.Name]; !dup {
				o.driverFlags[f.Name] = f.Default
				fs.Var(driverFlag{name: f.Name, vals: o.driverFlags, isBool: f.Bool}, f.Name, f.Usage)
			}
		}
	}
	return fs
}

// prepare parses and checks the flags into a service, binding nothing:
// nil and the exit status when there is nothing to serve (help, or bad
// flags, reported on stderr).
func prepare(name string, args []string, stderr io.Writer) (*service, int) {
	var o options
	fs := flagSet(name, stderr, &o)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, 0
		}
		return nil, 2
	}
	allow, err := loopback.ParseAllowlist(o.allowList)
	if err != nil {
		fmt.Fprintf(stderr, "%s: --allow: %v\n", name, err)
		return nil, 2
	}
	o.allow = allow
	o.set = map[string]bool{}
	fs.Visit(func(f *flag.Flag) { o.set[f.Name] = true })
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "%s: unexpected argument %q (flags only; see --help)\n", name, fs.Arg(0))
		return nil, 2
	}
	log, err := newLogger(stderr, o.logLevel)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return nil, 2
	}
	svc, err := build(o, log)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return nil, 2
	}
	return svc, 0
}

func newLogger(w io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l})), nil
}

// service is what build assembles from the flags.
type service struct {
	o         options
	log       *slog.Logger
	topology  workflow.Topology
	plan      workflow.Plan
	steps     []workflow.Step // the steps this process runs
	gateway   bool
	costs     map[workflow.Step]workflow.Cost
	peers     rr.Peers
	edaConfig eda.Config
}

// build validates every flag up front, so a mistake is reported before any
// port is bound or any broker is dialled.
func build(o options, log *slog.Logger) (*service, error) {
	s := &service{o: o, log: log, costs: map[workflow.Step]workflow.Cost{}, peers: rr.Peers{}}
	if o.twin == "" {
		return nil, errors.New("--twin is required: rr, eda or hybrid")
	}
	if err := twinkind.Check(o.twin); err != nil {
		return nil, fmt.Errorf("--twin: %w", err)
	}
	t, err := workflow.ParseTopology(o.topology)
	if err != nil {
		return nil, fmt.Errorf("--topology: %w", err)
	}
	if err := workflow.CheckStepCount(o.steps); err != nil {
		return nil, fmt.Errorf("--steps: %w", err)
	}
	s.topology, s.plan = t, workflow.Plan{Topology: t, N: o.steps}
	switch o.service {
	case "":
		return nil, errors.New("--service is required: gateway, payment, inventory, shipping, notification or all")
	case "gateway":
		s.gateway = true
	case "all":
		s.gateway, s.steps = true, s.plan.Steps()
	default:
		st, err := workflow.ParseStep(o.service)
		if err != nil {
			return nil, fmt.Errorf("--service: %w, gateway or all", err)
		}
		if !s.plan.Includes(st) {
			return nil, fmt.Errorf("--service %s: not a step of the %s: raise --steps or do not start %s", st, s.plan, st)
		}
		s.steps = []workflow.Step{st}
	}
	if err := s.parseCosts(o); err != nil {
		return nil, err
	}
	if err := s.parsePeers(o); err != nil {
		return nil, err
	}
	for flagName, addr := range map[string]string{"--listen": o.listen, "--http": o.httpAddr} {
		if err := checkListen(o.allow, addr); err != nil {
			return nil, fmt.Errorf("%s: %w", flagName, err)
		}
	}
	if o.service != "all" {
		if err := s.checkPeers(); err != nil {
			return nil, err
		}
	}
	if twinkind.Of(o.twin).UsesBroker() {
		url, opts, err := driverSettings(o)
		if err != nil {
			return nil, err
		}
		s.edaConfig = eda.Config{Topology: t, Steps: o.steps, Driver: opts.Broker(), URL: url, Prefix: o.prefix,
			Options: opts, MaxAttempts: o.maxAttempts, SyncPayment: twinkind.Of(o.twin).HandsOff(), EndQueue: o.endQueue}
		if err := s.edaConfig.Validate(); err != nil {
			return nil, fmt.Errorf("%s: %w", o.twin, err)
		}
	}
	if o.dataDir != "" {
		if err := os.MkdirAll(o.dataDir, 0o755); err != nil {
			return nil, fmt.Errorf("--data-dir: %w", err)
		}
	} else if len(s.steps) > 0 {
		log.Warn("no --data-dir: the idempotency journal is in memory, so a crashed and restarted step would apply redelivered orders again")
	}
	return s, nil
}

// driverSettings picks the broker driver by --broker and maps the flags
// onto its own settings (bus.Kind.TwinOptions): a driver's own flags
// (bus.Kind.Flags) given with another broker are refused rather than
// ignored.
func driverSettings(o options) (string, bus.DriverOptions, error) {
	if o.broker == "" {
		o.broker = bus.RabbitMQ
	}
	kind, err := drivers.Builtin().Lookup(o.broker)
	if err != nil {
		return "", nil, fmt.Errorf("--broker: %w", err)
	}
	if o.prefetch < 0 || o.prefetch > 65535 || (o.prefetch == 0 && o.set["prefetch"]) {
		return "", nil, fmt.Errorf("--prefetch %d: want 1 to 65535", o.prefetch)
	}
	flags := map[string]string{}
	for name, v := range o.driverFlags {
		switch {
		case kind.Flag(name) != nil:
			flags[name] = v
		case o.set[name]:
			return "", nil, foreignFlag(name, kind)
		}
	}
	// --amqp is the older spelling of --broker-url for the default broker,
	// kept so that existing command lines still run.
	url := o.brokerURL
	switch {
	case o.set["amqp"] && kind.Name != bus.RabbitMQ:
		return "", nil, foreignFlag("amqp", kind)
	case url == "" && kind.Name == bus.RabbitMQ:
		url = o.amqpURL
	}
	if url == "" {
		url = kind.DefaultURL
	}
	if err := kind.CheckURL(url); err != nil {
		return "", nil, fmt.Errorf("--broker-url: %w", err)
	}
	opts, err := kind.TwinOptions(bus.TwinSettings{Prefetch: o.prefetch, Flags: flags})
	if err != nil {
		return "", nil, err
	}
	return url, opts, nil
}

// foreignFlag says that flag is another driver's than kind's.
func foreignFlag(flag string, kind bus.Kind) error {
	owner := bus.RabbitMQ // --amqp's
	for _, k := range drivers.Builtin().Kinds() {
		if k.Flag(flag) != nil {
			owner = k.Name
			break
		}
	}
	title := owner
	if k, err := drivers.Builtin().Lookup(owner); err == nil {
		title = k.Title
	}
	return fmt.Errorf("--%s is %s's; with --broker %s give %s as --broker-url (default %s) and drop --%s",
		flag, title, kind.Name, kind.URLIs, kind.DefaultURL, flag)
}

// defaultURLs lists each driver's default URL, for the help.
func defaultURLs() string {
	var out []string
	for _, k := range drivers.Builtin().Kinds() {
		out = append(out, k.DefaultURL+" for "+k.Name)
	}
	return strings.Join(out, ", ")
}

// driverFlag is one driver's own flag, its value in vals.
type driverFlag struct {
	name   string
	vals   map[string]string
	isBool bool
}

func (f driverFlag) String() string {
	if f.vals == nil {
		return ""
	}
	return f.vals[f.name]
}

func (f driverFlag) Set(v string) error { f.vals[f.name] = v; return nil }

func (f driverFlag) IsBoolFlag() bool { return f.isBool }

// parseCosts sets each step's cost model: --cost for every step this
// process runs, then --step-cost for one of them.
func (s *service) parseCosts(o options) error {
	base, err := workflow.ParseCost(workflow.DefaultCost(), o.cost)
	if err != nil {
		return fmt.Errorf("--cost: %w", err)
	}
	for _, st := range s.steps {
		s.costs[st] = base
	}
	for _, sc := range o.stepCosts {
		name, spec, ok := strings.Cut(sc, "=")
		st, err := workflow.ParseStep(name)
		if !ok || err != nil {
			return fmt.Errorf("--step-cost %q: want STEP=SPEC with STEP one of payment, inventory, shipping, notification", sc)
		}
		c, err := workflow.ParseCost(base, spec)
		if err != nil {
			return fmt.Errorf("--step-cost %s: %w", name, err)
		}
		if _, here := s.costs[st]; !here {
			return fmt.Errorf("--step-cost %s: this process runs %v, not %s", name, s.steps, st)
		}
		s.costs[st] = c
	}
	return nil
}

// parsePeers reads --peer STEP=HOST:PORT, loopback only.
func (s *service) parsePeers(o options) error {
	for _, p := range o.peers {
		name, addr, ok := strings.Cut(p, "=")
		st, err := workflow.ParseStep(name)
		if !ok || err != nil {
			return fmt.Errorf("--peer %q: want STEP=HOST:PORT with STEP one of payment, inventory, shipping, notification", p)
		}
		if err := o.allow.Check(addr); err != nil {
			return fmt.Errorf("--peer %s: %w", name, err)
		}
		s.peers[st] = addr
	}
	return nil
}

// checkPeers makes sure a service knows every step it will call over gRPC
// (the twin's descriptor says which hops those are): RR's gateway and
// steps, the hybrid's gateway (payment alone); an EDA service calls none.
func (s *service) checkPeers() error {
	tw := twinkind.Of(s.o.twin)
	caller := "gateway"
	var next []workflow.Step
	switch {
	case s.gateway:
		next = append(next, workflow.Payment)
		if s.topology == workflow.Fanout {
			next = append(next, s.plan.Next(workflow.Payment)...)
		}
	case s.topology == workflow.Chain:
		caller = string(s.steps[0])
		next = s.plan.Next(s.steps[0])
	}
	for _, st := range next {
		if _, ok := s.peers[st]; !ok && tw.Calls(caller, string(st)) {
			return fmt.Errorf("%s %s (%s) calls %s: pass --peer %s=HOST:PORT", s.o.twin, s.o.service, s.plan, st, st)
		}
	}
	return nil
}

func (s *service) journalPath(st workflow.Step) string {
	if s.o.dataDir == "" {
		return ""
	}
	return filepath.Join(s.o.dataDir, fmt.Sprintf("%s-%s.journal", s.o.twin, st))
}

func (s *service) announce(w io.Writer, r supervise.Ready) error {
	return supervise.Announce(w, r)
}

// checkListen allows a loopback address, or, in a cluster (an allowlist
// given), the pod's: all interfaces on a fixed port, since a Service
// reaches the pod's IP, never its loopback.
func checkListen(allow *loopback.Allowlist, addr string) error {
	if allow == nil {
		return loopback.Check(addr)
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not HOST:PORT: %w", addr, err)
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		if port == "0" {
			return fmt.Errorf("%q: a pod's Service needs a fixed port, not 0", addr)
		}
		return nil
	}
	return allow.Check(addr)
}
