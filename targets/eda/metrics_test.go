package eda

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"

	"github.com/edabench/edabench/targets/bus"
	"github.com/edabench/edabench/targets/workflow"
)

// TestMetricsNamedForTheBus: what one delivery and its publish leave on the
// registry is exactly the exported names, each series labelled with its
// broker, and passes Prometheus's own naming lint.
func TestMetricsNamedForTheBus(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m := NewMetrics(reg, bus.RabbitMQ)
	cfg := DefaultConfig()
	cfg.Prefix = "x"
	obs := m.observer(cfg)
	obs.Observe(bus.Event{Kind: bus.EventConfirmed, Role: "publish", RoutingKey: "order.paid", Duration: time.Millisecond})
	obs.Observe(bus.Event{Kind: bus.EventAcked, Role: "consume", Queue: "x.payment", Duration: 2 * time.Millisecond})
	m.observeLag(bus.Delivery{Queue: "x.payment", PublishedAt: time.Now().Add(-time.Second)})

	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range fams {
		got = append(got, f.GetName())
		for _, s := range f.GetMetric() {
			var broker string
			for _, l := range s.GetLabel() {
				if l.GetName() == LabelBroker {
					broker = l.GetValue()
				}
			}
			if broker != bus.RabbitMQ {
				t.Errorf("%s %v: %s=%q, want %q", f.GetName(), s.GetLabel(), LabelBroker, broker, bus.RabbitMQ)
			}
		}
	}
	want := []string{MetricBusEvents, MetricHandle, MetricPublishConfirm, MetricConsumerLag, MetricConsumerLagLast,
		MetricQueuePublished, MetricQueueSettled}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("registered %v, want %v", got, want)
	}
	for _, name := range want {
		if strings.Contains(name, "amqp") || strings.Contains(name, bus.RabbitMQ) {
			t.Errorf("%s names a protocol or a broker; the %s label says which", name, LabelBroker)
		}
	}
	problems, err := promlint.NewWithMetricFamilies(fams).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
}

// TestServicesRefuseAnotherBrokersMetrics: metrics labelled for one broker
// never measure a service of another; the refusal comes before any dial,
// so no broker is needed.
func TestServicesRefuseAnotherBrokersMetrics(t *testing.T) {
	cfg := DefaultConfig()
	cfg.URL = "amqp://guest:guest@127.0.0.1:1/" // never dialled
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	store, err := workflow.OpenStore("")
	if err != nil {
		t.Fatal(err)
	}
	exec := workflow.NewExecutor(workflow.Payment, store, workflow.NewCostControl(workflow.Cost{Dist: workflow.Fixed, Mode: workflow.Wait}), nil, 1)
	for _, c := range []struct {
		name  string
		start func(*Metrics) error
	}{
		{"gateway", func(m *Metrics) error {
			_, err := NewGateway(ctx, cfg, workflow.NewReadModelFor(cfg.Plan()), m, nil)
			return err
		}},
		{"step", func(m *Metrics) error {
			_, err := NewStepService(ctx, cfg, exec, m, nil)
			return err
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := c.start(NewMetrics(nil, "another-broker"))
			if err == nil || !strings.Contains(err.Error(), `broker "rabbitmq"`) || !strings.Contains(err.Error(), "cfg.Broker()") {
				t.Errorf("error %v; want one naming the config's broker and eda.NewMetrics(reg, cfg.Broker())", err)
			}
		})
	}
}

// TestQueueCounters: a confirmed publish counts once in every queue its
// routing key reaches by the twin's bindings, a retry copy in the queue it
// was republished to; acks, dead-letters and a retry's ack of the original
// settle; nothing else moves either counter. Every queue's series exist
// (at zero) before anything happened, so a quiet service still shows them.
func TestQueueCounters(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Prefix = "x"
	type count struct {
		queue, outcome string // outcome "" is the published counter
		want           float64
	}
	for _, tc := range []struct {
		name   string
		events []bus.Event
		want   []count
	}{
		{"nothing yet: every series at zero", nil, []count{
			{"x.payment", "", 0}, {"x.gateway", "", 0}, {"x.notification", OutcomeAcked, 0}, {"x.shipping", OutcomeRetried, 0},
		}},
		{"order.placed reaches payment only", []bus.Event{
			{Kind: bus.EventPublished, RoutingKey: KeyOrderPlaced},
			{Kind: bus.EventConfirmed, RoutingKey: KeyOrderPlaced},
		}, []count{{"x.payment", "", 1}, {"x.inventory", "", 0}, {"x.gateway", "", 0}}},
		{"order.failed reaches every queue", []bus.Event{
			{Kind: bus.EventConfirmed, RoutingKey: KeyOrderFailed},
		}, []count{{"x.payment", "", 1}, {"x.inventory", "", 1}, {"x.shipping", "", 1}, {"x.notification", "", 1}, {"x.gateway", "", 1}}},
		{"a nacked or returned publish is not in any queue", []bus.Event{
			{Kind: bus.EventNacked, RoutingKey: KeyPaymentCaptured},
			{Kind: bus.EventReturned, RoutingKey: KeyPaymentCaptured},
			{Kind: bus.EventUnconfirmed, RoutingKey: KeyPaymentCaptured},
		}, []count{{"x.inventory", "", 0}, {"x.gateway", "", 0}}},
		{"a retry copy counts in its queue by name", []bus.Event{
			{Kind: bus.EventRetried, Queue: "x.inventory"},
			{Kind: bus.EventConfirmed, RoutingKey: "x.inventory", RetryCopy: true},
			{Kind: bus.EventRetryAcked, Queue: "x.inventory"},
		}, []count{{"x.inventory", "", 1}, {"x.inventory", OutcomeRetried, 1}, {"x.inventory", OutcomeAcked, 0}}},
		{"acked and dead-lettered settle; delivered, requeued and failed acks do not", []bus.Event{
			{Kind: bus.EventDelivered, Queue: "x.payment"},
			{Kind: bus.EventAcked, Queue: "x.payment"},
			{Kind: bus.EventDelivered, Queue: "x.payment"},
			{Kind: bus.EventRetried, Queue: "x.payment"},
			{Kind: bus.EventDelivered, Queue: "x.payment", Redelivered: true},
			{Kind: bus.EventAckFailed, Queue: "x.payment"},
			{Kind: bus.EventDeadLettered, Queue: "x.payment"},
		}, []count{{"x.payment", OutcomeAcked, 1}, {"x.payment", OutcomeDeadLettered, 1}, {"x.payment", OutcomeRetried, 0}, {"x.payment", "", 0}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			m := NewMetrics(reg, bus.RabbitMQ)
			obs := m.observer(cfg)
			for _, e := range tc.events {
				obs.Observe(e)
			}
			for _, c := range tc.want {
				name, ctr := MetricQueuePublished, m.published.WithLabelValues(c.queue)
				if c.outcome != "" {
					name, ctr = MetricQueueSettled, m.settled.WithLabelValues(c.queue, c.outcome)
				}
				var pb dto.Metric
				if err := ctr.Write(&pb); err != nil {
					t.Fatal(err)
				}
				if got := pb.GetCounter().GetValue(); got != c.want {
					t.Errorf("%s{queue=%q,outcome=%q} = %v, want %v", name, c.queue, c.outcome, got, c.want)
				}
			}
			fams, err := reg.Gather()
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range fams {
				if f.GetName() == MetricQueuePublished && len(f.GetMetric()) != len(cfg.Queues()) {
					t.Errorf("%d published series, want one per queue (%d)", len(f.GetMetric()), len(cfg.Queues()))
				}
			}
		})
	}
}

// A retry's copy is a publish into its queue but no timed Publish call:
// the queue's published counter and the events counter take it, the
// confirm-latency histogram does not (it would read a zero there).
func TestRetryCopyLeavesConfirmLatency(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Prefix = "x"
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg, bus.RabbitMQ)
	obs := m.observer(cfg)
	obs.Observe(bus.Event{Kind: bus.EventConfirmed, RoutingKey: "x.inventory", RetryCopy: true})
	obs.Observe(bus.Event{Kind: bus.EventConfirmed, RoutingKey: KeyOrderPlaced, Duration: 3 * time.Millisecond})
	read := func(c prometheus.Metric) *dto.Metric {
		var pb dto.Metric
		if err := c.Write(&pb); err != nil {
			t.Fatal(err)
		}
		return &pb
	}
	if n := read(m.published.WithLabelValues("x.inventory")).GetCounter().GetValue(); n != 1 {
		t.Errorf("x.inventory published = %v, want 1 (the copy is in the queue)", n)
	}
	if n := read(m.events.WithLabelValues(string(bus.EventConfirmed), "")).GetCounter().GetValue(); n != 2 {
		t.Errorf("confirmed events = %v, want 2", n)
	}
	var observed uint64
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != MetricPublishConfirm {
			continue
		}
		for _, s := range f.GetMetric() {
			observed += s.GetHistogram().GetSampleCount()
			for _, l := range s.GetLabel() {
				if l.GetName() == "routing_key" && l.GetValue() == "x.inventory" {
					t.Errorf("confirm latency has a series for the retry copy's queue: %v", s)
				}
			}
		}
	}
	if observed != 1 {
		t.Errorf("confirm latency observed %d values, want 1 (the timed publish only)", observed)
	}
}
