package rr

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/edabench/edabench/targets/api/orderpb"
	"github.com/edabench/edabench/targets/resilience"
)

// tracker counts the work in progress (requests and the compensations they
// started), so Close can wait for it before closing the connections that
// work uses.
type tracker struct {
	mu      sync.Mutex
	n       int
	closing bool
	idle    chan struct{}
}

// enter admits a request unless the service is closing.
func (t *tracker) enter() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closing {
		return false
	}
	t.n++
	return true
}

// enterAlways admits work that must not be refused, such as a compensation:
// refusing it could leave an effect in force.
func (t *tracker) enterAlways() {
	t.mu.Lock()
	t.n++
	t.mu.Unlock()
}

func (t *tracker) leave() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.n--
	if t.n == 0 && t.idle != nil {
		close(t.idle)
		t.idle = nil
	}
}

// drain refuses new requests and waits up to timeout for the rest.
func (t *tracker) drain(timeout time.Duration) bool {
	t.mu.Lock()
	t.closing = true
	if t.n == 0 {
		t.mu.Unlock()
		return true
	}
	if t.idle == nil {
		t.idle = make(chan struct{})
	}
	idle := t.idle
	t.mu.Unlock()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-idle:
		return true
	case <-timer.C:
		return false
	}
}

// compensator sends compensations: concurrently, each bounded by
// CompensationTimeout, detached from the request that started them, and
// through open breakers.
type compensator struct {
	cfg   Config
	m     *metrics
	log   *slog.Logger
	track *tracker
}

// start compensates orderID at every target and reports on the returned
// channel whether all of them confirmed. onOK runs for each that did.
func (c *compensator) start(parent context.Context, orderID, reason string, targets []*peerClient, onOK func(*peerClient)) <-chan bool {
	done := make(chan bool, 1)
	c.track.enterAlways()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(parent), c.cfg.CompensationTimeout)
	go func() {
		defer c.track.leave()
		defer cancel()
		var wg sync.WaitGroup
		errs := make([]error, len(targets))
		for i, p := range targets {
			wg.Go(func() { errs[i] = c.call(ctx, p, orderID, reason) })
		}
		wg.Wait()
		ok := true
		for i, err := range errs {
			if err != nil {
				ok = false
			} else if onOK != nil {
				onOK(targets[i])
			}
		}
		done <- ok
	}()
	return done
}

func (c *compensator) call(ctx context.Context, p *peerClient, orderID, reason string) error {
	_, err := p.stub.Compensate(ctx, &orderpb.CompensateRequest{OrderId: orderID, Reason: reason},
		resilience.BypassBreaker(), resilience.MaxRetries(c.cfg.CompensationRetries))
	result := "ok"
	if err != nil {
		result = "failed"
		// The one failure the RR twin cannot repair by itself: nothing
		// durable remembers to try again. The audit shows it as in force.
		c.log.Error("compensation failed: the step's effect may stay in force", "order", orderID, "peer", p.step,
			"addr", p.addr, "timeout", c.cfg.CompensationTimeout, "err", err)
	}
	c.m.compensations.WithLabelValues(string(p.step), result).Inc()
	return err
}
