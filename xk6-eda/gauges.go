package eda

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/edabench/edabench/internal/twinkind"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/edabench/edabench/harness/lag"
	"github.com/edabench/edabench/harness/scrape"
	"github.com/edabench/edabench/targets/bus/rabbitmq"
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
		if s.opts.Mgmt != "" {
			depths, err := queueDepths(ctx, s.opts.Mgmt, s.opts.AMQP)
			switch {
			case err != nil && !warned && s.ctx.Err() == nil:
				s.log.WithError(err).Warn("eda_queue_depth: management API unavailable; set the mgmt option (MGMT= in the examples), or \"\" to turn it off")
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

// queueDepths reads every queue's depth (ready + unacknowledged) from the
// RabbitMQ management API, as the harness does (harness/broker), with the
// AMQP URL's credentials.
func queueDepths(ctx context.Context, mgmt, amqpURL string) (map[string]int64, error) {
	user, pass := rabbitmq.Credentials(amqpURL)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, mgmt+"/api/queues?disable_stats=true&enable_queue_totals=true&columns=name,vhost,messages", nil)
	if err != nil {
		return nil, err
	}
	req.SetBasicAuth(user, pass)
	resp, err := httpClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("management API %s: %w", mgmt, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("management API %s: %w", mgmt, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("management API %s: %s", mgmt, resp.Status)
	}
	var qs []struct {
		Name     string `json:"name"`
		Vhost    string `json:"vhost"`
		Messages int64  `json:"messages"`
	}
	if err := json.Unmarshal(body, &qs); err != nil {
		return nil, fmt.Errorf("management API %s: %w", mgmt, err)
	}
	out := make(map[string]int64, len(qs))
	for _, q := range qs {
		if q.Vhost == "/" {
			out[q.Name] = q.Messages
		} else {
			out[q.Vhost+"/"+q.Name] = q.Messages
		}
	}
	return out, nil
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
// client, else the private broker's defaults.
type probeTarget struct {
	mgmt, amqp, prefix string
	metrics            []string
}

func (mi *ModuleInstance) probeTarget(fn string, arg sobek.Value) probeTarget {
	p := probeTarget{mgmt: DefaultMgmtURL, amqp: defaultAMQP(), prefix: DefaultPrefix}
	if c := mi.last; c != nil && twinkind.UsesBroker(c.s.opts.Twin) {
		p = probeTarget{mgmt: c.s.opts.Mgmt, amqp: c.s.opts.AMQP, prefix: c.s.opts.Prefix, metrics: c.s.opts.Metrics}
	}
	if arg == nil || sobek.IsUndefined(arg) || sobek.IsNull(arg) {
		return p
	}
	obj, ok := arg.(*sobek.Object)
	if !ok {
		mi.throw(fmt.Errorf("eda.%s: options must be an object { mgmt, amqp, prefix, metrics }, got %s", fn, arg.String()))
	}
	for _, k := range obj.Keys() {
		switch k {
		case "mgmt", "amqp", "prefix":
			v, ok := obj.Get(k).Export().(string)
			if !ok {
				mi.throw(fmt.Errorf("eda.%s: option %s must be a string", fn, k))
			}
			switch k {
			case "mgmt":
				if err := checkHTTP(v); err != nil {
					mi.throw(fmt.Errorf("eda.%s: option mgmt: %w", fn, err))
				}
				p.mgmt = strings.TrimRight(v, "/")
			case "amqp":
				if err := checkAMQP(v); err != nil {
					mi.throw(fmt.Errorf("eda.%s: option amqp: %w", fn, err))
				}
				p.amqp = v
			default:
				p.prefix = v
			}
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
			mi.throw(fmt.Errorf("eda.%s: unknown option %q (options: mgmt, amqp, prefix, metrics)", fn, k))
		}
	}
	return p
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
	if p.mgmt == "" {
		mi.throw(errors.New("eda.queueDepth: no management API: pass { mgmt: \"http://127.0.0.1:15682\" }"))
	}
	ctx, cancel := context.WithTimeout(mi.vu.Context(), probeTimeout)
	defer cancel()
	depths, err := queueDepths(ctx, p.mgmt, p.amqp)
	if err != nil {
		mi.throw(fmt.Errorf("eda.queueDepth(%q): %w", q, err))
	}
	name := p.queueName(q)
	d, ok := depths[name]
	if !ok {
		mi.throw(fmt.Errorf("eda.queueDepth: queue %q does not exist on the broker at %s (is the EDA twin running with prefix %q?)", name, p.mgmt, p.prefix))
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
