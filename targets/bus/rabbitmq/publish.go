package rabbitmq

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/edabench/edabench/targets/bus"
)

// HeaderPublishedNS carries the layer's first-publish time in Unix
// nanoseconds (int64): the AMQP timestamp property only has whole seconds.
const HeaderPublishedNS = "x-published-ns"

// publishing is the AMQP form of m; every attempt of m yields the same one.
func (d *Driver) publishing(m bus.Outgoing) amqp.Publishing {
	h := make(amqp.Table, len(m.Headers)+1)
	for k, v := range m.Headers {
		h[k] = v
	}
	h[HeaderPublishedNS] = m.PublishedNS
	return amqp.Publishing{
		Headers:       h,
		ContentType:   m.ContentType,
		DeliveryMode:  amqp.Persistent,
		CorrelationId: m.CorrelationID,
		MessageId:     m.MessageID,
		Timestamp:     time.Unix(0, m.PublishedNS),
		Type:          m.Type,
		AppId:         d.cfg.ConnectionName,
		Body:          m.Body,
	}
}

// Publish makes one attempt: a persistent basic.publish on the
// confirm-mode channel, then the wait for the broker's ack. Concurrent
// calls are pipelined on the channel, each waiting for its own confirm.
func (d *Driver) Publish(ctx context.Context, m bus.Outgoing) error {
	msg := d.publishing(m)
	topo := d.topology()
	if err := validate(topo.Exchange, m.RoutingKey, &msg); err != nil {
		return fmt.Errorf("%w: message %s: %w", bus.ErrNotPublished, m.MessageID, err)
	}
	return d.publishOnce(ctx, topo.Exchange, m.RoutingKey, m.Mandatory, msg)
}

// publishOnce publishes msg on the current session and reports, in the
// layer's terms, what became of it.
func (d *Driver) publishOnce(ctx context.Context, exchange, key string, mandatory bool, msg amqp.Publishing) error {
	s, err := d.pub.current(ctx)
	if err != nil {
		return err
	}
	if err := d.awaitFlow(ctx, s); err != nil {
		return err
	}
	dc, err := s.pub.PublishWithDeferredConfirmWithContext(ctx, exchange, key, mandatory, false, msg)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		// validate() ruled out encoding errors, so this is the channel or
		// the socket failing; amqp091 shuts the connection down on any
		// write error.
		d.awaitDead(ctx, s)
		if errors.Is(err, amqp.ErrClosed) {
			return fmt.Errorf("%w: %w", bus.ErrConnectionLost, err)
		}
		// An I/O error mid-write: the broker may have it.
		return fmt.Errorf("%w: %w: %w", bus.ErrConnectionLost, bus.ErrUnconfirmed, err)
	}
	select {
	case <-dc.Done():
	case <-ctx.Done():
		return fmt.Errorf("%w: %w", bus.ErrUnconfirmed, ctx.Err())
	case <-d.ctx.Done():
		return fmt.Errorf("%w: %w", bus.ErrUnconfirmed, bus.ErrClosed)
	}
	switch {
	case dc.Acked() && mandatory && s.returns.take(msg.MessageId):
		return fmt.Errorf("%w: routing key %q", bus.ErrUnroutable, key)
	case dc.Acked():
		return nil
	case s.pub.IsClosed():
		// The channel died with the confirm outstanding (amqp091 resolves
		// pending confirms as nacks on close): outcome unknown.
		d.awaitDead(ctx, s)
		return fmt.Errorf("%w: %w: confirm lost with the channel", bus.ErrConnectionLost, bus.ErrUnconfirmed)
	default:
		return fmt.Errorf("%w: message %s", bus.ErrNacked, msg.MessageId)
	}
}

// awaitFlow waits while the broker has blocked the connection (resource
// alarm): a write then would hang without honouring ctx.
func (d *Driver) awaitFlow(ctx context.Context, s *session) error {
	select {
	case <-s.unblocked():
		return nil
	default:
	}
	select {
	case <-s.unblocked():
		return nil
	case <-s.dead:
		return fmt.Errorf("%w: %w", bus.ErrConnectionLost, s.deadErr)
	case <-ctx.Done():
		return ctx.Err()
	case <-d.ctx.Done():
		return bus.ErrClosed
	}
}

// awaitDead waits until s is marked dead (the supervisor then replaces
// it), so the layer's Reconnect does not hand the same session back.
func (d *Driver) awaitDead(ctx context.Context, s *session) {
	select {
	case <-s.dead:
	case <-ctx.Done():
	case <-d.ctx.Done():
	}
}

// returnTracker matches basic.return frames to mandatory publishes by
// MessageId. RabbitMQ sends basic.return before the basic.ack of the same
// message, and amqp091 hands the return to our buffered channel before it
// processes the ack, so draining the channel after the ack is race-free.
type returnTracker struct {
	mu       sync.Mutex
	ch       <-chan amqp.Return
	returned map[string]struct{}
}

func newReturnTracker(ch <-chan amqp.Return) *returnTracker {
	return &returnTracker{ch: ch, returned: map[string]struct{}{}}
}

// take reports (and forgets) whether the message was returned.
func (t *returnTracker) take(id string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
drain:
	for {
		select {
		case r, ok := <-t.ch:
			if !ok {
				break drain
			}
			t.returned[r.MessageId] = struct{}{}
		default:
			break drain
		}
	}
	_, ok := t.returned[id]
	delete(t.returned, id)
	return ok
}

// validate rejects what amqp091 cannot encode: it would fail mid-frame and
// tear down the whole publishing connection, and the republish loop would
// then do it again.
func validate(exchange, key string, m *amqp.Publishing) error {
	for _, f := range []struct{ name, v string }{
		{"exchange", exchange}, {"routing key", key}, {"MessageID", m.MessageId},
		{"CorrelationID", m.CorrelationId}, {"Type", m.Type}, {"ContentType", m.ContentType},
		{"ContentEncoding", m.ContentEncoding}, {"AppId", m.AppId},
	} {
		if len(f.v) > 255 {
			return fmt.Errorf("rabbitmq: %s is %d bytes; AMQP short strings hold at most 255", f.name, len(f.v))
		}
	}
	for k := range m.Headers {
		if len(k) > 255 {
			return fmt.Errorf("rabbitmq: header name %.40q... is %d bytes; at most 255", k, len(k))
		}
	}
	if err := m.Headers.Validate(); err != nil {
		return fmt.Errorf("rabbitmq: invalid header value (use string, int64, bool, float64, []byte, time.Time, amqp.Table, []any): %w", err)
	}
	return nil
}
