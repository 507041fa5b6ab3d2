package orderends_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/edabench/edabench/harness/broker/brokertest"
	"github.com/edabench/edabench/targets/api/orderpb"
	"github.com/edabench/edabench/targets/bus"
	"github.com/edabench/edabench/targets/eda"
	"github.com/edabench/edabench/targets/eda/orderends"
	"google.golang.org/protobuf/proto"
)

// A subscriber takes each end published on the twin's exchange, completed
// or failed, and nothing else; Delete leaves nothing of it on the broker
// (brokertest.Prefix fails the test otherwise).
func TestSubscribeTakesOrderEnds(t *testing.T) {
	node := brokertest.Shared(t)
	cfg := eda.DefaultConfig()
	cfg.URL, cfg.Prefix = node.AMQPURL(), brokertest.Prefix(t, node, "orderends")
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()

	sub, err := orderends.Subscribe(ctx, orderends.Config{Twin: cfg, Queue: cfg.QueueName("test"), ConnectionName: t.Name()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		dctx, dcancel := context.WithTimeout(context.Background(), time.Minute)
		defer dcancel()
		if err := sub.Delete(dctx); err != nil {
			t.Errorf("Delete: %v", err)
		}
		if err := eda.DeleteTopology(dctx, cfg.URL, cfg); err != nil {
			t.Errorf("DeleteTopology: %v", err)
		}
	})
	var mu sync.Mutex
	got := map[string]orderends.End{}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- sub.Run(runCtx, func(e orderends.End) error {
			mu.Lock()
			defer mu.Unlock()
			got[e.OrderID] = e
			return nil
		})
	}()

	pub, err := cfg.Dial(ctx, t.Name()+"/pub")
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	for _, tc := range []struct {
		key, order, reason string
	}{
		{eda.KeyOrderCompleted, "o1", ""},
		{eda.KeyOrderFailed, "o2", "out of stock"},
		{eda.KeyStockReserved, "o3", ""}, // not an end
	} {
		body, err := proto.Marshal(&orderpb.Event{Order: &orderpb.OrderData{OrderId: tc.order}, Reason: tc.reason})
		if err != nil {
			t.Fatal(err)
		}
		if err := pub.Publish(ctx, tc.key, bus.Message{Body: body, CorrelationID: tc.order}); err != nil {
			t.Fatalf("publish %s: %v", tc.key, err)
		}
	}
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n >= 2 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("saw %d order ends, want 2", n)
		case <-time.After(50 * time.Millisecond):
		}
	}
	stop()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if e := got["o1"]; !e.Completed || e.At.IsZero() {
		t.Errorf("o1: %+v, want completed", e)
	}
	if e := got["o2"]; e.Completed || e.Reason != "out of stock" {
		t.Errorf("o2: %+v, want failed, out of stock", e)
	}
	if _, ok := got["o3"]; ok || len(got) != 2 {
		t.Errorf("ends %v: want o1 and o2 only", got)
	}
}

func TestSubscribeNeedsAQueue(t *testing.T) {
	if _, err := orderends.Subscribe(t.Context(), orderends.Config{Twin: eda.DefaultConfig()}); err == nil {
		t.Fatal("Subscribe without a queue name succeeded")
	}
}
