// Package completion observes when the EDA twin's orders finish: a consumer
// of the harness's own on the twin's exchange takes every OrderCompleted and
// OrderFailed, and reports each order once, with its end-to-end latency from
// the order's intended send time.
package completion

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/edabench/edabench/harness/attack"
	"github.com/edabench/edabench/harness/cpubill"
	"github.com/edabench/edabench/internal/bitset"
	"github.com/edabench/edabench/targets/eda"
	"github.com/edabench/edabench/targets/eda/orderends"
)

// Event is one order's end, seen once.
type Event struct {
	Seq       uint64
	Intended  time.Time
	Sent      time.Time // when PlaceOrder actually went out
	At        time.Time // when the harness saw it
	Completed bool      // false: OrderFailed
	Reason    string
}

// Latency is the end-to-end latency from the intended send time.
func (e Event) Latency() time.Duration { return e.At.Sub(e.Intended) }

// ServiceTime is the end-to-end latency from the actual send time.
func (e Event) ServiceTime() time.Duration { return e.At.Sub(e.Sent) }

// Observer consumes the completions of one run.
type Observer struct {
	cfg eda.Config
	run string
	sub *orderends.Subscription
	on  func(Event)

	// Fixed bitsets rather than a map: a soak's million orders cost 250 KB,
	// allocated before the first minute, instead of a map that grows with
	// every order for as long as the run lasts.
	seen, completed bitset.Set
	size            uint64
	count, dups     atomic.Int64
	beyond          sync.Once
	log             *slog.Logger
}

// QueueName is the harness's queue for a twin prefix. It is durable, so a
// broker restart mid-run loses no completion.
func QueueName(cfg eda.Config) string { return cfg.QueueName("harness") }

// ShardQueueName is the queue of shard i of n (edabench run --shard): on a
// broker that routes copies to every bound queue (RabbitMQ), each shard
// needs its own, or the shards would compete for one queue's messages and
// each see only some of its orders end.
func ShardQueueName(cfg eda.Config, i, n int) string {
	return cfg.QueueName(fmt.Sprintf("harness-%dof%d", i, n))
}

// Option adjusts New.
type Option func(*options)

type options struct{ queue string }

// WithQueue subscribes on queue rather than QueueName(cfg).
func WithQueue(queue string) Option { return func(o *options) { o.queue = queue } }

// New declares the harness's queue (bound to OrderCompleted and OrderFailed)
// and connects. on is called from one goroutine, once per order. maxOrders
// bounds the order sequence numbers the run can use (the runner's own
// bitsets have the same size).
func New(ctx context.Context, cfg eda.Config, run string, maxOrders int64, on func(Event), log *slog.Logger, opts ...Option) (*Observer, error) {
	if log == nil {
		log = slog.Default()
	}
	o := options{queue: QueueName(cfg)}
	for _, f := range opts {
		f(&o)
	}
	// Each end's decoding and accounting is timed as the completion
	// consumer's CPU; the broker client's frame reading and the ack are not
	// on the handler's goroutine and stay in the load's remainder.
	acct := cpubill.From(ctx).Account(cpubill.Completion)
	timed := func(handle func() error) error {
		sp := acct.Start()
		defer sp.End()
		return handle()
	}
	sub, err := orderends.Subscribe(ctx, orderends.Config{Twin: cfg, Queue: o.queue,
		ConnectionName: "edabench/harness/" + run, Logger: log, Timed: timed})
	if err != nil {
		return nil, fmt.Errorf("completion observer: %w", err)
	}
	return &Observer{cfg: cfg, run: run, sub: sub, on: on, log: log,
		seen: bitset.New(maxOrders), completed: bitset.New(maxOrders), size: uint64(maxOrders)}, nil
}

// Run consumes until ctx ends. One worker: on needs no locking, and the
// harness's one shard of the end-to-end recorder is written by one goroutine.
func (o *Observer) Run(ctx context.Context) error {
	return o.sub.Run(ctx, o.handle)
}

// Subscribed is closed once Run's first subscription is in place.
func (o *Observer) Subscribed() <-chan struct{} { return o.sub.Subscribed() }

func (o *Observer) handle(e orderends.End) error {
	seq, intended, sent, ok := attack.ParseOrderID(o.run, e.OrderID)
	if !ok {
		return nil // another run's order, or one placed by hand
	}
	completed := e.Completed
	if seq >= o.size {
		o.beyond.Do(func() {
			o.log.Warn("completion: an order numbered beyond the run's bound; its duplicates cannot be told apart", "seq", seq, "bound", o.size)
		})
	} else {
		// completed is set before seen, so End never reads seen without it.
		if completed {
			o.completed.Add(seq)
		}
		if !o.seen.Add(seq) {
			o.dups.Add(1)
			return nil
		}
	}
	o.count.Add(1)
	o.on(Event{Seq: seq, Intended: intended, Sent: sent, At: e.At, Completed: completed, Reason: e.Reason})
	return nil
}

// End reports whether the order's end was observed, and whether it completed.
func (o *Observer) End(seq uint64) (seen, completed bool) {
	if !o.seen.Has(seq) {
		return false, false
	}
	return true, o.completed.Has(seq)
}

// Count is the number of orders whose end was observed.
func (o *Observer) Count() int { return int(o.count.Load()) }

// Duplicates counts end events seen more than once (at-least-once delivery).
func (o *Observer) Duplicates() int64 { return o.dups.Load() }

// Close closes the connection.
func (o *Observer) Close() error { return o.sub.Close() }

// Delete closes the connection and removes the harness's queue and its
// dead-letter queue: for a twin the harness did not start, whose topology
// it leaves alone but whose broker should not keep its queue after the run.
func (o *Observer) Delete(ctx context.Context) error {
	return o.sub.Delete(ctx)
}
