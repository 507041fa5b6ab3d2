package resilience

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc/codes"
)

// Observer sees what the interceptors do. Its methods run on the call path
// (StateChange under the breaker's lock): they must be quick and must not
// call back into the breaker.
type Observer interface {
	// Retry: the call failed with code and is retried after backoff.
	Retry(peer string, retry int, code codes.Code, backoff time.Duration)
	// StateChange: the breaker moved from one state to another; called
	// once with from == to == Closed when the breaker is built.
	StateChange(peer string, from, to State)
	// Rejected: the breaker refused a call (it failed fast).
	Rejected(peer string)
	// Call: one call ended with code after d, retries included.
	Call(peer string, code codes.Code, d time.Duration)
}

type nopObserver struct{}

func (nopObserver) Retry(string, int, codes.Code, time.Duration) {}
func (nopObserver) StateChange(string, State, State)             {}
func (nopObserver) Rejected(string)                              {}
func (nopObserver) Call(string, codes.Code, time.Duration)       {}

// Names of the RPC client metrics every RR service (and the hybrid's
// gateway, for its call to payment) exports, labelled peer.
const (
	MetricRPCRetries         = "edabench_rpc_retries_total"
	MetricBreakerState       = "edabench_circuit_breaker_state"
	MetricBreakerTransitions = "edabench_circuit_breaker_transitions_total"
	MetricBreakerRejected    = "edabench_circuit_breaker_rejected_total"
	MetricRPCClientDuration  = "edabench_rpc_client_duration_seconds"
)

// Metrics is the Prometheus Observer (a nil *Metrics observes nothing). The
// caller adds twin and service labels by wrapping the registerer.
type Metrics struct {
	retries     *prometheus.CounterVec
	state       *prometheus.GaugeVec
	transitions *prometheus.CounterVec
	rejected    *prometheus.CounterVec
	duration    *prometheus.HistogramVec
}

// NewMetrics registers the client metrics on reg (nil: unregistered).
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: MetricRPCRetries,
			Help: "Calls to a peer retried after a retryable failure (one per retry).",
		}, []string{"peer"}),
		state: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: MetricBreakerState,
			Help: "Circuit breaker state per peer: 0 closed, 1 half-open, 2 open.",
		}, []string{"peer"}),
		transitions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: MetricBreakerTransitions,
			Help: "Circuit breaker state changes per peer, by the state entered.",
		}, []string{"peer", "to"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: MetricBreakerRejected,
			Help: "Calls the circuit breaker failed fast without sending them.",
		}, []string{"peer"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: MetricRPCClientDuration,
			Help: "Client-side duration of one call to a peer, retries and backoff included, by final gRPC code.",
			// 100 µs to ~13 s, the same buckets as the step durations.
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 18),
		}, []string{"peer", "code"}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.retries, m.state, m.transitions, m.rejected, m.duration} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("register rpc client metrics: %w (build one Metrics per registerer and share it between peers)", err)
			}
		}
	}
	return m, nil
}

// Retry counts one retry.
func (m *Metrics) Retry(peer string, _ int, _ codes.Code, _ time.Duration) {
	if m == nil {
		return
	}
	m.retries.WithLabelValues(peer).Inc()
}

// StateChange sets the state gauge and counts the transition.
func (m *Metrics) StateChange(peer string, from, to State) {
	if m == nil {
		return
	}
	m.state.WithLabelValues(peer).Set(float64(to))
	if from != to {
		m.transitions.WithLabelValues(peer, to.String()).Inc()
	}
}

// Rejected counts one fast failure.
func (m *Metrics) Rejected(peer string) {
	if m == nil {
		return
	}
	m.rejected.WithLabelValues(peer).Inc()
}

// Call observes one call's duration by its final code.
func (m *Metrics) Call(peer string, code codes.Code, d time.Duration) {
	if m == nil {
		return
	}
	m.duration.WithLabelValues(peer, code.String()).Observe(d.Seconds())
}
