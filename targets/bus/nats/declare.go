package nats

import (
	"context"
	"errors"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/edabench/edabench/targets/bus"
)

// Declare creates (or updates) the topology's two streams and a durable
// consumer per queue and per dead-letter queue, and keeps the bindings:
// JetStream has no exchange, so the driver routes.
func (d *driver) Declare(ctx context.Context, t bus.Topology) error {
	if err := d.declare(ctx, t); err != nil {
		return err
	}
	d.mu.Lock()
	d.topo = t
	d.mu.Unlock()
	return nil
}

func (d *driver) declare(ctx context.Context, t bus.Topology) error {
	if len(t.Queues) == 0 {
		return nil
	}
	l := layout{exchange: t.Exchange}
	for _, sc := range []jetstream.StreamConfig{
		d.streamConfig(l.stream(), l.stream()+".q.>", t.Exchange),
		d.streamConfig(l.dlqStream(), l.stream()+".dlq.>", t.Exchange),
		d.advStreamConfig(l, t.Exchange),
	} {
		if _, err := d.js.CreateOrUpdateStream(ctx, sc); err != nil {
			return apiErr("declare stream "+sc.Name+" for exchange "+t.Exchange, err)
		}
	}
	for _, q := range t.Queues {
		maxDeliver := q.MaxAttempts
		if maxDeliver <= 0 {
			maxDeliver = bus.DefaultMaxAttempts
		}
		if err := d.declareConsumer(ctx, l.stream(), q.Name, l.subject(q.Name), maxDeliver); err != nil {
			return err
		}
		if err := d.declareAdvConsumer(ctx, l, q.Name); err != nil {
			return err
		}
		// A dead letter is read by people and audits, never dropped for
		// its attempts: no MaxDeliver on the dead-letter queue's consumer.
		dlq := bus.DLQName(q.Name)
		if err := d.declareConsumer(ctx, l.dlqStream(), dlq, l.dlqSubject(q.Name), -1); err != nil {
			return err
		}
	}
	return nil
}

// streamConfig is a file-backed work-queue stream: a message leaves it
// once its one consumer acked it, so the store holds the backlog, not the
// history; Duplicates is the window in which a republish with the same
// Nats-Msg-Id is stored once.
func (d *driver) streamConfig(name, subjects, exchange string) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:       name,
		Subjects:   []string{subjects},
		Storage:    jetstream.FileStorage,
		Retention:  jetstream.WorkQueuePolicy,
		Duplicates: d.opts.DuplicateWindow,
		Replicas:   1,
		Metadata:   map[string]string{metaExchange: exchange},
	}
}

// declareConsumer creates queue's durable pull consumer: explicit acks,
// AckWait before a delivery nobody settled comes again, MaxDeliver
// deliveries at most (then the max-deliveries advisory, which the driver
// turns into a dead letter: a consumer crashing on a message must not
// loop forever).
func (d *driver) declareConsumer(ctx context.Context, stream, queue, subject string, maxDeliver int) error {
	_, err := d.js.CreateOrUpdateConsumer(ctx, stream, jetstream.ConsumerConfig{
		Durable:       consumer(queue),
		Description:   queue,
		FilterSubject: subject,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       d.opts.AckWait,
		MaxDeliver:    maxDeliver,
		MaxAckPending: d.opts.MaxAckPending,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		Metadata:      map[string]string{metaQueue: queue},
	})
	if err != nil {
		return apiErr("declare consumer of queue "+queue, err)
	}
	return nil
}

// where is the stream, consumer and dead-letter subject of a declared
// queue or dead-letter queue.
func (d *driver) where(queue string) (stream, cons, dlqSubject string, ok bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.whereLocked(queue)
}

func (d *driver) whereLocked(queue string) (stream, cons, dlqSubject string, ok bool) {
	t := d.topo
	l := layout{exchange: t.Exchange}
	for _, q := range t.Queues {
		switch queue {
		case q.Name:
			return l.stream(), consumer(q.Name), l.dlqSubject(q.Name), true
		case bus.DLQName(q.Name):
			return l.dlqStream(), consumer(queue), l.dlqSubject(queue), true
		}
	}
	return "", "", "", false
}

// ignoreNotFound drops a not-found from a delete: gone is what was wanted.
func ignoreNotFound(err error) error {
	if errors.Is(err, jetstream.ErrStreamNotFound) || errors.Is(err, jetstream.ErrConsumerNotFound) {
		return nil
	}
	return err
}
