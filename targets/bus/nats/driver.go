package nats

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/edabench/edabench/targets/bus"
)

// defaultDialTimeout bounds one connection attempt when the config sets none.
const defaultDialTimeout = 10 * time.Second

// DialFunc dials one TCP connection for the client called name (a test
// records them to cut them, as a network fault would).
type DialFunc func(ctx context.Context, name, network, addr string) (net.Conn, error)

// Kind is the NATS driver for the registry.
func Kind() bus.Kind { return KindDialing(nil) }

// KindDialing is the driver dialing through dial (nil: plain TCP).
func KindDialing(dial DialFunc) bus.Kind {
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

// driver is one service's NATS client: one connection, on which every
// publish, subscription and advisory listener runs.
type driver struct {
	cfg    bus.DriverConfig
	opts   Options
	log    *slog.Logger
	obs    bus.Observer
	ctx    context.Context // ends on Close or when Open's ctx ends
	cancel context.CancelFunc
	nc     *natsgo.Conn
	js     jetstream.JetStream

	mu                 sync.Mutex
	lost               chan struct{} // closed when the connection in use drops; replaced on reconnect
	topo               bus.Topology
	subs               map[*subscription]bool
	dlq                map[string]jetstream.ConsumeContext // max-deliveries advisory movers, by queue
	consLost, consumed bool
	closed             bool
}

type dialer struct {
	ctx  context.Context
	name string
	dial DialFunc
	to   time.Duration
}

func (d dialer) Dial(network, addr string) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(d.ctx, d.to)
	defer cancel()
	if d.dial != nil {
		return d.dial(ctx, d.name, network, addr)
	}
	var nd net.Dialer
	return nd.DialContext(ctx, network, addr)
}

func open(ctx context.Context, cfg bus.DriverConfig, dial DialFunc) (bus.Driver, error) {
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
	d := &driver{cfg: cfg, opts: o, obs: cfg.Observer, lost: make(chan struct{}), subs: map[*subscription]bool{},
		dlq: map[string]jetstream.ConsumeContext{}, log: cfg.Logger.With("driver", Name, "connection", cfg.ConnectionName)}
	d.ctx, d.cancel = context.WithCancel(ctx)
	if err := d.connect(ctx, dial); err != nil {
		d.cancel()
		return nil, err
	}
	d.obs.Observe(bus.Event{Kind: bus.EventConnected, Role: bus.RolePublish})
	return d, nil
}

// connect dials until the server answers, for ConnectTimeout.
func (d *driver) connect(ctx context.Context, dial DialFunc) error {
	if d.cfg.ConnectTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d.cfg.ConnectTimeout)
		defer cancel()
	}
	addr := serverURL(d.cfg.URL)
	opts := []natsgo.Option{
		natsgo.Name(d.cfg.ConnectionName),
		natsgo.SetCustomDialer(dialer{ctx: d.ctx, name: d.cfg.ConnectionName, dial: dial, to: d.cfg.DialTimeout}),
		natsgo.Timeout(d.cfg.DialTimeout),
		// Only the URLs given: a server of a cluster gossips its peers'
		// client URLs (connect_urls), and a client that added them would
		// reconnect to a peer directly, around the proxy a network fault
		// acts through (TestEveryConnectionCrossesTheProxy).
		natsgo.IgnoreDiscoveredServers(),
		natsgo.PingInterval(d.opts.PingInterval),
		natsgo.MaxPingsOutstanding(maxPingsOut),
		natsgo.MaxReconnects(-1), // later reconnects never give up
		natsgo.CustomReconnectDelay(func(n int) time.Duration { return bus.Backoff(d.cfg.BackoffMin, d.cfg.BackoffMax, n) }),
		// No reconnect buffer: a publish while the connection is down
		// fails at once (the layer republishes after Reconnect) rather
		// than sitting in a buffer nobody confirms.
		natsgo.ReconnectBufSize(-1),
		natsgo.DisconnectErrHandler(d.disconnected),
		natsgo.ReconnectHandler(d.reconnected),
		natsgo.ErrorHandler(func(_ *natsgo.Conn, _ *natsgo.Subscription, err error) {
			d.log.Debug("nats: asynchronous error", "err", err)
		}),
	}
	for n := 1; ; n++ {
		nc, err := natsgo.Connect(addr, opts...)
		if err == nil {
			js, jerr := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(d.opts.MaxPending))
			if jerr != nil {
				nc.Close()
				return fmt.Errorf("nats: JetStream client for %s: %w", addr, jerr)
			}
			d.nc, d.js = nc, js
			return nil
		}
		d.obs.Observe(bus.Event{Kind: bus.EventDialFailed, Role: bus.RolePublish, Err: err})
		if !bus.Sleep(ctx, bus.Backoff(d.cfg.BackoffMin, d.cfg.BackoffMax, n)) {
			return fmt.Errorf("nats: no server answered at %s (connection %q): %w (last error: %w); is the node up? "+
				"go run ./harness/cmd/brokerctl up --broker nats (after make nats)", addr, d.cfg.ConnectionName, ctx.Err(), err)
		}
	}
}

func (d *driver) disconnected(_ *natsgo.Conn, err error) {
	d.mu.Lock()
	select {
	case <-d.lost:
	default:
		close(d.lost)
	}
	closed := d.closed
	d.mu.Unlock()
	if !closed && d.ctx.Err() == nil {
		d.obs.Observe(bus.Event{Kind: bus.EventDisconnected, Role: bus.RolePublish, Err: err})
	}
}

func (d *driver) reconnected(*natsgo.Conn) {
	d.mu.Lock()
	select {
	case <-d.lost:
		d.lost = make(chan struct{})
	default:
	}
	d.mu.Unlock()
	d.obs.Observe(bus.Event{Kind: bus.EventReconnected, Role: bus.RolePublish})
}

// live is the current connection's loss signal, or an error when it is
// down already. The signal is taken before the status is read, so a drop
// after the read still closes it.
func (d *driver) live() (<-chan struct{}, error) {
	d.mu.Lock()
	lost := d.lost
	d.mu.Unlock()
	if d.ctx.Err() != nil || d.nc.IsClosed() {
		return nil, bus.ErrClosed
	}
	if !d.nc.IsConnected() {
		return nil, fmt.Errorf("%w: nats: connection %q to %s is down", bus.ErrConnectionLost, d.cfg.ConnectionName, serverURL(d.cfg.URL))
	}
	return lost, nil
}

// Reconnect returns once the connection is up again, with the topology
// declared.
func (d *driver) Reconnect(ctx context.Context) error {
	for !d.nc.IsConnected() {
		if d.ctx.Err() != nil || d.nc.IsClosed() {
			return bus.ErrClosed
		}
		if !bus.Sleep(ctx, 20*time.Millisecond) {
			return fmt.Errorf("nats: reconnect to %s: %w", serverURL(d.cfg.URL), ctx.Err())
		}
	}
	d.mu.Lock()
	t := d.topo
	d.mu.Unlock()
	return d.declare(ctx, t)
}

// Prefetch is the default bound of deliveries in flight per subscription.
func (d *driver) Prefetch() int { return d.opts.Prefetch }

// Close ends every subscription and the connection; it is idempotent.
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
	movers := make([]jetstream.ConsumeContext, 0, len(d.dlq))
	for _, cc := range d.dlq {
		movers = append(movers, cc)
	}
	d.mu.Unlock()
	for _, s := range subs {
		s.end(bus.ErrClosed)
		_ = s.Close()
	}
	for _, cc := range movers {
		cc.Stop()
	}
	d.cancel()
	d.nc.Close()
	return nil
}

// apiErr is a failed JetStream API call in the contract's terms: a
// refusal no retry can fix, or a lost connection.
func apiErr(what string, err error) error {
	var ae *jetstream.APIError
	if errors.As(err, &ae) && ae.Code >= 400 && ae.Code < 500 && ae.Code != 408 {
		return fmt.Errorf("%w: nats: %s: %w", bus.ErrRefused, what, err)
	}
	return fmt.Errorf("%w: nats: %s: %w", bus.ErrConnectionLost, what, err)
}
