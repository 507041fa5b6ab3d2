package cpubill

import (
	"context"
	"math"
	"testing"
	"time"
)

// spin burns about d of CPU on the calling thread.
func spin(d time.Duration) {
	start := threadNanos()
	x := 1.0
	for threadNanos()-start < d.Nanoseconds() {
		for range 1000 {
			x = math.Sqrt(x + 1)
		}
	}
	_ = x
}

func TestSpanCountsOwnCPUNotWaiting(t *testing.T) {
	b := New()
	ctx := NewContext(context.Background(), b)
	sp := Start(ctx, Scrapes)
	spin(20 * time.Millisecond)
	sp.End()
	sp = Start(ctx, Backlog)
	time.Sleep(50 * time.Millisecond) // blocked: the locked thread sleeps
	sp.End()

	r := b.Read()
	if got := r.Observers[Scrapes]; got.CPU < 20*time.Millisecond || got.Spans != 1 {
		t.Errorf("busy span: %v over %d spans, want >= 20ms over 1", got.CPU, got.Spans)
	}
	// Not a speed bound: a sleeping thread is charged no CPU, whatever
	// the machine's load; the margin only covers the clock reads.
	if got := r.Observers[Backlog]; got.CPU >= 10*time.Millisecond || got.Spans != 1 {
		t.Errorf("sleeping span: %v over %d spans, want well under 10ms over 1", got.CPU, got.Spans)
	}
	if r.Process < r.Observers[Scrapes].CPU {
		t.Errorf("process CPU %v below one of its threads' %v", r.Process, r.Observers[Scrapes].CPU)
	}
}

func TestNilBillCountsNothing(t *testing.T) {
	var b *Bill
	sp := Start(context.Background(), Completion)
	sp.End()
	b.Time(Staleness, func() {})
	if r := b.Read(); len(r.Observers) != 0 || r.Process <= 0 {
		t.Errorf("nil bill read %+v: want the process only", r)
	}
}

func TestSplitOf(t *testing.T) {
	at := time.Unix(1000, 0)
	from := Reading{At: at, Process: 10 * time.Second, GC: time.Second,
		Observers: map[string]Usage{Scrapes: {CPU: time.Second, Spans: 5}}}
	to := Reading{At: at.Add(10 * time.Second), Process: 14 * time.Second, GC: 1500 * time.Millisecond,
		Observers: map[string]Usage{Scrapes: {CPU: 2 * time.Second, Spans: 15}, Completion: {CPU: time.Second, Spans: 2000}}}
	tests := []struct {
		name     string
		from, to Reading
		requests int64
		want     Split
	}{
		{"a window", from, to, 2000, Split{Seconds: 10, ProcessS: 4, LoadAndRuntimeS: 2, GCEstimateS: 0.5, ObserversS: 2,
			Requests: 2000, ProcessPer1kS: 2, LoadAndRuntimePer1kS: 1, ObserversPer1kS: 1, ObserversShareOfProcess: 0.5,
			Observers: map[string]ObserverCPU{Scrapes: {S: 1, Per1kS: 0.5, Spans: 10}, Completion: {S: 1, Per1kS: 0.5, Spans: 2000}}}},
		{"no requests: no per-1k figures", from, to, 0, Split{Seconds: 10, ProcessS: 4, LoadAndRuntimeS: 2, GCEstimateS: 0.5, ObserversS: 2,
			ObserversShareOfProcess: 0.5, Observers: map[string]ObserverCPU{Scrapes: {S: 1, Spans: 10}, Completion: {S: 1, Spans: 2000}}}},
		{"observers read after the process: the remainder is clamped", Reading{At: at}, Reading{At: at, Process: time.Second,
			Observers: map[string]Usage{Scrapes: {CPU: 2 * time.Second}}}, 0,
			Split{ProcessS: 1, ObserversS: 2, ObserversShareOfProcess: 2, Observers: map[string]ObserverCPU{Scrapes: {S: 2}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := SplitOf(tt.from, tt.to, tt.requests)
			if !splitEqual(got, tt.want) {
				t.Errorf("SplitOf:\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func splitEqual(a, b Split) bool {
	near := func(x, y float64) bool { return math.Abs(x-y) < 1e-9 }
	if len(a.Observers) != len(b.Observers) {
		return false
	}
	for n, o := range a.Observers {
		w := b.Observers[n]
		if !near(o.S, w.S) || !near(o.Per1kS, w.Per1kS) || o.Spans != w.Spans {
			return false
		}
	}
	return near(a.Seconds, b.Seconds) && near(a.ProcessS, b.ProcessS) && near(a.LoadAndRuntimeS, b.LoadAndRuntimeS) &&
		near(a.GCEstimateS, b.GCEstimateS) && near(a.ObserversS, b.ObserversS) && a.Requests == b.Requests &&
		near(a.ProcessPer1kS, b.ProcessPer1kS) && near(a.LoadAndRuntimePer1kS, b.LoadAndRuntimePer1kS) &&
		near(a.ObserversPer1kS, b.ObserversPer1kS) && near(a.ObserversShareOfProcess, b.ObserversShareOfProcess)
}

func TestNamesInReportOrder(t *testing.T) {
	s := Split{Observers: map[string]ObserverCPU{"zeta": {}, LiveMetrics: {}, Completion: {}, "alpha": {}}}
	got := s.Names()
	want := []string{Completion, LiveMetrics, "alpha", "zeta"}
	if len(got) != len(want) {
		t.Fatalf("Names = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("Names = %v, want %v", got, want)
		}
	}
}

// BenchmarkSpan is what timing one observer's tick adds to it: two thread
// clock reads (system calls) and a lock of the thread.
func BenchmarkSpan(b *testing.B) {
	a := New().Account(Scrapes)
	b.ReportAllocs()
	for b.Loop() {
		sp := a.Start()
		sp.End()
	}
}
