package lag

import (
	"io"

	"github.com/edabench/edabench/harness/scrape"
	"github.com/edabench/edabench/targets/eda"
	dto "github.com/prometheus/client_model/go"
)

// The values of Sample.DepthSource.
const (
	// SourceCounters: published minus settled, summed over every service
	// of the twin from one scrape each.
	SourceCounters = "counters"
	// SourceBroker: the broker's own figure, used when a service could not
	// be scraped or does not export the counters (yet).
	SourceBroker = "broker"
)

// queueCounts are one queue's counters summed over the services scraped.
type queueCounts struct{ published, settled float64 }

// scrapeResult is one tick's scrape of every service.
type scrapeResult struct {
	lags   map[string]float64
	counts map[string]queueCounts
	// complete is false when a service did not answer or exports neither
	// counter: its share of a queue is unknown, so no queue's difference
	// means anything this tick.
	complete bool
}

func (r *scrapeResult) add(fams map[string]*dto.MetricFamily) {
	for q, v := range lagOf(fams) {
		if cur, ok := r.lags[q]; !ok || v > cur {
			r.lags[q] = v
		}
	}
	pub, okP := fams[eda.MetricQueuePublished]
	set, okS := fams[eda.MetricQueueSettled]
	if !okP && !okS {
		r.complete = false
		return
	}
	for q, v := range counterSums(pub) {
		c := r.counts[q]
		c.published += v
		r.counts[q] = c
	}
	for q, v := range counterSums(set) {
		c := r.counts[q]
		c.settled += v
		r.counts[q] = c
	}
}

// counted is queue's backlog from the counters, when the scrape was
// complete and some service counted a publish into it or a settle from it.
// A difference below zero (a publisher restarted and its counter with it)
// reads as empty rather than as a debt.
func (r scrapeResult) counted(queue string) (int64, bool) {
	c, ok := r.counts[queue]
	if !r.complete || !ok {
		return 0, false
	}
	return max(int64(c.published-c.settled), 0), true
}

// counterSums sums a counter family per queue label, over its other labels
// (broker, outcome).
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

// countedDepths is the backlog per queue that a tick scraping these
// expositions (one per service) computes, and whether the tick's scrape
// was complete; a queue missing from the map falls back to the broker.
func countedDepths(expositions []io.Reader) (map[string]int64, error) {
	r := scrapeResult{lags: map[string]float64{}, counts: map[string]queueCounts{}, complete: len(expositions) > 0}
	for _, e := range expositions {
		fams, err := scrape.Parse(e)
		if err != nil {
			return nil, err
		}
		r.add(fams)
	}
	out := make(map[string]int64)
	for q := range r.counts {
		if d, ok := r.counted(q); ok {
			out[q] = d
		}
	}
	return out, nil
}
