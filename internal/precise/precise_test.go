package precise

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestSleepReturnsNoEarlierThanAsked(t *testing.T) {
	for _, d := range []time.Duration{0, 200 * time.Microsecond, 3 * time.Millisecond} {
		start := time.Now()
		if err := Sleep(context.Background(), d); err != nil {
			t.Fatal(err)
		}
		if got := time.Since(start); got < d {
			t.Fatalf("Sleep(%v) returned after %v", d, got)
		}
	}
}

func TestSleepStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Fatalf("Sleep on a cancelled ctx = %v", err)
	}
}

// BenchmarkSleepOvershoot reports how late a 10 ms sleep wakes, precise and
// with the timer alone: the error a step's service time would carry.
func BenchmarkSleepOvershoot(b *testing.B) {
	for _, coarse := range []bool{false, true} {
		name := map[bool]string{false: "precise", true: "timer"}[coarse]
		b.Run(name, func(b *testing.B) {
			s := NewSleeper(coarse)
			defer s.Stop()
			var late time.Duration
			for i := 0; i < b.N; i++ {
				target := time.Now().Add(10 * time.Millisecond)
				s.SleepUntil(context.Background(), target)
				late += time.Since(target)
			}
			b.ReportMetric(float64(late.Microseconds())/float64(b.N), "µs-late/op")
		})
	}
}
