package runner

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/edabench/edabench/harness/brokernode"
	"github.com/edabench/edabench/harness/kafkanode/kafkatest"
	"github.com/edabench/edabench/targets/bus"
	"github.com/edabench/edabench/targets/bus/kafka"
	"github.com/edabench/edabench/targets/eda"
)

// TestGroupDepthAgreesWithConsumerGroupTool: the depth the lag sampler
// reads for a twin queue on Kafka (groupDepthNode) is the sum of the LAG
// column of Kafka's own consumer-group tool, for a group that consumed a
// first batch and then has a backlog published while it has no member.
func TestGroupDepthAgreesWithConsumerGroupTool(t *testing.T) {
	node := kafkatest.Shared(t)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	cfg := eda.Config{Driver: kafka.Name, URL: node.ClientURL(), Prefix: fmt.Sprintf("groupdepth%d", time.Now().UnixNano()), Options: kafka.TwinDefaults()}
	release := node.Claim(ctx, brokernode.Topology{Prefixes: []string{cfg.Prefix}})
	defer release(context.WithoutCancel(ctx))
	q := bus.Queue{Name: cfg.QueueName("payment"), Bindings: []string{"order.placed"}}
	conn, err := bus.Dial(ctx, kafka.Kind(), bus.WithURL(cfg.URL), bus.WithExchange(cfg.Exchange()), bus.WithQueue(q),
		bus.WithConnectionName(cfg.Prefix+".test"), bus.WithDriverOptions(cfg.Options))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	defer bus.Delete(context.WithoutCancel(ctx), kafka.Kind(), cfg.URL, cfg.Options, "", q.Name)
	publish := func(from, n int) {
		for i := from; i < from+n; i++ {
			id := fmt.Sprintf("o%d", i)
			if err := conn.Publish(ctx, "order.placed", bus.Message{Body: []byte(id), CorrelationID: id}); err != nil {
				t.Fatalf("Publish %s: %v", id, err)
			}
		}
	}
	g, err := newGroupDepthNode(ctx, node, cfg, []string{q.Name})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	depth := func() brokernode.QueueStat {
		all, err := g.QueueDepths(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return all[q.Name]
	}
	waitDepth := func(want int64) {
		for d := depth(); d.Messages != want || d.Consumers != 0; d = depth() {
			if ctx.Err() != nil {
				t.Fatalf("depth %+v: never %d with no consumer", d, want)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	const consumed, backlog = 24, 37
	publish(0, consumed)
	// A member consumes the first batch (its group commits on every
	// partition), then leaves.
	cctx, stop := context.WithCancel(ctx)
	took := make(chan struct{}, consumed)
	done := make(chan error, 1)
	go func() {
		done <- conn.Consume(cctx, q.Name, bus.ConsumeOptions{ShutdownGrace: 5 * time.Second}, func(context.Context, bus.Delivery) error {
			took <- struct{}{}
			return nil
		})
	}()
	for range consumed {
		select {
		case <-took:
		case <-ctx.Done():
			t.Fatal("the first batch was not consumed")
		}
	}
	for depth().Messages != 0 {
		if ctx.Err() != nil {
			t.Fatal("the first batch was never committed")
		}
		time.Sleep(50 * time.Millisecond)
	}
	stop()
	<-done
	publish(consumed, backlog)
	waitDepth(backlog)

	tool, err := node.DescribeGroup(ctx, q.Name)
	if err != nil {
		t.Fatal(err)
	}
	var lag int64
	for _, r := range tool {
		if r.Lag < 0 {
			t.Fatalf("tool row %+v: no commit on a partition the first batch should have reached", r)
		}
		lag += r.Lag
	}
	if d := depth(); d.Messages != lag || d.Messages != backlog {
		t.Errorf("group depth %d, the tool's LAG sums to %d, %d were published with no member", d.Messages, lag, backlog)
	}
}
