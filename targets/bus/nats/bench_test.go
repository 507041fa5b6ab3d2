package nats_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edabench/edabench/targets/bus"
	natsbus "github.com/edabench/edabench/targets/bus/nats"
)

// BenchmarkRelay measures a twin consumer's path on the driver alone: a
// queue holding b.N messages (not timed) is drained by one subscription
// at a prefetch, with as many handlers as the prefetch (as the bus layer
// runs them). "relay" is a step: each handler publishes the message to a
// second queue and waits for its PubAck before it acks; "project" is the
// gateway's projector: it acks at once. msg/s is what one consumer moves.
// Variants compared on a shared machine must interleave: run one
// sub-benchmark at a time in turns, e.g. -bench 'Relay/relay/prefetch=64$'
// then 'Relay/relay/prefetch=256$', with -benchtime=3000x, five times
// each (docs/performance.md, "The consumer path on NATS").
func BenchmarkRelay(b *testing.B) {
	for _, mode := range []string{"relay", "project"} {
		for _, prefetch := range []int{64, 256} {
			b.Run(fmt.Sprintf("%s/prefetch=%d", mode, prefetch), func(b *testing.B) {
				benchRelay(b, mode == "relay", prefetch)
			})
		}
	}
}

func benchRelay(b *testing.B, relay bool, prefetch int) {
	r := newRig(b, natsbus.Options{}, 0)
	out := strings.TrimSuffix(r.queue, ".in") + ".out"
	r.topo.Queues = append(r.topo.Queues, bus.Queue{Name: out, Bindings: []string{"out.#"}})
	if err := r.d.Declare(b.Context(), r.topo); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(b.Context(), 10*time.Minute)
	defer cancel()
	fillQueue(ctx, b, r.d, "in.placed", b.N)
	b.ResetTimer()
	s, err := r.d.Subscribe(ctx, r.queue, prefetch)
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	var handled atomic.Int64
	done := make(chan struct{})
	var wg sync.WaitGroup
	for range prefetch {
		wg.Go(func() {
			for in := range s.Deliveries() {
				if relay {
					m := bus.Outgoing{RoutingKey: "out.relayed", Body: in.Body, MessageID: bus.NewMessageID(), CorrelationID: in.CorrelationID, PublishedNS: time.Now().UnixNano()}
					if err := r.d.Publish(ctx, m); err != nil {
						b.Error(err)
						return
					}
				}
				if err := in.Ack(); err != nil {
					b.Error(err)
					return
				}
				if handled.Add(1) == int64(b.N) {
					close(done)
				}
			}
		})
	}
	select {
	case <-done:
	case <-ctx.Done():
		b.Errorf("handled %d of %d", handled.Load(), b.N)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msg/s")
	_ = s.Close()
	wg.Wait()
}

// fillQueue publishes n messages with key, 64 at a time.
func fillQueue(ctx context.Context, b *testing.B, d bus.Driver, key string, n int) {
	b.Helper()
	body := make([]byte, 135)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			for i := next.Add(1); i <= int64(n); i = next.Add(1) {
				m := bus.Outgoing{RoutingKey: key, Body: body, MessageID: bus.NewMessageID(), CorrelationID: fmt.Sprintf("o%d", i), PublishedNS: time.Now().UnixNano()}
				if err := d.Publish(ctx, m); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}
