package bus

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Message is an event to publish.
type Message struct {
	Body          []byte
	CorrelationID string         // the order ID
	MessageID     string         // unique per event; a UUIDv4 is generated when empty. Kept across republishes, so consumers can deduplicate on it
	Type          string         // event type, optional
	ContentType   string         // default "application/json"
	Headers       map[string]any // extra headers (string, int64, bool, []byte, time.Time, ...)
}

// outgoing fixes m's identity and first-publish time once, before the first
// attempt: every republish then carries the same ones.
func (c *Conn) outgoing(key string, m Message, now time.Time) Outgoing {
	id := m.MessageID
	if id == "" {
		id = NewMessageID()
	}
	ct := m.ContentType
	if ct == "" {
		ct = "application/json"
	}
	h := make(map[string]any, len(m.Headers))
	for k, v := range m.Headers {
		h[k] = v
	}
	return Outgoing{RoutingKey: key, Body: m.Body, MessageID: id, CorrelationID: m.CorrelationID, Type: m.Type,
		ContentType: ct, Headers: h, PublishedNS: now.UnixNano(), Mandatory: c.opts.Mandatory}
}

// Publish sends m to the exchange with routingKey as a persistent message and
// returns nil only once the broker has it durably (confirmed).
//
// If the connection drops before the confirm, the outcome is unknown and the
// message is republished (same MessageID, same first-publish time) once the
// driver has reconnected, until it is confirmed or ctx ends: delivery is
// at-least-once. A broker nack is retried Options.MaxNacks times. Errors:
//   - ErrNotPublished (wrapping ctx.Err() or ErrClosed): never written, certainly not enqueued;
//   - ErrUnconfirmed (same wrapping): written but unconfirmed, possibly enqueued;
//   - ErrNacked, ErrUnroutable (with WithMandatory).
//
// Inside a Handler, publish with the handler's ctx: the delivery is then
// acked only once this publish was confirmed.
func (c *Conn) Publish(ctx context.Context, routingKey string, m Message) error {
	sc := scopeOf(ctx)
	sc.begin()
	err := c.publish(ctx, c.outgoing(routingKey, m, time.Now()))
	sc.end(err)
	return err
}

// publish is the layer's retry loop around the driver's single attempts.
func (c *Conn) publish(ctx context.Context, m Outgoing) error {
	start := time.Now()
	p := publishing{c: c, m: m}
	for attempt := 0; ; attempt++ {
		err := c.d.Publish(ctx, m)
		p.noteWrite(err, attempt)
		switch {
		case err == nil:
			c.observe(Event{Kind: EventConfirmed, RoutingKey: m.RoutingKey, Duration: time.Since(start)})
			return nil
		case errors.Is(err, ErrUnroutable):
			c.observe(Event{Kind: EventReturned, RoutingKey: m.RoutingKey})
			return fmt.Errorf("message %s to exchange %q: %w", m.MessageID, c.opts.Exchange, err)
		case errors.Is(err, ErrNacked):
			if err := p.nacked(ctx); err != nil {
				return err
			}
		case errors.Is(err, ErrConnectionLost):
			c.log.Debug("bus: connection lost before the confirm; will republish", "message_id", m.MessageID, "err", err)
			if rerr := c.d.Reconnect(ctx); rerr != nil {
				return p.fail(c.closedOr(ctx, rerr))
			}
		case errors.Is(err, ErrNotPublished):
			return err
		default: // ctx ended or the driver closed
			return p.fail(c.closedOr(ctx, err))
		}
	}
}

// closedOr names ErrClosed as the cause once the Conn is closed (the
// driver then sees its own ctx end), unless the caller's ctx ended.
func (c *Conn) closedOr(ctx context.Context, err error) error {
	if ctx.Err() == nil && c.ctx.Err() != nil && !errors.Is(err, ErrClosed) {
		return fmt.Errorf("%w: %w", ErrClosed, err)
	}
	return err
}

// publishing is the state of one Publish across its attempts.
type publishing struct {
	c       *Conn
	m       Outgoing
	written bool
	nacks   int
}

// noteWrite emits published for the first write and republished for every
// later one, as the driver's result shows a write happened.
func (p *publishing) noteWrite(err error, attempt int) {
	if err != nil && !errors.Is(err, ErrNacked) && !errors.Is(err, ErrUnroutable) && !errors.Is(err, ErrUnconfirmed) {
		return
	}
	p.written = true
	kind := EventPublished
	if attempt > 0 {
		kind = EventRepublished
	}
	p.c.observe(Event{Kind: kind, RoutingKey: p.m.RoutingKey})
}

func (p *publishing) nacked(ctx context.Context) error {
	p.nacks++
	p.c.observe(Event{Kind: EventNacked, RoutingKey: p.m.RoutingKey})
	if p.nacks > p.c.opts.MaxNacks {
		return fmt.Errorf("%w: message %s (routing key %q) after %d attempts", ErrNacked, p.m.MessageID, p.m.RoutingKey, p.nacks)
	}
	p.c.log.Warn("bus: broker nacked a publish; republishing", "message_id", p.m.MessageID, "routing_key", p.m.RoutingKey, "nacks", p.nacks)
	if !Sleep(ctx, Backoff(50*time.Millisecond, time.Second, p.nacks)) {
		return p.fail(ctx.Err())
	}
	return nil
}

func (p *publishing) fail(cause error) error {
	if p.written {
		p.c.observe(Event{Kind: EventUnconfirmed, RoutingKey: p.m.RoutingKey, Err: cause})
		return fmt.Errorf("%w: message %s (routing key %q): %w", ErrUnconfirmed, p.m.MessageID, p.m.RoutingKey, cause)
	}
	return fmt.Errorf("%w: message %s (routing key %q): %w", ErrNotPublished, p.m.MessageID, p.m.RoutingKey, cause)
}

// scope tracks the publishes a handler makes through its delivery's ctx,
// so the layer acks the delivery only after every one was confirmed.
type scope struct {
	mu      sync.Mutex
	pending int
	idle    chan struct{} // closed while pending == 0
	err     error         // the first publish that failed
}

type scopeKey struct{}

func newScope() *scope {
	s := &scope{idle: make(chan struct{})}
	close(s.idle)
	return s
}

func withScope(ctx context.Context, s *scope) context.Context {
	return context.WithValue(ctx, scopeKey{}, s)
}

func scopeOf(ctx context.Context) *scope {
	s, _ := ctx.Value(scopeKey{}).(*scope)
	return s
}

func (s *scope) begin() {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pending == 0 {
		s.idle = make(chan struct{})
	}
	s.pending++
}

func (s *scope) end(err error) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil && s.err == nil {
		s.err = err
	}
	s.pending--
	if s.pending == 0 {
		close(s.idle)
	}
}

// settled waits for the handler's publishes still in flight (one it left
// running in a goroutine) and returns the first that was not confirmed.
func (s *scope) settled(ctx context.Context) error {
	s.mu.Lock()
	idle := s.idle
	s.mu.Unlock()
	select {
	case <-idle:
	case <-ctx.Done():
		return fmt.Errorf("%w: still unconfirmed when the handler's time ran out: %w", ErrPublishUnconfirmed, ctx.Err())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return fmt.Errorf("%w: %w", ErrPublishUnconfirmed, s.err)
	}
	return nil
}
