package runner

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/edabench/edabench/harness/output"
)

// The live server is what Prometheus scrapes during a run and what a soak's
// heap is profiled through.
func TestLiveMetricsServesMetricsAndProfiles(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	lm, addr, err := startLiveMetrics(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	lm.update("rr", output.Row{InFlight: 3}, 10, 9, 1)
	for _, tc := range []struct{ path, want string }{
		{"/metrics", MetricRequests + `{outcome="sent",twin="rr"} 10`},
		{"/debug/pprof/heap?debug=1", "heap profile"},
	} {
		resp, err := http.Get("http://" + addr + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), tc.want) {
			t.Errorf("GET %s: %d, want %q in %.300s", tc.path, resp.StatusCode, tc.want, body)
		}
	}
}

func TestLiveMetricsRefusesAPortInUse(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, addr, err := startLiveMetrics(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = startLiveMetrics(ctx, addr)
	if err == nil || !strings.Contains(err.Error(), "--metrics-addr") || !strings.Contains(err.Error(), "pick another port") {
		t.Fatalf("port in use: %v", err)
	}
}
