package runner

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/edabench/edabench/harness/broker/brokertest"
	"github.com/edabench/edabench/harness/completion"
	"github.com/edabench/edabench/harness/kafkanode/kafkatest"
	"github.com/edabench/edabench/harness/launch"
	"github.com/edabench/edabench/targets/bus"
	"github.com/edabench/edabench/targets/bus/kafka"
	"github.com/edabench/edabench/targets/eda"
	"github.com/edabench/edabench/targets/workflow"
)

// TestTargetOverKafka drives an EDA twin over the real Kafka node that
// the test started itself, as a user would (edabench run --target ADDR
// --twin eda --broker kafka --broker-url HOST:PORT): the harness sees every
// order's end through the end queue the twin declared (--end-queue
// PREFIX.harness), so none is lost; and a twin without that queue, or a
// wrong prefix, is refused before any load with the fix named.
func TestTargetOverKafka(t *testing.T) {
	node := kafkatest.Shared(t) // skips under -short; fails naming make kafka
	bin, err := buildTarget(t)
	if err != nil {
		t.Fatal(err)
	}
	prefix := brokertest.Prefix(t, node, "ktarget")
	cfg := eda.Config{Prefix: prefix}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	tw, err := launch.Start(ctx, launch.Spec{Twin: "eda", Topology: workflow.Chain, Binary: bin, Dir: t.TempDir(),
		Broker: kafka.Name, URL: node.ClientURL(), Prefix: prefix, EndQueue: completion.QueueName(cfg), Cost: "dist=fixed,mean=1ms", Seed: 1})
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
	sc := mustScenario(t, `
name: kafka-target
arrival: uniform
stages:
  - {name: steady, duration: 4s, rate: 40}
timeout: 5s
max_in_flight: 512
drain: 20s
`)
	sum, dir, err := Run(ctx, WithTwins("eda"), WithScenario(sc), WithTarget(tw.GatewayAddr()), WithBroker(kafka.Name),
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
		t.Fatalf("lag %+v: want the twin's queues sampled through the Kafka node, and drained", r.Lag)
	}
	t.Logf("eda over kafka, driven with --target: sent %d, completed %d, max depth %d", r.Sent, o.Completed, r.Lag.MaxQueueDepth)

	// The same twin under another prefix: refused, naming --prefix.
	err = checkExternal(ctx, Options{Target: tw.GatewayAddr(), Twins: []string{"eda"}, Broker: kafka.Name, BrokerURL: node.ClientURL(), Prefix: prefix + "x"})
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "pass the running twin's --prefix") {
		t.Fatalf("wrong prefix: %v; want ErrInvalid naming --prefix", err)
	}
	// Without the harness's end queue the twin would produce no end the
	// harness sees: refused, naming --end-queue.
	kind, err := (eda.Config{Driver: kafka.Name}).Kind()
	if err != nil {
		t.Fatal(err)
	}
	if err := bus.Delete(ctx, kind, node.ClientURL(), nil, "", completion.QueueName(cfg)); err != nil {
		t.Fatal(err)
	}
	err = checkExternal(ctx, Options{Target: tw.GatewayAddr(), Twins: []string{"eda"}, Broker: kafka.Name, BrokerURL: node.ClientURL(), Prefix: prefix})
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "--end-queue "+completion.QueueName(cfg)) {
		t.Fatalf("no end queue: %v; want ErrInvalid naming --end-queue", err)
	}
}

// TestTargetOverRabbitMQ drives a running EDA twin over RabbitMQ (--target
// with --broker-url, the old --amqp): the run claims nothing on a node it
// did not start (it has none), binds its own end queue, sees every order
// end and deletes that queue, leaving the twin's topology to the twin.
func TestTargetOverRabbitMQ(t *testing.T) {
	node := brokertest.Shared(t)
	bin, err := buildTarget(t)
	if err != nil {
		t.Fatal(err)
	}
	prefix := brokertest.Prefix(t, node, "rtarget")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	tw, err := launch.Start(ctx, launch.Spec{Twin: "eda", Topology: workflow.Chain, Binary: bin, Dir: t.TempDir(),
		URL: node.AMQPURL(), Prefix: prefix, Cost: "dist=fixed,mean=1ms", Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), time.Minute)
		defer scancel()
		if err := tw.Stop(sctx); err != nil {
			t.Errorf("stopping the twin: %v", err)
		}
		if err := eda.DeleteTopology(sctx, node.AMQPURL(), eda.Config{Prefix: prefix, Topology: workflow.Chain}); err != nil {
			t.Errorf("deleting the twin's topology: %v", err)
		}
	})
	sc := mustScenario(t, `
name: rabbitmq-target
arrival: uniform
stages:
  - {name: steady, duration: 3s, rate: 40}
timeout: 5s
max_in_flight: 512
drain: 20s
`)
	sum, dir, err := Run(ctx, WithTwins("eda"), WithScenario(sc), WithTarget(tw.GatewayAddr()),
		WithExternalBroker(node.AMQPURL(), prefix), WithOutDir(t.TempDir()), WithMetricsAddr("off"))
	if err != nil {
		t.Fatalf("run: %v (results in %s)", err, dir)
	}
	r := sum.Twins["eda"]
	if o := r.Orders; r.Sent == 0 || o.Accepted != r.Sent || o.Completed != o.Accepted || o.Lost != 0 {
		t.Fatalf("sent %d, orders %+v: want every order accepted and seen to complete, none lost", r.Sent, o)
	}
	qs, err := node.QueueDepths(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := qs[completion.QueueName(eda.Config{Prefix: prefix})]; ok {
		t.Errorf("the harness's queue %s is left on the broker", completion.QueueName(eda.Config{Prefix: prefix}))
	}
}
