package runner

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"time"

	"github.com/edabench/edabench/harness/brokernode"
	"github.com/edabench/edabench/harness/completion"
	"github.com/edabench/edabench/harness/executor"
	"github.com/edabench/edabench/harness/fault"
	"github.com/edabench/edabench/harness/hops"
	"github.com/edabench/edabench/harness/isolate"
	"github.com/edabench/edabench/harness/launch"
	"github.com/edabench/edabench/targets/eda"
	"github.com/edabench/edabench/targets/hybrid"
	"github.com/edabench/edabench/targets/workflow"
)

// setUp names the twin's broker objects, claims them on the node, and
// starts the twin unless it runs already (Target).
func (t *twinRun) setUp() error {
	o, sc := t.r.o, t.r.o.Scenario
	if o.Target != "" && len(sc.Faults) > 0 {
		return fmt.Errorf("%w: the scenario injects faults, which needs the twin started by edabench, not --target", ErrInvalid)
	}
	if sc.DeploymentMode() == isolate.Isolated {
		if o.Target != "" {
			return fmt.Errorf("%w: deployment isolated caps the twin's processes, which needs the twin started by edabench: drop --target, or run with --deployment shared", ErrInvalid)
		}
		if _, err := isolate.Available(); err != nil {
			return fmt.Errorf("%w: %w", ErrInvalid, err)
		}
	}
	if o.Target != "" && !sc.NetworkProfile().IsZero() {
		return fmt.Errorf("%w: network %s puts a proxy on every hop, which needs the twin started by edabench: drop --target, or run with --network loopback", ErrInvalid, sc.NetworkProfile().Name)
	}
	t.env.edaCfg = t.edaConfig()
	release := t.r.claimTopology(t.ctx, t.name, t.env.edaCfg) // before anything is declared
	t.onExit(release)
	if o.Target != "" {
		return nil
	}
	return t.launch()
}

// edaConfig is the twin's broker settings: a fresh prefix per run, unless
// an external twin's names are given.
func (t *twinRun) edaConfig() eda.Config {
	o, sc := t.r.o, t.r.o.Scenario
	prefix := fmt.Sprintf("eb%08x", rand.Uint32())
	if o.Target != "" && t.kind.UsesBroker() {
		prefix = o.Prefix
	}
	cfg := eda.DefaultConfig()
	if o.Broker != cfg.Broker() {
		// Another driver's defaults: RabbitMQ's options mean nothing to it.
		cfg.Driver, cfg.Options = o.Broker, nil
	}
	cfg.URL, cfg.Prefix = t.r.brokerURL(), prefix
	cfg.Topology, cfg.Steps = workflow.Topology(sc.Topology), sc.StepCount()
	if !nodeDepthIsBacklog(o.Broker) {
		// A driver that routes itself produces only to the queues its
		// service declared: the harness's order ends must be among them.
		cfg.EndQueue = completion.QueueName(cfg)
	}
	if t.kind.HandsOff() {
		cfg = hybrid.EDAConfig(cfg)
	}
	return cfg
}

// brokerURL is the broker the twins use: the private node when the runner
// started one, else the external twin's.
func (r *Runner) brokerURL() string {
	if r.node != nil {
		return r.node.ClientURL()
	}
	return r.o.BrokerURL
}

// GeneratorHop names the proxy between the load generator and the
// gateway, placed when a network profile is on.
const GeneratorHop = "generator"

// launch starts the twin's services (behind proxies when a fault degrades
// a hop), publishes them for Prometheus, arms the faults and watches every
// service.
func (t *twinRun) launch() error {
	o, sc, r := t.r.o, t.r.o.Scenario, t.r
	fmt.Fprintf(o.Progress, "edabench: starting the %s twin (%s, %d steps)...\n", t.name, sc.Topology, sc.StepCount())
	var proxies *hops.Set
	network := sc.NetworkProfile()
	if fault.NeedsProxies(sc.Faults) || !network.IsZero() {
		proxies = hops.New(t.log)
		if err := proxies.SetBase(network.Degradation()); err != nil {
			return fmt.Errorf("network %s: %w", network.Name, err)
		}
		// Closed after the twin stopped (undone last first), so no service
		// sees its hop vanish while it still runs.
		t.onExit(func(ctx context.Context) {
			if err := proxies.Close(ctx); err != nil {
				t.log.Warn("stopping the network proxies", "err", err)
			}
		})
	}
	tw, err := launch.Start(t.ctx, launch.Spec{Twin: t.name, Topology: workflow.Topology(sc.Topology), Binary: o.Binary, BinaryArgs: o.BinaryArgs,
		Dir: r.dir, Broker: t.env.edaCfg.Broker(), URL: t.env.edaCfg.URL, Prefix: t.env.edaCfg.Prefix, EndQueue: t.env.edaCfg.EndQueue, Cost: sc.Cost, Seed: o.Seed, Steps: sc.StepCount(), Hops: proxies})
	if err != nil {
		return err
	}
	t.env.tw, t.env.gateway = tw, tw.GatewayAddr()
	if !network.IsZero() {
		// The generator is a host of its own too: its link to the gateway
		// carries the profile like every other hop.
		if t.env.gateway, err = proxies.Add(GeneratorHop, tw.GatewayAddr()); err != nil {
			return errors.Join(err, tw.Stop(context.WithoutCancel(t.ctx)))
		}
	}
	rmSD, err := launch.WriteFileSDGroups(launch.FileSDDir(), t.name, tw.FileSDGroups(r.sdLabels()))
	if err != nil {
		t.log.Warn("file SD for the services", "err", err)
	}
	t.onExit(func(context.Context) { rmSD() })
	t.onExit(func(ctx context.Context) {
		if err := tw.Stop(ctx); err != nil {
			t.log.Warn("stopping the twin", "err", err)
		}
		if t.kind.UsesBroker() && r.node != nil {
			deleteQueues(ctx, t.env.edaCfg.URL, t.env.edaCfg)
		}
	})
	if len(sc.Faults) > 0 {
		var node brokernode.Node // nil for fault.Env: the twin uses no broker
		if t.kind.UsesBroker() {
			node = r.node
		}
		t.env.inj = fault.New(sc.Faults, tw, node, t.log)
		// Undone on every way out; Stop is idempotent.
		t.onExit(func(ctx context.Context) { t.env.inj.Stop(ctx) })
	}
	if sc.DeploymentMode() == isolate.Isolated {
		if err := t.isolate(tw); err != nil {
			return err
		}
	}
	// A child that dies on its own ends the run, marked partial: its
	// figures would be meaningless from then on. One a fault killed is
	// expected back, and watched again once it is.
	for _, svc := range tw.Services() {
		go r.watch(t.ctx, t.cancel, &t.env, t.name, svc)
	}
	return nil
}

// isolate caps every tier of the twin's deployment at its CPU budget until
// the twin's run ends.
func (t *twinRun) isolate(tw *launch.Twin) error {
	h, err := isolate.Available()
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	useBroker := t.kind.UsesBroker() && t.r.node != nil
	budgets := isolate.Budgets(float64(runtime.NumCPU()), tw.Services(), useBroker)
	tiers := []isolate.Tier{{Name: isolate.Generator, Cores: budgets[isolate.Generator], PIDs: func() []int { return []int{os.Getpid()} }}}
	for _, svc := range tw.Services() {
		tiers = append(tiers, isolate.Tier{Name: svc, Cores: budgets[svc], PIDs: func() []int {
			if p := tw.Process(svc); p != nil && !p.Exited() {
				return []int{p.PID()}
			}
			return nil
		}})
	}
	if useBroker {
		node := t.r.node
		tiers = append(tiers, isolate.Tier{Name: isolate.Broker, Cores: budgets[isolate.Broker], PIDs: func() []int {
			if pid := node.PID(); pid > 0 {
				return []int{pid}
			}
			return nil
		}})
	}
	d, err := isolate.Start(t.ctx, h, t.name, tiers, t.log)
	if err != nil {
		return fmt.Errorf("deployment isolated: %w", err)
	}
	// Registered after the twin's stop, so undone before it: no process is
	// left capped, whichever way the run ends.
	t.onExit(func(context.Context) {
		if err := d.Stop(); err != nil {
			t.log.Warn("removing the deployment's cgroups", "err", err)
		}
	})
	t.cpuBudgets = d.Budgets()
	t.log.Info("deployment isolated", "budgets", t.cpuBudgets)
	return nil
}

// plan sizes the twin's state for the scenario's load and picks the
// executor that will run it.
func (t *twinRun) plan() error {
	o, sc := t.r.o, t.r.o.Scenario
	t.stages = sc.LoadStages()
	var phases []string
	for _, st := range t.stages {
		phases = append(phases, st.Name)
	}
	t.workers = sc.MaxInFlight
	seconds := int((sc.TotalDuration()+sc.Drain+sc.Timeout)/time.Second) + 5
	sched, err := sc.Schedule(o.Seed)
	if err != nil {
		return err
	}
	t.maxOrders = int64(sched.Expected()*1.5) + 10000
	if t.exec, err = executor.Builtin().Get(sc.Executor()); err != nil {
		return err
	}
	t.st = newTwinState(t.name, time.Now(), phases, t.workers, seconds, t.maxOrders)
	return nil
}
