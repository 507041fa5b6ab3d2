// Package lag samples how far an EDA twin's consumers trail its producers:
// per queue and per tick, the depth (counted from the services' own
// counters each second, see depthBook, with the broker's figure, ready +
// unacked, beside it), the consumer count, the dead-lettered count, and
// the time lag the services themselves report. Analyze turns a run's
// samples into the numbers the results table shows (peak depth, max lag,
// drain time).
package lag

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/edabench/edabench/harness/brokernode"
	"github.com/edabench/edabench/harness/cpubill"
	"github.com/edabench/edabench/harness/scrape"
	"github.com/edabench/edabench/targets/bus"
	"github.com/edabench/edabench/targets/eda"
	dto "github.com/prometheus/client_model/go"
)

// LagUnknown is Sample.LagSeconds when no scraped service reported the
// queue: its consumer is down, or has not taken a message since it started.
// A sentinel rather than NaN so that samples encode as JSON.
const LagUnknown = -1.0

// scrapeTimeout bounds one /metrics request. A service paused or starved by
// a fault must cost the tick its lag reading, not the whole tick.
const scrapeTimeout = 2 * time.Second

// Sample is one queue at one tick. Every sample of a tick shares At.
type Sample struct {
	At    time.Time `json:"at"`
	Queue string    `json:"queue"`
	// Depth is the queue's backlog: from the services' own counters
	// (published into it minus settled from it, accounted across service
	// restarts and re-anchored to BrokerDepth when the queue is quiet;
	// DepthSource "counters"), which move each second, or else the
	// broker's figure ("broker").
	Depth int64 `json:"depth"`
	// BrokerDepth is the broker's own figure (Ready + Unacked), which for
	// RabbitMQ's quorum queues moves on a 5 s tick.
	BrokerDepth int64  `json:"broker_depth"`
	DepthSource string `json:"depth_source,omitempty"`
	Ready       int64  `json:"ready"`
	Unacked     int64  `json:"unacked"`
	// Consumers lags the message counts by a second or two (see
	// brokernode.QueueStat).
	Consumers int `json:"consumers"`
	// DeadLettered is the depth of the queue's dead-letter queue, so it
	// counts every message dead-lettered since the queue was declared,
	// unless somebody consumed the DLQ.
	DeadLettered int64 `json:"dead_lettered"`
	// LagSeconds is the latest delivery's time lag as the consuming service
	// reported it at this tick, or LagUnknown. The service's gauge keeps its
	// last value while the queue is idle, so after a drain it shows the lag
	// of the last message taken, not zero.
	LagSeconds float64 `json:"lag_seconds"`
}

// Source takes one tick: a sample of every queue it watches.
type Source interface {
	Sample(ctx context.Context) ([]Sample, error)
}

// Checkpointer is implemented by the Source NewSource returns. Checkpoint
// reads one service's counters at once, between ticks: call it just before
// killing that service, so that what it counted since the last tick is not
// lost with it (its restart counts from zero, and a settle counted by the
// dead process and never scraped would read as backlog until the queue
// is quiet and re-anchored).
type Checkpointer interface {
	Checkpoint(ctx context.Context, metricsURL string) error
}

// checkpointTimeout bounds a Checkpoint: the kill it precedes waits for it.
const checkpointTimeout = time.Second

// NewSource watches queues (full names, e.g. "edabench.payment"; each
// queue's dead-letter queue is found by name) on node, and reads their time
// lag from the services' Prometheus endpoints (full URLs, e.g.
// "http://127.0.0.1:7301/metrics").
//
// Sample fails when the broker cannot be asked or a queue does not exist
// (a wrong prefix would otherwise read as "drained"). A missing dead-letter
// queue counts as zero and an unreachable service as LagUnknown: neither is
// a reason to lose the tick's depths.
func NewSource(node brokernode.Node, queues []string, metricsURLs []string) Source {
	log := slog.Default().With("component", "lag")
	return &source{
		depths:  node.QueueDepths,
		queues:  append([]string(nil), queues...),
		urls:    append([]string(nil), metricsURLs...),
		client:  &http.Client{},
		logger:  log,
		brokerN: node.Name(),
		book:    newDepthBook(metricsURLs, DefaultBrokerFreshness, log),
	}
}

type source struct {
	depths  func(context.Context) (map[string]brokernode.QueueStat, error)
	queues  []string
	urls    []string
	client  *http.Client
	logger  *slog.Logger
	brokerN string

	// mu makes a Sample one tick of book: the sampler and WaitDrained
	// both sample, and a tick applied after a later one would read every
	// counter's increase as a restart.
	mu   sync.Mutex
	book *depthBook
}

func (s *source) Sample(ctx context.Context) ([]Sample, error) {
	sp := cpubill.Start(ctx, cpubill.Backlog)
	defer sp.End()
	s.mu.Lock()
	defer s.mu.Unlock()
	at := time.Now()
	// Scrape while the management API answers: both take tens of
	// milliseconds and the tick should describe one moment.
	scraped := make(chan scrapeResult, 1)
	go func() { scraped <- s.scrapeAll(ctx) }()
	depths, err := s.depths(ctx)
	sr := <-scraped
	if err != nil {
		return nil, fmt.Errorf("lag: queue depths from broker %s: %w", s.brokerN, err)
	}
	figures := make(map[string]int64, len(s.queues))
	for _, q := range s.queues {
		st, ok := depths[q]
		if !ok {
			return nil, fmt.Errorf("lag: queue %q does not exist on broker %s: is the twin running with this queue prefix, and has a service declared its topology yet?", q, s.brokerN)
		}
		figures[q] = st.Messages
	}
	counted := s.book.tick(at, sr, figures)
	s.logTick(ctx, counted, figures)
	out := make([]Sample, 0, len(s.queues))
	for _, q := range s.queues {
		st := depths[q]
		lag, ok := sr.lags[q]
		if !ok {
			lag = LagUnknown
		}
		out = append(out, Sample{
			At: at, Queue: q,
			Depth: counted[q].depth, BrokerDepth: st.Messages, DepthSource: counted[q].source,
			Ready: st.Ready, Unacked: st.Unacked, Consumers: st.Consumers,
			DeadLettered: depths[bus.DLQName(q)].Messages,
			LagSeconds:   lag,
		})
	}
	return out, nil
}

// Checkpoint implements Checkpointer.
func (s *source) Checkpoint(ctx context.Context, metricsURL string) error {
	// Scraped before taking the lock, so the kill waits for one scrape,
	// not for a tick in progress too; the book drops the answer if a tick
	// folded in a newer one meanwhile.
	ctx, cancel := context.WithTimeout(ctx, checkpointTimeout)
	defer cancel()
	fams, err := s.scrape(ctx, metricsURL)
	if err != nil {
		return fmt.Errorf("lag: checkpoint of %s: %w", metricsURL, err)
	}
	r := newScrapeResult()
	r.add(metricsURL, fams)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.book.checkpoint(time.Now(), metricsURL, r.services[metricsURL])
	return nil
}

// logTick logs the tick's total depth beside the broker's (at debug level,
// --log-level debug): how the two compare over a run is read from there,
// since timeseries.csv keeps one depth column.
func (s *source) logTick(ctx context.Context, counted map[string]queueDepth, figures map[string]int64) {
	if !s.logger.Enabled(ctx, slog.LevelDebug) {
		return
	}
	var depth, broker, checked, maxOff int64
	sources := map[string]int{}
	for q, d := range counted {
		depth += d.depth
		broker += figures[q]
		sources[d.source]++
		if d.checked {
			checked++
			maxOff = max(maxOff, d.off, -d.off)
		}
	}
	s.logger.DebugContext(ctx, "lag: tick", "depth", depth, "broker_depth", broker,
		"queues_counted", sources[SourceCounters], "queues_broker", sources[SourceBroker],
		"quiet_checked", checked, "quiet_max_off", maxOff)
}

// scrapeAll merges every service's lag gauges and queue counters. Should
// two services consume one queue, the larger lag is the one that matters.
func (s *source) scrapeAll(ctx context.Context) scrapeResult {
	var (
		mu  sync.Mutex
		wg  sync.WaitGroup
		out = newScrapeResult()
	)
	for _, u := range s.urls {
		wg.Go(func() {
			fams, err := s.scrape(ctx, u)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				s.logger.DebugContext(ctx, "lag: scrape failed; its queues' lag is unknown and its counters keep their last values this tick", "url", u, "err", err)
				out.failed(u)
				return
			}
			out.add(u, fams)
		})
	}
	wg.Wait()
	return out
}

func (s *source) scrape(ctx context.Context, url string) (map[string]*dto.MetricFamily, error) {
	sp := cpubill.Start(ctx, cpubill.Scrapes)
	defer sp.End()
	ctx, cancel := context.WithTimeout(ctx, scrapeTimeout)
	defer cancel()
	fams, err := scrape.Families(ctx, s.client, url)
	if err != nil {
		return nil, fmt.Errorf("lag: %w", err)
	}
	return fams, nil
}

// parseLag extracts eda.MetricConsumerLagLast, the gauge every EDA service
// sets on each delivery, per queue label from a text exposition.
func parseLag(r io.Reader) (map[string]float64, error) {
	fams, err := scrape.Parse(r)
	if err != nil {
		return nil, err
	}
	return lagOf(fams), nil
}

func lagOf(fams map[string]*dto.MetricFamily) map[string]float64 {
	out := make(map[string]float64)
	fam, ok := fams[eda.MetricConsumerLagLast]
	if !ok {
		return out
	}
	for _, m := range fam.GetMetric() {
		queue := scrape.Label(m, "queue")
		if queue == "" || m.GetGauge() == nil {
			continue
		}
		// Only a stepped wall clock makes it negative; clamping keeps
		// LagUnknown unambiguous.
		v := max(m.GetGauge().GetValue(), 0)
		if cur, ok := out[queue]; !ok || v > cur {
			out[queue] = v
		}
	}
	return out
}
