package kafka_test

import (
	"context"
	"testing"
	"time"

	"github.com/edabench/edabench/targets/bus"
	"github.com/edabench/edabench/targets/bus/kafka"
)

// TestSubscribeReturnsStarted holds the driver to its contract that
// Subscribe returns once the broker delivers to the member: the group
// assigned it and its first fetch came back. A service announces itself
// ready after subscribing, and a member still starting held the first
// second of a run's orders (the reason is in consume.go's awaitJoin).
func TestSubscribeReturnsStarted(t *testing.T) {
	e := newQueueEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	d, err := kafka.Kind().Open(ctx, bus.DriverConfig{URL: e.url, ConnectionName: e.prefix + "/start"})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.Declare(ctx, bus.Topology{Exchange: e.prefix + ".orders", Queues: []bus.Queue{e.q}}); err != nil {
		t.Fatal(err)
	}
	sub, err := d.Subscribe(ctx, e.q.Name, 8)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if assigned, fetched := kafka.Started(sub); !assigned || !fetched {
		t.Fatalf("Subscribe returned with assigned=%v fetched=%v: want a member that has its partitions and has fetched", assigned, fetched)
	}
}
