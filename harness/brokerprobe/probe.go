// Package brokerprobe measures the broker's ceiling with the EDA twin's
// messaging settings: how many messages per second it carries when each is
// published through targets/bus as the twin's services publish (the layer
// returns once the driver has the broker's confirm: RabbitMQ's publisher
// confirm into a quorum queue, Kafka's acks=all from an idempotent
// producer) and consumed with the layer's ack (RabbitMQ's manual ack,
// Kafka's commit after the ack), with the twin's driver settings (queue
// type, prefetch; partitions, linger). The probe knows no broker: the
// driver seam owns confirm semantics. The twin's order rate times its
// messages per order, over this ceiling, is how much of the broker the
// twin manages to use.
package brokerprobe

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/edabench/edabench/harness/brokernode"
	"github.com/edabench/edabench/harness/procstat"
	"github.com/edabench/edabench/targets/bus"
	"github.com/edabench/edabench/targets/bus/drivers"
	"github.com/edabench/edabench/targets/eda"
	"golang.org/x/sys/unix"
)

// DefaultMaxPublishes bounds a probe's publishes (warm-up included): far
// above what one loopback node confirms in a default 30 s window, so it
// only stops a runaway.
const DefaultMaxPublishes = 10_000_000

// firstDeliveryWait bounds the wait, after the warm-up, for every queue's
// consumer to take its first message (a Kafka group's first rebalance).
const firstDeliveryWait = 30 * time.Second

// Config is one probe.
type Config struct {
	// Node is the broker probed: the probe dials its ClientURL and claims
	// its own prefix on it first, so that a probe killed half-way leaves
	// nothing the next node start deletes.
	Node brokernode.Node
	// Driver names the bus driver (drivers.Builtin) the node speaks;
	// default bus.RabbitMQ.
	Driver string
	// Options are the driver's own settings; nil: the twin's
	// (eda.DefaultOptions), so the probe measures what the twin uses.
	Options bus.DriverOptions
	// Queues is how many queues run side by side, each with a connection
	// of its own, like the twin's services (default 5: the chain's four
	// steps and the gateway's projector).
	Queues int
	// Publishers per queue, each waiting for its confirm before the next
	// publish, like the twin's handlers (default 64, its prefetch).
	Publishers int
	Prefetch   int           // default 64, the twin's
	Body       []byte        // the message body: the size of the twin's events
	Duration   time.Duration // the measured window, after Warmup
	Warmup     time.Duration // default Duration/5, at most 2 s
	// MaxPublishes bounds the publishes (default DefaultMaxPublishes); the
	// window ends early, measured as far as it ran, when they are spent.
	MaxPublishes int64
	// Backlog bounds each queue's messages published and not yet
	// delivered, its publishes in flight included (default 8 × the larger
	// of Publishers and Prefetch): a publisher waits for a delivery when
	// it is reached. Without it, on a broker that does not push back (a
	// JetStream stream takes publishes as fast as it can store them),
	// the publishers take the CPU the consumers need and the window
	// measures a queue filling, not a rate carried: on 2026-12-05 NATS
	// confirmed 43,955 publishes/s and delivered 11,653/s. The bound lets
	// every consumer keep its prefetch full and every publisher busy.
	Backlog int
}

// Result is what the broker carried in the measured window.
type Result struct {
	Broker string `json:"broker"`
	// Settings are the driver options the probe ran with, as Go prints
	// them (defaults filled where the twin's are explicit).
	Settings    string  `json:"settings"`
	Queues      int     `json:"queues"`
	Publishers  int     `json:"publishers_per_queue"`
	Prefetch    int     `json:"prefetch"`
	Backlog     int     `json:"backlog_per_queue"`
	BodyBytes   int     `json:"body_bytes"`
	Seconds     float64 `json:"seconds"`
	Confirmed   int64   `json:"confirmed"`
	Acked       int64   `json:"acked"`
	PublishRate float64 `json:"publish_rate"` // confirmed publishes/s
	ConsumeRate float64 `json:"consume_rate"` // acked deliveries/s
	// MsgsPerSec is the smaller of the two: a rate the broker sustains only
	// if its queues do not grow.
	MsgsPerSec float64 `json:"msgs_per_s"`
	// Capped says MaxPublishes ended the window before Duration.
	Capped bool `json:"capped,omitempty"`
	// BrokerCPUSeconds is the broker's CPU over the window (its node's
	// process tree, every member's on a cluster) and ClientCPUSeconds the
	// probing process's own (getrusage): how much of the machine the
	// ceiling took, so that a twin run on the same cores can be set
	// beside it. Zero where they could not be read.
	BrokerCPUSeconds float64 `json:"broker_cpu_s,omitempty"`
	ClientCPUSeconds float64 `json:"client_cpu_s,omitempty"`
}

// BrokerCores is the broker's CPU over the window per second: the cores
// it used to carry the ceiling.
func (r Result) BrokerCores() float64 {
	if r.Seconds <= 0 {
		return 0
	}
	return r.BrokerCPUSeconds / r.Seconds
}

// BrokerCPUPerMsgUs is the broker's CPU per message carried (one publish
// and one delivery), in microseconds.
func (r Result) BrokerCPUPerMsgUs() float64 {
	n := min(r.Confirmed, r.Acked)
	if n <= 0 {
		return 0
	}
	return 1e6 * r.BrokerCPUSeconds / float64(n)
}

// withDefaults fills what c leaves zero and checks the rest.
func (c Config) withDefaults() (Config, error) {
	if c.Node == nil {
		return c, errors.New("brokerprobe: Config.Node is nil; pass the node to probe (brokernode.Kind.Start)")
	}
	if c.Duration <= 0 {
		return c, errors.New("brokerprobe: Duration must be positive")
	}
	if c.Queues <= 0 {
		c.Queues = 5
	}
	if c.Publishers <= 0 {
		c.Publishers = 64
	}
	if c.Prefetch <= 0 {
		c.Prefetch = 64
	}
	if c.Warmup <= 0 {
		c.Warmup = min(c.Duration/5, 2*time.Second)
	}
	if c.MaxPublishes <= 0 {
		c.MaxPublishes = DefaultMaxPublishes
	}
	if c.Backlog <= 0 {
		c.Backlog = 8 * max(c.Publishers, c.Prefetch)
	}
	if c.Driver == "" {
		c.Driver = bus.RabbitMQ
	}
	if c.Options == nil {
		o, err := eda.DefaultOptions(c.Driver)
		if err != nil {
			return c, fmt.Errorf("brokerprobe: %w; or pass Config.Options", err)
		}
		c.Options = o
	}
	if c.Options.Broker() != c.Driver {
		return c, fmt.Errorf("brokerprobe: options for broker %q given for the %s driver", c.Options.Broker(), c.Driver)
	}
	if err := c.Options.Validate(); err != nil {
		return c, fmt.Errorf("brokerprobe: %s options: %w", c.Driver, err)
	}
	return c, nil
}

// Run probes the broker and deletes what it declared.
func Run(ctx context.Context, c Config) (Result, error) {
	c, err := c.withDefaults()
	if err != nil {
		return Result{}, err
	}
	kind, err := drivers.Builtin().Lookup(c.Driver)
	if err != nil {
		return Result{}, fmt.Errorf("brokerprobe: %w", err)
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	prefix := "probe" + hex.EncodeToString(b)
	p := &probe{c: c, kind: kind, url: c.Node.ClientURL(), exchange: prefix + ".orders", capped: make(chan struct{})}
	// Deferred first, so it runs last: after the explicit delete below,
	// it removes the claim record and whatever that delete missed.
	release := c.Node.Claim(ctx, brokernode.Topology{Prefixes: []string{prefix}})
	defer release(context.WithoutCancel(ctx))

	var queues []string
	for i := range c.Queues {
		queues = append(queues, fmt.Sprintf("%s.q%d", prefix, i))
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		_ = bus.Delete(dctx, kind, p.url, c.Options, p.exchange, queues...)
	}()

	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	p.stop = stop
	p.first = make([]atomic.Bool, len(queues))
	for range queues {
		p.slots = append(p.slots, make(chan struct{}, c.Backlog))
	}
	for i, q := range queues {
		conn, err := p.startQueue(runCtx, i, q, fmt.Sprintf("probe.%d", i))
		if err != nil {
			return Result{}, err
		}
		defer conn.Close()
	}
	return p.measure(ctx, runCtx)
}

// probe is one Run's workers and counts.
type probe struct {
	c                Config
	kind             bus.Kind
	url, exchange    string
	stop             context.CancelFunc
	counting         atomic.Bool
	confirmed, acked atomic.Int64
	published        atomic.Int64  // every publish attempt, warm-up included: MaxPublishes bounds it
	capped           chan struct{} // closed when MaxPublishes are spent
	capOnce          sync.Once
	first            []atomic.Bool   // per queue: its consumer took a message
	slots            []chan struct{} // per queue: one token per message published and not yet delivered
	wg               sync.WaitGroup
	errMu            sync.Mutex
	firstErr         error
}

// fail records the first error and stops every worker.
func (p *probe) fail(err error) {
	p.errMu.Lock()
	if p.firstErr == nil {
		p.firstErr = err
	}
	p.errMu.Unlock()
	p.stop()
}

// startQueue declares q bound to key and starts its consumer and
// publishers on a connection of its own, as a twin's service has.
func (p *probe) startQueue(ctx context.Context, i int, q, key string) (*bus.Conn, error) {
	c := p.c
	conn, err := bus.Dial(ctx, p.kind, bus.WithURL(p.url), bus.WithExchange(p.exchange), bus.WithMandatory(true),
		bus.WithConnectionName(q), bus.WithQueue(bus.Queue{Name: q, Bindings: []string{key}}),
		bus.WithDriverOptions(c.Options))
	if err != nil {
		return nil, fmt.Errorf("brokerprobe: connect to %s over the %s driver: %w", p.url, p.kind.Name, err)
	}
	p.wg.Go(func() {
		err := conn.Consume(ctx, q, bus.ConsumeOptions{Prefetch: c.Prefetch}, func(context.Context, bus.Delivery) error {
			p.first[i].Store(true)
			if p.counting.Load() {
				p.acked.Add(1)
			}
			select {
			case <-p.slots[i]:
			default: // a redelivery: its slot was freed the first time
			}
			return nil
		})
		if err != nil && ctx.Err() == nil {
			p.fail(err)
		}
	})
	for range c.Publishers {
		p.wg.Go(func() { p.publishLoop(ctx, conn, key, p.slots[i]) })
	}
	return conn, nil
}

// publishLoop publishes until ctx ends or MaxPublishes are spent, each
// publish once the last one was confirmed and its queue's backlog has
// room.
func (p *probe) publishLoop(ctx context.Context, conn *bus.Conn, key string, slots chan struct{}) {
	for ctx.Err() == nil {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return
		}
		if p.published.Add(1) > p.c.MaxPublishes {
			p.capOnce.Do(func() { close(p.capped) })
			return
		}
		err := conn.Publish(ctx, key, bus.Message{Body: p.c.Body, ContentType: "application/x-protobuf", Type: "Probe"})
		if err != nil {
			<-slots
			if ctx.Err() == nil {
				p.fail(err)
			}
			return
		}
		if p.counting.Load() {
			p.confirmed.Add(1)
		}
	}
}

// consuming waits until every queue's consumer took a message: a Kafka
// group's first rebalance can outlast a short warm-up, and a window that
// opens on idle consumers measures their catching up.
func (p *probe) consuming(runCtx context.Context) error {
	deadline := time.Now().Add(firstDeliveryWait)
	for {
		idle := -1
		for i := range p.first {
			if !p.first[i].Load() {
				idle = i
				break
			}
		}
		if idle < 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("brokerprobe: the consumer of queue %d took nothing within %v of the warm-up: is the %s node healthy?",
				idle, firstDeliveryWait, p.kind.Name)
		}
		select {
		case <-runCtx.Done():
			return nil // the caller reports why
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// measure counts over the window after the warm-up, then stops the
// workers; ctx is the caller's, runCtx the workers'.
func (p *probe) measure(ctx, runCtx context.Context) (Result, error) {
	c := p.c
	capped := false
	sleep := func(d time.Duration) bool {
		select {
		case <-runCtx.Done():
			return false
		case <-p.capped:
			capped = true
			return true
		case <-time.After(d):
			return true
		}
	}
	ok := sleep(c.Warmup)
	if err := p.consuming(runCtx); err != nil {
		p.fail(err)
		ok = false
	}
	cpu0 := p.cpu()
	start := time.Now()
	p.counting.Store(true)
	ok = ok && !capped && sleep(c.Duration)
	p.counting.Store(false)
	secs := time.Since(start).Seconds()
	cpu1 := p.cpu()
	p.stop()
	p.wg.Wait()
	if p.firstErr != nil {
		return Result{}, fmt.Errorf("brokerprobe: %w", p.firstErr)
	}
	if !ok {
		if capped {
			return Result{}, fmt.Errorf("brokerprobe: the %d publishes of MaxPublishes were spent in the warm-up; raise it", c.MaxPublishes)
		}
		return Result{}, ctx.Err()
	}
	r := Result{Broker: c.Driver, Settings: fmt.Sprintf("%+v", c.Options), Queues: c.Queues, Publishers: c.Publishers,
		Prefetch: c.Prefetch, Backlog: c.Backlog, BodyBytes: len(c.Body), Seconds: secs, Confirmed: p.confirmed.Load(), Acked: p.acked.Load(), Capped: capped}
	r.PublishRate, r.ConsumeRate = float64(r.Confirmed)/secs, float64(r.Acked)/secs
	r.MsgsPerSec = min(r.PublishRate, r.ConsumeRate)
	if cpu0.ok && cpu1.ok {
		r.BrokerCPUSeconds, r.ClientCPUSeconds = cpu1.broker-cpu0.broker, cpu1.client-cpu0.client
	}
	return r, nil
}

// cpuReading is the broker's and this process's CPU seconds at one moment.
type cpuReading struct {
	broker, client float64
	ok             bool
}

// cpu reads the broker's node (every member of a cluster) and this
// process; ok is false when any of them could not be read.
func (p *probe) cpu() cpuReading {
	var r cpuReading
	for _, m := range brokernode.Members(p.c.Node) {
		pid := m.PID()
		if pid <= 0 {
			return r
		}
		u, err := procstat.ReadTree(pid)
		if err != nil {
			return r
		}
		r.broker += u.CPUSeconds
	}
	var ru unix.Rusage
	if unix.Getrusage(unix.RUSAGE_SELF, &ru) != nil {
		return r
	}
	r.client = float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
	r.ok = true
	return r
}
