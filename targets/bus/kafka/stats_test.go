package kafka_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/edabench/edabench/targets/bus"
)

// TestQueueStatsFromOffsets: the backlog is what the queue's group has
// not committed, before anyone consumed and after a member acked all.
func TestQueueStatsFromOffsets(t *testing.T) {
	e := newQueueEnv(t)
	c := e.dial(t, "svc")
	const n = 5
	for i := range n {
		id := fmt.Sprintf("o%d", i)
		if err := c.Publish(t.Context(), "in.placed", bus.Message{Body: []byte(id), CorrelationID: id}); err != nil {
			t.Fatalf("Publish: %v", err)
		}
	}
	stats := func() bus.QueueStats {
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		s, err := c.QueueStats(ctx, e.q.Name)
		if err != nil {
			t.Fatalf("QueueStats: %v", err)
		}
		return s
	}
	for _, step := range []struct {
		what  string
		start bool // start a member acking everything first
		want  bus.QueueStats
	}{
		{"nothing consumed yet", false, bus.QueueStats{Messages: n, Consumers: 0}},
		{"all acked and committed", true, bus.QueueStats{Messages: 0, Consumers: 1}},
	} {
		if step.start {
			member(t, c, e.q.Name, func(context.Context, bus.Delivery) error { return nil })
		}
		var got bus.QueueStats
		waitUntil(t, step.what, func() bool { got = stats(); return got == step.want })
		t.Logf("%s: %+v", step.what, got)
	}
}
