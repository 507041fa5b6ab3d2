package nats

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// maxDeliveries is the part of JetStream's max-deliveries advisory the
// driver reads.
type maxDeliveries struct {
	Stream     string `json:"stream"`
	Consumer   string `json:"consumer"`
	StreamSeq  uint64 `json:"stream_seq"`
	Deliveries int    `json:"deliveries"`
}

// watchMaxDeliveries turns the max-deliveries advisories of a queue's
// consumer into dead letters, once per driver and queue: JetStream has no
// dead-letter exchange, and a message that reached MaxDeliver without an
// ack (its consumers crashed on it; the layer dead-letters a failing one
// itself first) stays in the stream, delivered to nobody. Every
// subscriber of the queue listens in one queue group, so one of them
// moves it. An advisory sent while none listens is lost: the message then
// stays in the stream (docs/architecture.md).
func (d *driver) watchMaxDeliveries(stream, cons, queue string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.dlq[queue] != nil {
		return
	}
	_, _, dlqSubject, _ := d.whereLocked(queue)
	sub, err := d.nc.QueueSubscribe(maxDeliveriesSubject(stream, cons), "edabench-dlq-"+cons, func(m *natsgo.Msg) {
		var adv maxDeliveries
		if err := json.Unmarshal(m.Data, &adv); err != nil {
			d.log.Warn("nats: unreadable max-deliveries advisory", "queue", queue, "err", err)
			return
		}
		if err := d.moveToDLQ(stream, dlqSubject, adv); err != nil {
			d.log.Warn("nats: could not dead-letter a message past its deliveries; it stays in the stream", "queue", queue,
				"stream_seq", adv.StreamSeq, "err", err)
		}
	})
	if err != nil {
		d.log.Warn("nats: cannot listen to the max-deliveries advisories", "queue", queue, "err", err)
		return
	}
	d.dlq[queue] = sub
}

// moveToDLQ copies the message the advisory names to the dead-letter
// subject and deletes it from its stream.
func (d *driver) moveToDLQ(stream, dlqSubject string, adv maxDeliveries) error {
	ctx, cancel := context.WithTimeout(d.ctx, settleTimeout)
	defer cancel()
	s, err := d.js.Stream(ctx, stream)
	if err != nil {
		return fmt.Errorf("stream %s: %w", stream, err)
	}
	raw, err := s.GetMsg(ctx, adv.StreamSeq)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil // dead-lettered by the layer meanwhile, or deleted
	}
	if err != nil {
		return fmt.Errorf("get message %d: %w", adv.StreamSeq, err)
	}
	if err := d.store(ctx, deadLetterMsg(dlqSubject, raw.Header, raw.Data, adv.Deliveries)); err != nil {
		return err
	}
	if err := s.DeleteMsg(ctx, adv.StreamSeq); err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
		return fmt.Errorf("delete message %d: %w", adv.StreamSeq, err)
	}
	return nil
}
