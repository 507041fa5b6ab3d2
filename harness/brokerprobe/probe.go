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

	"github.com/edabench/edabench/targets/bus"
	"github.com/edabench/edabench/targets/bus/rabbitmq"
)

// Config is one probe.
type Config struct {
	URL string
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

// Run probes the broker and deletes what it declared.
func Run(ctx context.Context, c Config) (Result, error) {
	if c.Queues <= 0 {
		c.Queues = 5
	}
	if c.Publishers <= 0 {
		c.Publishers = 64
	}
	if c.Prefetch <= 0 {
		c.Prefetch = 64
	}
	if c.Duration <= 0 {
		return Result{}, errors.New("brokerprobe: Duration must be positive")
	}
	if c.Warmup <= 0 {
		c.Warmup = min(c.Duration/5, 2*time.Second)
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	prefix := "probe" + hex.EncodeToString(b)
	exchange := prefix + ".orders"

	var queues []string
	for i := range c.Queues {
		queues = append(queues, fmt.Sprintf("%s.q%d", prefix, i))
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		_ = rabbitmq.DeleteQueues(dctx, c.URL, exchange, queues...)
	}()

	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	var (
		counting         atomic.Bool
		confirmed, acked atomic.Int64
		wg               sync.WaitGroup
		errMu            sync.Mutex
		firstErr         error
	)
	fail := func(err error) {
		errMu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		errMu.Unlock()
		stop()
	}
	for i, q := range queues {
		key := fmt.Sprintf("probe.%d", i)
		conn, err := bus.Dial(runCtx, rabbitmq.Kind(), bus.WithURL(c.URL), bus.WithExchange(exchange), bus.WithMandatory(true),
			bus.WithConnectionName(q), bus.WithQueue(bus.Queue{Name: q, Bindings: []string{key}}),
			bus.WithDriverOptions(rabbitmq.Options{QueueType: rabbitmq.Quorum}))
		if err != nil {
			return Result{}, fmt.Errorf("brokerprobe: connect to %s: %w", c.URL, err)
		}
		defer conn.Close()
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := conn.Consume(runCtx, q, bus.ConsumeOptions{Prefetch: c.Prefetch}, func(context.Context, bus.Delivery) error {
				if counting.Load() {
					acked.Add(1)
				}
				return nil
			})
			if err != nil {
				fail(err)
			}
		}()
		for range c.Publishers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for runCtx.Err() == nil {
					err := conn.Publish(runCtx, key, bus.Message{Body: c.Body, ContentType: "application/x-protobuf", Type: "Probe"})
					if err != nil {
						if runCtx.Err() == nil {
							fail(err)
						}
						return
					}
					if counting.Load() {
						confirmed.Add(1)
					}
				}
			}()
		}
	}
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
	counting.Store(true)
	ok = ok && sleep(c.Duration)
	counting.Store(false)
	secs := time.Since(start).Seconds()
	stop()
	wg.Wait()
	if firstErr != nil {
		return Result{}, fmt.Errorf("brokerprobe: %w", firstErr)
	}
	if !ok {
		return Result{}, ctx.Err()
	}
	r := Result{Queues: c.Queues, Publishers: c.Publishers, Prefetch: c.Prefetch, BodyBytes: len(c.Body), Seconds: secs,
		Confirmed: confirmed.Load(), Acked: acked.Load()}
	r.PublishRate, r.ConsumeRate = float64(r.Confirmed)/secs, float64(r.Acked)/secs
	r.MsgsPerSec = min(r.PublishRate, r.ConsumeRate)
	return r, nil
}
