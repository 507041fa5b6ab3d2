// Package record is the harness's latency recorder: load workers record
// response times into per-goroutine shards without locks, and a single ticker
// goroutine collects one HdrHistogram per interval, in the manner of
// HdrHistogram Java's Recorder. The package also reads and writes the
// standard HdrHistogram interval log (.hlog) and percentile (.hgrm) formats so
// results can be checked with HdrHistogram's own tools.
package record

import (
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Histogram geometry shared by every histogram the package creates, so that
// shards, intervals and totals merge without loss. Values are microseconds.
const (
	LowestValue  int64 = 1
	HighestValue int64 = int64(time.Hour / time.Microsecond)
	SigFigs            = 3
)

// usPerMs converts the recorder's microsecond values to the milliseconds that
// summary.json, the .hlog max column and the .hgrm report use.
const usPerMs = 1000.0

// cacheLinePad separates each shard's writer-hot words from whatever the
// allocator places next to it; 128 bytes also defeats the adjacent-line
// prefetcher, which would otherwise pair two shards' lines.
const cacheLinePad = 128

// A writer inside Record leaves its critical section within nanoseconds
// unless it was descheduled there, so flip first re-checks in a tight loop,
// then yields (the writer may be waiting for this P), and only then sleeps,
// as Java's Recorder does, to free the core it needs.
const (
	flipBusySpins  = 1000
	flipYieldSpins = 1010
	flipSleep      = 50 * time.Microsecond
)

// NewHistogram returns an empty histogram with the recorder's geometry.
func NewHistogram() *hdrhistogram.Histogram {
	return hdrhistogram.New(LowestValue, HighestValue, SigFigs)
}

// Recorder collects latencies from any number of shards.
type Recorder struct {
	name string

	// mu serialises the reader side (Interval, Total, Shard, Clamped); the
	// recording path never touches it.
	mu     sync.Mutex
	shards []*Shard
	total  *hdrhistogram.Histogram
	start  time.Time // start of the interval the next Interval call closes
	closed int       // intervals taken so far
}

// New returns a recorder whose first interval starts now.
func New(name string) *Recorder {
	return &Recorder{name: name, total: NewHistogram(), start: time.Now()}
}

// Name returns the name given to New.
func (r *Recorder) Name() string { return r.name }

// SetStart sets the start timestamp of the interval the next Interval call
// closes. Use it when the run starts later than New was called, so that the
// first interval does not claim time during which nothing could be recorded
// (and does not start before a LogWriter's base time).
func (r *Recorder) SetStart(t time.Time) {
	r.mu.Lock()
	r.start = t
	r.mu.Unlock()
}

// Shard returns a recorder for exactly one goroutine. Shards live as long as
// the Recorder (about 370 KB each: two fixed-size histograms), so create one
// per long-lived load worker, not one per request.
func (r *Recorder) Shard() *Shard {
	s := &Shard{}
	// The histograms are held by value so that their per-record total count
	// sits inside this shard's padding rather than in a separately allocated
	// struct that could share a cache line with another shard's. Copying right
	// after New is safe: the original is dropped, so nothing aliases the counts.
	s.hists[0] = *NewHistogram()
	s.hists[1] = *NewHistogram()
	s.phaser.init()
	r.mu.Lock()
	r.shards = append(r.shards, s)
	r.mu.Unlock()
	return s
}

// Interval closes the current interval at now: it swaps out every shard's
// active histogram, merges them into a new histogram stamped with the
// interval's start and end, adds that to the cumulative total and returns it.
// The returned histogram is the caller's. Every recorded value lands in
// exactly one interval; shards are swapped one after another, so the boundary
// is blurred by the time the swaps take (tens of microseconds per shard).
// Meant to be called from one goroutine; concurrent calls are serialised.
// Call it once more after the load stops, or the last values stay in the
// shards.
func (r *Recorder) Interval(now time.Time) *hdrhistogram.Histogram {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out *hdrhistogram.Histogram
	for _, s := range r.shards {
		h := &s.hists[s.phaser.flip()]
		if out == nil {
			// Clone copies the counts array outright, far cheaper than Merge's
			// per-bucket walk; every shard has the same geometry.
			out = h.Clone()
		} else {
			// Nothing can be dropped: source and destination share one geometry.
			out.Merge(h)
		}
		// Reset now, while no writer can reach h, so the shard finds it empty
		// when the next flip hands it back.
		h.Reset()
	}
	if out == nil {
		out = NewHistogram()
	}
	out.SetStartTimeMs(r.start.UnixMilli())
	out.SetEndTimeMs(now.UnixMilli())
	if r.closed == 0 {
		r.total.SetStartTimeMs(out.StartTimeMs())
	}
	r.total.Merge(out)
	r.total.SetEndTimeMs(out.EndTimeMs())
	r.start = now
	r.closed++
	return out
}

// Total returns a copy of everything collected by Interval so far. Values
// recorded since the last Interval call are not included.
func (r *Recorder) Total() *hdrhistogram.Histogram {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.total.Clone()
}

// Clamped returns how many recorded values exceeded HighestValue and were
// recorded as HighestValue instead. It includes values not yet collected by
// Interval.
func (r *Recorder) Clamped() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	var n int64
	for _, s := range r.shards {
		n += s.clamped.Load()
	}
	return n
}

// Shard records latencies for one goroutine: Record must not be called
// concurrently on the same Shard (the histogram it writes is not atomic), but
// may run concurrently with every Recorder method.
type Shard struct {
	_      [cacheLinePad]byte
	phaser phaser
	// hists[0] receives values during even phases and hists[1] during odd
	// ones, so a writer picks its histogram from the epoch it entered with and
	// never needs to load a separately published pointer.
	hists   [2]hdrhistogram.Histogram
	clamped atomic.Int64
	_       [cacheLinePad]byte
}

// Micros is d in the histograms' unit, whole microseconds, brought into
// their range; clamped reports a value above HighestValue.
func Micros(d time.Duration) (v int64, clamped bool) {
	v = int64(d / time.Microsecond)
	switch {
	case v < LowestValue:
		return LowestValue, false
	case v > HighestValue:
		return HighestValue, true
	}
	return v, false
}

// Locked is one histogram behind a mutex, for latencies recorded a few
// dozen times a second (a sample of orders, a k6 extension's callbacks),
// where a Recorder's shards (~370 KB each) would cost more memory than the
// lock costs time.
type Locked struct {
	mu      sync.Mutex
	h       *hdrhistogram.Histogram
	clamped int64
}

// NewLocked returns an empty Locked histogram.
func NewLocked() *Locked { return &Locked{h: NewHistogram()} }

// Record adds one latency, as Shard.Record does.
func (l *Locked) Record(d time.Duration) {
	v, clamped := Micros(d)
	l.mu.Lock()
	_ = l.h.RecordValue(v) // in range: Micros clamped it
	if clamped {
		l.clamped++
	}
	l.mu.Unlock()
}

// ValuesAt returns the value at each quantile (0 to 100) and the count, read
// in place: no copy of the histogram, so it is cheap to call every second.
func (l *Locked) ValuesAt(quantiles ...float64) (values []int64, count int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.h.ValueAtPercentilesSlice(quantiles), l.h.TotalCount()
}

// Take returns the values recorded since the last Take (or NewLocked)
// and starts afresh: an interval of an interval log, cut without a copy.
func (l *Locked) Take() *hdrhistogram.Histogram {
	fresh := NewHistogram()
	l.mu.Lock()
	defer l.mu.Unlock()
	h := l.h
	l.h = fresh
	return h
}

// Snapshot returns a copy of the histogram and the number of values clamped.
func (l *Locked) Snapshot() (*hdrhistogram.Histogram, int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return hdrhistogram.Import(l.h.Export()), l.clamped
}

// Record adds one latency. It never blocks, takes no lock and does not
// allocate. Durations are truncated to whole microseconds; anything below
// LowestValue counts as LowestValue, and anything above HighestValue counts as
// HighestValue and in Recorder.Clamped.
func (s *Shard) Record(d time.Duration) {
	v, clamped := Micros(d)
	if clamped {
		s.clamped.Add(1)
	}
	e := s.phaser.enter()
	// The error is impossible: v was just brought into the histogram's range.
	_ = s.hists[phaseIndex(e)].RecordValue(v)
	s.phaser.exit(e)
}

// phaseIndex maps an epoch to its phase's histogram: even phases use
// non-negative epochs, odd phases negative ones.
func phaseIndex(epoch int64) uint64 { return uint64(epoch) >> 63 }

// phaser is HdrHistogram Java's WriterReaderPhaser, one per shard so that
// writers on different cores never contend on a shared epoch. Writers bracket
// each record with enter/exit (wait-free); the reader's flip starts a new
// phase and waits until every writer that entered the old one has exited,
// after which the old phase's histogram is quiescent.
type phaser struct {
	startEpoch atomic.Int64
	evenEnd    atomic.Int64
	oddEnd     atomic.Int64
}

func (p *phaser) init() {
	p.startEpoch.Store(0)
	p.evenEnd.Store(0)
	p.oddEnd.Store(math.MinInt64)
}

func (p *phaser) enter() int64 { return p.startEpoch.Add(1) - 1 }

func (p *phaser) exit(epoch int64) {
	if epoch < 0 {
		p.oddEnd.Add(1)
	} else {
		p.evenEnd.Add(1)
	}
}

// flip starts the next phase and returns the histogram index of the phase
// it closed, once no writer can still be inside it.
func (p *phaser) flip() (closed uint64) {
	nextEven := p.startEpoch.Load() < 0
	// The next phase's end counter is idle: every writer of the last phase
	// with the same parity exited before the previous flip returned.
	var initial int64
	if nextEven {
		p.evenEnd.Store(0)
	} else {
		initial = math.MinInt64
		p.oddEnd.Store(initial)
	}
	startAtFlip := p.startEpoch.Swap(initial)
	oldEnd := &p.evenEnd
	if nextEven {
		oldEnd = &p.oddEnd
	}
	for i := 0; oldEnd.Load() != startAtFlip; i++ {
		switch {
		case i < flipBusySpins:
		case i < flipYieldSpins:
			runtime.Gosched()
		default:
			time.Sleep(flipSleep)
		}
	}
	return phaseIndex(startAtFlip)
}

// Summary is a histogram's headline figures in milliseconds, for summary.json.
type Summary struct {
	Count int64   `json:"count"`
	P50   float64 `json:"p50_ms"`
	P90   float64 `json:"p90_ms"`
	P99   float64 `json:"p99_ms"`
	P999  float64 `json:"p999_ms"`
	Max   float64 `json:"max_ms"`
	Mean  float64 `json:"mean_ms"`
}

// Summarize reports h, whose values are microseconds, in milliseconds.
// Percentiles follow ValueAtPercentile. Percentiles and the maximum are
// HdrHistogram's highest equivalent values, so they may exceed the recorded
// value by up to one part in a thousand. An empty or nil histogram gives a
// zero Summary.
func Summarize(h *hdrhistogram.Histogram) Summary {
	if h == nil || h.TotalCount() == 0 {
		return Summary{}
	}
	ms := func(us int64) float64 { return float64(us) / usPerMs }
	return Summary{
		Count: h.TotalCount(),
		P50:   ms(ValueAtPercentile(h, 50)),
		P90:   ms(ValueAtPercentile(h, 90)),
		P99:   ms(ValueAtPercentile(h, 99)),
		P999:  ms(ValueAtPercentile(h, 99.9)),
		Max:   ms(h.Max()),
		Mean:  h.Mean() / usPerMs,
	}
}

// ValueAtPercentile returns the smallest recorded value (to the histogram's
// precision) that at least percentile% of the values are at or below: the
// value at rank ceil(percentile/100 * count), as current HdrHistogram Java
// computes it and as the .hgrm report lists it. It returns 0 for an empty
// histogram.
//
// The library's ValueAtQuantile instead rounds the rank to the nearest
// integer, which can pick the value below the percentile: of 1070 values it
// reports the 1059th as p99, though only 98.97% of values are at or below it.
func ValueAtPercentile(h *hdrhistogram.Histogram, percentile float64) int64 {
	n := h.TotalCount()
	if n == 0 {
		return 0
	}
	if percentile <= 0 {
		return h.ValueAtQuantile(0)
	}
	// As in Java, one ulp off the percentile keeps a product such as
	// 99.9*1000/100 = 999.0000000000001 from rounding up a whole rank.
	p := min(math.Nextafter(percentile, math.Inf(-1)), 100)
	rank := min(max(math.Ceil(p*float64(n)/100), 1), float64(n))
	// Ask the library for a quantile that lands a quarter rank below the
	// target: rounding to nearest (this version) and rounding up (should the
	// library adopt Java's rule) both resolve it to rank, with a quarter rank
	// of margin for floating-point error.
	return h.ValueAtQuantile((rank - 0.25) / float64(n) * 100)
}
