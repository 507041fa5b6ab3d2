package nats

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

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

const (
	// advAckWait is how long a captured advisory waits for its mover's
	// ack before another driver takes it: longer than one move
	// (settleTimeout), so a slow move is not done twice at once.
	advAckWait = settleTimeout + 30*time.Second
	// advRetryDelay spaces the attempts at a move that failed (the node
	// restarting, the connection down).
	advRetryDelay = time.Second
	// advPrefetch bounds the advisories one driver pulls at once.
	advPrefetch = 16
)

// watchMaxDeliveries turns the max-deliveries advisories of queue's
// consumer into dead letters, once per driver and queue. JetStream has no
// dead-letter exchange: a message that reached MaxDeliver without an ack
// (its consumers crashed on it; the layer dead-letters a failing one
// itself first) stays in the stream, delivered to nobody, and the server
// says so once, in an advisory. The advisory stream (advStreamConfig)
// keeps every such advisory until a driver acks it, so one sent while no
// service of the queue was up is moved when one comes back; the drivers
// of the queue share its durable consumer, so each advisory goes to one.
func (d *driver) watchMaxDeliveries(ctx context.Context, queue string) {
	d.mu.Lock()
	running := d.dlq[queue] != nil
	l := layout{exchange: d.topo.Exchange}
	_, _, dlqSubject, _ := d.whereLocked(queue)
	d.mu.Unlock()
	if running {
		return
	}
	c, err := d.js.Consumer(ctx, l.advStream(), advConsumer(queue))
	if err != nil {
		d.log.Warn("nats: cannot read the max-deliveries advisories; the next subscription tries again", "queue", queue, "err", err)
		return
	}
	cc, err := c.Consume(func(m jetstream.Msg) { d.onMaxDeliveries(l.stream(), dlqSubject, queue, m) },
		jetstream.PullMaxMessages(advPrefetch),
		jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
			d.log.Debug("nats: max-deliveries advisories", "queue", queue, "err", err)
		}))
	if err != nil {
		d.log.Warn("nats: cannot read the max-deliveries advisories; the next subscription tries again", "queue", queue, "err", err)
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.dlq[queue] != nil || d.closed {
		cc.Stop() // another subscription of the queue started one meanwhile, or the driver closed
		return
	}
	d.dlq[queue] = cc
}

// onMaxDeliveries moves the message a captured advisory names and acks
// the advisory once the dead letter is stored and the original gone; a
// failed move is tried again (advRetryDelay) by whichever driver pulls it.
func (d *driver) onMaxDeliveries(stream, dlqSubject, queue string, m jetstream.Msg) {
	var adv maxDeliveries
	if err := json.Unmarshal(m.Data(), &adv); err != nil || adv.StreamSeq == 0 {
		d.log.Warn("nats: unreadable max-deliveries advisory, dropped", "queue", queue, "err", err, "body", string(m.Data()))
		_ = m.Term()
		return
	}
	if err := d.moveToDLQ(stream, dlqSubject, adv); err != nil {
		d.log.Warn("nats: could not dead-letter a message past its deliveries; trying again", "queue", queue,
			"stream_seq", adv.StreamSeq, "err", err)
		_ = m.NakWithDelay(advRetryDelay)
		return
	}
	if err := m.Ack(); err != nil {
		// The advisory comes again after advAckWait; the move is
		// idempotent (moveToDLQ).
		d.log.Debug("nats: ack of a max-deliveries advisory", "queue", queue, "err", err)
	}
}

// moveToDLQ copies the message the advisory names to the dead-letter
// subject and deletes it from its stream. Done twice (an advisory whose
// ack was lost) it stores one dead letter: a message already deleted is
// not found, and one stored but not yet deleted carries the same
// Nats-Msg-Id within the duplicate window.
func (d *driver) moveToDLQ(stream, dlqSubject string, adv maxDeliveries) error {
	ctx, cancel := context.WithTimeout(d.ctx, settleTimeout)
	defer cancel()
	s, err := d.js.Stream(ctx, stream)
	if err != nil {
		return fmt.Errorf("stream %s: %w", stream, err)
	}
	raw, err := s.GetMsg(ctx, adv.StreamSeq)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil // dead-lettered by the layer meanwhile, or moved already
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

// advStreamConfig is the stream that keeps the max-deliveries advisories
// of the exchange's queue stream until a driver moved their message: the
// server publishes an advisory once, to whoever listens at that instant,
// and a service that would dead-letter may be down then (killed, or the
// message was its crash). Work-queue retention: an acked advisory leaves.
func (d *driver) advStreamConfig(l layout, exchange string) jetstream.StreamConfig {
	sc := d.streamConfig(l.advStream(), maxDeliveriesSubject(l.stream(), "*"), exchange)
	sc.Duplicates = 0
	return sc
}

// declareAdvConsumer is queue's durable consumer of the advisory stream,
// filtered on its queue consumer's advisories. It carries the queue as
// metaAdvisories, not metaQueue: it is not the queue's backlog.
func (d *driver) declareAdvConsumer(ctx context.Context, l layout, queue string) error {
	_, err := d.js.CreateOrUpdateConsumer(ctx, l.advStream(), jetstream.ConsumerConfig{
		Durable:       advConsumer(queue),
		Description:   "max-deliveries advisories of " + queue,
		FilterSubject: maxDeliveriesSubject(l.stream(), consumer(queue)),
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       advAckWait,
		MaxDeliver:    -1,
		MaxAckPending: 4 * advPrefetch,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		Metadata:      map[string]string{metaAdvisories: queue},
	})
	if err != nil {
		return apiErr("declare the max-deliveries advisory consumer of queue "+queue, err)
	}
	return nil
}
