package bustest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edabench/edabench/targets/bus"
)

// testPublishConfirmed: a message is the broker's once Publish returned:
// another connection, opened after the publisher closed, consumes every
// one, with the identity and first-publish time the layer stamped.
func testPublishConfirmed(t *testing.T, b Broker) {
	e := newEnv(t, b, 0)
	pub := e.dial(t, "pub")
	const n = 20
	before := time.Now()
	for i := range n {
		publish(t, pub, "in.placed", fmt.Sprintf("o%d", i))
	}
	after := time.Now()
	if err := pub.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	got := newRecord()
	consume(t, e.dial(t, "sub"), e.in.Name, func(_ context.Context, d bus.Delivery) error { got.add(d); return nil })
	ds := got.waitFor(t, fmt.Sprintf("all %d confirmed messages consumed", n), func(ds []bus.Delivery) bool { return len(orders(ds)) == n })
	for _, d := range ds {
		switch {
		case d.MessageID == "" || d.CorrelationID != string(d.Body):
			t.Errorf("delivery %+v lost its identity (message ID, order ID)", d)
		case d.PublishedAt.Before(before) || d.PublishedAt.After(after):
			t.Errorf("order %s: first-publish time %v outside its Publish call [%v, %v]", d.CorrelationID, d.PublishedAt, before, after)
		case d.RoutingKey != "in.placed" || d.Queue != e.in.Name:
			t.Errorf("order %s: routing key %q, queue %q", d.CorrelationID, d.RoutingKey, d.Queue)
		}
	}
}

// testSurvivesRestart: what Publish confirmed is still there after the
// broker restarted, for a connection opened after it.
func testSurvivesRestart(t *testing.T, b Broker) {
	if b.Restart == nil {
		t.Skip("this broker cannot be restarted by the test (Broker.Restart is nil)")
	}
	e := newEnv(t, b, 0)
	pub := e.dial(t, "pub")
	const n = 20
	for i := range n {
		publish(t, pub, "in.placed", fmt.Sprintf("o%d", i))
	}
	if err := pub.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	b.Restart(t)
	got := newRecord()
	consume(t, e.dial(t, "sub"), e.in.Name, func(_ context.Context, d bus.Delivery) error { got.add(d); return nil })
	got.waitFor(t, fmt.Sprintf("all %d messages confirmed before the restart consumed after it", n),
		func(ds []bus.Delivery) bool { return len(orders(ds)) == n })
}

// testAckAfterConfirm: a handler that returns nil while a publish it made
// through its ctx was not confirmed does not get its input acked: the
// input comes back, up to its bound, then goes to the dead-letter queue;
// the same handler with a confirmed publish is acked at once.
func testAckAfterConfirm(t *testing.T, b Broker) {
	e := newEnv(t, b, 2)
	w := e.dial(t, "worker", bus.WithMandatory(true))
	got := newRecord()
	consume(t, w, e.in.Name, func(ctx context.Context, d bus.Delivery) error {
		got.add(d)
		key := "out.done"
		if string(d.Body) == "unconfirmed" {
			key = "nowhere.bound" // unroutable: the broker never takes it
		}
		_ = w.Publish(ctx, key, bus.Message{Body: d.Body, CorrelationID: d.CorrelationID}) // the error is ignored on purpose
		return nil
	})
	dead := newRecord()
	consume(t, e.dial(t, "dlq"), bus.DLQName(e.in.Name), func(_ context.Context, d bus.Delivery) error { dead.add(d); return nil })
	out := newRecord()
	consume(t, e.dial(t, "out"), e.out.Name, func(_ context.Context, d bus.Delivery) error { out.add(d); return nil })

	pub := e.dial(t, "pub")
	publish(t, pub, "in.placed", "confirmed")
	publish(t, pub, "in.placed", "unconfirmed")

	dead.waitFor(t, "the input whose publish was never confirmed dead-lettered", func(ds []bus.Delivery) bool { return len(ds) > 0 })
	out.waitFor(t, "the confirmed publish consumed", func(ds []bus.Delivery) bool { return len(ds) > 0 })
	seen := countBy(got.snapshot())
	if seen["unconfirmed"] != 2 {
		t.Errorf("the input whose publish was not confirmed was handled %d times, want 2 (MaxAttempts): it must not be acked", seen["unconfirmed"])
	}
	if seen["confirmed"] != 1 {
		t.Errorf("the input whose publish was confirmed was handled %d times, want once (acked after the confirm)", seen["confirmed"])
	}
	if d := dead.snapshot()[0]; d.CorrelationID != "unconfirmed" {
		t.Errorf("dead-lettered %q, want the unconfirmed one", d.CorrelationID)
	}
}

// testRedeliveryBound: a handler that keeps failing sees the message
// MaxAttempts times, counted, with the same identity and first-publish
// time, and then the message is in the dead-letter queue.
func testRedeliveryBound(t *testing.T, b Broker) {
	const maxAttempts = 3
	e := newEnv(t, b, maxAttempts)
	got := newRecord()
	consume(t, e.dial(t, "worker"), e.in.Name, func(_ context.Context, d bus.Delivery) error {
		got.add(d)
		return errors.New("transient failure, on purpose")
	})
	dead := newRecord()
	consume(t, e.dial(t, "dlq"), bus.DLQName(e.in.Name), func(_ context.Context, d bus.Delivery) error { dead.add(d); return nil })
	publish(t, e.dial(t, "pub"), "in.placed", "o1")

	dl := dead.waitFor(t, "the message dead-lettered", func(ds []bus.Delivery) bool { return len(ds) > 0 })
	ds := got.snapshot()
	if len(ds) != maxAttempts {
		t.Fatalf("handled %d times before the dead-letter queue, want %d:%s", len(ds), maxAttempts, describe(ds))
	}
	for i, d := range ds {
		if d.Attempt() != i+1 {
			t.Errorf("delivery %d counted attempt %d, want %d", i, d.Attempt(), i+1)
		}
		if d.MessageID != ds[0].MessageID || !d.PublishedAt.Equal(ds[0].PublishedAt) || d.CorrelationID != "o1" {
			t.Errorf("redelivery %d changed the identity or first-publish time: %+v vs %+v", i, d, ds[0])
		}
	}
	if dl[0].MessageID != ds[0].MessageID || dl[0].CorrelationID != "o1" {
		t.Errorf("dead-lettered %+v, want message %s", dl[0], ds[0].MessageID)
	}
}

// testPoison: a handler error wrapping ErrPoison dead-letters at once.
func testPoison(t *testing.T, b Broker) {
	e := newEnv(t, b, 5)
	got := newRecord()
	consume(t, e.dial(t, "worker"), e.in.Name, func(_ context.Context, d bus.Delivery) error {
		got.add(d)
		return bus.Poison(errors.New("undecodable, on purpose"))
	})
	dead := newRecord()
	consume(t, e.dial(t, "dlq"), bus.DLQName(e.in.Name), func(_ context.Context, d bus.Delivery) error { dead.add(d); return nil })
	publish(t, e.dial(t, "pub"), "in.placed", "o1")
	dead.waitFor(t, "the poison message dead-lettered", func(ds []bus.Delivery) bool { return len(ds) > 0 })
	if n := len(got.snapshot()); n != 1 {
		t.Errorf("poison message handled %d times, want once", n)
	}
}

// testReconnectRepublish: publishers keep going while the broker drops the
// connection; every Publish still returns nil (what was in flight is
// republished after the reconnect) and every order is consumed.
func testReconnectRepublish(t *testing.T, b Broker) {
	e := newEnv(t, b, 0)
	var reconnected atomic.Int64
	pub := e.dial(t, "pub", bus.WithObserver(bus.ObserverFunc(func(ev bus.Event) {
		if ev.Kind == bus.EventReconnected && ev.Role == bus.RolePublish {
			reconnected.Add(1)
		}
	})))
	got := newRecord()
	consume(t, e.dial(t, "sub"), e.in.Name, func(_ context.Context, d bus.Delivery) error { got.add(d); return nil })

	var mu sync.Mutex
	var confirmed []string
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(confirmed) }
	ctx, stop := context.WithCancel(t.Context())
	errs := make(chan error, 4)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				id := fmt.Sprintf("w%d-%d", w, i)
				pctx, cancel := context.WithTimeout(ctx, wait)
				err := pub.Publish(pctx, "in.placed", bus.Message{Body: []byte(id), CorrelationID: id})
				cancel()
				if err != nil {
					if ctx.Err() == nil {
						errs <- err
					}
					return
				}
				mu.Lock()
				confirmed = append(confirmed, id)
				mu.Unlock()
			}
		})
	}
	waitCount(t, "publishing under way", func() bool { return count() >= 50 })
	b.Kill(t, e.b.Prefix+"/pub")
	atKill := count()
	// Publishes confirmed after the kill went over a new connection.
	waitCount(t, "publishing resumed after the kill", func() bool { return count() >= atKill+100 || len(errs) > 0 })
	stop()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("Publish failed instead of riding out the reconnect: %v", err)
	}
	if reconnected.Load() == 0 {
		t.Fatal("publishes went on after the kill without the driver reporting a reconnect")
	}
	want := count()
	got.waitFor(t, "every confirmed order consumed", func(ds []bus.Delivery) bool { return len(orders(ds)) >= want })
	seen := orders(got.snapshot())
	for _, id := range confirmed {
		if !seen[id] {
			t.Errorf("order %s was confirmed but never consumed", id)
		}
	}
}

func waitCount(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("bustest: %s: not within %s", what, wait)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// testKilledMidHandler: the broker drops the worker's connections while
// its handler runs. The handler's publish rides out the reconnect; the
// input, whose ack went with the connection, is delivered again with the
// same identity; the downstream event is published twice, and the
// downstream consumer, idempotent on the order ID, applies it once.
func testKilledMidHandler(t *testing.T, b Broker) {
	e := newEnv(t, b, 0)
	w := e.dial(t, "worker")
	got := newRecord()
	var killed atomic.Bool
	consume(t, w, e.in.Name, func(ctx context.Context, d bus.Delivery) error {
		got.add(d)
		if killed.CompareAndSwap(false, true) {
			b.Kill(t, e.b.Prefix+"/worker")
		}
		pctx, cancel := context.WithTimeout(ctx, wait)
		defer cancel()
		return w.Publish(pctx, "out.done", bus.Message{Body: d.Body, CorrelationID: d.CorrelationID})
	})
	out := newRecord()
	var mu sync.Mutex
	effects := map[string]int{}
	consume(t, e.dial(t, "sink"), e.out.Name, func(_ context.Context, d bus.Delivery) error {
		out.add(d)
		mu.Lock()
		defer mu.Unlock()
		if _, done := effects[d.CorrelationID]; !done { // the idempotent consumer
			effects[d.CorrelationID]++
		}
		return nil
	})
	publish(t, e.dial(t, "pub"), "in.placed", "o1")

	ins := got.waitFor(t, "the input delivered again after the kill", func(ds []bus.Delivery) bool { return len(ds) >= 2 })
	if ins[1].MessageID != ins[0].MessageID || ins[1].CorrelationID != "o1" || !ins[1].PublishedAt.Equal(ins[0].PublishedAt) {
		t.Errorf("the redelivery changed the identity: %+v vs %+v", ins[1], ins[0])
	}
	out.waitFor(t, "both downstream publishes consumed", func(ds []bus.Delivery) bool { return len(ds) >= 2 })
	mu.Lock()
	defer mu.Unlock()
	if len(effects) != 1 || effects["o1"] != 1 {
		t.Errorf("downstream effects %v, want o1 applied once", effects)
	}
}

// orders are the distinct order IDs of ds.
func orders(ds []bus.Delivery) map[string]bool {
	m := map[string]bool{}
	for _, d := range ds {
		m[d.CorrelationID] = true
	}
	return m
}

func countBy(ds []bus.Delivery) map[string]int {
	m := map[string]int{}
	for _, d := range ds {
		m[d.CorrelationID]++
	}
	return m
}
