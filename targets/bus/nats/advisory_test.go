package nats_test

import (
	"context"
	"testing"
	"time"

	"github.com/edabench/edabench/harness/natsnode/natstest"
	"github.com/edabench/edabench/targets/bus"
	natsbus "github.com/edabench/edabench/targets/bus/nats"
)

// open is another service's driver on the rig's topology (its own
// connection), closed when the test ends.
func (r *rig) open(t *testing.T, name string) bus.Driver {
	t.Helper()
	cfg := r.cfg
	cfg.ConnectionName += "-" + name
	d, err := natsbus.Kind().Open(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	if err := d.Declare(t.Context(), r.topo); err != nil {
		t.Fatal(err)
	}
	return d
}

// held waits until the exchange's queue, dead-letter and advisory streams
// hold want (a minute at most) and returns what they held last.
func held(t *testing.T, d bus.Driver, want [3]uint64, what string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		q, dlq, adv, err := natsbus.Held(t.Context(), d)
		if err != nil {
			t.Fatal(err)
		}
		got := [3]uint64{q, dlq, adv}
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: the queue, dead-letter and advisory streams hold %v, want %v", what, got, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A message reaches MaxDeliver while no driver of its queue runs (the
// consumer that pulled it crashed, and nothing else subscribes): the
// server's one max-deliveries advisory finds nobody listening. The
// advisory stream keeps it, and once services of the queue subscribe
// again the message reaches the dead-letter queue, once, although two
// of them compete for the advisory.
func TestMaxDeliveriesWhileNobodyListens(t *testing.T) {
	r := newRig(t, natsbus.Options{AckWait: 300 * time.Millisecond}, 1)
	r.publish(t, 1)
	if err := natsbus.PullUnsettled(t.Context(), r.d, r.queue); err != nil {
		t.Fatal(err)
	}
	// Past AckWait the one delivery allowed is spent: the queue's
	// consumer holds nothing pending, the stream still has the message,
	// and the advisory waits in the advisory stream.
	held(t, r.d, [3]uint64{1, 0, 1}, "max deliveries reached with no subscriber")
	b, err := natsbus.BacklogOf(t.Context(), r.d, r.queue)
	if err != nil {
		t.Fatal(err)
	}
	if b.Pending != 0 || b.AckPending != 0 {
		t.Fatalf("backlog %+v: want the message past MaxDeliver counted by neither pending nor ack pending", b)
	}

	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	var subs []bus.Subscription
	for _, name := range []string{"back-1", "back-2"} {
		s, err := r.open(t, name).Subscribe(ctx, r.queue, 4)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		subs = append(subs, s)
	}
	dlq := r.subscribe(t, bus.DLQName(r.queue), 4)
	dl := receive(t, dlq, 1)[0]
	if dl.CorrelationID != "o0" || dl.DeliveryCount < 1 {
		t.Errorf("dead letter %+v: want order o0 with its attempts", dl)
	}
	if err := dl.Ack(); err != nil {
		t.Fatal(err)
	}
	// Acked, the dead letter leaves its work-queue stream: both streams
	// and the advisory stream empty means one dead letter, moved once.
	held(t, r.d, [3]uint64{0, 0, 0}, "after the dead letter was read")
	time.Sleep(time.Second) // a second mover's copy would land now
	held(t, r.d, [3]uint64{0, 0, 0}, "a second later")
	for _, s := range subs {
		select {
		case in := <-s.Deliveries():
			t.Errorf("the dead-lettered message was delivered again: %+v", in)
		default:
		}
	}
}

// The driver that moves a queue's max-deliveries keeps doing so across a
// broker restart: its consumer of the advisory stream pulls again once
// the connection is back, with no new subscription asking it to.
func TestMaxDeliveriesMovedAfterBrokerRestart(t *testing.T) {
	node := natstest.Dedicated(t)
	r := newRigOn(t, node, natsbus.Options{AckWait: 300 * time.Millisecond}, 1)
	first, err := r.d.Subscribe(t.Context(), r.queue, 4)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	if err := node.Restart(ctx); err != nil {
		t.Fatalf("restart the node: %v", err)
	}
	if err := r.d.Reconnect(ctx); err != nil {
		t.Fatalf("reconnect: %v", err)
	}
	r.publish(t, 1)
	s := r.subscribe(t, r.queue, 4)
	receive(t, s, 1) // never settled: its one delivery allowed is spent
	dl := receive(t, r.subscribe(t, bus.DLQName(r.queue), 4), 1)[0]
	if dl.CorrelationID != "o0" {
		t.Errorf("dead letter %+v: want order o0", dl)
	}
	if err := dl.Ack(); err != nil {
		t.Fatal(err)
	}
	held(t, r.d, [3]uint64{0, 0, 0}, "after the dead letter was read")
}
