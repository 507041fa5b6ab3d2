package lag

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/edabench/edabench/harness/brokernode"
	"github.com/edabench/edabench/targets/eda"
)

// fakeService serves a queue's two counters and a process start time that
// the test sets between ticks.
type fakeService struct {
	mu              sync.Mutex
	start, pub, set int
}

func (f *fakeService) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fmt.Fprintf(w, "# TYPE %s gauge\n%s %d\n", metricProcessStart, metricProcessStart, f.start)
	fmt.Fprintf(w, "# TYPE %s counter\n%s{queue=\"q\"} %d\n", eda.MetricQueuePublished, eda.MetricQueuePublished, f.pub)
	fmt.Fprintf(w, "# TYPE %s counter\n%s{queue=\"q\",outcome=\"acked\"} %d\n", eda.MetricQueueSettled, eda.MetricQueueSettled, f.set)
}

func (f *fakeService) set3(start, pub, set int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.start, f.pub, f.set = start, pub, set
}

// TestCheckpointKeepsAKilledServicesCounts: what a service counted after
// the last tick and before a Checkpoint survives its restart from zero.
func TestCheckpointKeepsAKilledServicesCounts(t *testing.T) {
	pubSvc, conSvc := &fakeService{start: 1}, &fakeService{start: 1}
	srvP, srvC := httptest.NewServer(pubSvc), httptest.NewServer(conSvc)
	defer srvP.Close()
	defer srvC.Close()
	urls := []string{srvP.URL + "/metrics", srvC.URL + "/metrics"}
	src := &source{
		depths: func(context.Context) (map[string]brokernode.QueueStat, error) {
			return map[string]brokernode.QueueStat{"q": {}}, nil
		},
		queues: []string{"q"}, urls: urls, client: srvP.Client(),
		logger: slog.New(slog.DiscardHandler), book: newDepthBook(urls, 0, slog.New(slog.DiscardHandler)),
	}
	depth := func() int64 {
		t.Helper()
		got, err := src.Sample(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if got[0].DepthSource != SourceCounters {
			t.Fatalf("depth from %s, want %s", got[0].DepthSource, SourceCounters)
		}
		return got[0].Depth
	}
	pubSvc.set3(1, 100, 0)
	conSvc.set3(1, 0, 90)
	if d := depth(); d != 10 {
		t.Fatalf("depth %d, want 10", d)
	}
	conSvc.set3(1, 0, 100) // settles after the tick...
	if err := src.Checkpoint(t.Context(), urls[1]); err != nil {
		t.Fatal(err)
	}
	conSvc.set3(2, 0, 5) // ...then killed, restarted, and settled 5 of 20 new
	pubSvc.set3(1, 120, 0)
	if d := depth(); d != 15 {
		t.Errorf("depth after the restart %d, want 15 (120 published, 100 + 5 settled)", d)
	}
	if err := src.Checkpoint(t.Context(), "http://127.0.0.1:1/metrics"); err == nil {
		t.Error("a checkpoint of a service that does not answer: no error")
	}
}
