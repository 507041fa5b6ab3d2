package nats_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/edabench/edabench/harness/brokernode"
	"github.com/edabench/edabench/harness/natsnode"
	"github.com/edabench/edabench/harness/natsnode/natstest"
	"github.com/edabench/edabench/targets/bus"
	natsbus "github.com/edabench/edabench/targets/bus/nats"
)

// rig is a driver opened on the shared node, on a claimed prefix with one
// queue declared.
type rig struct {
	node  *natsnode.Node
	d     bus.Driver
	cfg   bus.DriverConfig
	topo  bus.Topology
	queue string
}

func newRig(t testing.TB, o natsbus.Options, maxAttempts int) *rig {
	t.Helper()
	return newRigOn(t, natstest.Shared(t), o, maxAttempts)
}

func newRigOn(t testing.TB, node *natsnode.Node, o natsbus.Options, maxAttempts int) *rig {
	t.Helper()
	prefix := fmt.Sprintf("natstest-%d", time.Now().UnixNano())
	release := node.Claim(t.Context(), brokernode.Topology{Prefixes: []string{prefix}})
	t.Cleanup(func() { release(context.Background()) })
	cfg := bus.DriverConfig{URL: node.ClientURL(), ConnectionName: prefix, Options: o,
		BackoffMin: 20 * time.Millisecond, BackoffMax: 500 * time.Millisecond, ConnectTimeout: 30 * time.Second}
	d, err := natsbus.Kind().Open(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	r := &rig{node: node, d: d, cfg: cfg, queue: prefix + ".in"}
	r.topo = bus.Topology{Exchange: prefix + ".orders", Queues: []bus.Queue{{Name: r.queue, Bindings: []string{"in.#"}, MaxAttempts: maxAttempts}}}
	if err := d.Declare(t.Context(), r.topo); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = natsbus.Kind().Delete(context.Background(), cfg, r.topo) })
	return r
}

func (r *rig) publish(t *testing.T, n int) {
	t.Helper()
	for i := range n {
		id := fmt.Sprintf("o%d", i)
		m := bus.Outgoing{RoutingKey: "in.placed", Body: []byte(id), MessageID: bus.NewMessageID(), CorrelationID: id, PublishedNS: time.Now().UnixNano()}
		if err := r.d.Publish(t.Context(), m); err != nil {
			t.Fatalf("publish %s: %v", id, err)
		}
	}
}

func (r *rig) subscribe(t *testing.T, queue string, prefetch int) bus.Subscription {
	t.Helper()
	s, err := r.d.Subscribe(t.Context(), queue, prefetch)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func receive(t *testing.T, s bus.Subscription, n int) []bus.Inbound {
	t.Helper()
	var out []bus.Inbound
	deadline := time.After(time.Minute)
	for len(out) < n {
		select {
		case in, ok := <-s.Deliveries():
			if !ok {
				t.Fatalf("subscription ended after %d of %d deliveries: %v", len(out), n, s.Err())
			}
			out = append(out, in)
		case <-deadline:
			t.Fatalf("%d of %d deliveries within a minute", len(out), n)
		}
	}
	return out
}

// The driver's backlog (consumer info) and the server's /jsz agree on a
// queue's pending and ack-pending messages, and their sum is what was
// published and not yet acked.
func TestBacklogMatchesJsz(t *testing.T) {
	r := newRig(t, natsbus.Options{}, 0)
	const n = 10
	r.publish(t, n)
	s := r.subscribe(t, r.queue, 3)
	ins := receive(t, s, 3)
	for _, in := range ins[:2] {
		if err := in.Ack(); err != nil {
			t.Fatal(err)
		}
	}
	want := int64(n - 2)
	var b natsbus.Backlog
	var q brokernode.QueueStat
	deadline := time.Now().Add(30 * time.Second)
	for {
		var err error
		if b, err = natsbus.BacklogOf(t.Context(), r.d, r.queue); err != nil {
			t.Fatal(err)
		}
		qs, err := r.node.QueueDepths(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		q = qs[r.queue]
		if b.Pending+b.AckPending == want && b.Pending == q.Ready && b.AckPending == q.Unacked && q.Messages == want && b.AckPending >= 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("driver backlog %+v, /jsz %+v: want pending + ack pending = %d, the two equal, at least the unacked delivery pending ack", b, q, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("backlog %+v agrees with /jsz %+v", b, q)
}

// A message its consumers never settle reaches MaxDeliver; the
// max-deliveries advisory moves it to the dead-letter queue, with its
// identity and the attempts made, and out of the queue.
func TestMaxDeliveriesAdvisoryDeadLetters(t *testing.T) {
	r := newRig(t, natsbus.Options{AckWait: 500 * time.Millisecond}, 2)
	r.publish(t, 1)
	s := r.subscribe(t, r.queue, 4)
	ins := receive(t, s, 2) // the first delivery and its redelivery, never settled (a consumer crashing on it)
	if ins[1].DeliveryCount != 1 || ins[1].MessageID != ins[0].MessageID {
		t.Fatalf("redelivery %+v of %+v: want the same message, delivery count 1", ins[1], ins[0])
	}
	dlq := r.subscribe(t, bus.DLQName(r.queue), 4)
	dl := receive(t, dlq, 1)[0]
	if dl.MessageID != ins[0].MessageID || dl.CorrelationID != "o0" || dl.DeliveryCount < 2 || !dl.PublishedAt.Equal(ins[0].PublishedAt) {
		t.Errorf("dead letter %+v: want message %s (order o0), its first-publish time, at least 2 attempts", dl, ins[0].MessageID)
	}
	b, err := natsbus.BacklogOf(t.Context(), r.d, r.queue)
	if err != nil {
		t.Fatal(err)
	}
	if b.Pending != 0 || b.AckPending != 0 {
		t.Errorf("the queue still holds the dead-lettered message: %+v", b)
	}
}
