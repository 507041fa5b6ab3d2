package bus

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// Connection roles. Publishing and consuming use separate AMQP connections,
// as RabbitMQ recommends: when a resource alarm blocks a publishing
// connection, acks flowing on the consuming connection (which free the very
// resources the alarm is about) are not blocked with it.
const (
	RolePublish = "publish"
	RoleConsume = "consume"
)

// Conn is a self-healing RabbitMQ client: it owns one publishing and (lazily,
// on the first Consume) one consuming AMQP connection, redials each with
// capped, jittered exponential backoff whenever it is lost, and re-declares
// the topology before using a new connection. It is safe for concurrent use.
type Conn struct {
	opts   Options
	log    *slog.Logger
	obs    Observer
	ctx    context.Context // ends on Close or when Dial's ctx ends
	cancel context.CancelFunc

	pub     *link
	sub     *link
	subOnce sync.Once

	queues   map[string]Queue
	consumer atomic.Uint64 // consumer tag sequence
}

// Dial connects to RabbitMQ, declares the topology and returns a Conn that
// stays connected until ctx ends or Close is called. The first connection is
// retried with backoff for Options.ConnectTimeout; errors a retry cannot fix
// (authentication, topology argument mismatch) are returned at once.
func Dial(ctx context.Context, opts ...Option) (*Conn, error) {
	var o Options
	for _, opt := range opts {
		opt(&o)
	}
	if err := o.applyDefaults(); err != nil {
		return nil, err
	}
	c := &Conn{
		opts:   o,
		obs:    o.Observer,
		queues: make(map[string]Queue, len(o.Queues)),
	}
	c.log = o.Logger.With("component", "bus", "connection", o.ConnectionName)
	for _, q := range o.Queues {
		c.queues[q.Name] = q
	}
	c.ctx, c.cancel = context.WithCancel(ctx)
	c.pub = newLink(c, RolePublish)
	c.sub = newLink(c, RoleConsume)

	sess, err := c.pub.connectInitial(ctx)
	if err != nil {
		c.cancel()
		return nil, err
	}
	c.pub.start(sess)
	return c, nil
}

// Name is the configured connection name.
func (c *Conn) Name() string { return c.opts.ConnectionName }

// Exchange is the topic exchange Publish uses.
func (c *Conn) Exchange() string { return c.opts.Exchange }

// Close stops reconnecting and closes the AMQP connections. In-flight
// Publish calls fail with ErrClosed; running Consume calls return ErrClosed.
// Close is idempotent.
func (c *Conn) Close() error {
	c.cancel()
	c.pub.wait()
	c.subOnce.Do(func() {}) // a Consume racing with Close must not start the consume link now
	c.sub.wait()
	return nil
}

func (c *Conn) observe(e Event) { c.obs.Observe(e) }

// link supervises one AMQP connection of a role.
type link struct {
	c    *Conn
	role string
	name string

	mu      sync.Mutex
	cur     *session
	changed chan struct{} // closed (and replaced) whenever cur changes

	started atomic.Bool
	done    chan struct{} // closed when the supervisor exits
}

func newLink(c *Conn, role string) *link {
	return &link{
		c:       c,
		role:    role,
		name:    c.opts.ConnectionName + "/" + role,
		changed: make(chan struct{}),
		done:    make(chan struct{}),
	}
}

// session is one live AMQP connection with, for the publish role, its confirm-mode channel.
type session struct {
	conn    *amqp.Connection
	pub     *amqp.Channel  // publish role only
	returns *returnTracker // publish role only

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
			return nil, ErrClosed
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
			var err error
			sess, err = l.connect(ctx)
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				failures++
				d := backoff(l.c.opts.BackoffMin, l.c.opts.BackoffMax, failures)
				l.c.observe(Event{Kind: EventDialFailed, Role: l.role, Err: err})
				lvl := slog.LevelWarn
				if failures > 1 && failures%10 != 0 {
					lvl = slog.LevelDebug // don't flood the log while the broker is down
				}
				l.c.log.Log(ctx, lvl, "bus: connect failed; retrying", "role", l.role, "attempt", failures, "retry_in", d, "err", err)
				if !sleepCtx(ctx, d) {
					return
				}
				continue
			}
			kind := EventConnected
			if everUp {
				kind = EventReconnected
			}
			everUp = true
			l.c.log.Info("bus: connected", "role", l.role, "after_failures", failures, "reconnect", kind == EventReconnected)
			l.c.observe(Event{Kind: kind, Role: l.role})
		}
		l.setCurrent(sess)
		upSince := time.Now()
		select {
		case <-ctx.Done():
			l.setCurrent(nil)
			sess.kill(ErrClosed)
			_ = sess.conn.CloseDeadline(time.Now().Add(2 * time.Second))
			return
		case <-sess.dead:
		}
		l.setCurrent(nil)
		err := sess.deadErr
		l.c.log.Warn("bus: connection lost; reconnecting", "role", l.role, "err", err)
		l.c.observe(Event{Kind: EventDisconnected, Role: l.role, Err: err})
		if !sess.conn.IsClosed() { // only the publish channel died
			_ = sess.conn.CloseDeadline(time.Now().Add(2 * time.Second))
		}
		sess = nil
		// The first redial after a loss waits the minimum backoff; a
		// connection that dies right after it came up (flapping, or a
		// broker refusing us) keeps backing off instead of spinning.
		if time.Since(upSince) < 5*time.Second {
			failures++
		} else {
			failures = 0
		}
		if !sleepCtx(ctx, backoff(l.c.opts.BackoffMin, l.c.opts.BackoffMax, failures+1)) {
			return
		}
	}
}

// connectInitial is Dial's synchronous first connection with bounded retries.
func (l *link) connectInitial(ctx context.Context) (*session, error) {
	var deadline <-chan time.Time
	if t := l.c.opts.ConnectTimeout; t > 0 {
		timer := time.NewTimer(t)
		defer timer.Stop()
		deadline = timer.C
	}
	for failures := 1; ; failures++ {
		s, err := l.connect(ctx)
		if err == nil {
			l.c.log.Info("bus: connected", "role", l.role, "url", redactURL(l.c.opts.URL))
			l.c.observe(Event{Kind: EventConnected, Role: l.role})
			return s, nil
		}
		l.c.observe(Event{Kind: EventDialFailed, Role: l.role, Err: err})
		if fatalAMQP(err) {
			return nil, err
		}
		d := backoff(l.c.opts.BackoffMin, l.c.opts.BackoffMax, failures)
		l.c.log.Debug("bus: connect failed; retrying", "role", l.role, "attempt", failures, "retry_in", d, "err", err)
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w (gave up: %w)", err, ctx.Err())
		case <-deadline:
			return nil, fmt.Errorf("%w (gave up after %s)", err, l.c.opts.ConnectTimeout)
		case <-time.After(d):
		}
	}
}

// connect dials once, declares the topology and sets up the role's channel.
func (l *link) connect(ctx context.Context) (*session, error) {
	o := &l.c.opts
	props := amqp.NewConnectionProperties()
	props.SetClientConnectionName(l.name)
	cfg := amqp.Config{
		Heartbeat:  o.Heartbeat,
		Locale:     "en_US",
		Properties: props,
		Dial: func(network, addr string) (net.Conn, error) {
			d := net.Dialer{Timeout: o.DialTimeout, KeepAlive: 30 * time.Second}
			nc, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			// Bound the AMQP handshake; amqp091 clears the deadline once open.
			if err := nc.SetDeadline(time.Now().Add(o.DialTimeout)); err != nil {
				nc.Close()
				return nil, err
			}
			return nc, nil
		},
	}
	conn, err := amqp.DialConfig(o.URL, cfg)
	if err != nil {
		return nil, dialHint(o.URL, l.name, err)
	}
	ok := false
	defer func() {
		if !ok {
			_ = conn.CloseDeadline(time.Now().Add(time.Second))
		}
	}()

	ch, err := conn.Channel()
	if err != nil {
		return nil, fmt.Errorf("bus: opening a channel on %s: %w", l.name, err)
	}
	if err := declareTopology(ch, o); err != nil {
		return nil, err
	}

	s := &session{conn: conn, dead: make(chan struct{}), flow: make(chan struct{})}
	close(s.flow)

	connClosed := conn.NotifyClose(make(chan *amqp.Error, 1))
	var chClosed chan *amqp.Error
	if l.role == RolePublish {
		if err := ch.Confirm(false); err != nil {
			return nil, fmt.Errorf("bus: enabling publisher confirms on %s: %w", l.name, err)
		}
		s.pub = ch
		chClosed = ch.NotifyClose(make(chan *amqp.Error, 1))
		s.returns = newReturnTracker(ch.NotifyReturn(make(chan amqp.Return, 256)))
	} else {
		_ = ch.Close()
	}

	blocks := conn.NotifyBlocked(make(chan amqp.Blocking, 4))
	go func() {
		for b := range blocks {
			s.setBlocked(b.Active)
			if b.Active {
				l.c.log.Warn("bus: broker blocked the connection (resource alarm); publishing paused", "role", l.role, "reason", b.Reason)
				l.c.observe(Event{Kind: EventBlocked, Role: l.role})
			} else {
				l.c.log.Info("bus: broker unblocked the connection", "role", l.role)
				l.c.observe(Event{Kind: EventUnblocked, Role: l.role})
			}
		}
	}()
	go func() {
		var e *amqp.Error
		var what string
		select {
		case e = <-connClosed:
			what = "connection closed"
		case e = <-chClosed: // nil channel for the consume role
			what = "publish channel closed"
		}
		if e != nil {
			s.kill(fmt.Errorf("%s: %w", what, e))
		} else {
			s.kill(fmt.Errorf("%s", what))
		}
	}()
	ok = true
	return s, nil
}

// declareTopology idempotently declares exchanges, queues, DLQs and bindings.
func declareTopology(ch *amqp.Channel, o *Options) error {
	if err := ch.ExchangeDeclare(o.Exchange, amqp.ExchangeTopic, true, false, false, false, nil); err != nil {
		return fmt.Errorf("bus: declaring exchange %q: %w", o.Exchange, err)
	}
	if len(o.Queues) == 0 {
		return nil
	}
	if err := ch.ExchangeDeclare(o.DLX, amqp.ExchangeDirect, true, false, false, false, nil); err != nil {
		return fmt.Errorf("bus: declaring dead-letter exchange %q: %w", o.DLX, err)
	}
	for _, q := range o.Queues {
		dlq := DLQName(q.Name)
		if _, err := ch.QueueDeclare(dlq, true, false, false, false, amqp.Table{amqp.QueueTypeArg: string(q.Type)}); err != nil {
			return fmt.Errorf("bus: declaring dead-letter queue %q: %w", dlq, err)
		}
		if err := ch.QueueBind(dlq, q.Name, o.DLX, false, nil); err != nil {
			return fmt.Errorf("bus: binding %q to %q: %w", dlq, o.DLX, err)
		}
		if _, err := ch.QueueDeclare(q.Name, true, false, false, false, queueArgs(q, o)); err != nil {
			return fmt.Errorf("bus: declaring queue %q (a queue declared earlier with other arguments must be deleted first): %w", q.Name, err)
		}
		for _, key := range q.Bindings {
			if err := ch.QueueBind(q.Name, key, o.Exchange, false, nil); err != nil {
				return fmt.Errorf("bus: binding queue %q to %q with key %q: %w", q.Name, o.Exchange, key, err)
			}
		}
	}
	return nil
}

func queueArgs(q Queue, o *Options) amqp.Table {
	args := amqp.Table{
		amqp.QueueTypeArg:           string(q.Type),
		"x-dead-letter-exchange":    o.DLX,
		"x-dead-letter-routing-key": q.Name,
	}
	if q.Type == Quorum {
		// Broker-side bound: after MaxAttempts deliveries the broker
		// dead-letters the message, even if the consumer crashes on it.
		args["x-delivery-limit"] = int64(q.MaxAttempts - 1)
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
func (c *Conn) redeclare(s *session) error {
	ch, err := s.conn.Channel()
	if err != nil {
		return err
	}
	defer ch.Close()
	return declareTopology(ch, &c.opts)
}

// backoff is capped exponential with "equal jitter": a uniform delay in [d/2, d].
func backoff(min, max time.Duration, failures int) time.Duration {
	d := min
	for i := 1; i < failures && d < max; i++ {
		d *= 2
	}
	if d > max {
		d = max
	}
	return jitter(d)
}

func jitter(d time.Duration) time.Duration {
	if d <= 1 {
		return d
	}
	return d/2 + rand.N(d/2+1)
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// QueueStats is a point-in-time view of a queue from a passive declare.
type QueueStats struct {
	Messages  int // messages ready for delivery (excludes unacknowledged ones)
	Consumers int // active consumers
}

// QueueStats reads a queue's depth with a passive declare (which never
// creates the queue). A missing queue yields an error wrapping the 404.
func (c *Conn) QueueStats(ctx context.Context, queue string) (QueueStats, error) {
	s, err := c.pub.current(ctx)
	if err != nil {
		return QueueStats{}, fmt.Errorf("bus: queue stats for %q: %w", queue, err)
	}
	ch, err := s.conn.Channel()
	if err != nil {
		return QueueStats{}, fmt.Errorf("bus: queue stats for %q: opening channel: %w", queue, err)
	}
	defer ch.Close() // a 404 closes the channel: it is never reused
	q, err := ch.QueueDeclarePassive(queue, true, false, false, false, nil)
	if err != nil {
		return QueueStats{}, fmt.Errorf("bus: queue stats for %q: %w", queue, err)
	}
	return QueueStats{Messages: q.Messages, Consumers: q.Consumers}, nil
}
