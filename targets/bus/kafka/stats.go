package kafka

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/edabench/edabench/targets/bus"
)

var _ bus.StatsReader = (*driver)(nil)

// PartitionBacklog is one partition of a queue's topic as its consumer
// group sees it: what Kafka's consumer-group tool prints per row.
type PartitionBacklog struct {
	Topic     string
	Partition int32
	// Committed is the group's committed offset, -1 when it committed
	// nothing on the partition.
	Committed int64
	Start     int64 // the log start (records before it are deleted)
	End       int64 // the log end: the next record's offset
	// Backlog is End minus Committed, or minus Start where the group
	// committed nothing (a new group reads from the earliest record).
	Backlog int64
}

// QueueStats reads a queue's backlog from offsets: the sum of its
// partitions' Backlog (see GroupBacklog). Kafka cannot tell records in
// flight from the rest, so Messages includes the records handed out and
// not yet committed, which RabbitMQ's ready count leaves out. Consumers
// are the group's members.
func (d *driver) QueueStats(ctx context.Context, queue string) (bus.QueueStats, error) {
	parts, err := groupBacklog(ctx, d.adm, queue)
	if err != nil {
		return bus.QueueStats{}, fmt.Errorf("kafka: queue %s at %s: %w", queue, d.addr(), err)
	}
	var backlog int64
	for _, p := range parts {
		backlog += p.Backlog
	}
	groups, err := d.adm.DescribeGroups(ctx, queue)
	if err != nil {
		return bus.QueueStats{}, fmt.Errorf("kafka: group of queue %s at %s: %w", queue, d.addr(), err)
	}
	return bus.QueueStats{Messages: int(backlog), Consumers: len(groups[queue].Members)}, nil
}

// GroupBacklog is queue's backlog per partition, read from the node at
// url (host:port[,...]) on a client of its own: what QueueStats sums,
// for a test to hold against Kafka's own consumer-group tool.
func GroupBacklog(ctx context.Context, url, queue string) ([]PartitionBacklog, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds(url)...), kgo.DialTimeout(defaultDialTimeout))
	if err != nil {
		return nil, fmt.Errorf("kafka: client for %s: %w", url, err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	parts, err := groupBacklog(ctx, kadm.NewClient(cl), queue)
	if err != nil {
		return nil, fmt.Errorf("kafka: queue %s at %s: %w", queue, url, err)
	}
	return parts, nil
}

// groupBacklog reads queue's topic offsets and its group's commits (the
// group ID is the queue's name, see the package doc).
func groupBacklog(ctx context.Context, adm *kadm.Client, queue string) ([]PartitionBacklog, error) {
	ends, err := adm.ListEndOffsets(ctx, queue)
	if err != nil {
		return nil, fmt.Errorf("end offsets: %w", err)
	}
	starts, err := adm.ListStartOffsets(ctx, queue)
	if err != nil {
		return nil, fmt.Errorf("start offsets: %w", err)
	}
	commits, err := adm.FetchOffsets(ctx, queue)
	if err != nil {
		return nil, fmt.Errorf("committed offsets: %w", err)
	}
	return backlogs(ends, starts, commits)
}

// backlogs is each partition of ends with its start and commit, sorted by
// topic and partition.
func backlogs(ends, starts kadm.ListedOffsets, commits kadm.OffsetResponses) ([]PartitionBacklog, error) {
	var out []PartitionBacklog
	var perr error
	ends.Each(func(end kadm.ListedOffset) {
		if end.Err != nil {
			perr = fmt.Errorf("end offset of %s/%d: %w", end.Topic, end.Partition, end.Err)
			return
		}
		p := PartitionBacklog{Topic: end.Topic, Partition: end.Partition, Committed: -1, End: end.Offset}
		if s, ok := starts.Lookup(end.Topic, end.Partition); ok && s.Err == nil {
			p.Start = s.Offset
		}
		from := p.Start
		if c, ok := commits.Lookup(end.Topic, end.Partition); ok && c.Err == nil && c.At >= 0 {
			p.Committed = c.At
			from = max(from, c.At)
		}
		p.Backlog = max(p.End-from, 0)
		out = append(out, p)
	})
	if perr != nil {
		return nil, perr
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Topic != out[j].Topic {
			return out[i].Topic < out[j].Topic
		}
		return out[i].Partition < out[j].Partition
	})
	return out, nil
}
