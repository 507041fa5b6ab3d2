package kafka_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/edabench/edabench/harness/brokernode"
	"github.com/edabench/edabench/harness/kafkanode/kafkatest"
	"github.com/edabench/edabench/targets/bus"
	"github.com/edabench/edabench/targets/bus/kafka"
)

// TestRoutingFansOutByBindings: a publish reaches every queue whose
// bindings take its routing key, as a topic exchange routes; a mandatory
// one no queue takes is unroutable.
func TestRoutingFansOutByBindings(t *testing.T) {
	node := kafkatest.Shared(t)
	prefix := fmt.Sprintf("kafkarouting-%d", time.Now().UnixNano())
	release := node.Claim(t.Context(), brokernode.Topology{Prefixes: []string{prefix}})
	all := bus.Queue{Name: prefix + ".all", Bindings: []string{"order.*"}}
	created := bus.Queue{Name: prefix + ".created", Bindings: []string{"order.created"}}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := kafka.Kind().Delete(ctx, bus.DriverConfig{URL: node.ClientURL()}, bus.Topology{Queues: []bus.Queue{all, created}}); err != nil {
			t.Errorf("delete: %v", err)
		}
		release(ctx)
	})
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	c, err := bus.Dial(context.WithoutCancel(ctx), kafka.Kind(), bus.WithURL(node.ClientURL()), bus.WithExchange(prefix+".orders"),
		bus.WithQueue(all), bus.WithQueue(created), bus.WithConnectionName(prefix+"/svc"), bus.WithMandatory(true))
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })

	for _, tc := range []struct {
		key     string
		wantErr error
	}{
		{"order.created", nil}, // both queues
		{"order.paid", nil},    // the wildcard queue only
		{"payment.done", bus.ErrUnroutable},
		{"order.created", nil},
	} {
		if err := c.Publish(ctx, tc.key, bus.Message{Body: []byte(tc.key), CorrelationID: "o1"}); !errors.Is(err, tc.wantErr) {
			t.Errorf("Publish(%s) = %v, want %v", tc.key, err, tc.wantErr)
		}
	}
	var mu sync.Mutex
	got := map[string][]string{}
	for _, q := range []bus.Queue{all, created} {
		member(t, c, q.Name, func(_ context.Context, d bus.Delivery) error {
			mu.Lock()
			got[d.Queue] = append(got[d.Queue], d.RoutingKey)
			mu.Unlock()
			return nil
		})
	}
	want := map[string][]string{
		all.Name:     {"order.created", "order.created", "order.paid"},
		created.Name: {"order.created", "order.created"},
	}
	// Handlers run concurrently, so the keys are compared as sets.
	waitUntil(t, "each queue got what its bindings take", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got[all.Name]) >= 3 && len(got[created.Name]) >= 2
	})
	mu.Lock()
	defer mu.Unlock()
	for q, keys := range want {
		slices.Sort(got[q])
		if !slices.Equal(got[q], keys) {
			t.Errorf("queue %s got %v, want %v", q, got[q], keys)
		}
	}
}
