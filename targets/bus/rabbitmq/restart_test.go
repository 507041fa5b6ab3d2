package rabbitmq_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edabench/edabench/harness/broker/brokertest"
	"github.com/edabench/edabench/targets/bus"
	"github.com/edabench/edabench/targets/bus/rabbitmq"
)

// TestBrokerRestartLosesNoConfirmedMessage restarts a dedicated node (stop +
// start, durable queues survive) while publishers and consumers run: every
// message whose Publish returned nil must be consumed afterwards (duplicates
// allowed, loss not), on both queue types.
func TestBrokerRestartLosesNoConfirmedMessage(t *testing.T) {
	node := brokertest.Dedicated(t)
	b := testBroker{amqpURL: node.AMQPURL(), mgmtURL: node.MgmtURL()}
	classic := testQueue{Name: uniqueName(t, "classic"), Type: rabbitmq.Classic, Bindings: []string{"c.#"}, MaxAttempts: 100}
	quorum := testQueue{Name: uniqueName(t, "quorum"), Type: rabbitmq.Quorum, Bindings: []string{"q.#"}, MaxAttempts: 100}
	e := newEnv(t, b, classic, quorum)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c := e.dial(ctx)

	got := newSeen()
	cctx, stopConsume := context.WithCancel(ctx)
	var consumers sync.WaitGroup
	consumeErrs := make(chan error, 2)
	for _, q := range []testQueue{classic, quorum} {
		consumers.Add(1)
		go func() {
			defer consumers.Done()
			consumeErrs <- c.Consume(cctx, q.Name, bus.ConsumeOptions{Prefetch: 20}, func(_ context.Context, d bus.Delivery) error {
				got.add(d.MessageID)
				return nil
			})
		}()
	}

	var confirmed idList
	var unconfirmed atomic.Int64
	pctx, stopPub := context.WithCancel(ctx)
	var pubs sync.WaitGroup
	for w := range 6 {
		pubs.Add(1)
		go func() {
			defer pubs.Done()
			for i := 0; pctx.Err() == nil; i++ {
				key := []string{"c.order", "q.order"}[i%2]
				id := fmt.Sprintf("%s-w%d-%d", key, w, i)
				// A per-message deadline longer than the restart: Publish
				// rides the outage out and republishes.
				mctx, mcancel := context.WithTimeout(pctx, 90*time.Second)
				err := c.Publish(mctx, key, bus.Message{MessageID: id, CorrelationID: id, Body: []byte(id)})
				mcancel()
				if err != nil {
					if pctx.Err() == nil {
						unconfirmed.Add(1) // gave up within 90 s: allowed, just reported
					}
					continue
				}
				confirmed.add(id)
				time.Sleep(time.Millisecond) // keep the queues short: this test is about loss
			}
		}()
	}

	waitFor(t, 30*time.Second, "traffic before the restart", func() bool { return got.distinct() > 500 })
	before := len(confirmed.snapshot())
	rctx, rcancel := context.WithTimeout(ctx, 3*time.Minute)
	start := time.Now()
	if err := node.Restart(rctx); err != nil {
		rcancel()
		t.Fatalf("restart: %v", err)
	}
	rcancel()
	t.Logf("node restarted in %s (%d confirms before it)", time.Since(start).Round(time.Millisecond), before)
	mid := len(confirmed.snapshot())
	waitFor(t, 90*time.Second, "publishing to resume after the restart", func() bool { return len(confirmed.snapshot()) > mid+500 })
	stopPub()
	pubs.Wait()

	all := confirmed.snapshot()
	got.waitAll(t, func() []string { return all }, 2*time.Minute)
	stopConsume()
	consumers.Wait()
	close(consumeErrs)
	for err := range consumeErrs {
		if err != nil {
			t.Errorf("Consume: %v", err)
		}
	}
	dups := 0
	for _, id := range all {
		if got.count(id) > 1 {
			dups++
		}
	}
	t.Logf("confirmed %d, all consumed (%d redelivered as duplicates); %d publishes gave up; events %s", len(all), dups, unconfirmed.Load(), e.obs)
	for _, role := range []string{"publish", "consume"} {
		if e.obs.get("reconnected/"+role) < 1 {
			t.Errorf("%s connection never reconnected (%s)", role, e.obs)
		}
	}
}
