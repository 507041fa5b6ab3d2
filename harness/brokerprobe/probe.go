// Package brokerprobe measures the broker's ceiling with the EDA twin's
// messaging settings: how many messages per second it carries when each is
// published persistent with a publisher confirm, routed to a quorum queue
// and consumed with a manual ack, through targets/bus as the twin's
// services do. The twin's order rate times its messages per order, over
// this ceiling, is how much of the broker the twin manages to use.
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
	"github.com/edabench/edabench/targets/bus"
	"github.com/edabench/edabench/targets/bus/rabbitmq"
)

// Config is one probe.
type Config struct {
	// Node is the broker probed: the probe dials its ClientURL and claims
	// its own prefix on it first, so that a probe killed half-way leaves
	// nothing the next node start does not delete.
	Node brokernode.Node
	// Queues is how many quorum queues run side by side, each with a
	// connection pair of its own, like the twin's services (default 5: the
	// chain's four steps and the gateway's projector).
	Queues int
	// Publishers per queue, each waiting for its confirm before the next
	// publish, like the twin's handlers (default 64, its prefetch).
	Publishers int
	Prefetch   int           // default 64, the twin's
	Body       []byte        // the message body: the size of the twin's events
	Duration   time.Duration // the measured window, after Warmup
	Warmup     time.Duration // default Duration/5, at most 2 s
}

// Result is what the broker carried in the measured window.
type Result struct {
	Queues      int     `json:"queues"`
	Publishers  int     `json:"publishers_per_queue"`
	Prefetch    int     `json:"prefetch"`
	BodyBytes   int     `json:"body_bytes"`
	Seconds     float64 `json:"seconds"`
	Confirmed   int64   `json:"confirmed"`
	Acked       int64   `json:"acked"`
	PublishRate float64 `json:"publish_rate"` // confirmed publishes/s
	ConsumeRate float64 `json:"consume_rate"` // acked deliveries/s
	// MsgsPerSec is the smaller of the two: a rate the broker sustains only
	// if its queues do not grow.
	MsgsPerSec float64 `json:"msgs_per_s"`
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
	return c, nil
}

// Run probes the broker and deletes what it declared.
func Run(ctx context.Context, c Config) (Result, error) {
	c, err := c.withDefaults()
	if err != nil {
		return Result{}, err
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	prefix := "probe" + hex.EncodeToString(b)
	p := &probe{c: c, url: c.Node.ClientURL(), exchange: prefix + ".orders"}
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
		_ = rabbitmq.DeleteQueues(dctx, p.url, p.exchange, queues...)
	}()

	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	p.stop = stop
	for i, q := range queues {
		conn, err := p.startQueue(runCtx, q, fmt.Sprintf("probe.%d", i))
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
	url, exchange    string
	stop             context.CancelFunc
	counting         atomic.Bool
	confirmed, acked atomic.Int64
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
func (p *probe) startQueue(ctx context.Context, q, key string) (*bus.Conn, error) {
	c := p.c
	conn, err := bus.Dial(ctx, rabbitmq.Kind(), bus.WithURL(p.url), bus.WithExchange(p.exchange), bus.WithMandatory(true),
		bus.WithConnectionName(q), bus.WithQueue(bus.Queue{Name: q, Bindings: []string{key}}),
		bus.WithDriverOptions(rabbitmq.Options{QueueType: rabbitmq.Quorum}))
	if err != nil {
		return nil, fmt.Errorf("brokerprobe: connect to %s: %w", p.url, err)
	}
	p.wg.Go(func() {
		err := conn.Consume(ctx, q, bus.ConsumeOptions{Prefetch: c.Prefetch}, func(context.Context, bus.Delivery) error {
			if p.counting.Load() {
				p.acked.Add(1)
			}
			return nil
		})
		if err != nil {
			p.fail(err)
		}
	})
	for range c.Publishers {
		p.wg.Go(func() {
			for ctx.Err() == nil {
				err := conn.Publish(ctx, key, bus.Message{Body: c.Body, ContentType: "application/x-protobuf", Type: "Probe"})
				if err != nil {
					if ctx.Err() == nil {
						p.fail(err)
					}
					return
				}
				if p.counting.Load() {
					p.confirmed.Add(1)
				}
			}
		})
	}
	return conn, nil
}

// measure counts over the window after the warm-up, then stops the
// workers; ctx is the caller's, runCtx the workers'.
func (p *probe) measure(ctx, runCtx context.Context) (Result, error) {
	c := p.c
	sleep := func(d time.Duration) bool {
		select {
		case <-runCtx.Done():
			return false
		case <-time.After(d):
			return true
		}
	}
	ok := sleep(c.Warmup)
	start := time.Now()
	p.counting.Store(true)
	ok = ok && sleep(c.Duration)
	p.counting.Store(false)
	secs := time.Since(start).Seconds()
	p.stop()
	p.wg.Wait()
	if p.firstErr != nil {
		return Result{}, fmt.Errorf("brokerprobe: %w", p.firstErr)
	}
	if !ok {
		return Result{}, ctx.Err()
	}
	r := Result{Queues: c.Queues, Publishers: c.Publishers, Prefetch: c.Prefetch, BodyBytes: len(c.Body), Seconds: secs,
		Confirmed: p.confirmed.Load(), Acked: p.acked.Load()}
	r.PublishRate, r.ConsumeRate = float64(r.Confirmed)/secs, float64(r.Acked)/secs
	r.MsgsPerSec = min(r.PublishRate, r.ConsumeRate)
	return r, nil
}
