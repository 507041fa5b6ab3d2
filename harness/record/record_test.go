package record

import (
	"encoding/json"
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// clampUS is the reference for what Record stores, written independently of
// Record so the tests check it rather than restate it.
func clampUS(d time.Duration) (us int64, clamped bool) {
	us = d.Microseconds()
	switch {
	case us < 1:
		return 1, false
	case us > 3_600_000_000:
		return 3_600_000_000, true
	}
	return us, false
}

// workerValue spreads each worker's values over five decades and makes every
// 997th one exceed the maximum, so the concurrency test also covers clamping.
func workerValue(worker, i int) time.Duration {
	if i%997 == 0 {
		return 2 * time.Hour
	}
	us := (worker*7919 + i*104729) % 5_000_000
	return time.Duration(us)*time.Microsecond + 123*time.Nanosecond
}

func TestConcurrentRecordAndInterval(t *testing.T) {
	const (
		workers   = 8
		minValues = 1_000 // per worker, so every worker overlaps some flips
		minFlips  = 50    // Interval calls while the workers run
	)
	r := New("concurrent")
	start := time.UnixMilli(1_700_000_000_000)
	r.SetStart(start)

	var (
		stop    atomic.Bool
		writers sync.WaitGroup
		// Each worker also keeps a plain histogram of what it recorded, built
		// from clampUS rather than Record; read only after Wait.
		want    [workers]*hdrhistogram.Histogram
		clamped [workers]int64
	)
	for w := range workers {
		s := r.Shard()
		want[w] = NewHistogram()
		writers.Add(1)
		go func() {
			defer writers.Done()
			for i := 0; i < minValues || !stop.Load(); i++ {
				d := workerValue(w, i)
				s.Record(d)
				us, c := clampUS(d)
				if err := want[w].RecordValue(us); err != nil {
					t.Error(err)
					return
				}
				if c {
					clamped[w]++
				}
				if i%128 == 0 {
					// Real load workers block on I/O; yielding likewise keeps
					// eight busy writers on two cores from starving the
					// Interval goroutine for whole scheduler time slices.
					runtime.Gosched()
				}
			}
		}()
	}

	merged := NewHistogram()
	var intervals int
	var sum int64
	now := start
	take := func() {
		now = now.Add(time.Second)
		h := r.Interval(now)
		intervals++
		sum += h.TotalCount()
		if d := merged.Merge(h); d != 0 {
			t.Fatalf("merging interval %d dropped %d values", intervals, d)
		}
	}
	for range minFlips {
		take()
	}
	stop.Store(true)
	writers.Wait()
	// Values recorded after the last Interval above are still in the shards.
	take()

	all := NewHistogram()
	var wantClamped int64
	for w := range workers {
		all.Merge(want[w])
		wantClamped += clamped[w]
	}
	n := all.TotalCount()
	t.Logf("%d values in %d intervals", n, intervals)

	total := r.Total()
	if sum != n {
		t.Errorf("intervals hold %d values, recorded %d", sum, n)
	}
	if total.TotalCount() != n {
		t.Errorf("Total holds %d values, recorded %d", total.TotalCount(), n)
	}
	if !total.Equals(all) {
		t.Error("Total's counts differ from the values recorded")
	}
	if !merged.Equals(total) {
		t.Error("the intervals' merge differs from Total")
	}
	if got := r.Clamped(); got != wantClamped {
		t.Errorf("Clamped() = %d, want %d", got, wantClamped)
	}
	if got, want := total.StartTimeMs(), start.UnixMilli(); got != want {
		t.Errorf("Total start = %d, want %d", got, want)
	}
	if got, want := total.EndTimeMs(), now.UnixMilli(); got != want {
		t.Errorf("Total end = %d, want %d", got, want)
	}
}

func TestIntervalTimestampsAndReset(t *testing.T) {
	r := New("ts")
	if r.Name() != "ts" {
		t.Fatalf("Name() = %q", r.Name())
	}
	t0 := time.UnixMilli(1_700_000_000_250)
	r.SetStart(t0)
	s := r.Shard()

	s.Record(time.Millisecond)
	s.Record(2 * time.Millisecond)
	t1 := t0.Add(1500 * time.Millisecond)
	h1 := r.Interval(t1)
	s.Record(3 * time.Millisecond)
	t2 := t1.Add(time.Second)
	h2 := r.Interval(t2)
	h3 := r.Interval(t2.Add(time.Second))

	tests := []struct {
		name       string
		h          *hdrhistogram.Histogram
		start, end time.Time
		count      int64
	}{
		{"first", h1, t0, t1, 2},
		{"second", h2, t1, t2, 1},
		{"idle", h3, t2, t2.Add(time.Second), 0},
	}
	for _, tc := range tests {
		if tc.h.StartTimeMs() != tc.start.UnixMilli() || tc.h.EndTimeMs() != tc.end.UnixMilli() {
			t.Errorf("%s interval spans %d..%d, want %d..%d", tc.name,
				tc.h.StartTimeMs(), tc.h.EndTimeMs(), tc.start.UnixMilli(), tc.end.UnixMilli())
		}
		if tc.h.TotalCount() != tc.count {
			t.Errorf("%s interval holds %d values, want %d", tc.name, tc.h.TotalCount(), tc.count)
		}
	}
	// The caller owns what Interval returns: changing it must not reach the
	// recorder's state.
	h1.Reset()
	if got := r.Total().TotalCount(); got != 3 {
		t.Errorf("Total holds %d values after the caller reset an interval, want 3", got)
	}
	if r.Total() == r.Total() {
		t.Error("Total returned the same histogram twice; it must be a copy")
	}
}

func TestIntervalWithoutShards(t *testing.T) {
	r := New("empty")
	h := r.Interval(time.Now())
	if h.TotalCount() != 0 || h.HighestTrackableValue() != HighestValue {
		t.Fatalf("got count %d, highest %d", h.TotalCount(), h.HighestTrackableValue())
	}
}

func TestRecordClamping(t *testing.T) {
	tests := []struct {
		name    string
		d       time.Duration
		want    int64 // µs stored
		clamped bool
	}{
		{"negative", -5 * time.Second, 1, false},
		{"zero", 0, 1, false},
		{"sub-microsecond", 999 * time.Nanosecond, 1, false},
		{"one microsecond", time.Microsecond, 1, false},
		{"truncated to microseconds", 2999 * time.Nanosecond, 2, false},
		{"one millisecond", time.Millisecond, 1000, false},
		{"exactly the max", time.Hour, 3_600_000_000, false},
		{"a nanosecond over the max truncates to the max", time.Hour + time.Nanosecond, 3_600_000_000, false},
		{"a microsecond over the max", time.Hour + time.Microsecond, 3_600_000_000, true},
		{"largest duration", time.Duration(math.MaxInt64), 3_600_000_000, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := New(tc.name)
			r.Shard().Record(tc.d)
			h := r.Interval(time.Now())
			if h.TotalCount() != 1 {
				t.Fatalf("count = %d, want 1", h.TotalCount())
			}
			if got := h.ValueAtQuantile(100); !h.ValuesAreEquivalent(got, tc.want) {
				t.Errorf("stored %d µs, want %d µs", got, tc.want)
			}
			var wantClamped int64
			if tc.clamped {
				wantClamped = 1
			}
			if got := r.Clamped(); got != wantClamped {
				t.Errorf("Clamped() = %d, want %d", got, wantClamped)
			}
		})
	}
}

func TestClampedCountsAcrossShards(t *testing.T) {
	r := New("clamped")
	a, b := r.Shard(), r.Shard()
	for range 3 {
		a.Record(100 * time.Hour)
	}
	b.Record(2 * time.Hour)
	b.Record(time.Millisecond)
	// Clamped counts at record time, before any Interval.
	if got := r.Clamped(); got != 4 {
		t.Fatalf("Clamped() = %d, want 4", got)
	}
	h := r.Interval(time.Now())
	if got := h.TotalCount(); got != 5 {
		t.Fatalf("count = %d, want 5 (clamped values are still recorded)", got)
	}
}

// exactPercentile is the nearest-rank percentile of raw data: the value at
// rank ceil(p/100*n), at least 1. The epsilon absorbs float error in p*n.
func exactPercentile(sorted []int64, p float64) int64 {
	rank := max(int64(math.Ceil(p*float64(len(sorted))/100-1e-9)), 1)
	return sorted[min(rank, int64(len(sorted)))-1]
}

func TestPercentilesOfKnownValues(t *testing.T) {
	tests := []struct {
		name   string
		values func() []int64 // µs
	}{
		{"uniform 1..100000", func() []int64 {
			v := make([]int64, 100_000)
			for i := range v {
				v[i] = int64(i + 1)
			}
			return v
		}},
		{"bimodal with a long tail", func() []int64 {
			var v []int64
			for i := range 9000 {
				v = append(v, 800+int64(i%400))
			}
			for i := range 990 {
				v = append(v, 40_000+int64(i)*37)
			}
			for i := range 10 {
				v = append(v, 2_000_000+int64(i)*1_000_003)
			}
			return v
		}},
		{"single value", func() []int64 { return []int64{123_456} }},
		{"1070 values 10 ms apart", func() []int64 {
			v := make([]int64, 1070)
			for i := range v {
				v[i] = int64(i+1) * 10_000
			}
			return v
		}},
		{"geometric", func() []int64 {
			var v []int64
			for x := 1.0; x < 3e9; x *= 1.01 {
				v = append(v, int64(x))
			}
			return v
		}},
	}
	percentiles := []float64{0, 1, 25, 50, 75, 90, 99, 99.9, 99.99, 100}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			values := tc.values()
			r := New(tc.name)
			s := r.Shard()
			for _, us := range values {
				s.Record(time.Duration(us) * time.Microsecond)
			}
			h := r.Interval(time.Now())
			slices.Sort(values)
			for _, p := range percentiles {
				want := exactPercentile(values, p)
				got := ValueAtPercentile(h, p)
				// Three significant digits: the reported value is in the same
				// bucket as the exact one, and buckets are narrower than 1/1000
				// of their values.
				if !h.ValuesAreEquivalent(got, want) || math.Abs(float64(got-want)) > float64(want)/1000+1 {
					t.Errorf("p%v = %d µs, exact %d µs", p, got, want)
				}
			}
			if got, want := h.Max(), values[len(values)-1]; !h.ValuesAreEquivalent(got, want) {
				t.Errorf("max = %d µs, exact %d µs", got, want)
			}
		})
	}
}

// The library rounds the percentile's rank to the nearest integer where
// HdrHistogram Java rounds it up; ValueAtPercentile follows Java.
func TestValueAtPercentileRoundsRankUp(t *testing.T) {
	h := NewHistogram()
	for i := range 1070 {
		h.RecordValue(int64(i+1) * 10_000)
	}
	if got := ValueAtPercentile(h, 99); got/10_000 != 1060 {
		t.Errorf("p99 of 10, 20, ... 10700 ms = %d µs, want the 1060th value", got)
	}
	if got := h.ValueAtQuantile(99); got/10_000 != 1059 {
		t.Logf("the library's ValueAtQuantile(99) now gives %d µs; ValueAtPercentile's workaround may be obsolete", got)
	}
	if got := ValueAtPercentile(NewHistogram(), 50); got != 0 {
		t.Errorf("empty histogram: %d", got)
	}
	for _, p := range []float64{-1, 0} {
		if got := ValueAtPercentile(h, p); got != 10_000 {
			t.Errorf("p%v = %d, want the smallest value", p, got)
		}
	}
	for _, p := range []float64{100, 150} {
		if got := ValueAtPercentile(h, p); !h.ValuesAreEquivalent(got, 10_700_000) {
			t.Errorf("p%v = %d, want the largest value", p, got)
		}
	}
}

func TestSummarizeMilliseconds(t *testing.T) {
	r := New("summary")
	s := r.Shard()
	for _, c := range []struct {
		n int
		d time.Duration
	}{{900, time.Millisecond}, {90, 10 * time.Millisecond}, {9, 100 * time.Millisecond}, {1, time.Second}} {
		for range c.n {
			s.Record(c.d)
		}
	}
	got := Summarize(r.Interval(time.Now()))
	want := Summary{Count: 1000, P50: 1, P90: 1, P99: 10, P999: 100, Max: 1000, Mean: 3.7}
	near := func(got, want float64) bool { return math.Abs(got-want) <= want/1000 }
	if got.Count != want.Count || !near(got.P50, want.P50) || !near(got.P90, want.P90) ||
		!near(got.P99, want.P99) || !near(got.P999, want.P999) || !near(got.Max, want.Max) ||
		!near(got.Mean, want.Mean) {
		t.Errorf("Summarize = %+v\nwant within 0.1%% of %+v", got, want)
	}

	b, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	var keys map[string]any
	if err := json.Unmarshal(b, &keys); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"count", "p50_ms", "p90_ms", "p99_ms", "p999_ms", "max_ms", "mean_ms"} {
		if _, ok := keys[k]; !ok {
			t.Errorf("summary JSON %s lacks %q", b, k)
		}
	}

	for name, h := range map[string]*hdrhistogram.Histogram{"nil": nil, "empty": NewHistogram()} {
		if got := Summarize(h); got != (Summary{}) {
			t.Errorf("Summarize(%s) = %+v, want zero", name, got)
		}
	}
}

func TestRecordDoesNotAllocate(t *testing.T) {
	s := New("allocs").Shard()
	d := 1234 * time.Microsecond
	if n := testing.AllocsPerRun(1000, func() { s.Record(d); s.Record(3 * time.Hour) }); n != 0 {
		t.Fatalf("Record allocates %v times per call", n)
	}
}

func TestFlipWaitsForWriterInCriticalSection(t *testing.T) {
	var p phaser
	p.init()
	// Four rounds cover both phase parities twice.
	for round := range 4 {
		e := p.enter()
		flipped := make(chan uint64, 1)
		go func() { flipped <- p.flip() }()
		// Not a timing assertion: a correct flip cannot return before exit,
		// however long this sleeps; a broken one is caught if it returns early.
		time.Sleep(5 * time.Millisecond)
		select {
		case <-flipped:
			t.Fatalf("round %d: flip returned while a writer of the closing phase was recording", round)
		default:
		}
		p.exit(e)
		if got := <-flipped; got != phaseIndex(e) {
			t.Fatalf("round %d: flip closed phase %d, the writer was in phase %d", round, got, phaseIndex(e))
		}
		if next := p.enter(); phaseIndex(next) == phaseIndex(e) {
			t.Fatalf("round %d: a writer entering after the flip is still in the closed phase", round)
		} else {
			p.exit(next)
		}
	}
}

func TestLockedRecordsAndClamps(t *testing.T) {
	l := NewLocked()
	for _, d := range []time.Duration{0, 500 * time.Nanosecond, 3 * time.Millisecond, 2 * time.Hour} {
		l.Record(d)
	}
	h, clamped := l.Snapshot()
	if h.TotalCount() != 4 || clamped != 1 {
		t.Fatalf("count %d, clamped %d; want 4 and 1", h.TotalCount(), clamped)
	}
	if h.Min() != LowestValue || !h.ValuesAreEquivalent(h.Max(), HighestValue) {
		t.Fatalf("min %d max %d: sub-microsecond values count as %d, too-large ones as %d", h.Min(), h.Max(), LowestValue, HighestValue)
	}
	l.Record(time.Millisecond) // the snapshot is a copy
	if h.TotalCount() != 4 {
		t.Fatalf("snapshot changed after a later Record")
	}
}
