package kafka

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/edabench/edabench/targets/bus"
)

var _ bus.StatsReader = (*driver)(nil)

// QueueStats reads a queue's backlog from offsets: per partition, the log
// end minus the queue's group commit (or the log start where the group
// committed nothing). Kafka cannot tell records in flight from the rest,
// so Messages includes the records handed out and not yet committed,
// which RabbitMQ's ready count leaves out. Consumers are the group's
// members.
func (d *driver) QueueStats(ctx context.Context, queue string) (bus.QueueStats, error) {
	fail := func(what string, err error) (bus.QueueStats, error) {
		return bus.QueueStats{}, fmt.Errorf("kafka: %s of queue %s at %s: %w", what, queue, d.addr(), err)
	}
	ends, err := d.adm.ListEndOffsets(ctx, queue)
	if err != nil {
		return fail("end offsets", err)
	}
	starts, err := d.adm.ListStartOffsets(ctx, queue)
	if err != nil {
		return fail("start offsets", err)
	}
	commits, err := d.adm.FetchOffsets(ctx, queue)
	if err != nil {
		return fail("committed offsets", err)
	}
	var backlog int64
	var perr error
	ends.Each(func(end kadm.ListedOffset) {
		if end.Err != nil {
			perr = end.Err
			return
		}
		from := int64(0)
		if s, ok := starts.Lookup(end.Topic, end.Partition); ok && s.Err == nil {
			from = s.Offset
		}
		if c, ok := commits.Lookup(end.Topic, end.Partition); ok && c.Err == nil && c.At > from {
			from = c.At
		}
		if end.Offset > from {
			backlog += end.Offset - from
		}
	})
	if perr != nil {
		return fail("end offsets", perr)
	}
	groups, err := d.adm.DescribeGroups(ctx, queue)
	if err != nil {
		return fail("group", err)
	}
	return bus.QueueStats{Messages: int(backlog), Consumers: len(groups[queue].Members)}, nil
}
