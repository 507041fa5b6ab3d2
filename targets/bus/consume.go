package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

// Delivery is a message handed to a Handler.
type Delivery struct {
	Body          []byte
	Queue         string
	Exchange      string // exchange of the original publish
	RoutingKey    string // routing key of the original publish (kept across redeliveries)
	Headers       map[string]any
	MessageID     string // the same on every delivery of one publish: deduplicate on it
	CorrelationID string // the order ID
	Type          string
	ContentType   string
	PublishedAt   time.Time // the first publish (ns precision), kept across redeliveries and republishes
	Redelivered   bool      // the broker's redelivered flag: an earlier delivery of this copy was not acked
	// DeliveryCount is the number of earlier attempts of this message, 0 on
	// the first delivery.
	DeliveryCount int
}

// Attempt is the 1-based attempt number of this delivery.
func (d Delivery) Attempt() int { return d.DeliveryCount + 1 }

// OrderID is the order the event is about (the publish's CorrelationID).
func (d Delivery) OrderID() string { return d.CorrelationID }

// PublishedNS is the first publish time in Unix nanoseconds, 0 if unknown.
func (d Delivery) PublishedNS() int64 {
	if d.PublishedAt.IsZero() {
		return 0
	}
	return d.PublishedAt.UnixNano()
}

// Handler processes one delivery. Returning nil acks it, once every publish
// the handler made with its ctx was confirmed; an error retries it (up to
// the queue's MaxAttempts, then it is dead-lettered); an error wrapping
// ErrPoison dead-letters it at once. Handlers must be idempotent: delivery
// is at-least-once.
type Handler func(ctx context.Context, d Delivery) error

// ConsumeOptions tunes Consume; zero fields take defaults.
type ConsumeOptions struct {
	Prefetch    int // unsettled deliveries in flight; default the driver's
	Concurrency int // handler goroutines; default Prefetch
	// MaxAttempts overrides the bound of attempts per message; default: the
	// declared Queue's MaxAttempts, else DefaultMaxAttempts. A broker that
	// enforces the queue's bound itself still does, so only a lower value
	// has an effect there.
	MaxAttempts int
	// RetryDelay pauses before a failed message is given another attempt
	// (the worker and its prefetch slot stay busy meanwhile); default 0.
	RetryDelay time.Duration
	// ShutdownGrace bounds how long in-flight handlers may keep running after
	// ctx is cancelled before their own ctx is cancelled; default 30s.
	ShutdownGrace time.Duration
	// Subscribed, when set, is called each time a subscription is in place
	// (the first, and each after a reconnect): from then on the broker
	// delivers to this consumer. A service announces itself ready after
	// the first, so a load never starts while its consumers are still
	// joining (a Kafka consumer group's first assignment).
	Subscribed func()
}

type consumer struct {
	c       *Conn
	queue   string
	opts    ConsumeOptions
	handler Handler
	log     *slog.Logger
}

// Consume delivers messages from queue to h until ctx is cancelled, with
// opts.Prefetch unsettled deliveries and opts.Concurrency handler
// goroutines. It survives connection loss: consuming resumes once the
// driver reconnected (the broker redelivers what was not settled, so
// duplicates occur).
//
// On ctx cancellation it stops taking deliveries (prefetched ones go back to
// the queue), lets in-flight handlers finish within opts.ShutdownGrace and
// returns nil. It returns an error for invalid arguments, when the broker
// refuses the consumer on the first attempt (ErrRefused), and ErrClosed
// when the Conn is closed.
func (c *Conn) Consume(ctx context.Context, queue string, opts ConsumeOptions, h Handler) error {
	cs, err := c.newConsumer(queue, opts, h)
	if err != nil {
		return err
	}
	everConsumed := false
	failures := 0
	for {
		sub, err := c.d.Subscribe(ctx, queue, cs.opts.Prefetch)
		if err == nil {
			everConsumed, failures = true, 0
			if cs.opts.Subscribed != nil {
				cs.opts.Subscribed()
			}
			err = cs.run(ctx, sub)
		}
		if ctx.Err() != nil {
			return nil
		}
		if c.ctx.Err() != nil {
			return fmt.Errorf("bus: consuming from %q: %w", queue, ErrClosed)
		}
		if sub != nil {
			cs.log.Warn("bus: consumer interrupted; resuming", "err", err)
			continue
		}
		if !everConsumed && errors.Is(err, ErrRefused) {
			return fmt.Errorf("bus: consuming from %q: %w", queue, err)
		}
		failures++
		d := Backoff(c.opts.BackoffMin, c.opts.BackoffMax, failures)
		cs.log.Warn("bus: cannot start consumer; retrying", "err", err, "retry_in", d)
		if !Sleep(ctx, d) {
			return nil
		}
	}
}

func (c *Conn) newConsumer(queue string, opts ConsumeOptions, h Handler) (*consumer, error) {
	if queue == "" {
		return nil, errors.New("bus: Consume: empty queue name")
	}
	if h == nil {
		return nil, errors.New("bus: Consume: nil handler")
	}
	if opts.Prefetch < 0 || opts.Prefetch > 65535 {
		return nil, fmt.Errorf("bus: Consume(%q): prefetch %d out of range 0..65535", queue, opts.Prefetch)
	}
	if opts.Prefetch == 0 {
		opts.Prefetch = c.d.Prefetch()
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = opts.Prefetch
	}
	if opts.ShutdownGrace <= 0 {
		opts.ShutdownGrace = DefaultShutdownGrace
	}
	if q, ok := c.topo.Queue(queue); ok && opts.MaxAttempts == 0 {
		opts.MaxAttempts = q.MaxAttempts
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = DefaultMaxAttempts
	}
	return &consumer{c: c, queue: queue, opts: opts, handler: h, log: c.log.With("queue", queue)}, nil
}

// run hands one subscription's deliveries to the workers until it ends or
// ctx does; it returns why the subscription ended (nil on shutdown).
func (cs *consumer) run(ctx context.Context, sub Subscription) error {
	// Handlers outlive ctx by up to ShutdownGrace.
	hctx, hcancel := context.WithCancel(context.WithoutCancel(ctx))
	defer hcancel()
	var stopping atomic.Bool
	var wg sync.WaitGroup
	for range cs.opts.Concurrency {
		wg.Go(func() {
			for in := range sub.Deliveries() {
				if stopping.Load() {
					continue // left unsettled: back to the queue when the subscription closes
				}
				cs.handle(hctx, in)
			}
		})
	}
	workersDone := make(chan struct{})
	go func() { wg.Wait(); close(workersDone) }()

	select {
	case <-workersDone:
		err := sub.Err()
		if err == nil {
			err = fmt.Errorf("the broker cancelled the consumer of %q (queue deleted?)", cs.queue)
		}
		_ = sub.Close()
		return err
	case <-ctx.Done():
	case <-cs.c.ctx.Done():
	}
	stopping.Store(true)
	cs.drain(sub, workersDone, hcancel)
	return nil
}

// drain stops the flow and lets in-flight handlers finish, bounded by the
// shutdown grace, before the subscription closes.
func (cs *consumer) drain(sub Subscription, workersDone <-chan struct{}, hcancel context.CancelFunc) {
	cctx, ccancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer ccancel()
	cancelled := make(chan struct{})
	go func() { _ = sub.Cancel(cctx); close(cancelled) }()
	grace := time.NewTimer(cs.opts.ShutdownGrace)
	defer grace.Stop()
	select {
	case <-workersDone:
	case <-grace.C:
		cs.log.Warn("bus: handlers still running after the shutdown grace; cancelling their context", "grace", cs.opts.ShutdownGrace)
		hcancel()
		select {
		case <-workersDone:
		case <-time.After(5 * time.Second):
			cs.log.Error("bus: handlers ignore context cancellation; abandoning them (their acks will fail and the broker will redeliver)")
		}
	}
	<-cancelled
	_ = sub.Close()
}

// handle runs the handler on one delivery and settles it by the layer's
// rules: ack only after the handler returned nil and each of its publishes
// was confirmed; otherwise another attempt, up to MaxAttempts, then the
// dead-letter queue; poison goes there at once.
func (cs *consumer) handle(ctx context.Context, in Inbound) {
	c := cs.c
	del := toDelivery(in)
	attempt := del.Attempt()
	c.observe(Event{Kind: EventDelivered, Queue: cs.queue, Attempt: attempt, Redelivered: del.Redelivered})

	t0 := time.Now()
	sc := newScope()
	err := safeCall(withScope(ctx, sc), cs.handler, del)
	if serr := sc.settled(ctx); err == nil {
		err = serr
	}
	if err == nil {
		if aerr := in.Ack(); aerr != nil {
			cs.ackFailed(aerr)
			return
		}
		c.observe(Event{Kind: EventAcked, Queue: cs.queue, Attempt: attempt, Duration: time.Since(t0)})
		return
	}
	if errors.Is(err, ErrPoison) || attempt >= cs.opts.MaxAttempts {
		cs.deadLetter(in, del, err)
		return
	}
	cs.log.Debug("bus: handler failed; retrying", "message_id", del.MessageID, "attempt", attempt, "err", err)
	c.observe(Event{Kind: EventRetried, Queue: cs.queue, Attempt: attempt, Err: err})
	if cs.opts.RetryDelay > 0 {
		Sleep(ctx, cs.opts.RetryDelay)
	}
	copied, aerr := in.Retry(ctx)
	if aerr != nil {
		cs.ackFailed(aerr)
		return
	}
	if copied {
		c.observe(Event{Kind: EventConfirmed, RoutingKey: cs.queue, RetryCopy: true})
		c.observe(Event{Kind: EventRetryAcked, Queue: cs.queue, Attempt: attempt})
	}
}

func (cs *consumer) deadLetter(in Inbound, del Delivery, err error) {
	attempt := del.Attempt()
	reason := "poison"
	if !errors.Is(err, ErrPoison) {
		reason = fmt.Sprintf("attempts exhausted (%d/%d)", attempt, cs.opts.MaxAttempts)
	}
	cs.log.Warn("bus: dead-lettering message", "message_id", del.MessageID,
		"correlation_id", del.CorrelationID, "attempt", attempt, "reason", reason, "err", err)
	if aerr := in.DeadLetter(); aerr != nil {
		cs.ackFailed(aerr)
		return
	}
	cs.c.observe(Event{Kind: EventDeadLettered, Queue: cs.queue, Attempt: attempt, Err: err})
}

func (cs *consumer) ackFailed(err error) {
	cs.log.Debug("bus: ack/nack not delivered (connection gone); the broker will redeliver", "err", err)
	cs.c.observe(Event{Kind: EventAckFailed, Queue: cs.queue, Err: err})
}

func safeCall(ctx context.Context, h Handler, d Delivery) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("bus: handler panicked: %v\n%s", r, debug.Stack())
		}
	}()
	return h(ctx, d)
}

func toDelivery(in Inbound) Delivery {
	h := in.Headers
	if h == nil {
		h = map[string]any{}
	}
	return Delivery{Body: in.Body, Queue: in.Queue, Exchange: in.Exchange, RoutingKey: in.RoutingKey, Headers: h,
		MessageID: in.MessageID, CorrelationID: in.CorrelationID, Type: in.Type, ContentType: in.ContentType,
		PublishedAt: in.PublishedAt, Redelivered: in.Redelivered, DeliveryCount: in.DeliveryCount}
}
