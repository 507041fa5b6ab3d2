// Package scrape reads a service's Prometheus /metrics, for the figures the
// harness takes from the services themselves (consumer lag, step latency).
package scrape

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"sort"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Families fetches url and parses the text exposition.
func Families(ctx context.Context, client *http.Client, url string) (map[string]*dto.MetricFamily, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("metrics URL %q: %w", url, err)
	}
	// Ask for the classic text format: promhttp would otherwise be free to
	// negotiate OpenMetrics or protobuf.
	req.Header.Set("Accept", string(expfmt.NewFormat(expfmt.TypeTextPlain)))
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return nil, fmt.Errorf("GET %s: %s: %s", url, resp.Status, b)
	}
	return Parse(io.LimitReader(resp.Body, 32<<20))
}

// Parse reads a text exposition.
func Parse(r io.Reader) (map[string]*dto.MetricFamily, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(r)
	if err != nil {
		return nil, fmt.Errorf("parse metrics: %w", err)
	}
	return fams, nil
}

// Label returns a metric's label value ("" when absent).
func Label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// Bucket is one cumulative histogram bucket.
type Bucket struct {
	UpperBound float64
	Count      uint64
}

// Histogram is a Prometheus histogram, possibly merged from several series.
type Histogram struct {
	Count   uint64
	Sum     float64
	Buckets []Bucket // cumulative, ascending
}

// Add merges a histogram series into h (same bucket layout assumed, as one
// metric family has).
func (h *Histogram) Add(p *dto.Histogram) {
	h.Count += p.GetSampleCount()
	h.Sum += p.GetSampleSum()
	for _, b := range p.GetBucket() {
		i := sort.Search(len(h.Buckets), func(i int) bool { return h.Buckets[i].UpperBound >= b.GetUpperBound() })
		if i < len(h.Buckets) && h.Buckets[i].UpperBound == b.GetUpperBound() {
			h.Buckets[i].Count += b.GetCumulativeCount()
			continue
		}
		h.Buckets = append(h.Buckets, Bucket{})
		copy(h.Buckets[i+1:], h.Buckets[i:])
		h.Buckets[i] = Bucket{b.GetUpperBound(), b.GetCumulativeCount()}
	}
}

// Quantile estimates the q-quantile (0..1) by linear interpolation inside
// the bucket that holds it, as PromQL's histogram_quantile does; so it is
// only as fine as the buckets. NaN when empty.
func (h *Histogram) Quantile(q float64) float64 {
	if h.Count == 0 || len(h.Buckets) == 0 {
		return math.NaN()
	}
	rank := q * float64(h.Count)
	var lower float64
	var below uint64
	for _, b := range h.Buckets {
		if float64(b.Count) >= rank {
			if math.IsInf(b.UpperBound, 1) {
				return lower
			}
			in := b.Count - below
			if in == 0 {
				return b.UpperBound
			}
			return lower + (b.UpperBound-lower)*(rank-float64(below))/float64(in)
		}
		lower, below = b.UpperBound, b.Count
	}
	return lower
}
