//go:build linux

package load

import (
	"context"
	"syscall"
	"testing"
	"time"
)

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkDispatch measures the generator alone, with an attacker that
// does nothing. "flat-out" makes every request overdue at once: it is the
// dispatcher's own ceiling, and most requests come out as drops because
// the pool cannot drain that fast. The paced cases are the rates it
// sustains (dropped/req near 0), what pacing costs in CPU (which the
// generator takes from the twins on a 2-core machine) and how close to
// their intended times requests leave, precise and coarse sleeping.
func BenchmarkDispatch(b *testing.B) {
	cases := []struct {
		name   string
		rate   float64
		coarse bool
	}{
		{"flat-out", 1e8, false},
		{"paced-1000", 1000, false},
		{"paced-5000", 5000, false},
		{"paced-50000", 50000, false},
		{"paced-200000", 200000, false},
		{"paced-1000-coarse", 1000, true},
		{"paced-5000-coarse", 5000, true},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			stage := Stage{Name: "b", From: c.rate, To: c.rate,
				Duration: time.Duration(float64(b.N) / c.rate * float64(time.Second))}
			if stage.Duration <= 0 {
				stage.Duration = time.Nanosecond
			}
			s, err := NewSchedule([]Stage{stage}, Uniform, 1)
			if err != nil {
				b.Fatal(err)
			}
			noop := AttackerFunc(func(context.Context, Request) Result {
				now := time.Now()
				return Result{Start: now, End: now}
			})
			var opts []Option
			if c.coarse {
				opts = append(opts, WithCoarseSleep())
			}
			// Counters, not stored results: the benchmark should not be
			// measuring its own garbage.
			type shard struct {
				late time.Duration
				sent int64
				_    [48]byte
			}
			shards := make([]shard, NewOptions(opts...).Shards())
			handle := func(w int, r Result) {
				if !r.Dropped {
					shards[w].sent++
					if r.Start.After(r.Intended) {
						shards[w].late += r.Start.Sub(r.Intended)
					}
				}
			}
			cpu0 := cpuTime()
			b.ResetTimer()
			st := Run(context.Background(), s, noop, handle, opts...)
			b.StopTimer()
			cpu := cpuTime() - cpu0
			n := float64(st.Sent + st.Dropped)
			if n == 0 {
				return
			}
			var startLate time.Duration
			for _, sh := range shards {
				startLate += sh.late
			}
			b.ReportMetric(n/st.Ended.Sub(st.Started).Seconds(), "req/s")
			b.ReportMetric(float64(cpu.Microseconds())/n*1000, "cpu-µs/1k-req")
			b.ReportMetric(float64(st.Dropped)/n, "dropped/req")
			if c.rate < 1e6 {
				b.ReportMetric(float64(st.MeanLateness.Microseconds()), "µs-mean-late")
				b.ReportMetric(float64(startLate.Microseconds())/float64(st.Sent), "µs-mean-start-late")
			}
		})
	}
}
