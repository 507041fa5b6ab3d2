// Package hybrid is the third twin, the architecture the articles recommend:
// the critical path the customer waits on is synchronous, the side effects
// are events. The gateway calls payment over gRPC with the RR twin's
// machinery (deadline, bounded retries with jitter, a circuit breaker,
// compensation of an indeterminate call), then publishes payment's success
// event (persistent, confirmed) and replies PAYMENT_CAPTURED. Inventory,
// shipping and notification are the EDA twin's consumers, in either
// topology, with its reliability settings; OrderCompleted ends an order as
// in the EDA twin, and GetOrder reads COMPLETED once the gateway consumed it.
//
// The twin is built from the other two rather than beside them: the
// gateway is an rr.Gateway running a one-step plan (payment) whose success
// hands the order to an eda.Gateway configured with eda.Config.SyncPayment,
// and payment is an rr.StepServer with no step after it.
//
// Failures: payment refusing (FAILED_PRECONDITION) replies REJECTED, as in
// RR. A later step failing publishes OrderFailed, as in EDA; the gateway
// consumes it, compensates payment over gRPC and only then acks, so the
// compensation owed survives a gateway crash in the queue. A hand-off the
// broker certainly never received (bus.ErrNotPublished) compensates
// payment at once and the order reads REJECTED; one that may have been
// enqueued (unconfirmed at the deadline) is published again in the
// background, for up to the compensation timeout, so payment is not left
// captured for an order no consumer will ever see.
package hybrid

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/edabench/edabench/targets/api/orderpb"
	"github.com/edabench/edabench/targets/bus"
	"github.com/edabench/edabench/targets/eda"
	"github.com/edabench/edabench/targets/rr"
	"github.com/edabench/edabench/targets/workflow"
	"github.com/prometheus/client_golang/prometheus"
)

// MetricPendingHandoffs is the gauge of the hand-offs still in progress
// after their reply.
const MetricPendingHandoffs = "edabench_hybrid_handoffs_pending"

// RRConfig is the RR side of the hybrid: cfg's resilience settings, for a
// plan of payment alone, which is what both the gateway's calls and the
// payment step server run.
func RRConfig(cfg rr.Config) rr.Config {
	cfg.Topology, cfg.Steps = workflow.Chain, 1
	return cfg
}

// EDAConfig is the asynchronous side: cfg with payment out of the bus.
func EDAConfig(cfg eda.Config) eda.Config {
	cfg.SyncPayment = true
	return cfg
}

// Gateway is the hybrid twin's OrderService.
type Gateway struct {
	*rr.Gateway
	events *eda.Gateway
	rm     *workflow.ReadModel
	retry  time.Duration // how long an unconfirmed hand-off is published again
	log    *slog.Logger
	bg     sync.WaitGroup
	stop   context.CancelFunc
	bgCtx  context.Context
	// pending counts the hand-offs still being published after their
	// reply: the harness waits for it to reach 0 before its audit, or an
	// order whose event is about to be confirmed would count as orphaned.
	pending prometheus.Gauge
	once    sync.Once
	cerr    error
}

// NewGateway builds the gateway of a twin running edaCfg's plan (topology
// and steps): rrCfg gives the call's resilience settings, peers payment's
// address. reg registers the RR side's metrics; em are the EDA side's.
func NewGateway(ctx context.Context, rrCfg rr.Config, edaCfg eda.Config, peers rr.Peers, reg prometheus.Registerer, em *eda.Metrics, log *slog.Logger) (*Gateway, error) {
	if log == nil {
		log = slog.Default()
	}
	rrCfg, edaCfg = RRConfig(rrCfg), EDAConfig(edaCfg)
	g := &Gateway{rm: workflow.NewReadModelFor(edaCfg.Plan()), retry: rrCfg.CompensationTimeout, log: log,
		pending: prometheus.NewGauge(prometheus.GaugeOpts{Name: MetricPendingHandoffs,
			Help: "Hand-offs unconfirmed at their reply that the hybrid gateway is still publishing (or compensating)."})}
	if reg != nil {
		if err := reg.Register(g.pending); err != nil {
			return nil, fmt.Errorf("hybrid gateway: register %s: %w", MetricPendingHandoffs, err)
		}
	}
	g.bgCtx, g.stop = context.WithCancel(context.WithoutCancel(ctx))
	events, err := eda.NewGateway(ctx, edaCfg, g.rm, em, log, eda.WithSyncCompensation(g.compensate))
	if err != nil {
		return nil, fmt.Errorf("hybrid gateway: %w", err)
	}
	g.events = events
	g.Gateway, err = rr.NewGateway(rrCfg, peers, g.rm, reg, rr.WithHandoff(g.handOff))
	if err != nil {
		events.Close()
		return nil, fmt.Errorf("hybrid gateway: %w", err)
	}
	return g, nil
}

// RunProjector consumes the gateway's queue (the read model, the fanout's
// join, payment's compensations) until ctx ends.
func (g *Gateway) RunProjector(ctx context.Context) error { return g.events.RunProjector(ctx) }

// Subscribed is closed once RunProjector's first subscription is in place.
func (g *Gateway) Subscribed() <-chan struct{} { return g.events.Subscribed() }

// Close stops taking orders, waits for those in progress (the RR side's
// grace), stops the background hand-offs and closes both sides. Idempotent.
func (g *Gateway) Close() error {
	g.once.Do(func() {
		rerr := g.Gateway.Close()
		g.stop()
		g.bg.Wait()
		g.cerr = errors.Join(rerr, g.events.Close())
	})
	return g.cerr
}

// compensate is called by the projector for an OrderFailed: payment is
// the only step outside the bus.
func (g *Gateway) compensate(ctx context.Context, orderID, reason string) error {
	return g.Gateway.Compensate(ctx, orderID, reason)
}

// handOff publishes payment's event once payment applied.
func (g *Gateway) handOff(ctx context.Context, o workflow.Order) (*orderpb.PlaceOrderReply, error) {
	v, _ := g.rm.Get(o.ID)
	at := v.Steps[workflow.Payment]
	completed, err := g.events.HandOff(ctx, o, at)
	switch {
	case err == nil && completed:
		g.rm.Complete(o.ID, time.Now())
		return &orderpb.PlaceOrderReply{OrderId: o.ID, Status: orderpb.OrderStatus_COMPLETED}, nil
	case err == nil:
		return &orderpb.PlaceOrderReply{OrderId: o.ID, Status: orderpb.OrderStatus_PAYMENT_CAPTURED}, nil
	case errors.Is(err, bus.ErrNotPublished):
		return nil, fmt.Errorf("%w: %w", rr.ErrNotHandedOff, err)
	}
	g.pending.Inc()
	g.bg.Go(func() {
		defer g.pending.Dec()
		g.republish(o, at)
	})
	return nil, fmt.Errorf("%w; the gateway publishes it again for up to %v", err, g.retry)
}

// republish keeps publishing an unconfirmed hand-off: if the event was lost
// with the broker, nothing else would ever carry the order on, and payment
// would stay captured.
func (g *Gateway) republish(o workflow.Order, at time.Time) {
	ctx, cancel := context.WithTimeout(g.bgCtx, g.retry)
	defer cancel()
	_, err := g.events.HandOff(ctx, o, at)
	switch {
	case err == nil:
		return
	case errors.Is(err, bus.ErrNotPublished) && g.bgCtx.Err() == nil:
		reason := fmt.Sprintf("not completed: the broker never took payment's event: %v", err)
		if cerr := g.Gateway.Compensate(context.WithoutCancel(ctx), o.ID, reason); cerr != nil {
			g.log.Error("hand-off failed and compensating payment failed too: the payment stays captured", "order", o.ID, "err", cerr)
			return
		}
		g.rm.Reject(o.ID, reason, time.Now())
		return
	}
	g.log.Error("hand-off still unconfirmed: if the broker lost the event, the payment stays captured with no order behind it (the audit shows it)",
		"order", o.ID, "err", err)
}
