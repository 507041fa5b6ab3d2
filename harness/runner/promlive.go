package runner

import (
	"sort"
	"sync"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc/codes"
)

// latencyBuckets are the upper bounds, in seconds, of the harness's
// latency histograms: 100 µs to ~100 s, a factor 2^(1/4) (~19%) apart, so
// histogram_quantile's p99.9 is within a few percent of the HDR figure.
var latencyBuckets = prometheus.ExponentialBucketsRange(0.0001, 100, 81)

// runCollector exposes, for each twin run so far, the whole-run latency
// histograms (from the HDR recorders, cut every tick) and the calls by gRPC
// code, so dashboards get p50/p99/p99.9 from rate()d buckets and errors by
// code as counters.
type runCollector struct {
	mu    sync.Mutex
	twins []trackedTwin

	latency, calls *prometheus.Desc
}

type trackedTwin struct {
	name string
	tk   *ticker
	st   *twinState
}

func newRunCollector() *runCollector {
	return &runCollector{
		latency: prometheus.NewDesc("edabench_harness_latency_seconds",
			"Latency from each request's intended send time (no coordinated omission): kind ack until PlaceOrder replied, e2e until the order completed. Whole run, updated each second.",
			[]string{"twin", "kind"}, nil),
		calls: prometheus.NewDesc("edabench_harness_calls_total",
			"PlaceOrder calls that ended, by gRPC code: OK for replies (COMPLETED, ACCEPTED or REJECTED), any other code is an error or a timeout.",
			[]string{"twin", "code"}, nil),
	}
}

func (c *runCollector) track(name string, tk *ticker, st *twinState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range c.twins {
		if c.twins[i].name == name {
			c.twins[i] = trackedTwin{name, tk, st}
			return
		}
	}
	c.twins = append(c.twins, trackedTwin{name, tk, st})
}

func (c *runCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.latency
	ch <- c.calls
}

func (c *runCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	twins := append([]trackedTwin(nil), c.twins...)
	c.mu.Unlock()
	for _, t := range twins {
		ok := t.st.total.ok.Load() + t.st.total.rejected.Load()
		ch <- prometheus.MustNewConstMetric(c.calls, prometheus.CounterValue, float64(ok), t.name, codes.OK.String())
		for i := range t.st.codes {
			if n := t.st.codes[i].Load(); n > 0 {
				ch <- prometheus.MustNewConstMetric(c.calls, prometheus.CounterValue, float64(n), t.name, codes.Code(i).String())
			}
		}
		t.tk.mu.Lock()
		for _, k := range []struct {
			kind string
			i    int
		}{{"ack", mAck}, {"e2e", mE2E}} {
			ch <- hdrToProm(c.latency, t.tk.total[k.i], t.name, k.kind)
		}
		t.tk.mu.Unlock()
	}
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
