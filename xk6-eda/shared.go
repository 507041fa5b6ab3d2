package eda

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/edabench/edabench/internal/twinkind"
	"log/slog"
	"net"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/edabench/edabench/targets/api/orderpb"
	"github.com/edabench/edabench/targets/bus"
	"github.com/edabench/edabench/targets/eda"
	"github.com/edabench/edabench/targets/eda/orderends"
	"github.com/sirupsen/logrus"
	"go.k6.io/k6/metrics"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// shared is what every VU's Client with the same key uses: the gRPC
// connections, the completion subscription, the orders awaiting completion,
// the gauge sampler and the HDR histograms. Its goroutines never touch a JS
// runtime; they push samples into k6's sample channel.
type shared struct {
	root *RootModule
	opts options
	m    *edaMetrics
	refs int // guarded by root.mu
	// log is k6's logger of the VU that made the client, captured then:
	// the background goroutines have no VU to ask.
	log logrus.FieldLogger

	run string // names this process's orders and completion queue
	seq atomic.Uint64

	// The connections, made by the first order (connect); connMu guards
	// making them, connected says they are made.
	connMu    sync.Mutex
	connected atomic.Bool
	connErr   error
	conns     []*grpc.ClientConn
	clients   []orderpb.OrderServiceClient
	next      atomic.Uint64

	cfg eda.Config // EDA only
	// depthConn (Kafka) reads the consumer groups' offsets for the
	// eda_queue_depth sampler; depthMu guards dialling it.
	depthMu   sync.Mutex
	depthConn *bus.Conn
	bus       *orderends.Subscription // EDA only: the completion subscription
	queue     string                  // EDA only: this run's completion queue

	// ctx lives until the client is settled (end of test) or closed; the
	// background goroutines stop with it.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	// The sample channel and the tags for samples that belong to no VU (the
	// gauges); set by the first placeOrder.
	outOnce  sync.Once
	out      chan<- metrics.SampleContainer
	outCtx   context.Context
	gaugeTag *metrics.TagSet

	// pushMu makes seal wait for pushes in progress: after seal, nothing is
	// sent on k6's sample channel, which k6 closes once the test has ended.
	pushMu sync.RWMutex
	sealed bool
	// atEnd is true when the client subscribed to k6's TestEnd event: it
	// then pushes with its own context (orders placed by a VU whose scenario
	// already ended still count) and settles at the end of the test.
	atEnd atomic.Bool

	mu      sync.Mutex
	pending map[string]*pendingOrder
	fifo    []fifoEntry // deadline order (completion timeout is fixed)
	// lostIDs remembers orders counted lost, so a completion that comes
	// later is counted in eda_orders_completed_late; bounded.
	lostIDs map[string]*pendingOrder

	hdr *hdrPair // nil unless the hdr option is set

	settleOnce sync.Once
	closeOnce  sync.Once
}

type pendingOrder struct {
	sent     time.Time
	deadline time.Time
	tags     metrics.TagsAndMeta
	ctx      context.Context // the placing VU's context
	out      chan<- metrics.SampleContainer
}

type fifoEntry struct {
	id       string
	deadline time.Time
}

// maxLostIDs bounds the memory of lost orders kept to spot late completions.
const maxLostIDs = 100_000

// dialTimeout bounds the reachability checks of the first order.
const dialTimeout = 3 * time.Second

// newShared makes the shared state of a client without any network I/O:
// the constructor runs in the init context, which `k6 inspect` and `k6
// archive` run too, with no twin or broker around. The first order
// connects (connect).
func newShared(root *RootModule, o options, m *edaMetrics, log logrus.FieldLogger) (*shared, error) {
	run, err := runID()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &shared{root: root, opts: o, m: m, run: run, ctx: ctx, cancel: cancel, pending: map[string]*pendingOrder{}, lostIDs: map[string]*pendingOrder{},
		log: log.WithField("component", "xk6-eda").WithField("twin", o.Twin)}
	if o.HDR != "" {
		s.hdr = newHDRPair(time.Now())
	}
	return s, nil
}

// connect opens the gRPC connections and, for a twin over the broker, the
// completion subscription, once: every later call returns the first one's
// result. A failure names the address and what to check.
func (s *shared) connect(ctx context.Context) error {
	if s.connected.Load() {
		return nil
	}
	s.connMu.Lock()
	defer s.connMu.Unlock()
	switch {
	case s.connected.Load():
		return nil
	case s.connErr != nil:
		return s.connErr
	case s.ctx.Err() != nil:
		return errors.New("the client is closed")
	}
	if err := s.dial(ctx); err != nil {
		s.connErr = err
		s.closeConns()
		return err
	}
	s.wg.Go(s.sweep)
	s.connected.Store(true)
	return nil
}

func (s *shared) dial(ctx context.Context) error {
	o := s.opts
	// A closed port is the common mistake (wrong GRPC, twin not started):
	// gRPC connects lazily and would only say so order by order.
	dctx, cancel := context.WithTimeout(ctx, dialTimeout)
	c, err := (&net.Dialer{}).DialContext(dctx, "tcp", o.GRPC)
	cancel()
	if err != nil {
		return fmt.Errorf("gRPC address %s is unreachable: is the %s twin's gateway running there? (start it with `edabench run --twin %s` or `make k6-smoke`, or set the grpc option, GRPC= in the examples): %w", o.GRPC, o.Twin, o.Twin, err)
	}
	_ = c.Close()
	for range defaultConns {
		cc, err := grpc.NewClient(o.GRPC, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			return fmt.Errorf("gRPC client for %s: %w", o.GRPC, err)
		}
		s.conns = append(s.conns, cc)
		s.clients = append(s.clients, orderpb.NewOrderServiceClient(cc))
	}
	if o.HDR != "" {
		if err := os.MkdirAll(o.HDR, 0o755); err != nil {
			return fmt.Errorf("option hdr: %w", err)
		}
	}
	if twinkind.Of(o.Twin).UsesBroker() {
		return s.subscribe()
	}
	return nil
}

func runID() (string, error) {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("eda.Client: run id: %w", err)
	}
	return "k6" + hex.EncodeToString(b), nil
}

// subscribe consumes the order ends in the background: over RabbitMQ
// from this run's own completion queue (durable, so a broker restart
// mid-test loses no completion), declared on the twin's exchange and bound
// to OrderCompleted and OrderFailed; over Kafka and NATS from the end
// queue the twin declared for k6 (endQueue), which must exist: the twin's
// driver delivers only to the queues its services declared.
func (s *shared) subscribe() error {
	o := s.opts
	cfg := eda.DefaultConfig()
	cfg.URL, cfg.Prefix = o.BrokerURL, o.Prefix
	s.queue = cfg.QueueName("k6." + s.run)
	if o.Broker != cfg.Broker() {
		// Another driver's defaults: RabbitMQ's options mean nothing to it.
		cfg.Driver, cfg.Options, s.queue = o.Broker, nil, o.EndQueue
		if err := s.checkEndQueue(); err != nil {
			return err
		}
	}
	s.cfg = cfg
	conn, err := orderends.Subscribe(s.ctx, orderends.Config{Twin: cfg, Queue: s.queue, ConnectionName: "edabench/k6/" + s.run,
		Logger: slog.New(newLogrusHandler(s.log)), DialTimeout: dialTimeout, ConnectTimeout: 2 * dialTimeout, ShutdownGrace: time.Second})
	if err != nil {
		return fmt.Errorf("%s broker %s is unreachable: is the broker the %s twin uses up? (%s): %w", brokerTitle(o.Broker), redact(o.BrokerURL), o.Twin, brokerFix(o.Broker), err)
	}
	s.bus = conn
	s.wg.Go(func() {
		err := conn.Run(s.ctx, s.handle)
		if err != nil && s.ctx.Err() == nil && !errors.Is(err, bus.ErrClosed) {
			s.log.WithError(err).Warn("completion consumer stopped: completions from now on are not seen, so orders will count lost")
		}
	})
	if k, ok := routedBroker(o.Broker); ok && k.GroupBacklog {
		s.awaitMember()
	}
	return nil
}

// memberWait bounds the wait for k6's member of the end queue's group.
const memberWait = 15 * time.Second

// awaitMember (Kafka) waits until the end queue's consumer group has a
// member before the first order: an order placed while k6 still joins the
// group completes all the same (the group starts at its commit), but its
// end would be taken late and its e2e latency would include the join.
// Bounded: at the bound it warns and goes on.
func (s *shared) awaitMember() {
	ctx, cancel := context.WithTimeout(s.ctx, memberWait)
	defer cancel()
	c, err := dialGroups(ctx, s.opts.Broker, s.opts.BrokerURL, s.opts.Prefix)
	if err == nil {
		defer c.Close()
		for ctx.Err() == nil {
			st, err := c.QueueStats(ctx, s.queue)
			if err == nil && st.Consumers > 0 {
				return
			}
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	s.log.WithField("queue", s.queue).Warn("k6 has not joined the end queue's consumer group yet; the first orders' e2e latency may include the join")
}

// checkEndQueue (Kafka, NATS) makes sure the twin declared k6's end
// queue before k6 consumes it: consuming would create the queue (a Kafka
// topic, a NATS consumer) and no end would ever reach it, so every order
// would count lost at its timeout. The queues are read through the
// broker's node kind (nodeDepths).
func (s *shared) checkEndQueue() error {
	o := s.opts
	b, ok := routedBroker(o.Broker)
	if !ok {
		return fmt.Errorf("broker %q: a driver xk6-eda has no settings for yet", o.Broker)
	}
	ctx, cancel := context.WithTimeout(s.ctx, 2*dialTimeout)
	defer cancel()
	c, err := (&net.Dialer{}).DialContext(ctx, "tcp", firstAddr(b, o.BrokerURL))
	if err != nil {
		return fmt.Errorf("%s broker %s is unreachable: is the broker the %s twin uses up? (%s): %w", b.Title, o.BrokerURL, o.Twin, brokerFix(o.Broker), err)
	}
	_ = c.Close()
	queues, err := nodeDepths(ctx, o.Broker, o.BrokerURL, "")
	if err != nil {
		return fmt.Errorf("%s broker %s: %w (%s)", b.Title, o.BrokerURL, err, brokerFix(o.Broker))
	}
	if _, ok := queues[o.EndQueue]; !ok {
		return fmt.Errorf("the %s twin over %s at %s declares no end queue %s, so k6 would see no order end: start its services with --end-queue %s (or set the endQueue option, END_QUEUE= in the examples, to the one it declares)", o.Twin, b.Title, o.BrokerURL, o.EndQueue, o.EndQueue)
	}
	return nil
}

// brokerTitle is broker's name as its project spells it, for messages.
func brokerTitle(broker string) string {
	if b, ok := routedBroker(broker); ok {
		return b.Title
	}
	return "AMQP"
}

// brokerFix says how to bring up broker's private node or point at another.
func brokerFix(broker string) string {
	if broker != bus.RabbitMQ {
		return "the private node: `go run ./harness/cmd/brokerctl up --broker " + broker + "`; else set the brokerUrl option, BROKER_URL= in the examples"
	}
	return "the private node: `make broker-up`; else set the amqp option, AMQP= in the examples"
}

// redact hides a URL's password, for messages; what is no URL with a
// password (a Kafka seed HOST:PORT) is shown as it is.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxx")
	}
	return u.String()
}

// handle takes one OrderCompleted or OrderFailed from the completion queue.
func (s *shared) handle(e orderends.End) error {
	s.finish(e.OrderID, e.At, e.Completed)
	return nil
}

// track registers an order before it is placed, so a completion that
// overtakes the reply still finds it.
func (s *shared) track(id string, p *pendingOrder) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.pending[id]; dup {
		return fmt.Errorf("order %q is already awaiting completion: order IDs must be unique", id)
	}
	s.pending[id] = p
	s.fifo = append(s.fifo, fifoEntry{id: id, deadline: p.deadline})
	return nil
}

func (s *shared) untrack(id string) {
	s.mu.Lock()
	delete(s.pending, id)
	s.mu.Unlock()
}

// finish records an order's end once; another run's orders, duplicates
// (at-least-once delivery) and orders already counted lost are ignored,
// the late ones counted apart.
func (s *shared) finish(id string, at time.Time, completed bool) {
	s.mu.Lock()
	p, ok := s.pending[id]
	if ok {
		delete(s.pending, id)
	}
	late, wasLost := s.lostIDs[id]
	if wasLost {
		delete(s.lostIDs, id)
	}
	s.mu.Unlock()
	if wasLost && completed {
		s.push(late, metrics.Sample{TimeSeries: metrics.TimeSeries{Metric: s.m.late, Tags: late.tags.Tags},
			Time: at, Metadata: late.tags.Metadata, Value: 1})
	}
	if !ok {
		return
	}
	if !completed {
		s.push(p, metrics.Sample{TimeSeries: metrics.TimeSeries{Metric: s.m.rejected, Tags: p.tags.Tags},
			Time: at, Metadata: p.tags.Metadata, Value: 1})
		return
	}
	e2e := at.Sub(p.sent)
	s.hdr.recordE2E(e2e)
	samples := metrics.Samples{{TimeSeries: metrics.TimeSeries{Metric: s.m.completed, Tags: p.tags.Tags}, Time: at, Metadata: p.tags.Metadata, Value: 1}}
	if !s.opts.NoTrends {
		samples = append(samples, metrics.Sample{TimeSeries: metrics.TimeSeries{Metric: s.m.e2e, Tags: p.tags.Tags}, Time: at, Metadata: p.tags.Metadata, Value: metrics.D(e2e)})
	}
	s.push(p, samples)
}

// sweep counts as lost every order still incomplete at its deadline.
func (s *shared) sweep() {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case now := <-t.C:
			s.expire(now)
		}
	}
}

func (s *shared) expire(now time.Time) {
	var lost []*pendingOrder
	s.mu.Lock()
	n := 0
	for n < len(s.fifo) && !s.fifo[n].deadline.After(now) {
		if p, ok := s.pending[s.fifo[n].id]; ok {
			delete(s.pending, s.fifo[n].id)
			lost = append(lost, p)
			if len(s.lostIDs) < maxLostIDs {
				s.lostIDs[s.fifo[n].id] = p
			}
		}
		n++
	}
	s.fifo = s.fifo[n:]
	if len(s.fifo) == 0 {
		s.fifo = nil // let the backing array go
	}
	s.mu.Unlock()
	for _, p := range lost {
		s.pushLost(p, now)
	}
}

func (s *shared) pushLost(p *pendingOrder, at time.Time) {
	s.push(p, metrics.Sample{TimeSeries: metrics.TimeSeries{Metric: s.m.lost, Tags: p.tags.Tags},
		Time: at, Metadata: p.tags.Metadata, Value: 1})
}

// push sends samples that belong to an order, from any goroutine.
func (s *shared) push(p *pendingOrder, c metrics.SampleContainer) {
	s.pushMu.RLock()
	defer s.pushMu.RUnlock()
	if s.sealed {
		return
	}
	ctx := p.ctx
	if s.atEnd.Load() {
		ctx = s.ctx
	}
	metrics.PushIfNotDone(ctx, p.out, c)
}

// pushZeros sends a zero to every counter.
func (s *shared) pushZeros(now time.Time) {
	s.pushMu.RLock()
	defer s.pushMu.RUnlock()
	if s.sealed || s.out == nil {
		return
	}
	var zeros metrics.Samples
	for _, m := range s.m.counters() {
		zeros = append(zeros, metrics.Sample{TimeSeries: metrics.TimeSeries{Metric: m, Tags: s.gaugeTag}, Time: now, Value: 0})
	}
	metrics.PushIfNotDone(s.noVUCtx(), s.out, zeros)
}

// setOutput records where samples that belong to no VU go, and starts the
// gauge sampler (EDA twin). Called once, by the first placeOrder.
func (s *shared) setOutput(vuCtx context.Context, out chan<- metrics.SampleContainer, tags *metrics.TagSet) {
	s.pushMu.Lock()
	s.out, s.gaugeTag, s.outCtx = out, tags, vuCtx
	s.pushMu.Unlock()
	if twinkind.Of(s.opts.Twin).UsesBroker() {
		s.wg.Go(s.sample)
	}
	if s.hdr != nil {
		s.wg.Go(s.quantiles)
	}
}

// pushGauges sends samples that belong to no VU (the sampler's).
func (s *shared) pushGauges(c metrics.SampleContainer) {
	s.pushMu.RLock()
	defer s.pushMu.RUnlock()
	if s.sealed || s.out == nil {
		return
	}
	metrics.PushIfNotDone(s.noVUCtx(), s.out, c)
}

// noVUCtx is the context of pushes that belong to no VU. Without k6's
// end-of-test event it is the context of the VU that placed the first
// order, which k6 cancels before it closes the sample channel.
func (s *shared) noVUCtx() context.Context {
	if s.atEnd.Load() {
		return s.ctx
	}
	return s.outCtx
}

func (s *shared) pendingCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pending)
}

// settle waits for the orders still in flight until each completes or
// reaches its deadline (the sweeper counts it lost), counts whatever is left
// as lost, writes the HDR files and stops sending samples. k6 calls it at
// the end of the test, before it closes its sample channel.
func (s *shared) settle() {
	s.settleOnce.Do(func() {
		limit := time.Now().Add(s.opts.CompletionTimeout + time.Second)
		for s.pendingCount() > 0 && time.Now().Before(limit) && s.ctx.Err() == nil {
			time.Sleep(20 * time.Millisecond)
		}
		s.mu.Lock()
		left := s.pending
		s.pending, s.fifo = map[string]*pendingOrder{}, nil
		s.mu.Unlock()
		now := time.Now()
		for _, p := range left {
			s.pushLost(p, now)
		}
		// Zeros, so that the end-of-test summary (and --summary-export)
		// lists every counter and `count==0` thresholds have a value.
		s.pushZeros(now)
		// The last value of each quantile gauge covers the whole run.
		s.pushQuantiles(now)
		if err := s.hdr.write(s.opts.HDR, s.opts.Twin); err != nil {
			s.log.WithError(err).Warn("writing HDR files")
		}
		s.seal()
	})
}

func (s *shared) seal() {
	s.pushMu.Lock()
	s.sealed = true
	s.pushMu.Unlock()
}

// close stops everything and deletes the completion queue. It does not
// settle: callers that still may push call settle first.
func (s *shared) close() {
	s.closeOnce.Do(func() {
		s.seal()
		s.cancel()
		// After cancel no connect starts; one in progress ends soon (its
		// dials use s.ctx or a short timeout) and is waited for.
		s.connMu.Lock()
		conn := s.bus
		s.connMu.Unlock()
		if conn != nil {
			_ = conn.Close()
		}
		s.wg.Wait()
		if _, routed := routedBroker(s.opts.Broker); conn != nil && routed {
			// The end queue is the twin's (it delivers to it): kept.
			conn = nil
		}
		if conn != nil {
			if err := conn.Delete(context.Background()); err != nil {
				s.log.WithError(err).WithField("queue", s.queue).Warn("deleting the completion queue; delete it by hand (rabbitmqctl delete_queue)")
			}
		}
		s.closeConns()
		s.depthMu.Lock()
		if s.depthConn != nil {
			_ = s.depthConn.Close()
		}
		s.depthMu.Unlock()
	})
}

func (s *shared) closeConns() {
	for _, c := range s.conns {
		_ = c.Close()
	}
}

// client returns a gRPC stub, round robin over a few connections so one
// HTTP/2 connection's write lock is not the bottleneck at high rates.
func (s *shared) client() orderpb.OrderServiceClient {
	return s.clients[s.next.Add(1)%uint64(len(s.clients))]
}

func defaultBrokerURL(broker string) string {
	if b, ok := routedBroker(broker); ok {
		return b.DefaultURL
	}
	return eda.DefaultConfig().URL
}
