package lag_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edabench/edabench/harness/broker/brokertest"
	"github.com/edabench/edabench/harness/lag"
	"github.com/edabench/edabench/targets/bus"
	"github.com/edabench/edabench/targets/bus/rabbitmq"
	"github.com/edabench/edabench/targets/eda"
)

// TestSourceAgainstBroker drives a real queue through backlog and drain and
// checks what the Source reports at each stage. The queue is declared and
// fed through the bus layer over the RabbitMQ driver, as the twins do.
func TestSourceAgainstBroker(t *testing.T) {
	node := brokertest.Shared(t)
	q := brokertest.Prefix(t, node, "edabench-lagtest-")
	const n, dead = 40, 3

	conn := dialQueue(t, node.ClientURL(), q)
	// Dead letters first, through the layer's own path (a poison message),
	// then the backlog with no consumer.
	publish(t, conn, dead)
	consume(t, conn, q, dead, func(context.Context, bus.Delivery) error { return bus.Poison(errors.New("lag test")) })
	publish(t, conn, n)

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

	consumed := make(chan struct{})
	go func() {
		defer close(consumed)
		consume(t, conn, q, n, func(context.Context, bus.Delivery) error { return nil })
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
	dialQueue(t, node.ClientURL(), q)
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

// dialQueue declares queue q (and its dead-letter queue) bound to key "m"
// of an exchange of the same name, and deletes both when the test ends.
func dialQueue(t *testing.T, url, q string) *bus.Conn {
	t.Helper()
	conn, err := bus.Dial(t.Context(), rabbitmq.Kind(), bus.WithURL(url), bus.WithExchange(q), bus.WithConnectionName(q),
		bus.WithQueue(bus.Queue{Name: q, Bindings: []string{"m"}}), bus.WithDriverOptions(rabbitmq.Options{QueueType: rabbitmq.Quorum}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := rabbitmq.DeleteQueues(ctx, url, q, q, bus.DLQName(q)); err != nil {
			t.Logf("delete %s: %v", q, err)
		}
	})
	return conn
}

// publish sends k messages with key "m"; each returns once confirmed.
func publish(t *testing.T, conn *bus.Conn, k int) {
	t.Helper()
	for i := range k {
		if err := conn.Publish(t.Context(), "m", bus.Message{Body: fmt.Appendf(nil, "m%d", i)}); err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
	}
}

// consume runs h on q's deliveries until k were settled, then stops.
func consume(t *testing.T, conn *bus.Conn, q string, k int, h bus.Handler) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var settled atomic.Int64
	done := make(chan error, 1)
	go func() {
		done <- conn.Consume(ctx, q, bus.ConsumeOptions{Prefetch: 10, MaxAttempts: 1}, func(ctx context.Context, d bus.Delivery) error {
			err := h(ctx, d)
			if settled.Add(1) >= int64(k) {
				defer cancel()
			}
			return err
		})
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("consume from %s: %v", q, err)
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("consume from %s: %d of %d settled in 60s", q, settled.Load(), k)
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
