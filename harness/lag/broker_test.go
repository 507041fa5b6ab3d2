package lag_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/edabench/edabench/harness/broker/brokertest"
	"github.com/edabench/edabench/harness/lag"
	"github.com/edabench/edabench/targets/eda"
)

// TestSourceAgainstBroker drives a real queue through backlog and drain and
// checks what the Source reports at each stage.
func TestSourceAgainstBroker(t *testing.T) {
	node := brokertest.Shared(t)
	q := brokertest.Prefix(t, node, "edabench-lagtest-")
	const n, dead = 40, 3

	conn, err := amqp.Dial(node.AMQPURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{q, q + ".dlq"} {
		if _, err := ch.QueueDeclare(name, true, false, false, false, amqp.Table{amqp.QueueTypeArg: amqp.QueueTypeQuorum}); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		// The test's channel may be closed by now; use a fresh one.
		if c, err := conn.Channel(); err == nil {
			for _, name := range []string{q, q + ".dlq"} {
				if _, err := c.QueueDelete(name, false, false, false); err != nil {
					t.Logf("delete %s: %v", name, err)
				}
			}
		}
	})
	if err := ch.Confirm(false); err != nil {
		t.Fatal(err)
	}
	publish := func(queue string, k int) {
		t.Helper()
		for i := range k {
			dc, err := ch.PublishWithDeferredConfirmWithContext(t.Context(), "", queue, true, false, amqp.Publishing{
				DeliveryMode: amqp.Persistent, Body: fmt.Appendf(nil, "m%d", i),
			})
			if err != nil {
				t.Fatal(err)
			}
			if ok, err := dc.WaitContext(t.Context()); !ok || err != nil {
				t.Fatalf("publish to %s not confirmed: ok=%v err=%v", queue, ok, err)
			}
		}
	}
	publish(q, n)
	publish(q+".dlq", dead)

	metrics := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "# TYPE %s gauge\n%s{queue=%q,service=\"payment\",twin=\"eda\"} 1.25\n", eda.MetricConsumerLagLast, eda.MetricConsumerLagLast, q)
		fmt.Fprintf(w, "%s{queue=\"someone.else\"} 9\n", eda.MetricConsumerLagLast)
	}))
	t.Cleanup(metrics.Close)
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close() // an unreachable service must not cost the tick

	src := lag.NewSource(node, []string{q}, []string{metrics.URL, down.URL})
	var got lag.Sample
	waitFor(t, 30*time.Second, fmt.Sprintf("depth %d and %d dead-lettered", n, dead), func() (bool, string) {
		s, err := src.Sample(t.Context())
		if err != nil {
			return false, err.Error()
		}
		if len(s) != 1 {
			t.Fatalf("Sample returned %d samples for 1 queue", len(s))
		}
		got = s[0]
		return got.Depth == n && got.DeadLettered == dead, fmt.Sprintf("%+v", got)
	})
	if got.Queue != q || got.Ready != n || got.Unacked != 0 || got.Consumers != 0 || got.At.IsZero() {
		t.Errorf("sample = %+v", got)
	}
	if got.LagSeconds != 1.25 {
		t.Errorf("LagSeconds = %v, want 1.25 from the fake /metrics", got.LagSeconds)
	}

	// Nothing drains with no consumer.
	if _, err := lag.WaitDrained(t.Context(), src, 0, 3*time.Second); !errors.Is(err, lag.ErrNotDrained) || !strings.Contains(err.Error(), q+"=40") {
		t.Errorf("WaitDrained on a full queue = %v, want a timeout naming %s", err, q)
	}

	if err := ch.Qos(10, 0, false); err != nil {
		t.Fatal(err)
	}
	deliveries, err := ch.ConsumeWithContext(t.Context(), q, "", false, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	consumed := make(chan struct{})
	go func() {
		defer close(consumed)
		for i := 0; i < n; i++ {
			d, ok := <-deliveries
			if !ok {
				return
			}
			_ = d.Ack(false)
		}
	}()
	took, err := lag.WaitDrained(t.Context(), src, 0, 60*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-consumed:
	case <-time.After(10 * time.Second):
		t.Fatal("WaitDrained returned before the consumer took every message")
	}
	t.Logf("drained after %v", took)

	s, err := src.Sample(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if s[0].Depth != 0 || s[0].DeadLettered != dead {
		t.Errorf("after drain: %+v, want depth 0 and the DLQ untouched", s[0])
	}
}

func TestSourceMissingQueue(t *testing.T) {
	node := brokertest.Shared(t)
	src := lag.NewSource(node, []string{"edabench-lagtest-no-such-queue"}, nil)
	_, err := src.Sample(t.Context())
	if err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("Sample of a missing queue = %v, want an error saying it does not exist", err)
	}
}

func TestSamplerAgainstBroker(t *testing.T) {
	node := brokertest.Shared(t)
	q := brokertest.Prefix(t, node, "edabench-lagtest-")
	conn, err := amqp.Dial(node.AMQPURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ch.QueueDeclare(q, false, true, true, false, nil); err != nil {
		t.Fatal(err)
	}
	s := lag.NewSampler(lag.NewSource(node, []string{q}, nil), 200*time.Millisecond, nil)
	ctx, cancel := context.WithTimeout(t.Context(), 1100*time.Millisecond)
	defer cancel()
	if err := s.Run(ctx); err != nil {
		t.Fatal(err)
	}
	got := s.Samples()
	if len(got) < 3 || len(s.Gaps()) != 0 {
		t.Fatalf("%d samples, gaps %+v: want a sample every 200ms and no gaps", len(got), s.Gaps())
	}
	if st := lag.Analyze(got, got[0].At); st.MaxQueueDepth != 0 || st.DrainMs != 0 {
		t.Errorf("Analyze of an idle queue = %+v", st)
	}
	for _, x := range got {
		if x.LagSeconds != lag.LagUnknown {
			t.Errorf("LagSeconds = %v with no metrics URL, want LagUnknown", x.LagSeconds)
		}
	}
}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last string
	for {
		ok, state := cond()
		if ok {
			return
		}
		last = state
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s; last: %s", timeout, what, last)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
