package rabbitmq

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/edabench/edabench/targets/bus"
)

// Driver is the RabbitMQ driver: it owns one publishing and (lazily, on
// the first Subscribe) one consuming AMQP connection, as RabbitMQ
// recommends (a resource alarm blocks publishing connections; acks on the
// consuming one free the very resources the alarm is about). It redials
// each with capped, jittered exponential backoff whenever it is lost, and
// declares the topology again before using a new connection.
type Driver struct {
	cfg    bus.DriverConfig
	opts   Options
	log    *slog.Logger
	obs    bus.Observer
	ctx    context.Context // ends on Close or when Open's ctx ends
	cancel context.CancelFunc

	pub     *link
	sub     *link
	subOnce sync.Once

	topoMu   sync.Mutex
	topo     bus.Topology
	consumer atomic.Uint64 // consumer tag sequence
}

// Kind registers the driver (drivers.Builtin lists it).
func Kind() bus.Kind { return kind() }

// Open connects the publishing connection, retrying for cfg.ConnectTimeout;
// errors a retry cannot fix (authentication) are returned at once.
func Open(ctx context.Context, cfg bus.DriverConfig) (bus.Driver, error) {
	o, err := options(cfg)
	if err != nil {
		return nil, err
	}
	if cfg.URL == "" {
		cfg.URL = DefaultURL
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Observer == nil {
		cfg.Observer = bus.ObserverFunc(func(bus.Event) {})
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = bus.DefaultDialTimeout
	}
	if cfg.BackoffMin <= 0 || cfg.BackoffMax < cfg.BackoffMin {
		cfg.BackoffMin, cfg.BackoffMax = bus.DefaultBackoffMin, bus.DefaultBackoffMax
	}
	o.cluster = len(URLs(cfg.URL)) > 1
	d := &Driver{cfg: cfg, opts: o, obs: cfg.Observer}
	d.log = cfg.Logger.With("component", "bus", "broker", Name, "connection", cfg.ConnectionName)
	d.ctx, d.cancel = context.WithCancel(ctx)
	d.pub = newLink(d, bus.RolePublish)
	d.sub = newLink(d, bus.RoleConsume)
	sess, err := d.pub.connectInitial(ctx)
	if err != nil {
		d.cancel()
		return nil, err
	}
	d.pub.start(sess)
	return d, nil
}

// Declare declares t on the publishing connection now, and remembers it so
// every later connection declares it first. What a retry may fix (a node
// just restarted answers INTERNAL_ERROR for a while, or the connection
// drops) is retried for ConnectTimeout, as the first connection is.
func (d *Driver) Declare(ctx context.Context, t bus.Topology) error {
	d.topoMu.Lock()
	d.topo = t
	d.topoMu.Unlock()
	var deadline <-chan time.Time
	if to := d.cfg.ConnectTimeout; to > 0 {
		timer := time.NewTimer(to)
		defer timer.Stop()
		deadline = timer.C
	}
	for failures := 1; ; failures++ {
		s, err := d.pub.current(ctx)
		if err != nil {
			return err
		}
		err = d.redeclare(s)
		if err == nil || fatalAMQP(err) {
			return refused(err)
		}
		wait := bus.Backoff(d.cfg.BackoffMin, d.cfg.BackoffMax, failures)
		d.log.Debug("bus: declaring the topology failed; retrying", "attempt", failures, "retry_in", wait, "err", err)
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (gave up: %w)", err, ctx.Err())
		case <-deadline:
			return fmt.Errorf("%w (gave up after %s)", err, d.cfg.ConnectTimeout)
		case <-time.After(wait):
		}
	}
}

func (d *Driver) topology() bus.Topology {
	d.topoMu.Lock()
	defer d.topoMu.Unlock()
	return d.topo
}

// Reconnect waits for a live publishing connection.
func (d *Driver) Reconnect(ctx context.Context) error {
	_, err := d.pub.current(ctx)
	return err
}

// Prefetch is the default basic.qos of a consumer.
func (d *Driver) Prefetch() int { return d.opts.Prefetch }

// Close stops reconnecting and closes the AMQP connections. Close is
// idempotent.
func (d *Driver) Close() error {
	d.cancel()
	d.pub.wait()
	d.subOnce.Do(func() {}) // a Subscribe racing with Close must not start the consume link now
	d.sub.wait()
	return nil
}

func (d *Driver) observe(e bus.Event) { d.obs.Observe(e) }

// link supervises one AMQP connection of a role.
type link struct {
	c    *Driver
	role string
	name string

	mu      sync.Mutex
	cur     *session
	changed chan struct{} // closed (and replaced) whenever cur changes

	started atomic.Bool
	done    chan struct{} // closed when the supervisor exits
	// next is the URL (of a cluster's list) the next dial tries first:
	// the one after the last that connected, so a link that lost its
	// node tries another before it.
	next atomic.Int32
}

func newLink(c *Driver, role string) *link {
	return &link{
		c:       c,
		role:    role,
		name:    c.cfg.ConnectionName + "/" + role,
		changed: make(chan struct{}),
		done:    make(chan struct{}),
	}
}

// session is one live AMQP connection with, for the publish role, its confirm-mode channel.
type session struct {
	conn    *amqp.Connection
	pub     *amqp.Channel  // publish role only
	returns *returnTracker // publish role only

	connClosed chan *amqp.Error
	chClosed   chan *amqp.Error // publish role only

	dead     chan struct{} // closed once the connection or the publish channel is gone
	deadOnce sync.Once
	deadErr  error

	flowMu sync.Mutex
	flow   chan struct{} // closed while not blocked by a resource alarm
}

func (s *session) kill(err error) {
	s.deadOnce.Do(func() {
		s.deadErr = err
		close(s.dead)
	})
}

// unblocked returns a channel that is closed while publishing is allowed.
func (s *session) unblocked() <-chan struct{} {
	s.flowMu.Lock()
	defer s.flowMu.Unlock()
	return s.flow
}

func (s *session) setBlocked(blocked bool) {
	s.flowMu.Lock()
	defer s.flowMu.Unlock()
	select {
	case <-s.flow: // currently open
		if blocked {
			s.flow = make(chan struct{})
		}
	default:
		if !blocked {
			close(s.flow)
		}
	}
}

func (l *link) wait() {
	if l.started.Load() {
		<-l.done
	}
}

// start runs the supervisor; first is an already established session or nil.
func (l *link) start(first *session) {
	l.started.Store(true)
	go l.run(first)
}

// current returns the live session, waiting for one until ctx ends or the Conn closes.
func (l *link) current(ctx context.Context) (*session, error) {
	for {
		l.mu.Lock()
		s, changed := l.cur, l.changed
		l.mu.Unlock()
		if s != nil {
			select {
			case <-s.dead: // the supervisor is about to replace it
			default:
				return s, nil
			}
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-l.c.ctx.Done():
			return nil, bus.ErrClosed
		}
	}
}

// setCurrent installs s (nil: none) and wakes everyone waiting in current.
func (l *link) setCurrent(s *session) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cur = s
	close(l.changed)
	l.changed = make(chan struct{})
}

func (l *link) run(first *session) {
	defer close(l.done)
	ctx := l.c.ctx
	sess := first
	everUp := first != nil
	failures := 0
	for {
		if sess == nil {
			if sess = l.redial(ctx, &failures, everUp); sess == nil {
				return
			}
			everUp = true
		}
		l.setCurrent(sess)
		upSince := time.Now()
		select {
		case <-ctx.Done():
			l.setCurrent(nil)
			sess.kill(bus.ErrClosed)
			_ = sess.conn.CloseDeadline(time.Now().Add(2 * time.Second))
			return
		case <-sess.dead:
		}
		l.lost(sess)
		sess = nil
		// The first redial after a loss waits the minimum backoff; a
		// connection that dies right after it came up (flapping, or a
		// broker refusing us) keeps backing off instead of spinning.
		if time.Since(upSince) < 5*time.Second {
			failures++
		} else {
			failures = 0
		}
		if !bus.Sleep(ctx, bus.Backoff(l.c.cfg.BackoffMin, l.c.cfg.BackoffMax, failures+1)) {
			return
		}
	}
}

// lost reports a dead session and closes what is left of it.
func (l *link) lost(sess *session) {
	l.setCurrent(nil)
	err := sess.deadErr
	l.c.log.Warn("bus: connection lost; reconnecting", "role", l.role, "err", err)
	l.c.observe(bus.Event{Kind: bus.EventDisconnected, Role: l.role, Err: err})
	if !sess.conn.IsClosed() { // only the publish channel died
		_ = sess.conn.CloseDeadline(time.Now().Add(2 * time.Second))
	}
}

// redial connects until it succeeds (nil once ctx ended), backing off.
func (l *link) redial(ctx context.Context, failures *int, everUp bool) *session {
	for {
		sess, err := l.connect(ctx)
		if err == nil {
			kind := bus.EventConnected
			if everUp {
				kind = bus.EventReconnected
			}
			l.c.log.Info("bus: connected", "role", l.role, "after_failures", *failures, "reconnect", everUp)
			l.c.observe(bus.Event{Kind: kind, Role: l.role})
			return sess
		}
		if ctx.Err() != nil {
			return nil
		}
		*failures++
		d := bus.Backoff(l.c.cfg.BackoffMin, l.c.cfg.BackoffMax, *failures)
		l.c.observe(bus.Event{Kind: bus.EventDialFailed, Role: l.role, Err: err})
		lvl := slog.LevelWarn
		if *failures > 1 && *failures%10 != 0 {
			lvl = slog.LevelDebug // don't flood the log while the broker is down
		}
		l.c.log.Log(ctx, lvl, "bus: connect failed; retrying", "role", l.role, "attempt", *failures, "retry_in", d, "err", err)
		if !bus.Sleep(ctx, d) {
			return nil
		}
	}
}

// connectInitial is Dial's synchronous first connection with bounded retries.
func (l *link) connectInitial(ctx context.Context) (*session, error) {
	var deadline <-chan time.Time
	if t := l.c.cfg.ConnectTimeout; t > 0 {
		timer := time.NewTimer(t)
		defer timer.Stop()
		deadline = timer.C
	}
	for failures := 1; ; failures++ {
		s, err := l.connect(ctx)
		if err == nil {
			l.c.log.Info("bus: connected", "role", l.role, "url", redactURL(l.c.cfg.URL))
			l.c.observe(bus.Event{Kind: bus.EventConnected, Role: l.role})
			return s, nil
		}
		l.c.observe(bus.Event{Kind: bus.EventDialFailed, Role: l.role, Err: err})
		if fatalAMQP(err) {
			return nil, refused(err)
		}
		d := bus.Backoff(l.c.cfg.BackoffMin, l.c.cfg.BackoffMax, failures)
		l.c.log.Debug("bus: connect failed; retrying", "role", l.role, "attempt", failures, "retry_in", d, "err", err)
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w (gave up: %w)", err, ctx.Err())
		case <-deadline:
			return nil, fmt.Errorf("%w (gave up after %s)", err, l.c.cfg.ConnectTimeout)
		case <-time.After(d):
		}
	}
}

// connect dials once, declares the topology and sets up the role's channel.
func (l *link) connect(ctx context.Context) (*session, error) {
	conn, err := l.dial(ctx)
	if err != nil {
		return nil, err
	}
	s, err := l.open(conn)
	if err != nil {
		_ = conn.CloseDeadline(time.Now().Add(time.Second))
		return nil, err
	}
	l.watch(s)
	return s, nil
}

// dial makes one AMQP connection to the first of the driver's URLs that
// takes it (a cluster lists every member), starting after the one that
// connected last; each TCP connect and handshake is bounded by
// DialTimeout.
func (l *link) dial(ctx context.Context) (*amqp.Connection, error) {
	urls := URLs(l.c.cfg.URL)
	start := int(l.next.Load())
	var errs []error
	for k := range urls {
		i := (start + k) % len(urls)
		conn, err := l.dialOne(ctx, urls[i])
		if err == nil {
			l.next.Store(int32((i + 1) % len(urls)))
			return conn, nil
		}
		errs = append(errs, dialHint(urls[i], l.name, err))
		if fatalAMQP(err) || ctx.Err() != nil {
			break // a refused login is refused by every member
		}
	}
	if len(errs) == 1 {
		return nil, errs[0]
	}
	return nil, errors.Join(errs...)
}

// dialOne makes one AMQP connection to url.
func (l *link) dialOne(ctx context.Context, url string) (*amqp.Connection, error) {
	cfg := &l.c.cfg
	props := amqp.NewConnectionProperties()
	props.SetClientConnectionName(l.name)
	return amqp.DialConfig(url, amqp.Config{
		Heartbeat:  l.c.opts.Heartbeat,
		Locale:     "en_US",
		Properties: props,
		Dial: func(network, addr string) (net.Conn, error) {
			d := net.Dialer{Timeout: cfg.DialTimeout, KeepAlive: 30 * time.Second}
			nc, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			// Bound the AMQP handshake; amqp091 clears the deadline once open.
			if err := nc.SetDeadline(time.Now().Add(cfg.DialTimeout)); err != nil {
				nc.Close()
				return nil, err
			}
			return nc, nil
		},
	})
}

// open declares the topology on a new connection and, for the publish
// role, opens the confirm-mode channel.
func (l *link) open(conn *amqp.Connection) (*session, error) {
	ch, err := conn.Channel()
	if err != nil {
		return nil, fmt.Errorf("rabbitmq: opening a channel on %s: %w", l.name, err)
	}
	if err := declareTopology(ch, l.c.topology(), l.c.opts); err != nil {
		return nil, err
	}
	s := &session{conn: conn, dead: make(chan struct{}), flow: make(chan struct{})}
	close(s.flow)
	s.connClosed = conn.NotifyClose(make(chan *amqp.Error, 1))
	if l.role != bus.RolePublish {
		_ = ch.Close()
		return s, nil
	}
	if err := ch.Confirm(false); err != nil {
		return nil, fmt.Errorf("rabbitmq: enabling publisher confirms on %s: %w", l.name, err)
	}
	s.pub = ch
	s.chClosed = ch.NotifyClose(make(chan *amqp.Error, 1))
	s.returns = newReturnTracker(ch.NotifyReturn(make(chan amqp.Return, 256)))
	return s, nil
}

// watch follows the broker's flow control and marks s dead when its
// connection (or publish channel) closes.
func (l *link) watch(s *session) {
	blocks := s.conn.NotifyBlocked(make(chan amqp.Blocking, 4))
	go func() {
		for b := range blocks {
			s.setBlocked(b.Active)
			if b.Active {
				l.c.log.Warn("bus: broker blocked the connection (resource alarm); publishing paused", "role", l.role, "reason", b.Reason)
				l.c.observe(bus.Event{Kind: bus.EventBlocked, Role: l.role})
			} else {
				l.c.log.Info("bus: broker unblocked the connection", "role", l.role)
				l.c.observe(bus.Event{Kind: bus.EventUnblocked, Role: l.role})
			}
		}
	}()
	go func() {
		var e *amqp.Error
		var what string
		select {
		case e = <-s.connClosed:
			what = "connection closed"
		case e = <-s.chClosed: // nil channel for the consume role
			what = "publish channel closed"
		}
		if e != nil {
			s.kill(fmt.Errorf("%s: %w", what, e))
		} else {
			s.kill(fmt.Errorf("%s", what))
		}
	}()
}

// declareTopology idempotently declares exchanges, queues, DLQs and
// bindings; a zero topology declares nothing.
func declareTopology(ch *amqp.Channel, t bus.Topology, o Options) error {
	if t.Exchange == "" {
		return nil
	}
	if err := ch.ExchangeDeclare(t.Exchange, amqp.ExchangeTopic, true, false, false, false, nil); err != nil {
		return fmt.Errorf("rabbitmq: declaring exchange %q: %w", t.Exchange, err)
	}
	if len(t.Queues) == 0 {
		return nil
	}
	if err := ch.ExchangeDeclare(dlx(t.Exchange), amqp.ExchangeDirect, true, false, false, false, nil); err != nil {
		return fmt.Errorf("rabbitmq: declaring dead-letter exchange %q: %w", dlx(t.Exchange), err)
	}
	for _, q := range t.Queues {
		if err := declareQueue(ch, t.Exchange, q, o.typeOf(q)); err != nil {
			return err
		}
	}
	return nil
}

func declareQueue(ch *amqp.Channel, exchange string, q bus.Queue, typ QueueType) error {
	dlq := bus.DLQName(q.Name)
	if _, err := ch.QueueDeclare(dlq, true, false, false, false, amqp.Table{amqp.QueueTypeArg: string(typ)}); err != nil {
		return fmt.Errorf("rabbitmq: declaring dead-letter queue %q: %w", dlq, err)
	}
	if err := ch.QueueBind(dlq, q.Name, dlx(exchange), false, nil); err != nil {
		return fmt.Errorf("rabbitmq: binding %q to %q: %w", dlq, dlx(exchange), err)
	}
	if _, err := ch.QueueDeclare(q.Name, true, false, false, false, queueArgs(q, exchange, typ)); err != nil {
		return fmt.Errorf("rabbitmq: declaring queue %q (a queue declared earlier with other arguments must be deleted first): %w", q.Name, err)
	}
	for _, key := range q.Bindings {
		if err := ch.QueueBind(q.Name, key, exchange, false, nil); err != nil {
			return fmt.Errorf("rabbitmq: binding queue %q to %q with key %q: %w", q.Name, exchange, key, err)
		}
	}
	return nil
}

func queueArgs(q bus.Queue, exchange string, typ QueueType) amqp.Table {
	args := amqp.Table{
		amqp.QueueTypeArg:           string(typ),
		"x-dead-letter-exchange":    dlx(exchange),
		"x-dead-letter-routing-key": q.Name,
	}
	if typ == Quorum {
		// Broker-side bound: after MaxAttempts deliveries the broker
		// dead-letters the message, even if the consumer crashes on it.
		args["x-delivery-limit"] = int64(max(q.MaxAttempts, 1) - 1)
		// At-least-once dead-lettering (RabbitMQ >= 3.10): the message leaves
		// the source queue only once the DLQ has confirmed it. Requires
		// reject-publish overflow (inert here, as no length limit is set).
		args["x-dead-letter-strategy"] = "at-least-once"
		args["x-overflow"] = "reject-publish"
	}
	return args
}

// redeclare declares the topology again on a live session (e.g. after a
// queue was deleted under a running consumer).
func (d *Driver) redeclare(s *session) error {
	ch, err := s.conn.Channel()
	if err != nil {
		return err
	}
	defer ch.Close()
	return declareTopology(ch, d.topology(), d.opts)
}

// QueueStats reads a queue's depth with a passive declare (which never
// creates the queue). A missing queue yields an error wrapping the 404.
func (d *Driver) QueueStats(ctx context.Context, queue string) (bus.QueueStats, error) {
	s, err := d.pub.current(ctx)
	if err != nil {
		return bus.QueueStats{}, fmt.Errorf("rabbitmq: queue stats for %q: %w", queue, err)
	}
	ch, err := s.conn.Channel()
	if err != nil {
		return bus.QueueStats{}, fmt.Errorf("rabbitmq: queue stats for %q: opening channel: %w", queue, err)
	}
	defer ch.Close() // a 404 closes the channel: it is never reused
	q, err := ch.QueueDeclarePassive(queue, true, false, false, false, nil)
	if err != nil {
		return bus.QueueStats{}, fmt.Errorf("rabbitmq: queue stats for %q: %w", queue, err)
	}
	return bus.QueueStats{Messages: q.Messages, Consumers: q.Consumers}, nil
}
