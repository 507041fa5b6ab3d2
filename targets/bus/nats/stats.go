package nats

import (
	"context"
	"strings"

	"github.com/edabench/edabench/targets/bus"
)

// Backlog is a queue's consumer as JetStream counts it: Pending messages
// not yet delivered, AckPending delivered and not yet acked.
type Backlog struct {
	Pending    int64
	AckPending int64
	Waiting    int // pull requests the server holds
}

// Backlog reads queue's consumer info (JetStream's own figures, the same
// /jsz reports).
func (d *driver) Backlog(ctx context.Context, queue string) (Backlog, error) {
	stream, name := d.locate(queue)
	c, err := d.js.Consumer(ctx, stream, name)
	if err != nil {
		return Backlog{}, apiErr("consumer of queue "+queue, err)
	}
	info, err := c.Info(ctx)
	if err != nil {
		return Backlog{}, apiErr("consumer info of queue "+queue, err)
	}
	return Backlog{Pending: int64(info.NumPending), AckPending: int64(info.NumAckPending), Waiting: info.NumWaiting}, nil
}

// QueueStats is the bus.StatsReader view: Messages ready (not delivered),
// Consumers the pull requests the server holds.
func (d *driver) QueueStats(ctx context.Context, queue string) (bus.QueueStats, error) {
	b, err := d.Backlog(ctx, queue)
	if err != nil {
		return bus.QueueStats{}, err
	}
	return bus.QueueStats{Messages: int(b.Pending), Consumers: b.Waiting}, nil
}

// locate is where queue's consumer lives: as declared, or (for a reader
// that declared no queue, as the harness's depth reader) by the layout of
// the connection's exchange.
func (d *driver) locate(queue string) (stream, cons string) {
	if stream, cons, _, ok := d.where(queue); ok {
		return stream, cons
	}
	l := layoutOf(d)
	if strings.HasSuffix(queue, bus.DLQName("")) {
		return l.dlqStream(), consumer(queue)
	}
	return l.stream(), consumer(queue)
}

var _ bus.StatsReader = (*driver)(nil)
