package kafka_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edabench/edabench/harness/kafkanode"
	"github.com/edabench/edabench/harness/kafkanode/kafkatest"
	"github.com/edabench/edabench/targets/bus"
	"github.com/edabench/edabench/targets/bus/kafka"
)

// TestBacklogAgreesWithConsumerGroupTool holds the driver's group backlog
// (what QueueStats sums, and so the harness's queue depth on Kafka)
// against Kafka's own consumer-group tool, run from the node's jars: a
// group that consumed a first batch, then a backlog published while it
// has no member. Per partition, once the group is quiet, the committed
// offset, the log end and the lag must be the tool's exactly.
func TestBacklogAgreesWithConsumerGroupTool(t *testing.T) {
	node := kafkatest.Shared(t)
	e := newQueueEnv(t)
	c := e.dial(t, "svc")
	const consumed, backlog = 30, 45
	publish := func(from, n int) {
		for i := from; i < from+n; i++ {
			id := fmt.Sprintf("o%d", i)
			if err := c.Publish(t.Context(), "in.placed", bus.Message{Body: []byte(id), CorrelationID: id}); err != nil {
				t.Fatalf("Publish %s: %v", id, err)
			}
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

	// The first batch, consumed and committed by a member that then
	// leaves: the group has a commit on every partition (30 order IDs
	// over 3 partitions) and no member.
	publish(0, consumed)
	var got atomic.Int64
	stop := member(t, c, e.q.Name, func(context.Context, bus.Delivery) error { got.Add(1); return nil })
	waitUntil(t, "first batch consumed and committed", func() bool { return got.Load() >= consumed && stats().Messages == 0 })
	stop()
	// The backlog: published with nobody consuming.
	publish(consumed, backlog)
	waitUntil(t, "the group quiet with the backlog", func() bool { return stats() == bus.QueueStats{Messages: backlog} })

	before := groupBacklog(t, e.url, e.q.Name)
	tool, err := node.DescribeGroup(t.Context(), e.q.Name)
	if err != nil {
		t.Fatal(err)
	}
	after := groupBacklog(t, e.url, e.q.Name)
	if fmt.Sprint(before) != fmt.Sprint(after) {
		t.Fatalf("the group moved while the tool ran: %+v, then %+v", before, after)
	}
	compareWithTool(t, after, tool)
	var sum int64
	for _, p := range after {
		sum += p.Backlog
	}
	if sum != backlog {
		t.Errorf("per-partition backlog sums to %d, want the %d published with no member", sum, backlog)
	}
	t.Logf("driver %+v\ntool %+v", after, tool)
}

// groupBacklog is kafka.GroupBacklog, failing the test on an error.
func groupBacklog(t *testing.T, url, queue string) []kafka.PartitionBacklog {
	t.Helper()
	ps, err := kafka.GroupBacklog(t.Context(), url, queue)
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

// compareWithTool wants each of the tool's rows equal to the driver's
// partition. The tool lists only partitions the group committed on, and
// prints "-" for their lag; the driver counts those from the log start
// (a new group reads from the earliest record), so for them it only
// wants no commit.
func compareWithTool(t *testing.T, driver []kafka.PartitionBacklog, tool []kafkanode.GroupPartition) {
	t.Helper()
	listed := map[string]bool{}
	for _, r := range tool {
		key := fmt.Sprintf("%s/%d", r.Topic, r.Partition)
		listed[key] = true
		var d *kafka.PartitionBacklog
		for i := range driver {
			if driver[i].Topic == r.Topic && driver[i].Partition == r.Partition {
				d = &driver[i]
			}
		}
		switch {
		case d == nil:
			t.Errorf("%s: the tool lists it, the driver does not", key)
		case d.Committed != r.Committed || d.End != r.End:
			t.Errorf("%s: driver committed %d end %d, tool %d and %d", key, d.Committed, d.End, r.Committed, r.End)
		case r.Lag >= 0 && d.Backlog != r.Lag:
			t.Errorf("%s: driver backlog %d, tool lag %d", key, d.Backlog, r.Lag)
		case r.Lag < 0 && d.Committed >= 0:
			t.Errorf("%s: the tool sees no commit, the driver sees %d", key, d.Committed)
		}
	}
	for _, d := range driver {
		if key := fmt.Sprintf("%s/%d", d.Topic, d.Partition); !listed[key] && d.Committed >= 0 {
			t.Errorf("%s: committed at %d, and the tool does not list it", key, d.Committed)
		}
	}
}
