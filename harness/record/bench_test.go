package record

import (
	"sync"
	"testing"
	"time"
)

// benchDurations spreads values over six decades so that the benchmarks pay
// for bucket-index computation across the whole range, as real latencies do,
// rather than hitting one hot counter.
func benchDurations() []time.Duration {
	ds := make([]time.Duration, 1024)
	x := uint64(0x9E3779B97F4A7C15)
	for i := range ds {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		ds[i] = time.Duration(50+x%5_000_000) * time.Microsecond >> (x % 8)
	}
	return ds
}

func BenchmarkRecord(b *testing.B) {
	ds := benchDurations()
	s := New("bench").Shard()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		s.Record(ds[i&(len(ds)-1)])
		i++
	}
}

func BenchmarkRecordParallel(b *testing.B) {
	ds := benchDurations()
	r := New("bench")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		s := r.Shard()
		i := 0
		for pb.Next() {
			s.Record(ds[i&(len(ds)-1)])
			i++
		}
	})
}

// BenchmarkRecordParallelWhileInterval adds the harness's collector, flipping
// every shard every millisecond (1000x the real rate), to show that recording
// is not slowed by the reader side.
func BenchmarkRecordParallelWhileInterval(b *testing.B) {
	ds := benchDurations()
	r := New("bench")
	stop := make(chan struct{})
	var collector sync.WaitGroup
	collector.Add(1)
	go func() {
		defer collector.Done()
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case now := <-tick.C:
				r.Interval(now)
			}
		}
	}()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		s := r.Shard()
		i := 0
		for pb.Next() {
			s.Record(ds[i&(len(ds)-1)])
			i++
		}
	})
	b.StopTimer()
	close(stop)
	collector.Wait()
}

// BenchmarkInterval is the collector's cost per tick with 8 busy shards.
func BenchmarkInterval(b *testing.B) {
	ds := benchDurations()
	r := New("bench")
	shards := make([]*Shard, 8)
	for i := range shards {
		shards[i] = r.Shard()
	}
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		for _, s := range shards {
			for _, d := range ds {
				s.Record(d)
			}
		}
		b.StartTimer()
		now = now.Add(time.Second)
		r.Interval(now)
	}
}
