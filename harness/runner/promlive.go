package runner

import (
	"sort"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/edabench/edabench/harness/output"
	"github.com/edabench/edabench/internal/twinkind"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc/codes"
)

// latencyBuckets are the upper bounds, in seconds, of the harness's
// latency histograms: 100 µs to ~100 s, a factor 2^(1/4) (~19%) apart, so
// histogram_quantile's p99.9 is within a few percent of the HDR figure.
var latencyBuckets = prometheus.ExponentialBucketsRange(0.0001, 100, 81)

// Names of the series runCollector computes at each scrape.
const (
	MetricLatency = "edabench_harness_latency_seconds"
	MetricCalls   = "edabench_harness_calls_total"
	// MetricLoadStart is the Unix time of a twin's schedule time zero: the
	// dashboards' runs table starts a run's row (and its link) there.
	MetricLoadStart = "edabench_harness_load_start_timestamp_seconds"
	// MetricLoadSeconds is how long a twin's load has run, frozen when the
	// load ends: summary.json's load_seconds, so replies / this is its
	// achieved_rps.
	MetricLoadSeconds = "edabench_harness_load_seconds"
	// MetricOrdersUnfinished counts accepted orders not yet seen to end
	// (EDA, hybrid; 0 for RR, whose reply is the end): after the drain it
	// is summary.json's orders.lost.
	MetricOrdersUnfinished = "edabench_harness_orders_unfinished"
)

// runCollector exposes, for each twin run so far, the whole-run latency
// histograms (from the HDR recorders, cut every tick) and the calls by gRPC
// code, so dashboards get p50/p99/p99.9 from rate()d buckets and errors by
// code as counters.
type runCollector struct {
	mu    sync.Mutex
	twins []trackedTwin

	latency, calls                  *prometheus.Desc
	loadStart, loadSecs, unfinished *prometheus.Desc
}

type trackedTwin struct {
	name string
	live output.Live
}

func newRunCollector() *runCollector {
	return &runCollector{
		latency: prometheus.NewDesc(MetricLatency,
			"Latency from each request's intended send time (no coordinated omission): kind ack until PlaceOrder replied, e2e until the order completed. Whole run, updated each second.",
			[]string{"twin", "kind"}, nil),
		calls: prometheus.NewDesc(MetricCalls,
			"PlaceOrder calls that ended, by gRPC code: OK for replies (COMPLETED, ACCEPTED or REJECTED), any other code is an error or a timeout.",
			[]string{"twin", "code"}, nil),
		loadStart: prometheus.NewDesc(MetricLoadStart,
			"Unix time of the twin's schedule time zero (its load's start).", []string{"twin"}, nil),
		loadSecs: prometheus.NewDesc(MetricLoadSeconds,
			"Seconds the twin's load has run; frozen at the load's end (summary.json load_seconds).", []string{"twin"}, nil),
		unfinished: prometheus.NewDesc(MetricOrdersUnfinished,
			"Accepted orders not yet seen to end (EDA, hybrid; 0 for RR); after the drain, the orders lost.", []string{"twin"}, nil),
	}
}

func (c *runCollector) track(name string, live output.Live) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range c.twins {
		if c.twins[i].name == name {
			c.twins[i] = trackedTwin{name, live}
			return
		}
	}
	c.twins = append(c.twins, trackedTwin{name, live})
}

func (c *runCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.latency
	ch <- c.calls
	ch <- c.loadStart
	ch <- c.loadSecs
	ch <- c.unfinished
}

func (c *runCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	twins := append([]trackedTwin(nil), c.twins...)
	c.mu.Unlock()
	for _, t := range twins {
		for code, n := range t.live.Calls() {
			ch <- prometheus.MustNewConstMetric(c.calls, prometheus.CounterValue, float64(n), t.name, code)
		}
		c.collectLoad(ch, t)
		t.live.Totals(func(total [output.Series]*hdrhistogram.Histogram) {
			ch <- hdrToProm(c.latency, total[mAck], t.name, "ack")
			ch <- hdrToProm(c.latency, total[mE2E], t.name, "e2e")
		})
	}
}

func (c *runCollector) collectLoad(ch chan<- prometheus.Metric, t trackedTwin) {
	start, secs := t.live.Load()
	ch <- prometheus.MustNewConstMetric(c.loadStart, prometheus.GaugeValue, float64(start.UnixNano())/1e9, t.name)
	ch <- prometheus.MustNewConstMetric(c.loadSecs, prometheus.GaugeValue, secs, t.name)
	ch <- prometheus.MustNewConstMetric(c.unfinished, prometheus.GaugeValue, float64(t.live.Unfinished()), t.name)
}

// liveTwin is a running twin's figures as the live outputs read them.
type liveTwin struct {
	tk   *ticker
	st   *twinState
	kind twinkind.Twin
}

// Calls counts every reply (completed, accepted or rejected) as OK.
func (l liveTwin) Calls() map[string]int64 {
	out := map[string]int64{codes.OK.String(): l.st.total.ok.Load() + l.st.total.rejected.Load()}
	for i := range l.st.codes {
		if n := l.st.codes[i].Load(); n > 0 {
			out[codes.Code(i).String()] = n
		}
	}
	return out
}

func (l liveTwin) Load() (time.Time, float64) {
	start := l.st.start
	end, ended := l.st.tl.began("drain")
	if !ended {
		end = time.Now()
	}
	return start, max(0, end.Sub(start).Seconds())
}

// Unfinished is 0 for a twin whose reply is the order's end.
func (l liveTwin) Unfinished() int64 {
	if !l.kind.UsesBroker() {
		return 0
	}
	return max(0, l.st.total.ok.Load()-l.st.endedAccepted.Load())
}

func (l liveTwin) Totals(f func(total [output.Series]*hdrhistogram.Histogram)) { l.tk.withTotals(f) }

// began is when the phase name first began, if it did.
func (tl *timeline) began(name string) (time.Time, bool) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	for _, s := range tl.spans {
		if s.name == name {
			return s.at, true
		}
	}
	return time.Time{}, false
}

// hdrToProm turns an HDR histogram of microseconds into a cumulative
// Prometheus histogram in seconds; a value counts in every bucket whose
// bound is at or above its HDR bucket's highest equivalent value.
func hdrToProm(desc *prometheus.Desc, h *hdrhistogram.Histogram, labels ...string) prometheus.Metric {
	counts := make([]uint64, len(latencyBuckets))
	var n uint64
	for _, b := range h.Distribution() {
		if b.Count == 0 {
			continue
		}
		n += uint64(b.Count)
		s := float64(b.To) / 1e6
		i := sort.SearchFloat64s(latencyBuckets, s)
		if i < len(counts) {
			counts[i] += uint64(b.Count)
		}
	}
	buckets := make(map[float64]uint64, len(latencyBuckets))
	var cum uint64
	for i, ub := range latencyBuckets {
		cum += counts[i]
		buckets[ub] = cum
	}
	sum := 0.0
	if n > 0 {
		sum = h.Mean() * float64(n) / 1e6
	}
	return prometheus.MustNewConstHistogram(desc, n, sum, buckets, labels...)
}
