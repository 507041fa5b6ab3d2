package kafka

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Names of the driver's client metrics: what the twins' Kafka clients
// produced, fetched and how long the broker took to answer, since the
// Kafka node itself exports only JMX (no Prometheus endpoint). Named for
// Kafka because they are Kafka's figures (produce and fetch requests, by
// topic), not the broker-neutral messaging metrics (targets/eda).
const (
	// MetricProduceRecords counts the records in batches the broker
	// acknowledged, by topic.
	MetricProduceRecords = "edabench_kafka_produce_records_total"
	// MetricProduceBytes counts their uncompressed bytes, by topic.
	MetricProduceBytes = "edabench_kafka_produce_bytes_total"
	// MetricFetchRecords counts the records in fetched batches, by topic
	// (before the layer's handlers: a record fetched twice counts twice).
	MetricFetchRecords = "edabench_kafka_fetch_records_total"
	// MetricFetchBytes counts their uncompressed bytes, by topic.
	MetricFetchBytes = "edabench_kafka_fetch_bytes_total"
	// MetricRequestDuration is a request's time from write to the read of
	// its response, by request (Produce, Fetch, OffsetCommit...). A Fetch
	// waits up to its max wait when nothing is new: its figure is the
	// long poll, not the broker's speed.
	MetricRequestDuration = "edabench_kafka_request_duration_seconds"
	// MetricConsumerLag is a consumer group's lag as its member sees it,
	// by topic (= queue = group ID): over the partitions the member holds,
	// the log end as of its last fetch minus the offset after its acked
	// prefix (what its next commit takes, once a second), in records. The
	// node's own figure needs JMX; this is the same difference, from the
	// client's side.
	MetricConsumerLag = "edabench_kafka_consumer_lag_records"

	// LabelTopic and LabelRequest are the labels of the client metrics.
	LabelTopic   = "topic"
	LabelRequest = "request"
)

// ClientMetrics are a service's Kafka client metrics: a kgo hook the
// driver adds to every client it makes when Options.Metrics is set.
// Safe for concurrent use.
type ClientMetrics struct {
	produced, producedBytes *prometheus.CounterVec
	fetched, fetchedBytes   *prometheus.CounterVec
	request                 *prometheus.HistogramVec
	lag                     *prometheus.GaugeVec
}

// NewClientMetrics registers the client metrics on reg (nil: unregistered).
func NewClientMetrics(reg prometheus.Registerer) *ClientMetrics {
	counter := func(name, help string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, []string{LabelTopic})
	}
	m := &ClientMetrics{
		produced:      counter(MetricProduceRecords, "Records in produced batches the broker acknowledged, by topic."),
		producedBytes: counter(MetricProduceBytes, "Uncompressed bytes of produced batches the broker acknowledged, by topic."),
		fetched:       counter(MetricFetchRecords, "Records in fetched batches, by topic."),
		fetchedBytes:  counter(MetricFetchBytes, "Uncompressed bytes of fetched batches, by topic."),
		request: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    MetricRequestDuration,
			Help:    "A request's time from its write to the read of its response, by request kind (a Fetch long-polls up to its max wait).",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 18),
		}, []string{LabelRequest}),
		lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: MetricConsumerLag,
			Help: "A consumer group's lag as its member sees it: log end as of the last fetch minus the offset after the acked prefix, summed over the member's partitions, in records.",
		}, []string{LabelTopic}),
	}
	if reg != nil {
		reg.MustRegister(m.produced, m.producedBytes, m.fetched, m.fetchedBytes, m.request, m.lag)
	}
	return m
}

// The hooks the clients call.
var (
	_ kgo.HookProduceBatchWritten = (*ClientMetrics)(nil)
	_ kgo.HookFetchBatchRead      = (*ClientMetrics)(nil)
	_ kgo.HookBrokerE2E           = (*ClientMetrics)(nil)
)

// OnProduceBatchWritten counts an acknowledged batch.
func (m *ClientMetrics) OnProduceBatchWritten(_ kgo.BrokerMetadata, topic string, _ int32, b kgo.ProduceBatchMetrics) {
	m.produced.WithLabelValues(topic).Add(float64(b.NumRecords))
	m.producedBytes.WithLabelValues(topic).Add(float64(b.UncompressedBytes))
}

// OnFetchBatchRead counts a fetched batch.
func (m *ClientMetrics) OnFetchBatchRead(_ kgo.BrokerMetadata, topic string, _ int32, b kgo.FetchBatchMetrics) {
	m.fetched.WithLabelValues(topic).Add(float64(b.NumRecords))
	m.fetchedBytes.WithLabelValues(topic).Add(float64(b.UncompressedBytes))
}

// OnBrokerE2E times a request that was written and answered.
func (m *ClientMetrics) OnBrokerE2E(_ kgo.BrokerMetadata, key int16, e kgo.BrokerE2E) {
	if e.Err() != nil {
		return
	}
	m.request.WithLabelValues(kmsg.NameForKey(key)).Observe(e.DurationE2E().Seconds())
}

func (m *ClientMetrics) consumerLag(topic string, n int64) {
	m.lag.WithLabelValues(topic).Set(float64(n))
}

// hooks are the client options adding m, none when nil.
func (m *ClientMetrics) hooks() []kgo.Opt {
	if m == nil {
		return nil
	}
	return []kgo.Opt{kgo.WithHooks(m)}
}
