package bus_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/edabench/edabench/targets/bus"
)

// oneDelivery is a driver whose one subscription hands out a single
// delivery; Retry answers as a classic queue does (copied) or as a
// quorum queue does (requeued), and a retried message comes back once.
type oneDelivery struct {
	scripted
	copied bool
	ch     chan bus.Inbound
	once   sync.Once
}

func (d *oneDelivery) Subscribe(context.Context, string, int) (bus.Subscription, error) {
	return d, nil
}
func (d *oneDelivery) Deliveries() <-chan bus.Inbound { return d.ch }
func (d *oneDelivery) Err() error                     { return nil }
func (d *oneDelivery) Cancel(context.Context) error   { d.once.Do(func() { close(d.ch) }); return nil }
func (d *oneDelivery) Close() error                   { return nil }

func (d *oneDelivery) kind() bus.Kind {
	return bus.Kind{Name: "scripted",
		Open:   func(context.Context, bus.DriverConfig) (bus.Driver, error) { return d, nil },
		Delete: func(context.Context, bus.DriverConfig, bus.Topology) error { return nil }}
}

// inbound is attempt n of the message on queue q, acked through done.
func (d *oneDelivery) inbound(q string, n int, done chan<- struct{}) bus.Inbound {
	return bus.Inbound{Queue: q, RoutingKey: "k", MessageID: "m1", DeliveryCount: n - 1,
		Ack: func() error { close(done); return nil },
		Retry: func(context.Context) (bool, error) {
			d.ch <- d.inbound(q, n+1, done)
			return d.copied, nil
		}}
}

// A classic queue's retry publishes a copy into the queue: the layer
// reports its confirm (a publish into the queue, for per-queue depth)
// marked RetryCopy, since no Publish call was timed and a zero Duration
// would sit in the confirm-latency histogram; a requeue reports none.
func TestRetryCopyIsMarked(t *testing.T) {
	for _, copied := range []bool{true, false} {
		d := &oneDelivery{copied: copied, ch: make(chan bus.Inbound, 2)}
		var mu sync.Mutex
		var confirms []bus.Event
		c, err := bus.Dial(t.Context(), d.kind(), bus.WithObserver(bus.ObserverFunc(func(e bus.Event) {
			if e.Kind == bus.EventConfirmed {
				mu.Lock()
				confirms = append(confirms, e)
				mu.Unlock()
			}
		})))
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		d.ch <- d.inbound("q", 1, done)
		ctx, cancel := context.WithCancel(t.Context())
		var calls int
		consumed := make(chan error, 1)
		go func() {
			consumed <- c.Consume(ctx, "q", bus.ConsumeOptions{Prefetch: 1}, func(context.Context, bus.Delivery) error {
				if calls++; calls == 1 {
					return errors.New("fail once")
				}
				return nil
			})
		}()
		<-done // the second attempt was acked
		cancel()
		if err := <-consumed; err != nil {
			t.Fatal(err)
		}
		_ = c.Close()
		mu.Lock()
		switch {
		case copied && (len(confirms) != 1 || !confirms[0].RetryCopy || confirms[0].RoutingKey != "q" || confirms[0].Duration != 0):
			t.Errorf("copied retry: confirms %+v, want one on queue q marked RetryCopy", confirms)
		case !copied && len(confirms) != 0:
			t.Errorf("requeued retry: confirms %+v, want none", confirms)
		}
		mu.Unlock()
	}
}
