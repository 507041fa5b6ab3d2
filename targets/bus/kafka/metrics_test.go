package kafka_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/edabench/edabench/targets/bus"
	"github.com/edabench/edabench/targets/bus/kafka"
)

// TestClientMetrics: with Options.Metrics the driver's clients count what
// they produced and fetched on the queue's topic, record for record, and
// time their Produce requests, on the real node.
func TestClientMetrics(t *testing.T) {
	e := newQueueEnv(t)
	reg := prometheus.NewRegistry()
	m := kafka.NewClientMetrics(reg)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := bus.Dial(context.WithoutCancel(ctx), kafka.Kind(), bus.WithURL(e.url), bus.WithExchange(e.prefix+".orders"),
		bus.WithQueue(e.q), bus.WithConnectionName(e.prefix+"/metrics"), bus.WithDriverOptions(kafka.Options{Metrics: m}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	const n = 7
	for i := range n {
		id := fmt.Sprintf("o%d", i)
		if err := c.Publish(ctx, "in.placed", bus.Message{Body: []byte(id), CorrelationID: id}); err != nil {
			t.Fatalf("Publish: %v", err)
		}
	}
	var got atomic.Int64
	member(t, c, e.q.Name, func(context.Context, bus.Delivery) error { got.Add(1); return nil })
	waitUntil(t, "every record consumed", func() bool { return got.Load() >= n })

	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*dto.MetricFamily{}
	for _, f := range fams {
		byName[f.GetName()] = f
	}
	topicValue := func(name string) float64 {
		for _, mm := range byName[name].GetMetric() {
			for _, l := range mm.GetLabel() {
				if l.GetName() == kafka.LabelTopic && l.GetValue() == e.q.Name {
					return mm.GetCounter().GetValue()
				}
			}
		}
		return 0
	}
	if v := topicValue(kafka.MetricProduceRecords); v != n {
		t.Errorf("%s{topic=%q} = %v, want %d", kafka.MetricProduceRecords, e.q.Name, v, n)
	}
	if v := topicValue(kafka.MetricFetchRecords); v < n {
		t.Errorf("%s{topic=%q} = %v, want at least %d", kafka.MetricFetchRecords, e.q.Name, v, n)
	}
	for _, name := range []string{kafka.MetricProduceBytes, kafka.MetricFetchBytes} {
		if v := topicValue(name); v <= 0 {
			t.Errorf("%s{topic=%q} = %v, want some bytes", name, e.q.Name, v)
		}
	}
	// Every record acked: the lag drains to 0 once the acked prefix
	// reaches the log end (the gauge moves on each ack).
	lag := func() (float64, bool) {
		fams, _ := reg.Gather()
		for _, f := range fams {
			if f.GetName() != kafka.MetricConsumerLag {
				continue
			}
			for _, mm := range f.GetMetric() {
				for _, l := range mm.GetLabel() {
					if l.GetName() == kafka.LabelTopic && l.GetValue() == e.q.Name {
						return mm.GetGauge().GetValue(), true
					}
				}
			}
		}
		return 0, false
	}
	waitUntil(t, "the consumer lag at 0", func() bool { v, ok := lag(); return ok && v == 0 })
	var produces uint64
	for _, mm := range byName[kafka.MetricRequestDuration].GetMetric() {
		for _, l := range mm.GetLabel() {
			if l.GetName() == kafka.LabelRequest && l.GetValue() == "Produce" {
				produces = mm.GetHistogram().GetSampleCount()
			}
		}
	}
	if produces == 0 {
		t.Errorf("%s has no Produce request timed", kafka.MetricRequestDuration)
	}
}
