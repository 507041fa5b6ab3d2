// Package cpubill splits the harness's own CPU between its load and each
// of its observers, from the harness's own accounting (issue 21).
//
// Go reports CPU per process, not per goroutine. An observer's work is
// therefore timed where it runs: a Span locks its goroutine to its OS
// thread (runtime.LockOSThread) and reads the thread's CPU clock
// (CLOCK_THREAD_CPUTIME_ID) at its start and end. While locked, that thread
// runs nothing but the goroutine, so the difference is exactly the CPU the
// goroutine used (with any GC assist its own allocations caused); blocked
// in between (a scrape waiting for its answer), the thread sleeps and
// counts nothing. What an observer hands to goroutines it does not own (a
// gRPC or HTTP transport's reader, the broker client's frame reader) is
// not in its span: those seconds stay in the remainder, the process's CPU
// (getrusage(RUSAGE_SELF), the kernel's count of every thread) less every
// observer's, which is reported as load and runtime: dispatch, calls,
// recording, transports and the garbage collector. The split is thus a
// floor for each observer and a ceiling for the load.
package cpubill

import (
	"context"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// The observers, by the names summary.json gives them.
const (
	// Completion is the completion consumer: decoding and accounting each
	// order's end event (EDA twins).
	Completion = "completion_consumer"
	// Backlog is the backlog sampler: each tick's queue depths from the
	// broker node and the book that turns them into samples (EDA twins).
	Backlog = "backlog_sampler"
	// Scrapes are the services' /metrics scrapes of each sampler tick.
	Scrapes = "scrapes"
	// Staleness is the staleness probe's reads of the order read side:
	// each one's encoding and decoding (see harness/staleness).
	Staleness = "staleness_probe"
	// IntervalLogs are the .hlog interval logs, written each second.
	IntervalLogs = "interval_logs"
	// LiveMetrics is the live /metrics: its update each second and each
	// scrape of it.
	LiveMetrics = "live_metrics"
)

// Observers lists every observer, in the order reports show them.
func Observers() []string {
	return []string{Completion, Backlog, Scrapes, Staleness, IntervalLogs, LiveMetrics}
}

// Bill accumulates each observer's thread CPU. The zero value is not
// usable; a nil *Bill accepts spans and counts nothing.
type Bill struct {
	mu       sync.Mutex
	accounts map[string]*Account
}

// New makes a bill with an account for each of Observers.
func New() *Bill {
	b := &Bill{accounts: map[string]*Account{}}
	for _, n := range Observers() {
		b.accounts[n] = &Account{}
	}
	return b
}

// Account is one observer's CPU; safe for concurrent spans.
type Account struct {
	nanos atomic.Int64
	spans atomic.Int64
}

// Account returns name's account, made on first use; nil for a nil bill.
func (b *Bill) Account(name string) *Account {
	if b == nil {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	a := b.accounts[name]
	if a == nil {
		a = &Account{}
		b.accounts[name] = a
	}
	return a
}

// Span is one timed stretch of an observer's work.
type Span struct {
	a     *Account
	start int64
}

// Start locks the goroutine to its thread and reads the thread's clock; End
// must follow on the same goroutine. On a nil account it does nothing.
func (a *Account) Start() Span {
	if a == nil {
		return Span{}
	}
	runtime.LockOSThread()
	return Span{a: a, start: threadNanos()}
}

// End adds the span's thread CPU to its account and unlocks the thread.
func (s Span) End() {
	if s.a == nil {
		return
	}
	d := threadNanos() - s.start
	runtime.UnlockOSThread()
	if d > 0 {
		s.a.nanos.Add(d)
	}
	s.a.spans.Add(1)
}

// Time runs f in a span of name's account.
func (b *Bill) Time(name string, f func()) {
	sp := b.Account(name).Start()
	defer sp.End()
	f()
}

func threadNanos() int64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return 0
	}
	return ts.Nano()
}

type ctxKey struct{}

// NewContext carries b to the observers started with ctx.
func NewContext(ctx context.Context, b *Bill) context.Context {
	return context.WithValue(ctx, ctxKey{}, b)
}

// From is the bill ctx carries; nil (which counts nothing) when none.
func From(ctx context.Context) *Bill {
	b, _ := ctx.Value(ctxKey{}).(*Bill)
	return b
}

// Start opens a span of name's account on the bill ctx carries.
func Start(ctx context.Context, name string) Span { return From(ctx).Account(name).Start() }

// Reading is the bill at one moment: cumulative, subtract two for a window.
type Reading struct {
	At time.Time
	// Process is the whole process's user + system CPU.
	Process time.Duration
	// GC is the runtime's own estimate of its garbage collector's CPU
	// (runtime/metrics /cpu/classes/gc/total): time on a P, not
	// kernel-measured, so an estimate that a descheduled thread inflates.
	GC        time.Duration
	Observers map[string]Usage
}

// Usage is one observer's CPU and how many spans it came from.
type Usage struct {
	CPU   time.Duration
	Spans int64
}

const gcMetric = "/cpu/classes/gc/total:cpu-seconds"

// Read takes a reading; a nil bill reads the process and the GC only.
func (b *Bill) Read() Reading {
	r := Reading{At: time.Now(), Observers: map[string]Usage{}}
	var ru unix.Rusage
	if unix.Getrusage(unix.RUSAGE_SELF, &ru) == nil {
		r.Process = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	s := []metrics.Sample{{Name: gcMetric}}
	metrics.Read(s)
	if s[0].Value.Kind() == metrics.KindFloat64 {
		r.GC = time.Duration(s[0].Value.Float64() * float64(time.Second))
	}
	if b == nil {
		return r
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for n, a := range b.accounts {
		r.Observers[n] = Usage{CPU: time.Duration(a.nanos.Load()), Spans: a.spans.Load()}
	}
	return r
}
