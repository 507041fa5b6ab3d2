package nats

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/edabench/edabench/targets/bus"
)

// BacklogOf reads queue's backlog through an opened driver.
func BacklogOf(ctx context.Context, d bus.Driver, queue string) (Backlog, error) {
	return d.(*driver).Backlog(ctx, queue)
}

// PullUnsettled takes one delivery of queue and never settles it, as a
// consumer that crashed on it would. It starts no advisory mover: the
// driver subscribes to nothing.
func PullUnsettled(ctx context.Context, d bus.Driver, queue string) error {
	dr := d.(*driver)
	stream, name, _, ok := dr.where(queue)
	if !ok {
		return fmt.Errorf("queue %s is not declared", queue)
	}
	c, err := dr.js.Consumer(ctx, stream, name)
	if err != nil {
		return err
	}
	batch, err := c.Fetch(1, jetstream.FetchMaxWait(10*time.Second))
	if err != nil {
		return err
	}
	n := 0
	for range batch.Messages() {
		n++
	}
	if n != 1 {
		return fmt.Errorf("pulled %d messages of %s, want 1 (%v)", n, queue, batch.Error())
	}
	return nil
}

// Held is what the driver's exchange's queue, dead-letter and advisory
// streams hold.
func Held(ctx context.Context, d bus.Driver) (queue, dlq, adv uint64, err error) {
	dr := d.(*driver)
	l := layoutOf(dr)
	var n [3]uint64
	for i, name := range []string{l.stream(), l.dlqStream(), l.advStream()} {
		s, err := dr.js.Stream(ctx, name)
		if err != nil {
			return 0, 0, 0, err
		}
		info, err := s.Info(ctx)
		if err != nil {
			return 0, 0, 0, err
		}
		n[i] = info.State.Msgs
	}
	return n[0], n[1], n[2], nil
}
