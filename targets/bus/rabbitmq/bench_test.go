package rabbitmq_test

import (
	"context"
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
