package bus

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// Headers the bus sets when it retries a message by republishing it (classic
// queues, or queues not declared through this Conn).
const (
	HeaderRetries    = "x-bus-retries"     // earlier failed attempts (int64)
	HeaderRoutingKey = "x-bus-routing-key" // routing key of the original publish
	HeaderExchange   = "x-bus-exchange"    // exchange of the original publish
	headerDeliveries = "x-delivery-count"  // set by quorum queues on redelivery
)

// Delivery is a message handed to a Handler.
type Delivery struct {
	Body          []byte
	Queue         string
	Exchange      string // exchange of the original publish
	RoutingKey    string // routing key of the original publish (kept across bus retries)
	Headers       map[string]any
	MessageID     string
	CorrelationID string
	Type          string
	ContentType   string
	PublishedAt   time.Time // from HeaderPublishedNS (ns precision); the Timestamp property (s) when absent
	Redelivered   bool      // the broker's redelivered flag: an earlier delivery of this copy was not acked
	// DeliveryCount is the number of earlier attempts of this message:
	// x-delivery-count on quorum queues, the bus retry counter on classic
	// ones. 0 on the first delivery. Redeliveries caused by a lost connection
	// count on quorum queues only.
	DeliveryCount int
}

// Attempt is the 1-based attempt number of this delivery.
func (d Delivery) Attempt() int { return d.DeliveryCount + 1 }

// Handler processes one delivery. Returning nil acks it; an error retries it
// (up to the queue's MaxAttempts, then it is dead-lettered); an error
// wrapping ErrPoison dead-letters it at once. Handlers must be idempotent:
// delivery is at-least-once.
type Handler func(ctx context.Context, d Delivery) error

// ConsumeOptions tunes Consume; zero fields take defaults.
type ConsumeOptions struct {
	Prefetch    int // basic.qos prefetch count (unacked deliveries in flight); default DefaultPrefetch
	Concurrency int // handler goroutines; default Prefetch
	// MaxAttempts overrides the bound of attempts per message; default: the
	// declared Queue's MaxAttempts, else DefaultMaxAttempts. On a quorum
	// queue the broker's x-delivery-limit (from Queue.MaxAttempts) still
	// applies, so only a lower value has an effect there.
	MaxAttempts int
	// RetryDelay pauses before a failed message is requeued (the worker and
	// its prefetch slot stay busy meanwhile); default 0.
	RetryDelay time.Duration
	// ShutdownGrace bounds how long in-flight handlers may keep running after
	// ctx is cancelled before their own ctx is cancelled; default 30s.
	ShutdownGrace time.Duration
	ConsumerTag   string // default "<connection name>/consume/<queue>/<n>"
}

type retryMode int

const (
	retryRequeue   retryMode = iota // nack requeue=true; quorum x-delivery-count counts
	retryRepublish                  // republish a copy with HeaderRetries, then ack
)

type consumer struct {
	c       *Conn
	queue   string
	opts    ConsumeOptions
	mode    retryMode
	handler Handler
}

// Consume delivers messages from queue to h until ctx is cancelled, with
// manual acks, opts.Prefetch unacked deliveries and opts.Concurrency handler
// goroutines. It survives connection loss: consuming resumes on the next
// connection (the broker redelivers what was unacked, so duplicates occur).
//
// On ctx cancellation it stops taking deliveries (prefetched ones are left
// unacked and go back to the queue), lets in-flight handlers finish within
// opts.ShutdownGrace, closes its channel and returns nil. It returns an error
// for invalid arguments, when a queue not declared through this Conn is
// missing or not accessible on the first attempt (a declared one is
// re-declared), and ErrClosed when the Conn is closed.
//
// Queues declared through this Conn use their type's retry mechanism (see
// the package doc); others are treated like classic queues (republish with
// an attempt counter).
func (c *Conn) Consume(ctx context.Context, queue string, opts ConsumeOptions, h Handler) error {
	if queue == "" {
		return errors.New("bus: Consume: empty queue name")
	}
	if h == nil {
		return errors.New("bus: Consume: nil handler")
	}
	if opts.Prefetch < 0 || opts.Prefetch > 65535 {
		return fmt.Errorf("bus: Consume(%q): prefetch %d out of range 0..65535", queue, opts.Prefetch)
	}
	if opts.Prefetch == 0 {
		opts.Prefetch = DefaultPrefetch
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = opts.Prefetch
	}
	if opts.ShutdownGrace <= 0 {
		opts.ShutdownGrace = DefaultShutdownGrace
	}
	cs := &consumer{c: c, queue: queue, opts: opts, handler: h, mode: retryRepublish}
	if q, ok := c.queues[queue]; ok {
		if q.Type == Quorum {
			cs.mode = retryRequeue
		}
		if cs.opts.MaxAttempts == 0 {
			cs.opts.MaxAttempts = q.MaxAttempts
		}
	}
	if cs.opts.MaxAttempts <= 0 {
		cs.opts.MaxAttempts = DefaultMaxAttempts
	}

	c.subOnce.Do(func() { c.sub.start(nil) })
	log := c.log.With("queue", queue)
	everConsumed := false
	failures := 0
	for {
		s, err := c.sub.current(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("bus: consuming from %q: %w", queue, err)
		}
		started, err := cs.run(ctx, s)
		if ctx.Err() != nil {
			return nil
		}
		if c.ctx.Err() != nil {
			return fmt.Errorf("bus: consuming from %q: %w", queue, ErrClosed)
		}
		if started {
			everConsumed = true
			failures = 0
			log.Warn("bus: consumer interrupted; resuming", "err", err)
			continue
		}
		var ae *amqp.Error
		if _, ours := c.queues[queue]; ours && errors.As(err, &ae) && ae.Code == amqp.NotFound {
			// Someone deleted our queue: declare the topology again.
			log.Warn("bus: queue is gone; declaring the topology again")
			if derr := c.redeclare(s); derr != nil {
				log.Warn("bus: re-declaring the topology failed", "err", derr)
			}
		} else if !everConsumed && fatalAMQP(err) {
			return fmt.Errorf("bus: consuming from %q on %s: %w", queue, c.sub.name, err)
		}
		failures++
		d := backoff(c.opts.BackoffMin, c.opts.BackoffMax, failures)
		log.Warn("bus: cannot start consumer; retrying", "err", err, "retry_in", d)
		if !sleepCtx(ctx, d) {
			return nil
		}
	}
}

// run consumes on one session until the channel dies or ctx ends. started
// reports whether basic.consume succeeded.
func (cs *consumer) run(ctx context.Context, s *session) (started bool, err error) {
	c := cs.c
	ch, err := s.conn.Channel()
	if err != nil {
		return false, err
	}
	if err := ch.Qos(cs.opts.Prefetch, 0, false); err != nil {
		_ = ch.Close()
		return false, err
	}
	chClosed := ch.NotifyClose(make(chan *amqp.Error, 1))
	tag := cs.opts.ConsumerTag
	if tag == "" {
		tag = fmt.Sprintf("%s/%s/%d", c.sub.name, cs.queue, c.consumer.Add(1))
	}
	deliveries, err := ch.Consume(cs.queue, tag, false, false, false, false, nil)
	if err != nil {
		_ = ch.Close()
		return false, err
	}
	c.log.Debug("bus: consuming", "queue", cs.queue, "tag", tag, "prefetch", cs.opts.Prefetch, "concurrency", cs.opts.Concurrency)

	// Handlers outlive ctx by up to ShutdownGrace.
	hctx, hcancel := context.WithCancel(context.WithoutCancel(ctx))
	defer hcancel()
	var stopping atomic.Bool
	var wg sync.WaitGroup
	for range cs.opts.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for d := range deliveries {
				if stopping.Load() {
					continue // left unacked: requeued when the channel closes
				}
				cs.handle(hctx, ch, d)
			}
		}()
	}
	workersDone := make(chan struct{})
	go func() { wg.Wait(); close(workersDone) }()

	select {
	case <-workersDone:
		// The delivery stream ended: channel or connection lost, or the
		// broker cancelled the consumer (queue deleted).
		select {
		case e := <-chClosed:
			if e != nil {
				err = e
			}
		default:
		}
		if err == nil {
			err = fmt.Errorf("the broker cancelled the consumer of %q (queue deleted?)", cs.queue)
		}
		_ = ch.Close()
		return true, err
	case <-ctx.Done():
	case <-c.ctx.Done():
	}

	// Shutdown: stop the flow, drain in-flight handlers (bounded), close.
	stopping.Store(true)
	cancelled := make(chan struct{})
	go func() { _ = ch.Cancel(tag, false); close(cancelled) }()
	grace := time.NewTimer(cs.opts.ShutdownGrace)
	defer grace.Stop()
	select {
	case <-workersDone:
	case <-grace.C:
		c.log.Warn("bus: handlers still running after the shutdown grace; cancelling their context", "queue", cs.queue, "grace", cs.opts.ShutdownGrace)
		hcancel()
		select {
		case <-workersDone:
		case <-time.After(5 * time.Second):
			c.log.Error("bus: handlers ignore context cancellation; abandoning them (their acks will fail and the broker will redeliver)", "queue", cs.queue)
		}
	}
	// amqp091 matches RPC replies in order: let basic.cancel-ok arrive
	// before channel.close is sent.
	select {
	case <-cancelled:
	case <-time.After(2 * time.Second):
	}
	_ = ch.Close() // unacked (prefetched) deliveries go back to the queue
	return true, nil
}

func (cs *consumer) handle(ctx context.Context, ch *amqp.Channel, d amqp.Delivery) {
	c := cs.c
	del := toDelivery(cs.queue, d)
	attempt := del.Attempt()
	c.observe(Event{Kind: EventDelivered, Queue: cs.queue, Attempt: attempt, Redelivered: d.Redelivered})

	t0 := time.Now()
	err := safeCall(ctx, cs.handler, del)
	if err == nil {
		if aerr := ch.Ack(d.DeliveryTag, false); aerr != nil {
			cs.ackFailed(aerr)
			return
		}
		c.observe(Event{Kind: EventAcked, Queue: cs.queue, Attempt: attempt, Duration: time.Since(t0)})
		return
	}

	if errors.Is(err, ErrPoison) || attempt >= cs.opts.MaxAttempts {
		reason := "poison"
		if !errors.Is(err, ErrPoison) {
			reason = fmt.Sprintf("attempts exhausted (%d/%d)", attempt, cs.opts.MaxAttempts)
		}
		c.log.Warn("bus: dead-lettering message", "queue", cs.queue, "message_id", del.MessageID,
			"correlation_id", del.CorrelationID, "attempt", attempt, "reason", reason, "err", err)
		if aerr := ch.Nack(d.DeliveryTag, false, false); aerr != nil {
			cs.ackFailed(aerr)
			return
		}
		c.observe(Event{Kind: EventDeadLettered, Queue: cs.queue, Attempt: attempt, Err: err})
		return
	}

	c.log.Debug("bus: handler failed; retrying", "queue", cs.queue, "message_id", del.MessageID, "attempt", attempt, "err", err)
	c.observe(Event{Kind: EventRetried, Queue: cs.queue, Attempt: attempt, Err: err})
	if cs.opts.RetryDelay > 0 {
		sleepCtx(ctx, cs.opts.RetryDelay)
	}
	if cs.mode == retryRequeue {
		if aerr := ch.Nack(d.DeliveryTag, false, true); aerr != nil {
			cs.ackFailed(aerr)
		}
		return
	}
	// Republish a copy carrying the attempt counter (classic queues keep no
	// delivery count), then ack the original. A crash in between duplicates
	// the message, never loses it.
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if perr := c.publish(pctx, "", cs.queue, false, retryPublishing(d, del.DeliveryCount+1)); perr != nil {
		c.log.Warn("bus: cannot republish failed message for retry; requeueing it (its attempt is not counted)",
			"queue", cs.queue, "message_id", del.MessageID, "err", perr)
		if aerr := ch.Nack(d.DeliveryTag, false, true); aerr != nil {
			cs.ackFailed(aerr)
		}
		return
	}
	if aerr := ch.Ack(d.DeliveryTag, false); aerr != nil {
		cs.ackFailed(aerr)
		return
	}
	c.observe(Event{Kind: EventRetryAcked, Queue: cs.queue, Attempt: attempt})
}

func (cs *consumer) ackFailed(err error) {
	cs.c.log.Debug("bus: ack/nack not delivered (channel gone); the broker will redeliver", "queue", cs.queue, "err", err)
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

func toDelivery(queue string, d amqp.Delivery) Delivery {
	del := Delivery{
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
	if del.Headers == nil {
		del.Headers = map[string]any{}
	}
	if ns, ok := toInt64(d.Headers[HeaderPublishedNS]); ok {
		del.PublishedAt = time.Unix(0, ns)
	}
	if rk, ok := d.Headers[HeaderRoutingKey].(string); ok {
		del.RoutingKey = rk
		if ex, ok := d.Headers[HeaderExchange].(string); ok {
			del.Exchange = ex
		}
	}
	n, _ := toInt64(d.Headers[HeaderRetries])
	dc, _ := toInt64(d.Headers[headerDeliveries])
	del.DeliveryCount = int(n + dc)
	return del
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
