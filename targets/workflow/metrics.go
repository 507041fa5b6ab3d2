package workflow

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Names of the step metrics every service of every twin exports.
const (
	MetricStepDuration      = "edabench_step_duration_seconds"
	MetricStepApplied       = "edabench_step_applied_total"
	MetricStepDuplicates    = "edabench_step_duplicates_total"
	MetricStepFailures      = "edabench_step_failures_total"
	MetricStepCompensations = "edabench_step_compensations_total"
)

// Metrics are a service's step metrics. The caller adds the twin and service
// labels by wrapping the registerer, so the same code serves both twins.
type Metrics struct {
	duration      *prometheus.HistogramVec
	applied       *prometheus.CounterVec
	duplicates    *prometheus.CounterVec
	failures      *prometheus.CounterVec
	compensations *prometheus.CounterVec
}

// NewMetrics registers the step metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: MetricStepDuration,
			Help: "Time one step took to decide an order (service time plus store), by outcome.",
			// 100 µs to ~13 s: the cost models go from sub-millisecond to slowed steps.
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 18),
		}, []string{"step", "outcome"}),
		applied: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: MetricStepApplied,
			Help: "Step effects applied (first application of an order).",
		}, []string{"step"}),
		duplicates: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: MetricStepDuplicates,
			Help: "Deliveries or calls for an order the step had already decided; not applied again.",
		}, []string{"step"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: MetricStepFailures,
			Help: "Step applications that failed for business reasons (the cost model's error probability).",
		}, []string{"step"}),
		compensations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: MetricStepCompensations,
			Help: "Applied step effects undone by a compensation.",
		}, []string{"step"}),
	}
	if reg != nil {
		reg.MustRegister(m.duration, m.applied, m.duplicates, m.failures, m.compensations)
	}
	return m
}
