// Command brokerctl starts, stops and inspects edabench's private RabbitMQ
// node (package harness/broker). `make broker-up` / `make broker-down` call
// it; tests reach the same node through brokertest.Shared.
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
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/edabench/edabench/harness/broker"
	"github.com/edabench/edabench/harness/brokernode"
	"github.com/edabench/edabench/harness/brokernodes"
)

// Exit codes follow LSB init scripts so that `brokerctl status` composes
// with shell conditionals.
const (
	exitOK         = 0
	exitFailure    = 1
	exitUsage      = 2
	exitNotRunning = 3
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func usage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintf(w, `brokerctl manages edabench's private RabbitMQ node.

The node is separate from any RabbitMQ already running on the machine: it
has its own node name, ports, epmd and data directory, and listens on
127.0.0.1 only (user guest, password guest). It keeps running after
brokerctl exits, and tests (brokertest.Shared) reuse it.

Usage:
  brokerctl [flags] up              start the node, or reuse it if running; print its URLs
  brokerctl [flags] down            stop the node and its private epmd (no-op if stopped)
  brokerctl [flags] status          show whether it runs, its pid, queue depths, who
                                    owns each queue and the leftovers
                                    (exit 0 running and ready, 3 not running, 1 unhealthy)
  brokerctl [flags] clean [--unclaimed]
                                    delete the queues and exchanges of runs that are gone
                                    (up does it too); --unclaimed also deletes what no
                                    running process claims: use it only when nothing else
                                    (an older binary, another checkout) uses the node
  brokerctl [flags] url [amqp|mgmt|prometheus]
                                    print one URL (default amqp), e.g.
                                    AMQP_URL=$(brokerctl url)

With --broker naming another broker, up, down, status and url [client|admin]
act on that broker's default node; the flags below are the RabbitMQ node's.

Flags may come before or after the command. Defaults come from the
environment, then built-in values:
  %-22s data dir (default: user cache dir + /edabench/broker,
                         e.g. ~/.cache/edabench/broker)
  %-22s Erlang node name (default %s)
  %-22s AMQP port (default %d)
  %-22s management HTTP port (default %d)
  %-22s prometheus port (default %d)
  %-22s Erlang distribution port (default %d)
  %-22s private epmd port (default %d)

The data dir holds the node's config, mnesia database (durable queues
survive down/up), pid file, logs (log/NAME.log, server.out) and claims/:
one record per process that declares queues on the node (its pid and
start time, so a reused pid does not pass for it), by which a killed
run's queues are found and deleted.
Debian's rabbitmq-server is installed with apt-get if missing (root only).

Flags:
`, broker.EnvDir, broker.EnvName, broker.DefaultName,
		broker.EnvAMQPPort, broker.DefaultAMQPPort, broker.EnvMgmtPort, broker.DefaultMgmtPort,
		broker.EnvPromPort, broker.DefaultPromPort, broker.EnvDistPort, broker.DefaultDistPort,
		broker.EnvEPMDPort, broker.DefaultEPMDPort)
	fs.SetOutput(w)
	fs.PrintDefaults()
}

func run(args []string, stdout, stderr io.Writer) int {
	return runWith(brokernodes.Builtin(), args, stdout, stderr)
}

// runWith is run over the broker nodes in nodes.
func runWith(nodes brokernode.Registry, args []string, stdout, stderr io.Writer) int {
	level := slog.LevelInfo
	if os.Getenv("EDABENCH_DEBUG") != "" {
		level = slog.LevelDebug
	}
	slog.SetDefault(slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})))

	inv, code, ok := parse(nodes, args, stdout, stderr)
	if !ok {
		return code
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, inv.timeout)
	defer cancel()
	return inv.dispatch(ctx, stdout, stderr)
}

// invocation is one parsed command line.
type invocation struct {
	cfg       broker.Config
	broker    string
	kind      brokernode.Kind // the one --broker names
	unclaimed bool
	cluster   int // > 1: the broker's private cluster of that many nodes
	timeout   time.Duration
	cmd       string
	extra     []string
	fs        *flag.FlagSet // for usage
}

// newFlags binds every flag into inv, defaults from its cfg.
func newFlags(inv *invocation, nodes brokernode.Registry) *flag.FlagSet {
	cfg := &inv.cfg
	fs := flag.NewFlagSet("brokerctl", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&cfg.DataDir, "dir", cfg.DataDir, "data directory (overrides "+broker.EnvDir+")")
	fs.StringVar(&cfg.Name, "name", cfg.Name, "Erlang node name, name@host (overrides "+broker.EnvName+")")
	fs.IntVar(&cfg.AMQPPort, "amqp-port", cfg.AMQPPort, "AMQP port (overrides "+broker.EnvAMQPPort+")")
	fs.IntVar(&cfg.MgmtPort, "mgmt-port", cfg.MgmtPort, "management HTTP port (overrides "+broker.EnvMgmtPort+")")
	fs.IntVar(&cfg.PromPort, "prom-port", cfg.PromPort, "prometheus port (overrides "+broker.EnvPromPort+")")
	fs.IntVar(&cfg.DistPort, "dist-port", cfg.DistPort, "Erlang distribution port (overrides "+broker.EnvDistPort+")")
	fs.IntVar(&cfg.EPMDPort, "epmd-port", cfg.EPMDPort, "private epmd port (overrides "+broker.EnvEPMDPort+")")
	fs.StringVar(&inv.broker, "broker", nodes.Names()[0], "which broker's private node: "+strings.Join(nodes.Names(), ", "))
	fs.IntVar(&inv.cluster, "cluster", 0, "act on the broker's private cluster of this many nodes (3: quorum queues or replication factor 3); down also deletes its data dirs")
	fs.BoolVar(&inv.unclaimed, "unclaimed", false, "clean: also delete the queues and exchanges no running process claims")
	fs.DurationVar(&inv.timeout, "timeout", 5*time.Minute, "give up after this long (includes a possible apt-get install)")
	return fs
}

// parse reads args; when it returns !ok, the caller exits with code (the
// usage or the error has been printed).
func parse(nodes brokernode.Registry, args []string, stdout, stderr io.Writer) (inv invocation, code int, ok bool) {
	cfg, envErr := broker.ConfigFromEnv(os.LookupEnv)
	inv.cfg = cfg
	fs := newFlags(&inv, nodes)
	inv.fs = fs
	// Accept flags on either side of the command.
	var positional []string
	for rest := args; ; {
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				usage(stdout, fs)
				return inv, exitOK, false
			}
			fmt.Fprintf(stderr, "brokerctl: %v\n\n", err)
			usage(stderr, fs)
			return inv, exitUsage, false
		}
		if fs.NArg() == 0 {
			break
		}
		positional = append(positional, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	if len(positional) == 0 {
		usage(stderr, fs)
		return inv, exitUsage, false
	}
	kind, err := nodes.Lookup(inv.broker)
	if err != nil {
		fmt.Fprintf(stderr, "brokerctl: --broker: %v\n", err)
		return inv, exitUsage, false
	}
	inv.kind = kind
	if envErr != nil {
		// Unlike DefaultConfig, refuse: a typo in a port variable should
		// not quietly start a node on the default port.
		fmt.Fprintf(stderr, "brokerctl: %v\n", envErr)
		return inv, exitUsage, false
	}
	inv.cmd, inv.extra = positional[0], positional[1:]
	return inv, exitOK, true
}

// dispatch runs the command.
func (inv invocation) dispatch(ctx context.Context, stdout, stderr io.Writer) int {
	if inv.kind.Name != broker.KindName || inv.cluster > 1 {
		return inv.dispatchKind(ctx, stdout, stderr)
	}
	cfg := inv.cfg
	switch inv.cmd {
	case "up":
		return up(ctx, cfg, stdout, stderr)
	case "down":
		return down(ctx, cfg, stderr)
	case "status":
		return status(ctx, cfg, stdout, stderr)
	case "clean":
		return clean(ctx, cfg, inv.unclaimed, stdout, stderr)
	case "url":
		return printURL(cfg, inv.extra, stdout, stderr)
	case "help":
		usage(stdout, inv.fs)
		return exitOK
	default:
		fmt.Fprintf(stderr, "brokerctl: unknown command %q\n\n", inv.cmd)
		usage(stderr, inv.fs)
		return exitUsage
	}
}

// dispatchKind runs the command on another broker's default node, through
// its brokernode.Kind alone: the flags that move the RabbitMQ node's ports
// and data dir do not apply, and clean is RabbitMQ's claim bookkeeping.
func (inv invocation) dispatchKind(ctx context.Context, stdout, stderr io.Writer) int {
	var n brokernode.Node
	var err error
	start, open := inv.kind.Start, inv.kind.Open
	if inv.cluster > 1 {
		if inv.kind.StartCluster == nil {
			fmt.Fprintf(stderr, "brokerctl: --cluster: broker %s has no private cluster\n", inv.kind.Name)
			return exitUsage
		}
		start = func(ctx context.Context) (brokernode.Node, error) { return inv.kind.StartCluster(ctx, inv.cluster) }
		open = func() (brokernode.Node, error) { return inv.kind.OpenCluster(inv.cluster) }
	}
	switch inv.cmd {
	case "up":
		n, err = start(ctx)
	case "down", "status", "url":
		n, err = open()
	case "help":
		usage(stdout, inv.fs)
		return exitOK
	default:
		fmt.Fprintf(stderr, "brokerctl: %q is not a command for broker %s; use up, down, status or url\n", inv.cmd, inv.kind.Name)
		return exitUsage
	}
	if err != nil {
		fmt.Fprintf(stderr, "brokerctl %s: %v\n", inv.cmd, err)
		return exitFailure
	}
	switch inv.cmd {
	case "down":
		if err := n.Stop(ctx); err != nil {
			fmt.Fprintf(stderr, "brokerctl down: %v\n", err)
			return exitFailure
		}
		if c, ok := n.(brokernode.Cluster); ok {
			// A cluster's state is only its join and its cookie: a later
			// up forms it afresh rather than waiting on stale peers.
			if err := c.RemoveData(); err != nil {
				fmt.Fprintf(stderr, "brokerctl down: %v\n", err)
				return exitFailure
			}
		}
	case "url":
		which := "client"
		if len(inv.extra) > 0 {
			which = inv.extra[0]
		}
		switch which {
		case "client":
			fmt.Fprintln(stdout, n.ClientURL())
		case "admin":
			fmt.Fprintln(stdout, n.AdminURL())
		default:
			fmt.Fprintf(stderr, "brokerctl url: unknown kind %q (want client or admin)\n", which)
			return exitUsage
		}
	default:
		fmt.Fprintf(stdout, "node:       %s (pid %d)\nclient:     %s\nadmin:      %s\n", n.Name(), n.PID(), n.ClientURL(), n.AdminURL())
		for i, m := range brokernode.Members(n) {
			if len(brokernode.Members(n)) > 1 {
				fmt.Fprintf(stdout, "node-%d:     %s (pid %d)\n", i+1, m.Name(), m.PID())
			}
		}
		if n.PID() == 0 {
			return exitNotRunning
		}
	}
	return exitOK
}

func up(ctx context.Context, cfg broker.Config, stdout, stderr io.Writer) int {
	n, err := broker.Start(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "brokerctl up: %v\n", err)
		return exitFailure
	}
	fmt.Fprintf(stdout, "node:       %s (pid %d)\n", n.Config().Name, n.PID())
	fmt.Fprintf(stdout, "amqp:       %s\n", n.AMQPURL())
	fmt.Fprintf(stdout, "management: %s (guest/guest)\n", n.MgmtURL())
	fmt.Fprintf(stdout, "prometheus: %s\n", n.PrometheusURL())
	fmt.Fprintf(stdout, "data dir:   %s\n", n.Config().DataDir)
	fmt.Fprintf(stdout, "log:        %s\n", n.LogPath())
	return exitOK
}

func down(ctx context.Context, cfg broker.Config, stderr io.Writer) int {
	n, err := broker.Open(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "brokerctl down: %v\n", err)
		return exitUsage
	}
	if err := n.Stop(ctx); err != nil {
		fmt.Fprintf(stderr, "brokerctl down: %v\n", err)
		return exitFailure
	}
	return exitOK
}

func status(ctx context.Context, cfg broker.Config, stdout, stderr io.Writer) int {
	n, err := broker.Open(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "brokerctl status: %v\n", err)
		return exitUsage
	}
	fmt.Fprintf(stdout, "node:       %s\n", cfg.Name)
	fmt.Fprintf(stdout, "data dir:   %s\n", n.Config().DataDir)
	pid := n.PID()
	if pid == 0 {
		fmt.Fprintf(stdout, "state:      not running\n")
		return exitNotRunning
	}
	fmt.Fprintf(stdout, "pid:        %d\n", pid)
	fmt.Fprintf(stdout, "amqp:       %s\n", n.AMQPURL())
	fmt.Fprintf(stdout, "management: %s\n", n.MgmtURL())
	if err := n.Ping(ctx); err != nil {
		fmt.Fprintf(stdout, "state:      running but not ready: %v\n", err)
		fmt.Fprintf(stdout, "log:        %s\n", n.LogPath())
		return exitFailure
	}
	fmt.Fprintf(stdout, "state:      ready\n")
	qs, err := n.QueueDepths(ctx)
	if err != nil {
		fmt.Fprintf(stdout, "queues:     unavailable: %v\n", err)
		return exitOK
	}
	l, err := n.Leftovers(ctx)
	if err != nil {
		fmt.Fprintf(stdout, "leftovers:  unknown: %v\n", err)
	}
	printQueues(stdout, qs, l)
	return exitOK
}

// printQueues lists every queue with who owns it, then the leftovers: what
// a run that is gone declared, and what no record claims.
func printQueues(w io.Writer, qs map[string]brokernode.QueueStat, l broker.Leftovers) {
	owner := map[string]string{}
	for _, q := range l.DeadQueues {
		owner[q] = "LEFTOVER (its run is gone)"
	}
	for _, q := range l.Unclaimed {
		owner[q] = "UNCLAIMED"
	}
	keys := make([]string, 0, len(qs))
	for k := range qs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fmt.Fprintf(w, "queues:     %d\n", len(qs))
	for _, k := range keys {
		q := qs[k]
		fmt.Fprintf(w, "  %-40s ready=%d unacked=%d consumers=%d %s\n", k, q.Ready, q.Unacked, q.Consumers, owner[k])
	}
	fmt.Fprintf(w, "owners:     %d running\n", len(l.Live))
	for _, r := range l.Live {
		fmt.Fprintf(w, "  pid %-8d %v %s\n", r.PID, claimed(r.Topology), r.Command)
	}
	fmt.Fprintf(w, "leftovers:  %d queues of %d runs that are gone, %d unclaimed queues, %d unclaimed exchanges\n",
		len(l.DeadQueues), len(l.Dead), len(l.Unclaimed), len(l.UnclaimedExchanges))
	for _, r := range l.Dead {
		fmt.Fprintf(w, "  gone: pid %-8d %v %s\n", r.PID, claimed(r.Topology), r.Command)
	}
	if len(l.Dead) > 0 || len(l.Unclaimed) > 0 || len(l.UnclaimedExchanges) > 0 {
		fmt.Fprintf(w, "  `brokerctl clean` deletes what runs that are gone left (the next `brokerctl up` does too);\n"+
			"  `brokerctl clean --unclaimed` also deletes the unclaimed ones: only when nothing else uses the node\n")
	}
}

func claimed(t brokernode.Topology) string {
	var parts []string
	for _, p := range t.Prefixes {
		parts = append(parts, p+".*")
	}
	parts = append(parts, t.Queues...)
	parts = append(parts, t.Exchanges...)
	return strings.Join(parts, ",")
}

// clean deletes what runs that are gone left on the node and, with
// unclaimed, whatever no running process claims.
func clean(ctx context.Context, cfg broker.Config, unclaimed bool, stdout, stderr io.Writer) int {
	n, err := broker.Open(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "brokerctl clean: %v\n", err)
		return exitUsage
	}
	if n.PID() == 0 {
		fmt.Fprintf(stderr, "brokerctl clean: the node is not running (start it with `brokerctl up`)\n")
		return exitNotRunning
	}
	l, err := n.Clean(ctx, unclaimed)
	deleted := len(l.DeadQueues)
	if unclaimed {
		deleted += len(l.Unclaimed)
	}
	fmt.Fprintf(stdout, "deleted:    %d queues (%d runs that are gone", deleted, len(l.Dead))
	if unclaimed {
		fmt.Fprintf(stdout, ", %d unclaimed queues and %d exchanges", len(l.Unclaimed), len(l.UnclaimedExchanges))
	} else if len(l.Unclaimed) > 0 {
		fmt.Fprintf(stdout, "; kept %d unclaimed queues: --unclaimed deletes them", len(l.Unclaimed))
	}
	fmt.Fprintf(stdout, ")\n")
	if err != nil {
		fmt.Fprintf(stderr, "brokerctl clean: %v\n", err)
		return exitFailure
	}
	return exitOK
}

func printURL(cfg broker.Config, extra []string, stdout, stderr io.Writer) int {
	n, err := broker.Open(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "brokerctl url: %v\n", err)
		return exitUsage
	}
	kind := "amqp"
	if len(extra) > 0 {
		kind = extra[0]
	}
	switch kind {
	case "amqp":
		fmt.Fprintln(stdout, n.ClientURL())
	case "mgmt", "management":
		fmt.Fprintln(stdout, n.AdminURL())
	case "prometheus", "prom":
		fmt.Fprintln(stdout, n.PrometheusURL())
	default:
		fmt.Fprintf(stderr, "brokerctl url: unknown kind %q (want amqp, mgmt or prometheus)\n", kind)
		return exitUsage
	}
	return exitOK
}
