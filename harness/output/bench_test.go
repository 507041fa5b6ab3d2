package output

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// BenchmarkHistogramsTick is one second of the .hlog interval logs (issue
// 21, `make bench-micro`): the four series' interval histograms, 1,000
// latencies each, encoded and written to their files.
func BenchmarkHistogramsTick(b *testing.B) {
	h := NewHistograms(b.TempDir())
	zero := time.Now()
	h.TwinStarted(TwinStart{Name: "eda", Start: zero})
	rng := rand.New(rand.NewPCG(1, 2))
	var iv [Series]*hdrhistogram.Histogram
	for i := range iv {
		iv[i] = hdrhistogram.New(1, 3_600_000_000, 3)
		for range 1000 {
			_ = iv[i].RecordValue(int64(rng.ExpFloat64()*8000) + 200)
		}
		// Inside the log's time, or the writer refuses the interval.
		iv[i].SetStartTimeMs(zero.UnixMilli() + 1000)
		iv[i].SetEndTimeMs(zero.UnixMilli() + 2000)
	}
	t := Tick{Twin: "eda", At: zero.Add(time.Second), Interval: iv, Row: Row{Phase: "steady"}}
	b.ReportAllocs()
	for b.Loop() {
		h.Tick(t)
	}
	if h.err != nil {
		b.Fatal(h.err)
	}
	b.StopTimer()
	if err := h.TwinEnded(TwinEnd{Name: "eda", Totals: iv}); err != nil {
		b.Fatal(err)
	}
}
