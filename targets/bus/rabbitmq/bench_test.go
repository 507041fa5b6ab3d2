package rabbitmq_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edabench/edabench/targets/bus"
	"github.com/edabench/edabench/targets/bus/rabbitmq"
)

// BenchmarkPublishConfirm measures Publish (persistent, confirmed) against
// the shared node: "serial" is one publisher waiting for each confirm (the
// latency floor); "parallel" pipelines GOMAXPROCS*8 concurrent publishers on
// the one confirm channel (throughput).
func BenchmarkPublishConfirm(b *testing.B) {
	br := sharedBroker(b)
	for _, qt := range []rabbitmq.QueueType{rabbitmq.Classic, rabbitmq.Quorum} {
		for _, mode := range []string{"serial", "parallel"} {
			b.Run(string(qt)+"/"+mode, func(b *testing.B) {
				q := testQueue{Name: uniqueName(b, "q"), Type: qt, Bindings: []string{"bench.#"}}
				e := newEnv(b, br, q)
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
				defer cancel()
				c := e.dial(ctx)
				body := make([]byte, 256)
				msg := bus.Message{CorrelationID: "order-bench", Body: body}
				b.SetBytes(int64(len(body)))
				b.ReportAllocs()
				b.ResetTimer()
				if mode == "serial" {
					for range b.N {
						if err := c.Publish(ctx, "bench.created", msg); err != nil {
							b.Fatal(err)
						}
					}
				} else {
					b.SetParallelism(8)
					b.RunParallel(func(pb *testing.PB) {
						for pb.Next() {
							if err := c.Publish(ctx, "bench.created", msg); err != nil {
								b.Error(err)
								return
							}
						}
					})
				}
				b.StopTimer()
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msg/s")
			})
		}
	}
}

// BenchmarkRelay measures a twin consumer's path on its own: a quorum
// queue filled with b.N messages (not timed) is drained by Consume at a
// prefetch. "relay" is a step: the handler publishes each message to a
// second quorum queue (persistent, confirmed) before the layer acks it;
// "project" is the gateway's projector: it acks at once. msg/s is what
// one consumer moves. Variants compared on a shared machine must
// interleave: run one sub-benchmark at a time in turns, e.g. -bench
// 'Relay/relay/prefetch=64$' then 'Relay/relay/prefetch=256$', with
// -benchtime=3000x, five times each (docs/performance.md, "The consumer
// path on RabbitMQ").
func BenchmarkRelay(b *testing.B) {
	br := sharedBroker(b)
	for _, mode := range []string{"relay", "project"} {
		for _, prefetch := range []int{64, 256} {
			b.Run(fmt.Sprintf("%s/prefetch=%d", mode, prefetch), func(b *testing.B) {
				benchRelay(b, br, mode == "relay", prefetch)
			})
		}
	}
}

func benchRelay(b *testing.B, br testBroker, relay bool, prefetch int) {
	in := testQueue{Name: uniqueName(b, "in"), Type: rabbitmq.Quorum, Bindings: []string{"relay.in"}}
	out := testQueue{Name: uniqueName(b, "out"), Type: rabbitmq.Quorum, Bindings: []string{"relay.out"}}
	e := newEnv(b, br, in, out)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	c := e.dial(ctx)
	fill(ctx, b, c, "relay.in", b.N)
	var handled atomic.Int64
	done := make(chan struct{})
	cctx, stop := context.WithCancel(ctx)
	defer stop()
	b.ResetTimer()
	go func() {
		_ = c.Consume(cctx, in.Name, bus.ConsumeOptions{Prefetch: prefetch}, func(ctx context.Context, d bus.Delivery) error {
			if relay {
				if err := c.Publish(ctx, "relay.out", bus.Message{CorrelationID: d.CorrelationID, Body: d.Body}); err != nil {
					return err
				}
			}
			if handled.Add(1) == int64(b.N) {
				close(done)
			}
			return nil
		})
	}()
	select {
	case <-done:
	case <-ctx.Done():
		b.Fatalf("handled %d of %d", handled.Load(), b.N)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msg/s")
}

// fill publishes n messages with key, 64 at a time.
func fill(ctx context.Context, b *testing.B, c *bus.Conn, key string, n int) {
	b.Helper()
	body := make([]byte, 135)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			for next.Add(1) <= int64(n) {
				if err := c.Publish(ctx, key, bus.Message{CorrelationID: "order-bench", Body: body}); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}
