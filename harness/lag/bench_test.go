package lag

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/edabench/edabench/harness/broker"
	"github.com/edabench/edabench/harness/brokernode"
	"github.com/edabench/edabench/targets/eda"
)

// The observers' per-tick costs (issue 21), for `make bench-micro`: what
// the harness itself spends each second on the backlog sampler and its
// scrapes, allocations included. Served on loopback from recordings, so
// they time the harness's side only: the broker's and the services' work
// to answer is theirs.

// serviceExposition is a recorded RR service's /metrics (Go and process
// collectors) with an EDA service's queue counters and lag gauge after it.
const serviceExposition = "testdata/bench/service.txt"

func benchServices(b *testing.B, n int) []string {
	body, err := os.ReadFile(serviceExposition)
	if err != nil {
		b.Fatal(err)
	}
	var urls []string
	for range n {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain; version=0.0.4")
			w.Write(body)
		}))
		b.Cleanup(srv.Close)
		urls = append(urls, srv.URL+"/metrics")
	}
	return urls
}

// adminNode answers QueueDepths through harness/broker's management API
// client from a loopback server with the twin's queues, as RabbitMQ's
// /api/queues lists them.
type adminNode struct {
	brokernode.Node
	admin broker.Admin
}

func (n adminNode) Name() string { return "bench" }
func (n adminNode) QueueDepths(ctx context.Context) (map[string]brokernode.QueueStat, error) {
	return n.admin.QueueDepths(ctx)
}

func benchNode(b *testing.B, queues []string) adminNode {
	type q struct {
		Name      string `json:"name"`
		Vhost     string `json:"vhost"`
		Messages  int64  `json:"messages"`
		Ready     int64  `json:"messages_ready"`
		Unacked   int64  `json:"messages_unacknowledged"`
		Consumers int    `json:"consumers"`
	}
	var all []q
	for _, name := range queues {
		all = append(all, q{Name: name, Vhost: "/", Messages: 12, Ready: 4, Unacked: 8, Consumers: 1},
			q{Name: name + ".dlq", Vhost: "/"})
	}
	body, err := json.Marshal(all)
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write(body) }))
	b.Cleanup(srv.Close)
	return adminNode{admin: broker.Admin{URL: srv.URL, User: "guest", Password: "guest"}}
}

func twinQueues() []string {
	var out []string
	for _, q := range eda.DefaultConfig().Queues() {
		out = append(out, q.Name)
	}
	return out
}

// BenchmarkSamplerTick is one backlog sampler tick of an EDA run: the
// twin's queue depths from the management API and its five services'
// /metrics, into the depth book.
func BenchmarkSamplerTick(b *testing.B) {
	queues := twinQueues()
	src := NewSource(benchNode(b, queues), queues, benchServices(b, 5))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := src.Sample(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkScrape is one service's /metrics, fetched and parsed.
func BenchmarkScrape(b *testing.B) {
	s := NewSource(benchNode(b, nil), nil, nil).(*source)
	url := benchServices(b, 1)[0]
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.scrape(ctx, url); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkQueueDepths is the backlog sampler's broker side alone: the
// management API's two queue listings, fetched and decoded.
func BenchmarkQueueDepths(b *testing.B) {
	n := benchNode(b, twinQueues())
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := n.QueueDepths(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
