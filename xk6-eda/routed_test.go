package eda

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/edabench/edabench/harness/brokernode"
	"github.com/edabench/edabench/harness/kafkanode/kafkatest"
	"github.com/edabench/edabench/harness/natsnode/natstest"
	"github.com/edabench/edabench/targets/workflow"
	"github.com/edabench/edabench/xk6-eda/internal/twins"
	"github.com/grafana/sobek"
	"go.k6.io/k6/metrics"
)

// routedOrders is small on purpose: the tests check the accounting of
// every order over a real broker, not a rate.
const routedOrders = 20

// TestEDAOverKafka: the client with broker: "kafka" sees every order's
// end through the end queue the twin declared for k6 (PREFIX.k6), samples
// the queues' depth (their consumer groups' backlog) and lag, and counts
// no order lost; what it counts completed is what the twin's last step
// applied. A client whose end queue the twin did not declare is refused at
// the first order, naming --end-queue.
func TestEDAOverKafka(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the EDA twin over the Kafka node: not with -short")
	}
	testOverRouted(t, kafkatest.Shared(t), "kafka") // fails naming make kafka when Kafka is missing
}

// TestEDAOverNATS: the same over NATS JetStream (broker: "nats"), the
// depths being the consumers' backlogs (pending + ack pending) the node
// reads from the server's /jsz.
func TestEDAOverNATS(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the EDA twin over the NATS node: not with -short")
	}
	testOverRouted(t, natstest.Shared(t), "nats") // fails naming make nats when nats-server is missing
}

// testOverRouted drives the EDA twin over node, a broker whose driver
// routes itself, through a client with broker: broker.
func testOverRouted(t *testing.T, node brokernode.Node, broker string) {
	bin, err := buildTarget()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	r, err := twins.StartOver(ctx, node, broker, bin, t.TempDir(), "eda")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), time.Minute)
		defer scancel()
		if err := r.Stop(sctx); err != nil {
			t.Errorf("stopping the twin: %v", err)
		}
	})
	e := env(r)
	if e["BROKER"] != broker || e["AMQP"] != "" || e["END_QUEUE"] != e["PREFIX"]+".k6" {
		t.Fatalf("twin environment %v: want BROKER=%s, END_QUEUE=PREFIX.k6 and no AMQP", e, broker)
	}
	v := newVU(t)
	v.mustRun(fmt.Sprintf(`var c = new eda.Client({ twin: "eda", grpc: %q, broker: %q, brokerUrl: %q, prefix: %q, metrics: %q.split(","), completionTimeout: "60s" })`,
		e["GRPC"], broker, e["BROKER_URL"], e["PREFIX"], e["METRICS"]))
	v.toVUContext()
	for i := range routedOrders {
		if st := v.mustRun(`c.placeOrder().status`).String(); st != "ACCEPTED" {
			t.Fatalf("order %d: status %s, want ACCEPTED", i+1, st)
		}
	}
	// The sampler reads depths each second over one connection: several
	// ticks' worth of a queue's depth say it outlives the first tick.
	paymentDepths := func(ss []metrics.Sample) int {
		n := 0
		for _, s := range ss {
			if q, _ := s.Tags.Get("queue"); s.Metric.Name == MetricQueueDepth && q == e["PREFIX"]+".payment" {
				n++
			}
		}
		return n
	}
	got := v.collect(2*time.Minute, func(ss []metrics.Sample) bool {
		nc, _ := count(ss, MetricCompleted)
		nl, _ := count(ss, MetricConsumerLag)
		return nc >= routedOrders && paymentDepths(ss) >= 3 && nl > 0
	})
	if n := paymentDepths(got); n < 3 {
		t.Errorf("%d depth samples of the payment queue, want one a second for at least 3 s", n)
	}
	if n, sum := count(got, MetricCompleted); n != routedOrders || sum != routedOrders {
		t.Fatalf("completed: %d samples, sum %v; want %d (samples %v)", n, sum, routedOrders, names(got))
	}
	if n, _ := count(got, MetricLost); n != 0 {
		t.Errorf("%d orders counted lost", n)
	}
	for _, name := range []string{MetricCompleted, MetricQueueDepth} {
		if s, ok := find(got, name); !ok || s.Tags.Map()["broker"] != broker {
			t.Errorf("%s sample without tag broker=%s: %v", name, broker, s.Tags.Map())
		}
	}
	applied, err := r.Applied(ctx, workflow.Notification)
	if err != nil {
		t.Fatal(err)
	}
	if applied != routedOrders {
		t.Errorf("the last step applied %d orders, k6 saw %d complete", applied, routedOrders)
	}
	queues := map[string]bool{}
	for _, s := range got {
		if s.Metric.Name == MetricQueueDepth {
			q, _ := s.Tags.Get("queue")
			queues[q] = true
			if s.Value < 0 {
				t.Errorf("queue %s depth %v", q, s.Value)
			}
		}
	}
	if !queues[e["PREFIX"]+".payment"] || !queues[e["PREFIX"]+".gateway"] {
		t.Errorf("queue depth sampled for %v", queues)
	}
	// The orders all completed: every consumer took its queue, so the
	// backlog (Kafka: log end minus commit, committed each second; NATS:
	// pending + ack pending) drains to 0.
	deadline := time.Now().Add(30 * time.Second)
	for {
		d := v.mustRun(`eda.queueDepth("payment")`).ToInteger()
		if d == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("queueDepth(payment) = %d 30 s after every order completed, want 0", d)
		}
		time.Sleep(500 * time.Millisecond)
	}
	if lag := v.mustRun(`eda.consumerLag("payment")`); sobek.IsNull(lag) || lag.ToFloat() < 0 {
		t.Errorf("consumerLag %v", lag)
	}
	if _, err := v.run(`eda.queueDepth("nope")`); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("queueDepth of a missing queue: %v", err)
	}

	// Another end queue than the twin declared: refused before any order
	// would be counted lost.
	w := newVU(t)
	w.mustRun(fmt.Sprintf(`var d = new eda.Client({ twin: "eda", grpc: %q, broker: %q, brokerUrl: %q, prefix: %q, endQueue: %q })`,
		e["GRPC"], broker, e["BROKER_URL"], e["PREFIX"], e["PREFIX"]+".k6other"))
	w.toVUContext()
	_, err = w.run(`d.placeOrder()`)
	if err == nil || !strings.Contains(err.Error(), "--end-queue "+e["PREFIX"]+".k6other") {
		t.Fatalf("an end queue the twin did not declare: %v; want an error naming --end-queue", err)
	}
}
