package eda

import (
	"context"
	"errors"
	"fmt"
	"github.com/edabench/edabench/internal/twinkind"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/edabench/edabench/harness/brokernodes"
	"github.com/edabench/edabench/harness/lag"
	"github.com/edabench/edabench/harness/scrape"
	"github.com/edabench/edabench/targets/bus"
	"github.com/edabench/edabench/targets/bus/drivers"
	"github.com/edabench/edabench/targets/eda"
	"github.com/grafana/sobek"
	"go.k6.io/k6/metrics"
)

// sampleEvery matches the harness's lag sampler and the private broker's
// statistics interval.
const sampleEvery = lag.DefaultInterval

const probeTimeout = 2 * time.Second

var httpClient = &http.Client{Timeout: probeTimeout}

// queueNames are the twin's service queues (the same in both topologies).
func (s *shared) queueNames() []string {
	qs := s.cfg.Queues()
	out := make([]string, 0, len(qs))
	for _, q := range qs {
		out = append(out, q.Name)
	}
	return out
}

// sample pushes eda_queue_depth and eda_consumer_lag_seconds for every queue
// of the EDA twin once a second, until the client is settled or closed.
func (s *shared) sample() {
	t := time.NewTicker(sampleEvery)
	defer t.Stop()
	queues := s.queueNames()
	warned := false
	for {
		ctx, cancel := context.WithTimeout(s.ctx, sampleEvery)
		now := time.Now()
		var samples metrics.Samples
		if s.opts.Mgmt != "" || s.opts.Broker != bus.RabbitMQ {
			depths, err := s.depths(ctx, queues)
			switch {
			case err != nil && !warned && s.ctx.Err() == nil:
				s.log.WithError(err).Warn(depthWarning(s.opts.Broker))
				warned = true
			case err == nil:
				for _, q := range queues {
					if d, ok := depths[q]; ok {
						samples = append(samples, metrics.Sample{TimeSeries: metrics.TimeSeries{Metric: s.m.depth, Tags: s.gaugeTag.With("queue", q)}, Time: now, Value: float64(d)})
					}
				}
			}
		}
		if len(s.opts.Metrics) > 0 {
			lags := scrapeLags(ctx, s.opts.Metrics)
			for _, q := range queues {
				if v, ok := lags[q]; ok {
					samples = append(samples, metrics.Sample{TimeSeries: metrics.TimeSeries{Metric: s.m.lag, Tags: s.gaugeTag.With("queue", q)}, Time: now, Value: v})
				}
			}
		}
		cancel()
		if len(samples) > 0 {
			s.pushGauges(samples)
		}
		select {
		case <-s.ctx.Done():
			return
		case <-s.noVUCtx().Done():
			return
		case <-t.C:
		}
	}
}

func depthWarning(broker string) string {
	if broker != bus.RabbitMQ {
		return "eda_queue_depth: the " + brokerTitle(broker) + " broker's queue depths are unavailable; check the brokerUrl option (BROKER_URL= in the examples)"
	}
	return "eda_queue_depth: management API unavailable; set the mgmt option (MGMT= in the examples), or \"\" to turn it off"
}

// depths reads the twin's queue depths for the sampler through the
// broker's node kind, and where a queue's backlog is its consumer group's
// (bus.Kind.GroupBacklog: Kafka) over the client's own depth connection
// too (dialled once, closed with the client; see queueDepths).
func (s *shared) depths(ctx context.Context, queues []string) (map[string]int64, error) {
	o := s.opts
	if !groupBacklog(o.Broker) {
		return nodeDepths(ctx, o.Broker, o.BrokerURL, o.Mgmt)
	}
	s.depthMu.Lock()
	defer s.depthMu.Unlock()
	if s.depthConn == nil {
		// The connection lives as long as the client (a Dial's ctx is its
		// lifetime), the dial bounded by its own timeouts.
		c, err := dialGroups(s.ctx, o.Broker, o.BrokerURL, o.Prefix)
		if err != nil {
			return nil, err
		}
		s.depthConn = c
	}
	return queueDepths(ctx, o.Broker, o.BrokerURL, o.Mgmt, s.depthConn, queues)
}

// nodeDepths reads every queue's depth through the broker node seam, as
// the harness does: the node package (harness/broker for RabbitMQ, at
// mgmt with the URL's credentials; harness/kafkanode at the client URL;
// harness/natsnode, its consumers' backlogs at the default node's
// monitoring port) is the one reader of the broker's admin API.
func nodeDepths(ctx context.Context, broker, brokerURL, mgmt string) (map[string]int64, error) {
	kind, err := brokernodes.Builtin().Lookup(broker)
	if err != nil {
		return nil, err
	}
	r, err := kind.Depths(brokerURL, mgmt)
	if err != nil {
		where := mgmt
		if where == "" {
			where = brokerURL
		}
		return nil, fmt.Errorf("queue depths from %s: %w", where, err)
	}
	qs, err := r.QueueDepths(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[string]int64, len(qs))
	for name, q := range qs {
		out[name] = q.Messages
	}
	return out, nil
}

// queueDepths is every queue's depth: the node's figure, and on Kafka,
// for the twin's queues, their consumer group's backlog (log end minus
// the group's commit) read over groups, since the node's figure is what
// a topic holds, which only grows (the harness reads Kafka the same way,
// harness/runner's groupDepthNode).
func queueDepths(ctx context.Context, broker, brokerURL, mgmt string, groups *bus.Conn, queues []string) (map[string]int64, error) {
	out, err := nodeDepths(ctx, broker, brokerURL, mgmt)
	if err != nil || groups == nil {
		return out, err
	}
	for _, q := range queues {
		if _, ok := out[q]; !ok {
			continue // no such topic: not the twin's queue
		}
		st, err := groups.QueueStats(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("queue %s: consumer group backlog: %w", q, err)
		}
		out[q] = int64(st.Messages)
	}
	return out, nil
}

// groupBacklog says whether broker's queue backlogs are consumer groups'
// (bus.Kind.GroupBacklog), read over its driver rather than the node.
func groupBacklog(broker string) bool {
	k, err := drivers.Builtin().Lookup(broker)
	return err == nil && k.GroupBacklog
}

// dialGroups dials broker's driver to read consumer group offsets; it
// declares nothing. ctx is the connection's lifetime (bus.Dial); the dial
// itself gives up after probeTimeout.
func dialGroups(ctx context.Context, broker, brokerURL, prefix string) (*bus.Conn, error) {
	kind, err := drivers.Builtin().Lookup(broker)
	if err != nil {
		return nil, err
	}
	c, err := bus.Dial(ctx, kind, bus.WithURL(brokerURL), bus.WithConnectionName(prefix+".k6-depth"),
		bus.WithDialTimeout(probeTimeout), bus.WithConnectTimeout(probeTimeout))
	if err != nil {
		return nil, fmt.Errorf("queue depths over %s at %s: %w", kind.Title, brokerURL, err)
	}
	return c, nil
}

// scrapeLags reads the consumer lag every EDA service reports
// (eda.MetricConsumerLagLast, per queue) from their /metrics endpoints; the larger
// wins when two report one queue. Unreachable services are skipped.
func scrapeLags(ctx context.Context, urls []string) map[string]float64 {
	var (
		mu  sync.Mutex
		wg  sync.WaitGroup
		out = map[string]float64{}
	)
	for _, u := range urls {
		wg.Go(func() {
			fams, err := scrape.Families(ctx, httpClient, u)
			if err != nil {
				return
			}
			fam, ok := fams[eda.MetricConsumerLagLast]
			if !ok {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			for _, m := range fam.GetMetric() {
				q := scrape.Label(m, "queue")
				if q == "" || m.GetGauge() == nil {
					continue
				}
				v := max(m.GetGauge().GetValue(), 0)
				if cur, ok := out[q]; !ok || v > cur {
					out[q] = v
				}
			}
		})
	}
	wg.Wait()
	return out
}

// probeTarget says which broker and services eda.queueDepth and
// eda.consumerLag ask: the options given, else those of the VU's last
// client, else the private RabbitMQ node's defaults.
type probeTarget struct {
	broker, url, mgmt, prefix string
	metrics                   []string
}

const probeKeys = "broker, brokerUrl, amqp, mgmt, prefix, metrics"

func (mi *ModuleInstance) probeTarget(fn string, arg sobek.Value) probeTarget {
	p := probeTarget{broker: bus.RabbitMQ, url: defaultBrokerURL(bus.RabbitMQ), mgmt: DefaultMgmtURL, prefix: DefaultPrefix}
	if c := mi.last; c != nil && twinkind.Of(c.s.opts.Twin).UsesBroker() {
		o := c.s.opts
		p = probeTarget{broker: o.Broker, url: o.BrokerURL, mgmt: o.Mgmt, prefix: o.Prefix, metrics: o.Metrics}
	}
	if arg == nil || sobek.IsUndefined(arg) || sobek.IsNull(arg) {
		return p
	}
	obj, ok := arg.(*sobek.Object)
	if !ok {
		mi.throw(fmt.Errorf("eda.%s: options must be an object { %s }, got %s", fn, probeKeys, arg.String()))
	}
	str := func(k string) string {
		v, ok := obj.Get(k).Export().(string)
		if !ok {
			mi.throw(fmt.Errorf("eda.%s: option %s must be a string", fn, k))
		}
		return strings.TrimSpace(v)
	}
	var url string
	for _, k := range obj.Keys() {
		switch k {
		case "broker":
			b := str(k)
			if b != p.broker {
				// Another broker: the last client's URL and API are not its.
				p.broker, p.url, p.mgmt = b, defaultBrokerURL(b), ""
				if b == bus.RabbitMQ {
					p.mgmt = DefaultMgmtURL
				}
			}
		case "brokerUrl", "amqp":
			url = str(k)
		case "mgmt":
			v := str(k)
			if err := checkHTTP(v); err != nil {
				mi.throw(fmt.Errorf("eda.%s: option mgmt: %w", fn, err))
			}
			p.mgmt = strings.TrimRight(v, "/")
		case "prefix":
			p.prefix = str(k)
		case "metrics":
			var urls []string
			if err := mi.vu.Runtime().ExportTo(obj.Get(k), &urls); err != nil {
				mi.throw(fmt.Errorf("eda.%s: option metrics must be an array of URLs", fn))
			}
			for _, u := range urls {
				if err := checkHTTP(u); err != nil {
					mi.throw(fmt.Errorf("eda.%s: option metrics: %w", fn, err))
				}
			}
			p.metrics = urls
		default:
			mi.throw(fmt.Errorf("eda.%s: unknown option %q (options: %s)", fn, k, probeKeys))
		}
	}
	if url != "" {
		p.url = url
	}
	if p.broker == bus.RabbitMQ {
		if err := checkAMQP(p.url); err != nil {
			mi.throw(fmt.Errorf("eda.%s: option brokerUrl (amqp): %w", fn, err))
		}
		return p
	}
	b, ok := routedBroker(p.broker)
	if !ok {
		mi.throw(fmt.Errorf("eda.%s: option broker %q: want one of %s", fn, p.broker, strings.Join(drivers.Builtin().Names(), ", ")))
	}
	if err := checkRouted(b, p.url); err != nil {
		mi.throw(fmt.Errorf("eda.%s: option brokerUrl: %w", fn, err))
	}
	return p
}

// depths reads the depths for one queue: where its backlog is a consumer
// group's (Kafka), over a connection of its own, closed after the call.
func (p probeTarget) depths(ctx context.Context, queue string) (map[string]int64, error) {
	if !groupBacklog(p.broker) {
		return nodeDepths(ctx, p.broker, p.url, p.mgmt)
	}
	c, err := dialGroups(ctx, p.broker, p.url, p.prefix)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return queueDepths(ctx, p.broker, p.url, "", c, []string{queue})
}

// where names the broker endpoint asked, for messages.
func (p probeTarget) where() string {
	if p.mgmt != "" {
		return p.mgmt
	}
	return p.url
}

// queueName accepts a full queue name or a service name ("payment").
func (p probeTarget) queueName(q string) string {
	if strings.Contains(q, ".") || p.prefix == "" {
		return q
	}
	return p.prefix + "." + q
}

func (mi *ModuleInstance) queueArg(fn string, v sobek.Value) string {
	if v == nil || sobek.IsUndefined(v) || sobek.IsNull(v) {
		mi.throw(fmt.Errorf("eda.%s: want a queue name, e.g. %q or \"payment\"", fn, DefaultPrefix+".payment"))
	}
	q, ok := v.Export().(string)
	if !ok || strings.TrimSpace(q) == "" {
		mi.throw(fmt.Errorf("eda.%s: want a queue name, got %s", fn, v.String()))
	}
	return strings.TrimSpace(q)
}

// queueDepth is eda.queueDepth(queue, options?): the queue's messages, ready
// plus unacknowledged, from the management API.
func (mi *ModuleInstance) queueDepth(queue sobek.Value, opts sobek.Value) int64 {
	mi.vuContextOnly("queueDepth")
	q := mi.queueArg("queueDepth", queue)
	p := mi.probeTarget("queueDepth", opts)
	if p.broker == bus.RabbitMQ && p.mgmt == "" {
		mi.throw(errors.New("eda.queueDepth: no management API: pass { mgmt: \"http://127.0.0.1:15682\" }"))
	}
	ctx, cancel := context.WithTimeout(mi.vu.Context(), probeTimeout)
	defer cancel()
	depths, err := p.depths(ctx, p.queueName(q))
	if err != nil {
		mi.throw(fmt.Errorf("eda.queueDepth(%q): %w", q, err))
	}
	name := p.queueName(q)
	d, ok := depths[name]
	if !ok {
		mi.throw(fmt.Errorf("eda.queueDepth: queue %q does not exist on the broker at %s (is the EDA twin running with prefix %q?)", name, p.where(), p.prefix))
	}
	return d
}

// consumerLag is eda.consumerLag(queue, options?): the time lag, in
// seconds, of the latest message the queue's consumer took, as the service
// reports it; null when no service reports the queue.
func (mi *ModuleInstance) consumerLag(queue sobek.Value, opts sobek.Value) sobek.Value {
	mi.vuContextOnly("consumerLag")
	q := mi.queueArg("consumerLag", queue)
	p := mi.probeTarget("consumerLag", opts)
	if len(p.metrics) == 0 {
		mi.throw(errors.New("eda.consumerLag: no service metrics URLs: give the client (or this call) metrics: [\"http://127.0.0.1:PORT/metrics\", ...], one per EDA service"))
	}
	ctx, cancel := context.WithTimeout(mi.vu.Context(), probeTimeout)
	defer cancel()
	lags := scrapeLags(ctx, p.metrics)
	v, ok := lags[p.queueName(q)]
	if !ok {
		return sobek.Null()
	}
	return mi.vu.Runtime().ToValue(v)
}

// vuContextOnly throws in the init context: the extension does no network
// I/O there, so that `k6 inspect` and `k6 archive` need no twin or broker.
func (mi *ModuleInstance) vuContextOnly(fn string) {
	if mi.vu.State() == nil {
		mi.throw(fmt.Errorf("eda.%s: only in the VU context (the default function, a scenario's exec, setup or teardown), not in the init context", fn))
	}
}
