package eda

import (
	"time"

	"github.com/edabench/edabench/targets/bus"
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the messaging metrics of one EDA service.
type Metrics struct {
	events  *prometheus.CounterVec
	confirm *prometheus.HistogramVec
	handle  *prometheus.HistogramVec
	lag     *prometheus.HistogramVec
	lagLast *prometheus.GaugeVec
}

// NewMetrics registers on reg (nil: unregistered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edabench_amqp_events_total",
			Help: "Messaging events: published, confirmed, nacked, republished, delivered, acked, retried, dead_lettered, reconnected...",
		}, []string{"kind", "role"}),
		confirm: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "edabench_amqp_publish_confirm_seconds",
			Help:    "From Publish to the broker's confirm.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 18),
		}, []string{"routing_key"}),
		handle: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "edabench_amqp_handle_seconds",
			Help:    "Handler time of a delivery up to its ack (step, publish of the next event and its confirm).",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 18),
		}, []string{"queue"}),
		lag: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "edabench_consumer_lag_seconds",
			Help:    "Time lag: when a consumer takes a message, minus when it was first published.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 22),
		}, []string{"queue"}),
		// The histogram only says how lag was distributed over a run; the
		// harness samples this gauge each second to plot lag against time
		// (during a spike or a fault) next to the queue depth.
		lagLast: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "edabench_consumer_lag_last_seconds",
			Help: "Time lag of the latest delivery: when its consumer took it, minus when it was first published. Holds its value while the queue is idle.",
		}, []string{"queue"}),
	}
	if reg != nil {
		reg.MustRegister(m.events, m.confirm, m.handle, m.lag, m.lagLast)
	}
	return m
}

func (m *Metrics) observer() bus.Observer {
	if m == nil {
		return nil
	}
	return bus.ObserverFunc(func(e bus.Event) {
		m.events.WithLabelValues(string(e.Kind), e.Role).Inc()
		switch e.Kind {
		case bus.EventConfirmed:
			m.confirm.WithLabelValues(e.RoutingKey).Observe(e.Duration.Seconds())
		case bus.EventAcked:
			m.handle.WithLabelValues(e.Queue).Observe(e.Duration.Seconds())
		}
	})
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
