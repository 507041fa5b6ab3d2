package runner

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/edabench/edabench/harness/broker/brokertest"
	"github.com/edabench/edabench/harness/completion"
	"github.com/edabench/edabench/harness/launch"
	"github.com/edabench/edabench/harness/natsnode/natstest"
	natsbus "github.com/edabench/edabench/targets/bus/nats"
	"github.com/edabench/edabench/targets/eda"
	"github.com/edabench/edabench/targets/workflow"
)

// TestTargetOverNATS drives an EDA twin over the real NATS node the test
// started (or reused) itself, as a user would (edabench run --target ADDR
// --twin eda --broker nats --broker-url nats://HOST:PORT): the harness
// sees every order's end through the end queue the twin declared
// (--end-queue PREFIX.harness); a wrong prefix, and a twin started
// without that queue, are refused before any load with the fix named.
func TestTargetOverNATS(t *testing.T) {
	node := natstest.Shared(t) // skips under -short; fails naming make nats
	bin, err := buildTarget(t)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	prefix := brokertest.Prefix(t, node, "ntarget")
	tw := startNATSTwin(ctx, t, bin, node.ClientURL(), prefix, completion.QueueName(eda.Config{Prefix: prefix}))
	sc := mustScenario(t, `
name: nats-target
arrival: uniform
stages:
  - {name: steady, duration: 4s, rate: 40}
timeout: 5s
max_in_flight: 512
drain: 20s
`)
	sum, dir, err := Run(ctx, WithTwins("eda"), WithScenario(sc), WithTarget(tw.GatewayAddr()), WithBroker(natsbus.Name),
		WithExternalBroker(node.ClientURL(), prefix), WithOutDir(t.TempDir()), WithMetricsAddr("off"))
	if err != nil {
		t.Fatalf("run: %v (results in %s)", err, dir)
	}
	checkSchema(t, dir)
	r := sum.Twins["eda"]
	o := r.Orders
	if r.Sent == 0 || o.Accepted != r.Sent || o.Completed != o.Accepted || o.Lost != 0 {
		t.Fatalf("sent %d, orders %+v: want every order accepted and seen to complete, none lost", r.Sent, o)
	}
	if r.Lag.DrainMs < 0 {
		t.Fatalf("lag %+v: want the twin's queues sampled through the NATS node, and drained", r.Lag)
	}
	t.Logf("eda over nats, driven with --target: sent %d, completed %d, max depth %d", r.Sent, o.Completed, r.Lag.MaxQueueDepth)

	err = checkExternal(ctx, Options{Target: tw.GatewayAddr(), Twins: []string{"eda"}, Broker: natsbus.Name, BrokerURL: node.ClientURL(), Prefix: prefix + "x"})
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "pass the running twin's --prefix") {
		t.Fatalf("wrong prefix: %v; want ErrInvalid naming --prefix", err)
	}

	// A twin started without --end-queue would deliver no end to the
	// harness: refused, naming the flag.
	bare := brokertest.Prefix(t, node, "ntargetbare")
	tw2 := startNATSTwin(ctx, t, bin, node.ClientURL(), bare, "")
	want := "--end-queue " + completion.QueueName(eda.Config{Prefix: bare})
	err = checkExternal(ctx, Options{Target: tw2.GatewayAddr(), Twins: []string{"eda"}, Broker: natsbus.Name, BrokerURL: node.ClientURL(), Prefix: bare})
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), want) {
		t.Fatalf("no end queue: %v; want ErrInvalid naming %s", err, want)
	}
}

// startNATSTwin starts the EDA twin over NATS, declaring endQueue when
// not "", and stops it and deletes its streams at the test's end.
func startNATSTwin(ctx context.Context, t *testing.T, bin, url, prefix, endQueue string) *launch.Twin {
	t.Helper()
	tw, err := launch.Start(ctx, launch.Spec{Twin: "eda", Topology: workflow.Chain, Binary: bin, Dir: t.TempDir(),
		Broker: natsbus.Name, URL: url, Prefix: prefix, EndQueue: endQueue, Cost: "dist=fixed,mean=1ms", Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), time.Minute)
		defer scancel()
		if err := tw.Stop(sctx); err != nil {
			t.Errorf("stopping the twin: %v", err)
		}
	})
	return tw
}
