package rr

import (
	"fmt"

	"github.com/edabench/edabench/targets/resilience"
	"github.com/prometheus/client_golang/prometheus"
)

// Names of the RR services' own metrics, besides resilience's client ones.
const (
	MetricInflight      = "edabench_inflight_requests"
	MetricCompensations = "edabench_compensation_requests_total"
	// The gateway's only.
	MetricCompensationsBackground = "edabench_compensation_background_total"
	MetricGatewayOrders           = "edabench_gateway_orders_total"
	MetricGatewayReplays          = "edabench_gateway_replays_total"
)

// metrics of one RR service (gateway or step). The caller adds the twin
// and service labels by wrapping the registerer.
type metrics struct {
	rpc           *resilience.Metrics
	inflight      prometheus.Gauge
	compensations *prometheus.CounterVec // peer, result
	// gateway only
	background prometheus.Counter
	orders     *prometheus.CounterVec // status, code
	replays    *prometheus.CounterVec // status
}

func newMetrics(reg prometheus.Registerer, gateway bool) (*metrics, error) {
	rpc, err := resilience.NewMetrics(reg)
	if err != nil {
		return nil, err
	}
	m := &metrics{
		rpc: rpc,
		inflight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: MetricInflight,
			Help: "Requests being served (PlaceOrder at the gateway, Apply at a step).",
		}),
		compensations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: MetricCompensations,
			Help: "Compensate calls sent to a peer, by result (ok, or failed: the peer's effect may stay in force).",
		}, []string{"peer", "result"}),
	}
	cs := []prometheus.Collector{m.inflight, m.compensations}
	if gateway {
		m.background = prometheus.NewCounter(prometheus.CounterOpts{
			Name: MetricCompensationsBackground,
			Help: "Failed orders whose compensation was still running when the gateway had to reply; it finishes in the background.",
		})
		m.orders = prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: MetricGatewayOrders,
			Help: "PlaceOrder calls that ran the workflow, by reply status (COMPLETED, REJECTED, or NONE for a gRPC error) and gRPC code.",
		}, []string{"status", "code"})
		m.replays = prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: MetricGatewayReplays,
			Help: "Retried PlaceOrder calls answered from the read model, by the status replied.",
		}, []string{"status"})
		cs = append(cs, m.background, m.orders, m.replays)
	}
	if reg != nil {
		for _, c := range cs {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("register rr metrics: %w (one gateway or step server per registerer: wrap it with a service label)", err)
			}
		}
	}
	return m, nil
}
