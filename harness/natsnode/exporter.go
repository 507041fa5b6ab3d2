package natsnode

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// The metrics the node's exporter gives the harness's /metrics: NATS
// serves its figures as JSON (/varz, /jsz), not in Prometheus's format,
// so the run reads them at each scrape.
const (
	MetricServerMessages      = "edabench_nats_server_messages_total"         // direction: in, out
	MetricServerBytes         = "edabench_nats_server_bytes_total"            // direction: in, out
	MetricServerConnections   = "edabench_nats_server_connections"            // client connections open
	MetricServerMemory        = "edabench_nats_server_memory_bytes"           // the server's resident memory
	MetricStreamMessages      = "edabench_nats_stream_messages"               // stored, by stream and exchange
	MetricStreamBytes         = "edabench_nats_stream_bytes"                  // stored, by stream and exchange
	MetricConsumerPending     = "edabench_nats_consumer_pending_messages"     // not yet delivered, by queue
	MetricConsumerAckPending  = "edabench_nats_consumer_ack_pending_messages" // delivered, unacked, by queue
	MetricConsumerRedelivered = "edabench_nats_consumer_redelivered_messages" // delivered again and unacked, by queue
)

// scrapeTimeout bounds one read of /varz and /jsz inside a scrape.
const scrapeTimeout = time.Second

// Collector exports the node's /varz and /jsz, read at each scrape.
func (n *Node) Collector() prometheus.Collector { return NewCollector(n.AdminURL()) }

// NewCollector exports the server at a monitoring URL.
func NewCollector(adminURL string) prometheus.Collector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, labels, nil)
	}
	return &collector{url: adminURL,
		msgs:        d(MetricServerMessages, "Messages the NATS server received (in) and sent (out), from /varz.", "direction"),
		bytes:       d(MetricServerBytes, "Bytes the NATS server received (in) and sent (out), from /varz.", "direction"),
		conns:       d(MetricServerConnections, "Client connections open on the NATS server, from /varz."),
		mem:         d(MetricServerMemory, "The NATS server's resident memory, from /varz."),
		streamMsgs:  d(MetricStreamMessages, "Messages a JetStream stream holds (a work queue: the backlog), from /jsz.", "stream", "exchange"),
		streamBytes: d(MetricStreamBytes, "Bytes a JetStream stream holds, from /jsz.", "stream", "exchange"),
		pending:     d(MetricConsumerPending, "Messages a queue's consumer has not yet delivered (num_pending), from /jsz.", "queue"),
		ackPending:  d(MetricConsumerAckPending, "Messages a queue's consumer delivered and awaits the ack of (num_ack_pending), from /jsz.", "queue"),
		redelivered: d(MetricConsumerRedelivered, "Messages a queue's consumer delivered more than once and awaits the ack of (num_redelivered), from /jsz.", "queue"),
	}
}

type collector struct {
	url                                              string
	msgs, bytes, conns, mem, streamMsgs, streamBytes *prometheus.Desc
	pending, ackPending, redelivered                 *prometheus.Desc
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.msgs, c.bytes, c.conns, c.mem, c.streamMsgs, c.streamBytes, c.pending, c.ackPending, c.redelivered} {
		ch <- d
	}
}

// varzFull is the part of /varz the exporter reads.
type varzFull struct {
	InMsgs      uint64 `json:"in_msgs"`
	OutMsgs     uint64 `json:"out_msgs"`
	InBytes     uint64 `json:"in_bytes"`
	OutBytes    uint64 `json:"out_bytes"`
	Connections int    `json:"connections"`
	Mem         int64  `json:"mem"`
}

// Collect reads the server; a server that does not answer (a broker
// restart) gives no sample rather than a zero, so a panel shows the gap.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	var v varzFull
	if err := GetJSON(ctx, c.url+"/varz", &v); err == nil {
		m := func(d *prometheus.Desc, t prometheus.ValueType, val float64, labels ...string) {
			ch <- prometheus.MustNewConstMetric(d, t, val, labels...)
		}
		m(c.msgs, prometheus.CounterValue, float64(v.InMsgs), "in")
		m(c.msgs, prometheus.CounterValue, float64(v.OutMsgs), "out")
		m(c.bytes, prometheus.CounterValue, float64(v.InBytes), "in")
		m(c.bytes, prometheus.CounterValue, float64(v.OutBytes), "out")
		m(c.conns, prometheus.GaugeValue, float64(v.Connections))
		m(c.mem, prometheus.GaugeValue, float64(v.Mem))
	}
	var j Jsz
	if err := GetJSON(ctx, c.url+JszPath, &j); err != nil {
		return
	}
	for _, a := range j.Accounts {
		for _, s := range a.Streams {
			ex := s.Config.Metadata[MetaExchange]
			ch <- prometheus.MustNewConstMetric(c.streamMsgs, prometheus.GaugeValue, float64(s.State.Messages), s.Name, ex)
			ch <- prometheus.MustNewConstMetric(c.streamBytes, prometheus.GaugeValue, float64(s.State.Bytes), s.Name, ex)
			for _, cs := range s.Consumers {
				q := cs.Queue()
				ch <- prometheus.MustNewConstMetric(c.pending, prometheus.GaugeValue, float64(cs.NumPending), q)
				ch <- prometheus.MustNewConstMetric(c.ackPending, prometheus.GaugeValue, float64(cs.NumAckPending), q)
				ch <- prometheus.MustNewConstMetric(c.redelivered, prometheus.GaugeValue, float64(cs.NumRedelivered), q)
			}
		}
	}
}
