package runner

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/edabench/edabench/harness/output"
	"github.com/edabench/edabench/internal/twinkind"
)

// The live metrics' per-second cost (issue 21, `make bench-micro`): the
// gauges' update each tick, and one Prometheus scrape of /metrics with an
// EDA twin tracked. The scrape's client is in the same process: its side
// is in ns/op and the allocations too.

func benchLive(b *testing.B) (*liveMetrics, string) {
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	lm, addr, err := startLiveMetrics(ctx, "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	st := newTwinState("eda", time.Now(), []string{"steady"}, 64, 60, 1000)
	tk := newTicker(st, &twinEnv{}, func(output.Tick) {})
	lm.run.track("eda", liveTwin{tk: tk, st: st, kind: twinkind.Of(twinkind.EDA)})
	return lm, addr
}

func BenchmarkLiveMetricsUpdate(b *testing.B) {
	lm, _ := benchLive(b)
	row := output.Row{InFlight: 12, Depth: 40, LagMs: 3, AckP50: 2, AckP99: 9, E2EP50: 20, E2EP99: 80}
	b.ReportAllocs()
	for b.Loop() {
		lm.update("eda", row, 1000, 990, 1)
	}
}

func BenchmarkLiveMetricsScrape(b *testing.B) {
	lm, addr := benchLive(b)
	lm.update("eda", output.Row{InFlight: 12}, 1000, 990, 1)
	client := &http.Client{}
	b.ReportAllocs()
	for b.Loop() {
		resp, err := client.Get("http://" + addr + "/metrics")
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}
