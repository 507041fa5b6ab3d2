package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
)

// Connection roles of the connection events. A driver may keep publishing
// and consuming on separate connections (RabbitMQ does: a resource alarm
// blocks publishing connections, and acks must not wait behind it).
const (
	RolePublish = "publish"
	RoleConsume = "consume"
)

// Conn is the layer every service talks to the broker through: a driver
// underneath, and the rules above it that no driver may bend (see Publish
// and Consume). It is safe for concurrent use.
type Conn struct {
	kind   Kind
	opts   Options
	topo   Topology
	d      Driver
	log    *slog.Logger
	obs    Observer
	ctx    context.Context // ends on Close or when Dial's ctx ends
	cancel context.CancelFunc
}

// Dial opens kind's driver, declares the topology and returns a Conn that
// stays connected (the driver redials whatever it loses) until ctx ends or
// Close is called. The first connection is retried with backoff for
// Options.ConnectTimeout; what a retry cannot fix (credentials, a queue
// declared earlier with other arguments) is returned at once.
func Dial(ctx context.Context, kind Kind, opts ...Option) (*Conn, error) {
	var o Options
	for _, opt := range opts {
		opt(&o)
	}
	if err := o.applyDefaults(); err != nil {
		return nil, err
	}
	if kind.Open == nil {
		return nil, errors.New("bus: Dial without a driver: pass one from drivers.Builtin().Lookup(name)")
	}
	if o.Driver != nil && o.Driver.Broker() != kind.Name {
		return nil, fmt.Errorf("bus: options for broker %q given to the %q driver", o.Driver.Broker(), kind.Name)
	}
	c := &Conn{kind: kind, opts: o, obs: o.Observer, topo: Topology{Exchange: o.Exchange, Queues: o.Queues}}
	c.log = o.Logger.With("component", "bus", "broker", kind.Name, "connection", o.ConnectionName)
	c.ctx, c.cancel = context.WithCancel(ctx)
	d, err := kind.Open(c.ctx, o.driverConfig())
	if err != nil {
		c.cancel()
		return nil, err
	}
	if err := d.Declare(ctx, c.topo); err != nil {
		c.cancel()
		_ = d.Close()
		return nil, err
	}
	c.d = d
	return c, nil
}

// Name is the configured connection name.
func (c *Conn) Name() string { return c.opts.ConnectionName }

// Exchange is the topic exchange Publish uses.
func (c *Conn) Exchange() string { return c.opts.Exchange }

// Broker is the driver's name, the value of the metrics' broker label.
func (c *Conn) Broker() string { return c.kind.Name }

// Close stops reconnecting and closes the driver. In-flight Publish calls
// fail with ErrClosed; running Consume calls return ErrClosed. Close is
// idempotent.
func (c *Conn) Close() error {
	c.cancel()
	return c.d.Close()
}

func (c *Conn) observe(e Event) { c.obs.Observe(e) }

// QueueStats reads a queue's depth, where the driver can.
func (c *Conn) QueueStats(ctx context.Context, queue string) (QueueStats, error) {
	sr, ok := c.d.(StatsReader)
	if !ok {
		return QueueStats{}, fmt.Errorf("bus: the %s driver cannot read queue depths", c.kind.Name)
	}
	return sr.QueueStats(ctx, queue)
}

// Delete removes queues (with their dead-letter queues) and, if exchange is
// not empty, the exchange, through kind's driver: for a topology whose
// consumers stopped, so a broker shared by many runs does not collect idle
// queues.
func Delete(ctx context.Context, kind Kind, url string, d DriverOptions, exchange string, queues ...string) error {
	t := Topology{Exchange: exchange}
	for _, q := range queues {
		t.Queues = append(t.Queues, Queue{Name: q})
	}
	if kind.Delete == nil {
		return fmt.Errorf("bus: delete queues: no driver given")
	}
	return kind.Delete(ctx, DriverConfig{URL: url, DialTimeout: DefaultDialTimeout, Logger: slog.Default(), Observer: nopObserver{}, Options: d}, t)
}
