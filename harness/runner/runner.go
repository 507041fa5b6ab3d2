package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/edabench/edabench/harness/brokernode"
	"github.com/edabench/edabench/harness/brokernodes"
	"github.com/edabench/edabench/harness/completion"
	"github.com/edabench/edabench/harness/cpubill"
	"github.com/edabench/edabench/harness/launch"
	"github.com/edabench/edabench/harness/load"
	"github.com/edabench/edabench/harness/output"
	"github.com/edabench/edabench/harness/results"
	"github.com/edabench/edabench/internal/twinkind"
	"github.com/edabench/edabench/targets/bus/drivers"
	"github.com/edabench/edabench/targets/eda"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func codesOf(err error) codes.Code { return status.Code(err) }

// Runner runs one scenario.
type Runner struct {
	o       Options
	dir, id string
	node    brokernode.Node
	sum     *results.Summary
	outs    output.List
	live    *liveOutput // the /metrics output; nil when off
	// bill is the harness's CPU by observer; each twin's result reads its
	// own window of it.
	bill *cpubill.Bill
}

// Run runs the scenario on every twin, one after the other, and writes the
// results folder. It returns the summary and the folder even when it
// failed or was interrupted part-way: what was measured is kept, marked
// partial.
func Run(ctx context.Context, opts ...Option) (*results.Summary, string, error) {
	var o Options
	for _, f := range opts {
		f(&o)
	}
	if err := o.defaults(); err != nil {
		return nil, "", err
	}
	if err := checkExternal(ctx, o); err != nil {
		return nil, "", err
	}
	r := &Runner{o: o, bill: cpubill.New()}
	ctx = cpubill.NewContext(ctx, r.bill)
	label := strings.Join(o.Twins, "-") + "-" + o.Scenario.Name
	if o.Shard.Sharded() {
		// The run ID names the orders (attack.OrderID): shards started in
		// the same second must not share one, or an EDA shard would count
		// another's order ends as its own.
		label += fmt.Sprintf("-shard%dof%d", o.Shard.I, o.Shard.N)
	}
	dir, id, err := results.NewRunDir(o.OutDir, label, time.Now())
	if err != nil {
		return nil, "", err
	}
	r.dir, r.id = dir, id
	r.sum = &results.Summary{SchemaVersion: results.SchemaVersion, RunID: id, StartedAt: time.Now().UTC(),
		Scenario: o.Scenario, Environment: environment(ctx), Twins: map[string]*results.TwinResult{}}
	if o.Shard != (load.Shard{}) {
		hash, err := results.ScenarioHash(o.Scenario)
		if err != nil {
			return nil, "", err
		}
		r.sum.Shard = &results.ShardInfo{Index: o.Shard.I, Count: o.Shard.N, ScenarioHash: hash, Seed: o.Seed, StartAt: o.StartAt.UTC()}
	}
	r.outs = r.newOutputs()

	runErr := r.run(ctx)
	if runErr != nil || ctx.Err() != nil {
		r.sum.Partial = true
		switch {
		case ctx.Err() != nil:
			r.sum.PartialReason = "interrupted (" + context.Cause(ctx).Error() + ") during the run; figures cover what ran until then"
		default:
			r.sum.PartialReason = runErr.Error()
		}
	}
	r.sum.EndedAt = time.Now().UTC()
	err = errors.Join(r.outs.Stop(context.WithoutCancel(ctx), r.sum), results.LinkLatest(o.OutDir, dir))
	if err != nil {
		return r.sum, dir, errors.Join(runErr, err)
	}
	return r.sum, dir, runErr
}

func (r *Runner) run(ctx context.Context) error {
	o := r.o
	fmt.Fprintf(o.Progress, "edabench: scenario %s (%s), twins %s, results in %s\n", o.Scenario.Name,
		fmtDur(o.Scenario.TotalDuration()), strings.Join(o.Twins, ", "), r.dir)
	if err := r.outs.Start(ctx, output.Run{Dir: r.dir, ID: r.id, Labels: r.sdLabels()}); err != nil {
		return err
	}
	needBroker := o.Target == "" && slices.ContainsFunc(o.Twins, func(n string) bool { return twinkind.Of(n).UsesBroker() })
	if needBroker {
		if err := r.startBroker(ctx); err != nil {
			return err
		}
	}
	if o.Target == "" && o.Binary == "" {
		bin, err := r.targetBinary(ctx)
		if err != nil {
			return err
		}
		r.o.Binary = bin
	}
	for _, twin := range o.Twins {
		if err := ctx.Err(); err != nil {
			return err
		}
		res, err := r.runTwin(ctx, twin)
		if res != nil {
			r.sum.Twins[twin] = res
		}
		if err != nil {
			return fmt.Errorf("%s twin: %w", twin, err)
		}
	}
	return nil
}

// startBroker starts (or reuses) the private node of the run's broker and
// records which broker it is, and its version, in the environment block.
func (r *Runner) startBroker(ctx context.Context) error {
	o := r.o
	what := "node"
	if o.Cluster > 1 {
		what = fmt.Sprintf("cluster of %d nodes", o.Cluster)
	}
	fmt.Fprintf(o.Progress, "edabench: starting the private %s %s...\n", brokerTitle(o.Broker), what)
	node, err := startNode(ctx, o.Broker, o.Cluster, o.Node)
	if err != nil {
		return fmt.Errorf("the private %s "+what+" did not start: %w (%s starts it by hand)", brokerTitle(o.Broker), err, startByHand(o.Broker))
	}
	r.node = node
	if ex, ok := node.(brokernode.Exporter); ok && r.live != nil {
		if err := r.live.register(ex.Collector()); err != nil {
			o.Log.Warn("the broker node's metrics are not on /metrics", "broker", o.Broker, "err", err)
		}
	}
	v := node.Version(ctx)
	r.sum.Environment.Broker = &results.BrokerInfo{Name: o.Broker, Version: v}
	if members := len(brokernode.Members(node)); members > 1 {
		r.sum.Environment.Broker.Nodes = members
	}
	// The summary's older rabbitmq field, which readers of earlier
	// summaries still take the default broker's version from (results).
	if o.Broker == brokernode.Default {
		r.sum.Environment.RabbitMQ = v
	}
	return nil
}

// brokerTitle is broker's name as its project spells it (its driver's
// Kind.Title), for messages.
func brokerTitle(broker string) string {
	if k, err := drivers.Builtin().Lookup(broker); err == nil {
		return k.Title
	}
	return broker
}

// startByHand is the command that starts broker's node outside a run
// (its node kind's StartByHand).
func startByHand(broker string) string {
	k, err := brokernodes.Builtin().Lookup(broker)
	if err != nil {
		return "`go run ./harness/cmd/brokerctl up --broker " + broker + "`"
	}
	return k.StartByHand
}

// sdLabels are the target labels Prometheus adds to every series of this
// run's targets (dashboards' run and scenario variables).
func (r *Runner) sdLabels() map[string]string {
	return map[string]string{"run": r.id, "scenario": r.o.Scenario.Name}
}

// targetBinary prefers the target built beside edabench (make build puts
// both in bin/), and otherwise builds one from the source tree.
func (r *Runner) targetBinary(ctx context.Context) (string, error) {
	if exe, err := os.Executable(); err == nil {
		if p := filepath.Join(filepath.Dir(exe), "target"); isFile(p) {
			return p, nil
		}
	}
	fmt.Fprintln(r.o.Progress, "edabench: building the target binary...")
	bin, err := launch.BuildTarget(ctx, r.dir)
	if err != nil {
		return "", fmt.Errorf("%w; or run `make build` and use bin/edabench, or pass --binary PATH", err)
	}
	return bin, nil
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

// watch ends the twin's run when svc exits, unless a fault killed it.
func (r *Runner) watch(ctx context.Context, cancel context.CancelCauseFunc, env *twinEnv, twin, svc string) {
	for {
		p := env.tw.Process(svc)
		select {
		case <-ctx.Done():
			return
		case <-p.Done():
		}
		if env.inj == nil || !env.inj.Deliberate(svc) {
			cancel(fmt.Errorf("%s service %s exited unexpectedly (%v); its log: %s", twin, svc, p.ExitErr(), p.LogPath()))
			return
		}
		for env.tw.Process(svc) == p {
			select {
			case <-ctx.Done():
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
}

func deleteQueues(ctx context.Context, url string, cfg eda.Config) {
	if err := eda.DeleteTopology(ctx, url, cfg, completion.QueueName(cfg)); err != nil {
		slog.Debug("delete the twin's queues", "err", err)
	}
}
