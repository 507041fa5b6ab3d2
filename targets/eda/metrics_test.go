package eda

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"

	"github.com/edabench/edabench/targets/bus"
	"github.com/edabench/edabench/targets/workflow"
)

// TestMetricsNamedForTheBus: what one delivery and its publish leave on the
// registry is exactly the exported names, each series labelled with its
// broker, and passes Prometheus's own naming lint.
func TestMetricsNamedForTheBus(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m := NewMetrics(reg, bus.RabbitMQ)
	obs := m.observer()
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
	want := []string{MetricBusEvents, MetricHandle, MetricPublishConfirm, MetricConsumerLag, MetricConsumerLagLast}
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
	cfg.AMQPURL = "amqp://guest:guest@127.0.0.1:1/" // never dialled
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
