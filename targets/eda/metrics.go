package eda

import (
	"fmt"
	"slices"
	"time"

	"github.com/edabench/edabench/targets/bus"
	"github.com/prometheus/client_golang/prometheus"
)

// Names of the messaging metrics every EDA service, and the hybrid's
// gateway, exports. They are named for the bus, the client side that
// observes them, not for a protocol or a broker: which broker is the value
// of LabelBroker, so one query covers every broker and a by (broker)
// splits them. The broker's own figures are its own metrics (rabbitmq_*).
const (
	// MetricBusEvents counts messaging events by kind (a bus.EventKind)
	// and role ("publish" or "consume").
	MetricBusEvents = "edabench_bus_events_total"
	// MetricPublishConfirm is the histogram from Publish to the broker's
	// confirm, by routing_key.
	MetricPublishConfirm = "edabench_bus_publish_confirm_seconds"
	// MetricHandle is the histogram of a delivery's handler time up to its
	// ack, by queue.
	MetricHandle = "edabench_bus_handle_seconds"
	// MetricConsumerLag is the histogram of time lag (taken minus first
	// published), by queue.
	MetricConsumerLag = "edabench_consumer_lag_seconds"
	// MetricConsumerLagLast is the gauge of the latest delivery's time lag,
	// by queue: what the harness and xk6-eda sample each second.
	MetricConsumerLagLast = "edabench_consumer_lag_last_seconds"

	// MetricQueuePublished counts, per queue, the messages published into
	// it whose publish the broker confirmed (a publish routed to two queues
	// counts once in each), by queue. With MetricQueueSettled it gives the
	// harness a queue's backlog each second from the twins' own counters,
	// whatever the broker, instead of the broker's own figure, which may
	// move on a coarse tick (RabbitMQ's quorum queues: 5 s).
	MetricQueuePublished = "edabench_bus_queue_published_total"
	// MetricQueueSettled counts, per queue, the deliveries taken out of it
	// for good, by queue and outcome (OutcomeAcked, OutcomeDeadLettered,
	// OutcomeRetried); a redelivery is not settled.
	MetricQueueSettled = "edabench_bus_queue_settled_total"

	// LabelBroker is the constant label of every metric above: the
	// broker the service talks to (Config.Broker).
	LabelBroker = "broker"
)

// Values of MetricQueueSettled's outcome label.
const (
	OutcomeAcked        = "acked"
	OutcomeDeadLettered = "dead_lettered"
	// OutcomeRetried is the original of a message a classic queue's retry
	// republished to the queue (counted there as published) before acking
	// it: it left the queue, its copy took its place.
	OutcomeRetried = "retried"
)

// Metrics are the messaging metrics of one EDA service.
type Metrics struct {
	broker  string
	events  *prometheus.CounterVec
	confirm *prometheus.HistogramVec
	handle  *prometheus.HistogramVec
	lag     *prometheus.HistogramVec
	lagLast *prometheus.GaugeVec
	// published and settled are per queue: MetricQueuePublished and
	// MetricQueueSettled.
	published *prometheus.CounterVec
	settled   *prometheus.CounterVec
}

// NewMetrics registers on reg (nil: unregistered), every series labelled
// broker (pass the Config.Broker of the service they measure; NewGateway
// and NewStepService refuse metrics of another broker).
func NewMetrics(reg prometheus.Registerer, broker string) *Metrics {
	l := prometheus.Labels{LabelBroker: broker}
	m := &Metrics{
		broker: broker,
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name:        MetricBusEvents,
			ConstLabels: l,
			Help:        "Messaging events: published, confirmed, nacked, republished, delivered, acked, retried, dead_lettered, reconnected...",
		}, []string{"kind", "role"}),
		confirm: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:        MetricPublishConfirm,
			ConstLabels: l,
			Help:        "From Publish to the broker's confirm.",
			Buckets:     prometheus.ExponentialBuckets(0.0001, 2, 18),
		}, []string{"routing_key"}),
		handle: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:        MetricHandle,
			ConstLabels: l,
			Help:        "Handler time of a delivery up to its ack (step, publish of the next event and its confirm).",
			Buckets:     prometheus.ExponentialBuckets(0.0001, 2, 18),
		}, []string{"queue"}),
		lag: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:        MetricConsumerLag,
			ConstLabels: l,
			Help:        "Time lag: when a consumer takes a message, minus when it was first published.",
			Buckets:     prometheus.ExponentialBuckets(0.0001, 2, 22),
		}, []string{"queue"}),
		// The histogram only says how lag was distributed over a run; the
		// harness samples this gauge each second to plot lag against time
		// (during a spike or a fault) next to the queue depth.
		lagLast: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name:        MetricConsumerLagLast,
			ConstLabels: l,
			Help:        "Time lag of the latest delivery: when its consumer took it, minus when it was first published. Holds its value while the queue is idle.",
		}, []string{"queue"}),
		published: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name:        MetricQueuePublished,
			ConstLabels: l,
			Help:        "Messages published into a queue whose publish the broker confirmed: once for each of the twin's queues its routing key reaches.",
		}, []string{"queue"}),
		settled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name:        MetricQueueSettled,
			ConstLabels: l,
			Help:        "Deliveries taken out of a queue for good: acked, dead-lettered, or acked after a retry copy was republished to it.",
		}, []string{"queue", "outcome"}),
	}
	if reg != nil {
		reg.MustRegister(m.events, m.confirm, m.handle, m.lag, m.lagLast, m.published, m.settled)
	}
	return m
}

// forBroker checks that m labels its series with the broker of the service
// it is given to; nil metrics (unmeasured) fit every broker.
func (m *Metrics) forBroker(broker string) error {
	if m != nil && m.broker != broker {
		return fmt.Errorf("metrics labelled %s=%q for a service of broker %q: build them with eda.NewMetrics(reg, cfg.Broker())", LabelBroker, m.broker, broker)
	}
	return nil
}

// observer counts every bus event and, per queue of cfg's topology, what
// was published into it and settled from it.
func (m *Metrics) observer(cfg Config) bus.Observer {
	if m == nil {
		return nil
	}
	routes := m.queueRoutes(cfg)
	return bus.ObserverFunc(func(e bus.Event) {
		m.events.WithLabelValues(string(e.Kind), e.Role).Inc()
		switch e.Kind {
		case bus.EventConfirmed:
			if !e.RetryCopy {
				m.confirm.WithLabelValues(e.RoutingKey).Observe(e.Duration.Seconds())
			}
			for _, q := range routes[e.RoutingKey] {
				m.published.WithLabelValues(q).Inc()
			}
		case bus.EventAcked:
			m.handle.WithLabelValues(e.Queue).Observe(e.Duration.Seconds())
			m.settled.WithLabelValues(e.Queue, OutcomeAcked).Inc()
		case bus.EventDeadLettered:
			m.settled.WithLabelValues(e.Queue, OutcomeDeadLettered).Inc()
		case bus.EventRetryAcked:
			m.settled.WithLabelValues(e.Queue, OutcomeRetried).Inc()
		}
	})
}

// queueRoutes maps a confirmed publish's routing key to the queues of cfg it
// reaches: through the exchange by the queues' bindings (literal keys, as
// Config.Queues declares them), or straight to a queue by its name, which
// is how the bus republishes a retry copy. It also starts every queue's
// series at zero: the harness reads a service without the counters as one
// that cannot be counted, so a service that has not yet published or
// settled must still show them.
func (m *Metrics) queueRoutes(cfg Config) map[string][]string {
	routes := make(map[string][]string)
	for _, q := range cfg.Queues() {
		for _, key := range append(slices.Clone(q.Bindings), q.Name) {
			if !slices.Contains(routes[key], q.Name) {
				routes[key] = append(routes[key], q.Name)
			}
		}
		m.published.WithLabelValues(q.Name)
		for _, o := range []string{OutcomeAcked, OutcomeDeadLettered, OutcomeRetried} {
			m.settled.WithLabelValues(q.Name, o)
		}
	}
	return routes
}

// observeLag records the time lag of a delivery as its consumer takes it.
func (m *Metrics) observeLag(d bus.Delivery) {
	if m == nil || d.PublishedAt.IsZero() {
		return
	}
	lag := time.Since(d.PublishedAt).Seconds()
	m.lag.WithLabelValues(d.Queue).Observe(lag)
	m.lagLast.WithLabelValues(d.Queue).Set(lag)
}
