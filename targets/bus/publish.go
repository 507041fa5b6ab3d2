package bus

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// HeaderPublishedNS carries the first publish time in Unix nanoseconds
// (int64): the AMQP timestamp property only has whole seconds.
const HeaderPublishedNS = "x-published-ns"

// Message is an event to publish.
type Message struct {
	Body          []byte
	CorrelationID string         // the order ID
	MessageID     string         // unique per event; a UUIDv4 is generated when empty. Kept across republishes, so consumers can deduplicate on it
	Type          string         // event type (AMQP type property), optional
	ContentType   string         // default "application/json"
	Headers       map[string]any // extra headers; values must be AMQP table types (string, int64, bool, []byte, time.Time, ...)
}

// NewMessageID returns a random UUIDv4 string.
func NewMessageID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand, Go >= 1.24)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:], b[10:])
	return string(out[:])
}

func (c *Conn) publishing(m Message, now time.Time) amqp.Publishing {
	h := make(amqp.Table, len(m.Headers)+1)
	for k, v := range m.Headers {
		h[k] = v
	}
	h[HeaderPublishedNS] = now.UnixNano()
	id := m.MessageID
	if id == "" {
		id = NewMessageID()
	}
	ct := m.ContentType
	if ct == "" {
		ct = "application/json"
	}
	return amqp.Publishing{
		Headers:       h,
		ContentType:   ct,
		DeliveryMode:  amqp.Persistent,
		CorrelationId: m.CorrelationID,
		MessageId:     id,
		Timestamp:     now,
		Type:          m.Type,
		AppId:         c.opts.ConnectionName,
		Body:          m.Body,
	}
}

// Publish sends m to the exchange with routingKey as a persistent message and
// returns nil only once the broker has confirmed it (publisher confirms).
//
// If the connection drops before the confirm, the outcome is unknown and the
// message is republished (same MessageID) on the next connection until it is
// confirmed or ctx ends: delivery is at-least-once. A broker nack is retried
// Options.MaxNacks times. Errors:
//   - ErrNotPublished (wrapping ctx.Err() or ErrClosed): never written, certainly not enqueued;
//   - ErrUnconfirmed (same wrapping): written but unconfirmed, possibly enqueued;
//   - ErrNacked, ErrUnroutable (with WithMandatory).
//
// Publish is safe for concurrent use; concurrent calls are pipelined on one
// confirm-mode channel, each waiting only for its own confirm.
func (c *Conn) Publish(ctx context.Context, routingKey string, m Message) error {
	msg := c.publishing(m, time.Now())
	return c.publish(ctx, c.opts.Exchange, routingKey, c.opts.Mandatory, msg)
}

func (c *Conn) publish(ctx context.Context, exchange, key string, mandatory bool, msg amqp.Publishing) error {
	if err := validate(exchange, key, &msg); err != nil {
		return fmt.Errorf("%w: message %s: %w", ErrNotPublished, msg.MessageId, err)
	}
	start := time.Now()
	written := false
	nacks := 0
	fail := func(cause error) error {
		if written {
			c.observe(Event{Kind: EventUnconfirmed, RoutingKey: key, Err: cause})
			return fmt.Errorf("%w: message %s (routing key %q): %w", ErrUnconfirmed, msg.MessageId, key, cause)
		}
		return fmt.Errorf("%w: message %s (routing key %q): %w", ErrNotPublished, msg.MessageId, key, cause)
	}
	for attempt := 0; ; attempt++ {
		s, err := c.pub.current(ctx)
		if err != nil {
			return fail(err)
		}
		// Don't write into a connection the broker has blocked (resource
		// alarm): the write would hang without honouring ctx.
		select {
		case <-s.unblocked():
		default:
			select {
			case <-s.unblocked():
			case <-s.dead:
				continue
			case <-ctx.Done():
				return fail(ctx.Err())
			case <-c.ctx.Done():
				return fail(ErrClosed)
			}
		}

		dc, err := s.pub.PublishWithDeferredConfirmWithContext(ctx, exchange, key, mandatory, false, msg)
		if err != nil {
			if ctx.Err() != nil {
				return fail(ctx.Err())
			}
			// validate() ruled out encoding errors, so this is the channel
			// or the socket failing; amqp091 shuts the connection down on
			// any write error.
			if !errors.Is(err, amqp.ErrClosed) {
				written = true // an I/O error mid-write: the broker may have it
			}
			c.log.Debug("bus: publish channel gone; will republish", "message_id", msg.MessageId, "err", err)
			if !c.awaitDead(ctx, s) {
				return fail(ctx.Err())
			}
			continue
		}
		if attempt == 0 {
			c.observe(Event{Kind: EventPublished, RoutingKey: key})
		} else {
			c.observe(Event{Kind: EventRepublished, RoutingKey: key})
		}
		written = true

		select {
		case <-dc.Done():
		case <-ctx.Done():
			return fail(ctx.Err())
		case <-c.ctx.Done():
			return fail(ErrClosed)
		}
		if dc.Acked() {
			if mandatory && s.returns.take(msg.MessageId) {
				c.observe(Event{Kind: EventReturned, RoutingKey: key})
				return fmt.Errorf("%w: message %s to exchange %q with routing key %q", ErrUnroutable, msg.MessageId, exchange, key)
			}
			c.observe(Event{Kind: EventConfirmed, RoutingKey: key, Duration: time.Since(start)})
			return nil
		}
		if s.pub.IsClosed() {
			// The channel died with the confirm outstanding (amqp091 resolves
			// pending confirms as nacks on close): outcome unknown, republish.
			c.log.Debug("bus: confirm lost with the channel; will republish", "message_id", msg.MessageId)
			if !c.awaitDead(ctx, s) {
				return fail(ctx.Err())
			}
			continue
		}
		nacks++
		c.observe(Event{Kind: EventNacked, RoutingKey: key})
		if nacks > c.opts.MaxNacks {
			return fmt.Errorf("%w: message %s (routing key %q) after %d attempts", ErrNacked, msg.MessageId, key, nacks)
		}
		c.log.Warn("bus: broker nacked a publish; republishing", "message_id", msg.MessageId, "routing_key", key, "nacks", nacks)
		if !sleepCtx(ctx, backoff(50*time.Millisecond, time.Second, nacks)) {
			return fail(ctx.Err())
		}
	}
}

// awaitDead waits until s is marked dead (the supervisor then replaces it).
// It reports false when ctx ends or the Conn closes first.
func (c *Conn) awaitDead(ctx context.Context, s *session) bool {
	select {
	case <-s.dead:
		return true
	case <-ctx.Done():
		return false
	case <-c.ctx.Done():
		return true // current() will report ErrClosed
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
			return fmt.Errorf("bus: %s is %d bytes; AMQP short strings hold at most 255", f.name, len(f.v))
		}
	}
	for k := range m.Headers {
		if len(k) > 255 {
			return fmt.Errorf("bus: header name %.40q... is %d bytes; at most 255", k, len(k))
		}
	}
	if err := m.Headers.Validate(); err != nil {
		return fmt.Errorf("bus: invalid header value (use string, int64, bool, float64, []byte, time.Time, amqp.Table, []any): %w", err)
	}
	return nil
}
