package lag

import (
	"io"
	"math"
	"time"

	"github.com/edabench/edabench/harness/scrape"
	"github.com/edabench/edabench/targets/eda"
	dto "github.com/prometheus/client_model/go"
)

// The values of Sample.DepthSource.
const (
	// SourceCounters: published minus settled from every service's own
	// counters, accounted per service across restarts and re-anchored to
	// the broker's figure when the queue is quiet (see depthBook).
	SourceCounters = "counters"
	// SourceBroker: the broker's own figure, used when a service does not
	// export the counters, or before every service has answered once.
	SourceBroker = "broker"
)

// metricProcessStart is the Prometheus client's process collector's gauge,
// which every service exports: a service whose start time changed was
// restarted, so its counters began again at zero even if they have since
// passed their old values (where a decrease alone would not show it).
const metricProcessStart = "process_start_time_seconds"

// serviceScrape is one service's answer at one tick.
type serviceScrape struct {
	// ok is false when the service did not answer: its counters keep
	// their last values, which is right for a dead or paused service
	// (it settles nothing) and catches up next tick for a slow one.
	ok bool
	// counts is false when it answered without the queue counters: an
	// older build, whose share of every queue is unknown, so no queue's
	// depth can be counted this tick; unless it is offBus.
	counts bool
	// offBus: it answered with no messaging metric at all, a service that
	// does not use the bus (the hybrid's payment, a gRPC step server),
	// which publishes and settles nothing and so needs no counters.
	offBus   bool
	start    float64
	pub, set map[string]float64
}

// scrapeResult is one tick's scrape of every service.
type scrapeResult struct {
	lags     map[string]float64
	services map[string]serviceScrape // by metrics URL
}

func newScrapeResult() scrapeResult {
	return scrapeResult{lags: map[string]float64{}, services: map[string]serviceScrape{}}
}

// add records the families service url answered with.
func (r *scrapeResult) add(url string, fams map[string]*dto.MetricFamily) {
	for q, v := range lagOf(fams) {
		if cur, ok := r.lags[q]; !ok || v > cur {
			r.lags[q] = v
		}
	}
	pub, okP := fams[eda.MetricQueuePublished]
	set, okS := fams[eda.MetricQueueSettled]
	s := serviceScrape{ok: true, counts: okP || okS, offBus: !onBus(fams), pub: counterSums(pub), set: counterSums(set)}
	if f, ok := fams[metricProcessStart]; ok && len(f.GetMetric()) > 0 {
		s.start = f.GetMetric()[0].GetGauge().GetValue()
	}
	r.services[url] = s
}

// onBus says whether a service exports any of the messaging metrics every
// EDA service has from its first connection to the broker.
func onBus(fams map[string]*dto.MetricFamily) bool {
	for _, name := range []string{eda.MetricQueuePublished, eda.MetricQueueSettled, eda.MetricBusEvents,
		eda.MetricPublishConfirm, eda.MetricHandle, eda.MetricConsumerLag, eda.MetricConsumerLagLast} {
		if _, ok := fams[name]; ok {
			return true
		}
	}
	return false
}

// failed records that service url did not answer.
func (r *scrapeResult) failed(url string) { r.services[url] = serviceScrape{} }

// counterSums sums a counter family per queue label, over its other labels
// (broker, outcome). A nil family sums to an empty map.
func counterSums(fam *dto.MetricFamily) map[string]float64 {
	out := make(map[string]float64)
	for _, m := range fam.GetMetric() {
		q := scrape.Label(m, "queue")
		if q == "" || m.GetCounter() == nil {
			continue
		}
		out[q] += m.GetCounter().GetValue()
	}
	return out
}

// increase is how much a counter grew from last to now, as Prometheus's
// increase() reads it: a counter below its last value, or of a restarted
// process, began again at zero, so all of now is new.
func increase(last, now float64, restarted bool) int64 {
	if restarted || now < last {
		return int64(math.Round(now))
	}
	return int64(math.Round(now - last))
}

// countedDepths is the backlog per queue that one tick scraping these
// expositions (one per service, each its first answer) counts, with
// broker figures of zero; a queue missing from the map falls back to the
// broker. It is the single-tick view TestCountedDepths checks.
func countedDepths(expositions []io.Reader) (map[string]int64, error) {
	r := newScrapeResult()
	var urls []string
	for i, e := range expositions {
		fams, err := scrape.Parse(e)
		if err != nil {
			return nil, err
		}
		url := string(rune('a' + i))
		urls = append(urls, url)
		r.add(url, fams)
	}
	queues := map[string]bool{}
	for _, s := range r.services {
		for q := range s.pub {
			queues[q] = true
		}
		for q := range s.set {
			queues[q] = true
		}
	}
	broker := map[string]int64{}
	for q := range queues {
		broker[q] = 0
	}
	b := newDepthBook(urls, 0, nil)
	out := make(map[string]int64)
	for q, d := range b.tick(time.Unix(0, 0), r, broker) {
		if d.source == SourceCounters {
			out[q] = d.depth
		}
	}
	return out, nil
}
