// Package orderends is the one subscription to the ends of a twin's
// orders (OrderCompleted and OrderFailed), shared by the harness's
// completion observer and the k6 extension: each subscriber declares a
// durable queue of its own on the twin's exchange, bound to both events,
// and is handed every end it takes, through the bus layer and whatever
// broker driver the twin runs over.
package orderends

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/edabench/edabench/targets/api/orderpb"
	"github.com/edabench/edabench/targets/bus"
	"github.com/edabench/edabench/targets/eda"
	"google.golang.org/protobuf/proto"
)

// End is one order's end as the subscriber took it. The same end may come
// twice (at-least-once delivery); the subscriber deduplicates on OrderID.
type End struct {
	OrderID   string
	Completed bool // false: OrderFailed
	Reason    string
	At        time.Time // when the subscriber took it
}

// Config is one subscriber.
type Config struct {
	Twin           eda.Config // the twin whose orders end: broker, URL, exchange
	Queue          string     // the subscriber's own queue, e.g. Twin.QueueName("harness")
	ConnectionName string
	Logger         *slog.Logger // default slog.Default()
	// DialTimeout and ConnectTimeout bound the first connection (0: the
	// bus defaults); later reconnects never give up.
	DialTimeout, ConnectTimeout time.Duration
	ShutdownGrace               time.Duration // for the one handler in flight when Run's ctx ends; 0: the bus default
	// Timed, if set, runs each end's handling (decoding its body and on):
	// the harness times its consumer's CPU through it. nil runs it as is.
	Timed func(handle func() error) error
}

// Subscription is a subscriber's connection and queue.
type Subscription struct {
	cfg        Config
	conn       *bus.Conn
	subscribed *bus.Once
}

// Subscribe connects and declares the subscriber's queue: durable, so a
// broker restart mid-run loses no end; one copy suffices.
func Subscribe(ctx context.Context, cfg Config) (*Subscription, error) {
	if cfg.Queue == "" {
		return nil, errors.New("order ends: no queue named: name the subscriber's own queue (e.g. cfg.QueueName(\"harness\"))")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	kind, err := cfg.Twin.Kind()
	if err != nil {
		return nil, fmt.Errorf("order ends: %w", err)
	}
	q := eda.EndQueueOf(cfg.Queue)
	opts := []bus.Option{bus.WithURL(cfg.Twin.URL), bus.WithExchange(cfg.Twin.Exchange()), bus.WithQueue(q),
		bus.WithConnectionName(cfg.ConnectionName), bus.WithDriverOptions(cfg.Twin.Options), bus.WithLogger(cfg.Logger)}
	if cfg.DialTimeout > 0 {
		opts = append(opts, bus.WithDialTimeout(cfg.DialTimeout))
	}
	if cfg.ConnectTimeout > 0 {
		opts = append(opts, bus.WithConnectTimeout(cfg.ConnectTimeout))
	}
	// Dial's ctx is the connection's lifetime.
	conn, err := bus.Dial(ctx, kind, opts...)
	if err != nil {
		return nil, fmt.Errorf("order ends: %w", err)
	}
	return &Subscription{cfg: cfg, conn: conn, subscribed: bus.NewOnce()}, nil
}

// Run hands every end to on until ctx ends, from one goroutine: on needs
// no locking. An end whose body is not an edabench.v1.Event is
// dead-lettered; an error from on retries the end, bounded.
func (s *Subscription) Run(ctx context.Context, on func(End) error) error {
	opts := bus.ConsumeOptions{Prefetch: 512, Concurrency: 1, ShutdownGrace: s.cfg.ShutdownGrace, Subscribed: s.subscribed.Do}
	return s.conn.Consume(ctx, s.cfg.Queue, opts, func(_ context.Context, d bus.Delivery) error {
		at := time.Now()
		handle := func() error {
			ev := &orderpb.Event{}
			if err := proto.Unmarshal(d.Body, ev); err != nil {
				return bus.Poison(fmt.Errorf("an order end that is not an edabench.v1.Event: %w", err))
			}
			return on(End{OrderID: ev.GetOrder().GetOrderId(), Completed: d.RoutingKey == eda.KeyOrderCompleted,
				Reason: ev.GetReason(), At: at})
		}
		if s.cfg.Timed != nil {
			return s.cfg.Timed(handle)
		}
		return handle()
	})
}

// Subscribed is closed once Run's first subscription is in place: ends
// published from then on reach Run.
func (s *Subscription) Subscribed() <-chan struct{} { return s.subscribed.Done() }

// Close closes the connection.
func (s *Subscription) Close() error { return s.conn.Close() }

// Delete closes the connection and removes the subscriber's queue (and
// its dead-letter queue); the twin's own topology stays.
func (s *Subscription) Delete(ctx context.Context) error {
	kind, err := s.cfg.Twin.Kind()
	if err != nil {
		return errors.Join(s.Close(), err)
	}
	return errors.Join(s.Close(), bus.Delete(ctx, kind, s.cfg.Twin.URL, s.cfg.Twin.Options, "", s.cfg.Queue))
}
