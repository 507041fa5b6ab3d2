package scrape

import (
	"math"
	"strings"
	"testing"
)

const exposition = `# TYPE edabench_step_duration_seconds histogram
edabench_step_duration_seconds_bucket{step="payment",outcome="applied",le="0.001"} 0
edabench_step_duration_seconds_bucket{step="payment",outcome="applied",le="0.002"} 50
edabench_step_duration_seconds_bucket{step="payment",outcome="applied",le="0.004"} 100
edabench_step_duration_seconds_bucket{step="payment",outcome="applied",le="+Inf"} 100
edabench_step_duration_seconds_sum{step="payment",outcome="applied"} 0.2
edabench_step_duration_seconds_count{step="payment",outcome="applied"} 100
edabench_step_duration_seconds_bucket{step="payment",outcome="duplicate",le="0.001"} 10
edabench_step_duration_seconds_bucket{step="payment",outcome="duplicate",le="0.002"} 10
edabench_step_duration_seconds_bucket{step="payment",outcome="duplicate",le="0.004"} 10
edabench_step_duration_seconds_bucket{step="payment",outcome="duplicate",le="+Inf"} 10
edabench_step_duration_seconds_sum{step="payment",outcome="duplicate"} 0.001
edabench_step_duration_seconds_count{step="payment",outcome="duplicate"} 10
`

func TestHistogramQuantile(t *testing.T) {
	fams, err := Parse(strings.NewReader(exposition))
	if err != nil {
		t.Fatal(err)
	}
	var h Histogram
	for _, m := range fams["edabench_step_duration_seconds"].GetMetric() {
		if Label(m, "outcome") == "applied" {
			h.Add(m.GetHistogram())
		}
	}
	tests := []struct{ q, want float64 }{{0.5, 0.002}, {0.25, 0.0015}, {0.75, 0.003}, {1, 0.004}}
	for _, tt := range tests {
		if got := h.Quantile(tt.q); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("Quantile(%v) = %v, want %v", tt.q, got, tt.want)
		}
	}
	var all Histogram
	for _, m := range fams["edabench_step_duration_seconds"].GetMetric() {
		all.Add(m.GetHistogram())
	}
	if all.Count != 110 || all.Buckets[0].Count != 10 || len(all.Buckets) != 4 {
		t.Fatalf("merged %+v", all)
	}
	if !math.IsNaN((&Histogram{}).Quantile(0.5)) {
		t.Fatal("empty histogram has a quantile")
	}
}
