package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/edabench/edabench/targets/bus"
)

// defaultDialTimeout bounds one connection attempt when the config sets none.
const defaultDialTimeout = 10 * time.Second

// declareWait bounds the wait for declared topics to be served.
const declareWait = 30 * time.Second

// Kind is the Kafka driver for the registry.
func Kind() bus.Kind { return kind(nil) }

// kind is the driver dialing through dial (nil: plain TCP).
func kind(dial dialFunc) bus.Kind {
	return withBackbone(bus.Kind{
		Name: Name,
		Open: func(ctx context.Context, cfg bus.DriverConfig) (bus.Driver, error) {
			return open(ctx, cfg, dial)
		},
		Delete: func(ctx context.Context, cfg bus.DriverConfig, t bus.Topology) error {
			return deleteTopology(ctx, cfg, dial, t)
		},
	})
}

// driver is one service's Kafka client: a producer client for publishes,
// retries and dead letters, and a consumer client per subscription (a
// consumer group member each).
type driver struct {
	cfg    bus.DriverConfig
	opts   Options
	log    *slog.Logger
	obs    bus.Observer
	dial   dialFunc
	ctx    context.Context // ends on Close or when Open's ctx ends
	cancel context.CancelFunc
	prod   *kgo.Client
	adm    *kadm.Client

	pubLost  atomic.Bool // a producer connection failed and none was dialed since
	consLost atomic.Bool // a subscription ended on a lost connection
	consumed atomic.Bool // a subscription started once

	mu     sync.Mutex
	topo   bus.Topology
	subs   map[*subscription]bool
	closed bool
}

func open(ctx context.Context, cfg bus.DriverConfig, dial dialFunc) (bus.Driver, error) {
	o, err := options(cfg)
	if err != nil {
		return nil, err
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = defaultDialTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Observer == nil {
		cfg.Observer = bus.ObserverFunc(func(bus.Event) {})
	}
	if dial == nil {
		dial = netDial(cfg.DialTimeout)
	}
	seed, err := o.viaSeed(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("kafka: %w", err)
	}
	if seed != "" {
		dial = pinned(dial, seed)
	}
	d := &driver{cfg: cfg, opts: o, dial: dial, obs: cfg.Observer, subs: map[*subscription]bool{},
		log: cfg.Logger.With("driver", Name, "connection", cfg.ConnectionName)}
	d.ctx, d.cancel = context.WithCancel(ctx)
	// Idempotence (franz-go's default, spelled out) makes the client's own
	// retries of a batch dedupe on the broker, so a retry on a new
	// connection is the same write, never a second copy; acks=all makes an
	// acknowledgement mean every in-sync replica has the record.
	prod, err := kgo.NewClient(d.clientOpts(bus.RolePublish, d.publishDialed, d.publishLost,
		kgo.RequiredAcks(kgo.AllISRAcks()), kgo.ProducerLinger(o.Linger), kgo.ProducerBatchMaxBytes(o.BatchBytes))...)
	if err != nil {
		d.cancel()
		return nil, fmt.Errorf("kafka: producer client for %s: %w", d.addr(), err)
	}
	d.prod, d.adm = prod, kadm.NewClient(prod)
	if err := d.firstPing(ctx); err != nil {
		_ = d.Close()
		return nil, err
	}
	d.obs.Observe(bus.Event{Kind: bus.EventConnected, Role: bus.RolePublish})
	return d, nil
}

// clientOpts are the options every client of the driver shares.
func (d *driver) clientOpts(role string, dialed func(), lost func(error), extra ...kgo.Opt) []kgo.Opt {
	opts := append([]kgo.Opt{
		kgo.SeedBrokers(seeds(d.cfg.URL)...),
		kgo.ClientID(clientID(d.cfg.ConnectionName)),
		kgo.Dialer(watchingDialer(d.dial, d.cfg.ConnectionName, dialed, lost)),
		kgo.WithLogger(kgoLogger{d.log.With("role", role)}),
	}, d.opts.Metrics.hooks()...)
	if min, max := d.cfg.BackoffMin, d.cfg.BackoffMax; min > 0 && max > 0 {
		// The bus's reconnect backoff (capped at 1 s by default) instead
		// of franz-go's 250 ms to 5 s: after a broker-restart the clients
		// retry a node that serves again at most this far apart. With
		// the 5 s cap the EDA twin's first acceptance came 1.1 and 2.3 s
		// after the node served (2026-12-05, load 11-16).
		opts = append(opts, kgo.RetryBackoffFn(func(fails int) time.Duration { return bus.Backoff(min, max, fails) }))
	}
	return append(opts, extra...)
}

// clientID is the name the broker's request logs and quotas show.
func clientID(name string) string {
	if name == "" {
		return "edabench"
	}
	return name
}

func (d *driver) addr() string { return strings.Join(seeds(d.cfg.URL), ",") }

func (d *driver) publishLost(err error) {
	if d.ctx.Err() == nil && d.pubLost.CompareAndSwap(false, true) {
		d.obs.Observe(bus.Event{Kind: bus.EventDisconnected, Role: bus.RolePublish, Err: err})
	}
}

func (d *driver) publishDialed() {
	if d.pubLost.CompareAndSwap(true, false) {
		d.obs.Observe(bus.Event{Kind: bus.EventReconnected, Role: bus.RolePublish})
	}
}

// firstPing waits for a broker to answer, for the config's ConnectTimeout.
func (d *driver) firstPing(ctx context.Context) error {
	if d.cfg.ConnectTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d.cfg.ConnectTimeout)
		defer cancel()
	}
	if err := d.ping(ctx); err != nil {
		return fmt.Errorf("kafka: no broker answered at %s (connection %q): %w; is the node up? "+
			"go run ./harness/cmd/brokerctl up --broker kafka (after make kafka)", d.addr(), d.cfg.ConnectionName, err)
	}
	return nil
}

// ping asks for metadata until a broker answers or ctx ends.
func (d *driver) ping(ctx context.Context) error {
	for n := 1; ; n++ {
		if d.ctx.Err() != nil {
			return bus.ErrClosed
		}
		pctx, cancel := context.WithTimeout(ctx, d.cfg.DialTimeout)
		err := d.prod.Ping(pctx)
		cancel()
		if err == nil {
			return nil
		}
		d.obs.Observe(bus.Event{Kind: bus.EventDialFailed, Role: bus.RolePublish, Err: err})
		if !bus.Sleep(ctx, bus.Backoff(d.cfg.BackoffMin, d.cfg.BackoffMax, n)) {
			return fmt.Errorf("%w (last error: %w)", ctx.Err(), err)
		}
	}
}

// Declare creates the topic of every queue and of its dead-letter queue,
// and keeps the bindings: Kafka has no exchange, so the driver routes.
func (d *driver) Declare(ctx context.Context, t bus.Topology) error {
	if err := d.createTopics(ctx, t); err != nil {
		return err
	}
	d.mu.Lock()
	d.topo = t
	d.mu.Unlock()
	return nil
}

func (d *driver) createTopics(ctx context.Context, t bus.Topology) error {
	var names []string
	for _, q := range t.Queues {
		names = append(names, q.Name, bus.DLQName(q.Name))
	}
	if len(names) == 0 {
		return nil
	}
	// The broker's own replication factor and min.insync.replicas
	// (-1, no configs): one replica on the single private node, three
	// with an acknowledgement needing two on the private cluster.
	res, err := d.adm.CreateTopics(ctx, d.opts.Partitions, -1, nil, names...)
	if err != nil {
		return fmt.Errorf("%w: kafka: create topics %s at %s: %w", bus.ErrConnectionLost, strings.Join(names, ", "), d.addr(), err)
	}
	var errs []error
	for _, r := range res.Sorted() {
		if r.Err != nil && !errors.Is(r.Err, kerr.TopicAlreadyExists) {
			errs = append(errs, fmt.Errorf("topic %s: %w", r.Topic, r.Err))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: kafka: declare at %s: %w", bus.ErrRefused, d.addr(), errors.Join(errs...))
	}
	return d.awaitTopics(ctx, names)
}

// awaitTopics waits until every topic has a leader for each partition:
// a created topic reaches the brokers' metadata a moment after the
// controller acknowledged it, and a consumer or producer arriving in
// between would be told it does not exist.
func (d *driver) awaitTopics(ctx context.Context, names []string) error {
	ctx, cancel := context.WithTimeout(ctx, declareWait)
	defer cancel()
	for {
		td, err := d.adm.ListTopics(ctx, names...)
		missing := ""
		if err == nil {
			for _, n := range names {
				if t, ok := td[n]; !ok || t.Err != nil || !led(t) {
					missing = n
					break
				}
			}
		}
		if err == nil && missing == "" {
			return nil
		}
		if !bus.Sleep(ctx, 50*time.Millisecond) {
			return fmt.Errorf("%w: kafka: topic %q at %s not ready within %s (metadata error: %v)", bus.ErrConnectionLost, missing, d.addr(), declareWait, err)
		}
	}
}

func led(t kadm.TopicDetail) bool {
	if len(t.Partitions) == 0 {
		return false
	}
	for _, p := range t.Partitions {
		if p.Err != nil || p.Leader < 0 {
			return false
		}
	}
	return true
}

// route is the queue topics whose bindings take key, as a topic exchange
// would pick the queues.
func (d *driver) route(key string) (topics []string, exchange string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, q := range d.topo.Queues {
		if bus.MatchesBinding(q.Bindings, key) {
			topics = append(topics, q.Name)
		}
	}
	return topics, d.topo.Exchange
}

// Publish produces m to every queue topic its routing key reaches and
// returns once Kafka acknowledged every copy.
func (d *driver) Publish(ctx context.Context, m bus.Outgoing) error {
	if d.ctx.Err() != nil {
		return fmt.Errorf("kafka: publish %s: %w", m.MessageID, bus.ErrClosed)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	topics, exchange := d.route(m.RoutingKey)
	if len(topics) == 0 {
		if m.Mandatory {
			return fmt.Errorf("%w: kafka: no queue of %q is bound for routing key %q", bus.ErrUnroutable, exchange, m.RoutingKey)
		}
		return nil // as an exchange drops what no queue takes
	}
	recs := make([]*kgo.Record, len(topics))
	for i, t := range topics {
		recs[i] = newRecord(t, exchange, m)
	}
	return d.produce(ctx, recs...)
}

// produce writes recs and waits for every acknowledgement.
func (d *driver) produce(ctx context.Context, recs ...*kgo.Record) error {
	err := d.prod.ProduceSync(ctx, recs...).FirstErr()
	if err == nil {
		return nil
	}
	return produceErr(err, ctx.Err(), d.ctx.Err() != nil, recs[0].Topic, d.addr())
}

// produceErr is a failed produce in the contract's terms: ctxErr is the
// caller's ctx error, closed whether the driver is closed.
func produceErr(err, ctxErr error, closed bool, topic, addr string) error {
	var ke *kerr.Error
	switch {
	case errors.Is(err, kgo.ErrClientClosed) || closed:
		return fmt.Errorf("%w: kafka: producing to %s: %w", bus.ErrClosed, topic, err)
	case ctxErr != nil:
		return fmt.Errorf("%w: kafka: no acknowledgement from %s before the deadline: %w", bus.ErrUnconfirmed, topic, ctxErr)
	case errors.As(err, &ke) && !ke.Retriable:
		return fmt.Errorf("%w: kafka: %s refused the record: %w", bus.ErrNotPublished, topic, err)
	default:
		// The client gave up on a batch it may have written: the layer
		// reconnects and publishes again (the same identity).
		return fmt.Errorf("%w: %w: kafka: producing to %s at %s: %w", bus.ErrConnectionLost, bus.ErrUnconfirmed, topic, addr, err)
	}
}

// Reconnect returns once a broker answers again, with the topology declared.
func (d *driver) Reconnect(ctx context.Context) error {
	if err := d.ping(ctx); err != nil {
		if errors.Is(err, bus.ErrClosed) {
			return err
		}
		return fmt.Errorf("kafka: reconnect to %s: %w", d.addr(), err)
	}
	d.mu.Lock()
	t := d.topo
	d.mu.Unlock()
	return d.createTopics(ctx, t)
}

// Prefetch is the default bound of records in flight per subscription.
func (d *driver) Prefetch() int { return d.opts.Prefetch }

// Close ends every subscription and the producer; it is idempotent.
func (d *driver) Close() error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.closed = true
	subs := make([]*subscription, 0, len(d.subs))
	for s := range d.subs {
		subs = append(subs, s)
	}
	d.mu.Unlock()
	d.cancel()
	for _, s := range subs {
		s.end(bus.ErrClosed)
		_ = s.Close()
	}
	if d.prod != nil {
		d.prod.Close()
	}
	return nil
}
