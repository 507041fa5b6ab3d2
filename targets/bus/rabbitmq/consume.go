package rabbitmq

import (
	"context"
	"errors"
	"fmt"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/edabench/edabench/targets/bus"
)

// Headers the driver sets when it gives a message another attempt by
// republishing it (classic queues keep no delivery count).
const (
	HeaderRetries    = "x-bus-retries"     // earlier failed attempts (int64)
	HeaderRoutingKey = "x-bus-routing-key" // routing key of the original publish
	HeaderExchange   = "x-bus-exchange"    // exchange of the original publish
	headerDeliveries = "x-delivery-count"  // set by quorum queues on redelivery
)

// subscription is one basic.consume on its own channel.
type subscription struct {
	d        *Driver
	ch       *amqp.Channel
	tag      string
	queue    string
	requeue  bool // quorum: another attempt is a nack with requeue, counted by the broker
	out      chan bus.Inbound
	closed   chan *amqp.Error
	err      error
	finished chan struct{}
}

// Subscribe starts a consumer of queue on the consuming connection (dialled
// on the first call). A queue of the topology that is gone is declared
// again before the next attempt.
func (d *Driver) Subscribe(ctx context.Context, queue string, prefetch int) (bus.Subscription, error) {
	d.subOnce.Do(func() { d.sub.start(nil) })
	s, err := d.sub.current(ctx)
	if err != nil {
		return nil, err
	}
	if prefetch <= 0 {
		prefetch = d.opts.Prefetch
	}
	sub, err := d.subscribe(s, queue, prefetch)
	if err == nil {
		return sub, nil
	}
	var ae *amqp.Error
	q, ours := d.topology().Queue(queue)
	if ours && errors.As(err, &ae) && ae.Code == amqp.NotFound {
		// Someone deleted our queue: declare the topology again.
		d.log.Warn("bus: queue is gone; declaring the topology again", "queue", q.Name)
		if derr := d.redeclare(s); derr != nil {
			d.log.Warn("bus: re-declaring the topology failed", "queue", q.Name, "err", derr)
		}
		return nil, err
	}
	return nil, fmt.Errorf("rabbitmq: consuming from %q on %s: %w", queue, d.sub.name, refused(err))
}

func (d *Driver) subscribe(s *session, queue string, prefetch int) (*subscription, error) {
	ch, err := s.conn.Channel()
	if err != nil {
		return nil, err
	}
	if err := ch.Qos(prefetch, 0, false); err != nil {
		_ = ch.Close()
		return nil, err
	}
	sub := &subscription{d: d, ch: ch, queue: queue, out: make(chan bus.Inbound), finished: make(chan struct{}),
		closed: ch.NotifyClose(make(chan *amqp.Error, 1)),
		tag:    fmt.Sprintf("%s/%s/%d", d.sub.name, queue, d.consumer.Add(1))}
	// Queues of this topology use their type's retry; others are treated
	// like classic queues (republish with an attempt counter).
	if q, ok := d.topology().Queue(queue); ok {
		sub.requeue = d.opts.typeOf(q) == Quorum
	}
	deliveries, err := ch.Consume(queue, sub.tag, false, false, false, false, nil)
	if err != nil {
		_ = ch.Close()
		return nil, err
	}
	d.log.Debug("bus: consuming", "queue", queue, "tag", sub.tag, "prefetch", prefetch)
	go sub.forward(deliveries)
	return sub, nil
}

// forward turns AMQP deliveries into the layer's until the channel ends.
func (s *subscription) forward(deliveries <-chan amqp.Delivery) {
	defer close(s.out)
	for dv := range deliveries {
		s.out <- s.inbound(dv)
	}
	select {
	case e := <-s.closed:
		if e != nil {
			s.err = e
		}
	default:
	}
}

func (s *subscription) Deliveries() <-chan bus.Inbound { return s.out }

// Err is valid once Deliveries is closed.
func (s *subscription) Err() error { return s.err }

// Cancel sends basic.cancel; amqp091 matches RPC replies in order, so
// Close waits for it before channel.close is sent.
func (s *subscription) Cancel(ctx context.Context) error {
	done := make(chan error, 1)
	go func() { done <- s.ch.Cancel(s.tag, false) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close closes the channel: what was not settled goes back to the queue.
func (s *subscription) Close() error { return s.ch.Close() }

func (s *subscription) inbound(dv amqp.Delivery) bus.Inbound {
	in := toInbound(s.queue, dv)
	in.Ack = func() error { return dv.Ack(false) }
	in.DeadLetter = func() error { return dv.Nack(false, false) }
	in.Retry = func(ctx context.Context) (bool, error) { return s.retry(ctx, dv, in.DeliveryCount+1) }
	return in
}

// retry gives dv another attempt. A quorum queue counts the requeue
// itself; a classic one keeps no count, so a copy carrying the count is
// published to the queue and then the original acked: a crash in between
// duplicates the message, never loses it.
func (s *subscription) retry(ctx context.Context, dv amqp.Delivery, retries int) (copied bool, err error) {
	if s.requeue {
		return false, dv.Nack(false, true)
	}
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := s.d.publishOnce(pctx, "", s.queue, false, retryPublishing(dv, retries)); err != nil {
		s.d.log.Warn("bus: cannot republish failed message for retry; requeueing it (its attempt is not counted)",
			"queue", s.queue, "message_id", dv.MessageId, "err", err)
		return false, dv.Nack(false, true)
	}
	return true, dv.Ack(false)
}

func retryPublishing(d amqp.Delivery, retries int) amqp.Publishing {
	h := make(amqp.Table, len(d.Headers)+3)
	for k, v := range d.Headers {
		h[k] = v
	}
	delete(h, headerDeliveries)
	h[HeaderRetries] = int64(retries)
	if _, ok := h[HeaderRoutingKey]; !ok {
		h[HeaderRoutingKey] = d.RoutingKey
		h[HeaderExchange] = d.Exchange
	}
	return amqp.Publishing{
		Headers:         h,
		ContentType:     d.ContentType,
		ContentEncoding: d.ContentEncoding,
		DeliveryMode:    amqp.Persistent,
		Priority:        d.Priority,
		CorrelationId:   d.CorrelationId,
		ReplyTo:         d.ReplyTo,
		Expiration:      d.Expiration,
		MessageId:       d.MessageId,
		Timestamp:       d.Timestamp,
		Type:            d.Type,
		AppId:           d.AppId,
		Body:            d.Body,
	}
}

func toInbound(queue string, d amqp.Delivery) bus.Inbound {
	in := bus.Inbound{
		Body:          d.Body,
		Queue:         queue,
		Exchange:      d.Exchange,
		RoutingKey:    d.RoutingKey,
		Headers:       map[string]any(d.Headers),
		MessageID:     d.MessageId,
		CorrelationID: d.CorrelationId,
		Type:          d.Type,
		ContentType:   d.ContentType,
		PublishedAt:   d.Timestamp,
		Redelivered:   d.Redelivered,
	}
	if in.Headers == nil {
		in.Headers = map[string]any{}
	}
	if ns, ok := toInt64(d.Headers[HeaderPublishedNS]); ok {
		in.PublishedAt = time.Unix(0, ns)
	}
	if rk, ok := d.Headers[HeaderRoutingKey].(string); ok {
		in.RoutingKey = rk
		if ex, ok := d.Headers[HeaderExchange].(string); ok {
			in.Exchange = ex
		}
	}
	n, _ := toInt64(d.Headers[HeaderRetries])
	dc, _ := toInt64(d.Headers[headerDeliveries])
	in.DeliveryCount = int(n + dc)
	return in
}

func toInt64(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case int32:
		return int64(x), true
	case int16:
		return int64(x), true
	case int8:
		return int64(x), true
	case int:
		return int64(x), true
	case uint64:
		return int64(x), true
	case uint32:
		return int64(x), true
	case uint16:
		return int64(x), true
	case uint8:
		return int64(x), true
	}
	return 0, false
}
