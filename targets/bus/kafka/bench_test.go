package kafka_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/edabench/edabench/targets/bus"
)

// BenchmarkPublish measures Publish (idempotent, acks=all, linger 0)
// against the shared node: "serial" is one publisher waiting for each
// acknowledgement (the latency floor, with its p50 and p99); "parallel"
// is GOMAXPROCS*8 concurrent publishers on the one producer (batching).
func BenchmarkPublish(b *testing.B) {
	e := newQueueEnv(b)
	c := e.dial(b, "bench")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	msg := bus.Message{CorrelationID: "order-bench", Body: make([]byte, 256)}
	b.Run("serial", func(b *testing.B) {
		lat := make([]time.Duration, 0, b.N)
		b.SetBytes(int64(len(msg.Body)))
		for b.Loop() {
			t0 := time.Now()
			if err := c.Publish(ctx, "in.bench", msg); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(t0))
		}
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
	})
	b.Run("parallel", func(b *testing.B) {
		b.SetBytes(int64(len(msg.Body)))
		b.SetParallelism(8)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := c.Publish(ctx, "in.bench", msg); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msg/s")
	})
}
