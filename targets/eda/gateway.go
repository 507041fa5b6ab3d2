package eda

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/edabench/edabench/targets/api/orderpb"
	"github.com/edabench/edabench/targets/bus"
	"github.com/edabench/edabench/targets/workflow"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Gateway is the EDA twin's OrderService: it answers ACCEPTED once the
// broker confirmed OrderPlaced, and keeps the read model from the events.
type Gateway struct {
	orderpb.UnimplementedOrderServiceServer
	cfg  Config
	rm   *workflow.ReadModel
	conn *bus.Conn
	m    *Metrics
	log  *slog.Logger
	// DefaultDeadline bounds a PlaceOrder whose client set no deadline, so a
	// broker that never confirms cannot hold a request forever.
	defaultDeadline time.Duration
	undoSync        func(ctx context.Context, orderID, reason string) error
	subscribed      *bus.Once
}

// GatewayOption configures a Gateway.
type GatewayOption func(*Gateway)

// WithSyncCompensation is for the hybrid twin (Config.SyncPayment): when a
// later step fails, undo compensates the steps the gateway called
// synchronously, before the order reads REJECTED. An error from undo leaves
// OrderFailed in the gateway's durable queue to be delivered again, so the
// broker, not a goroutine, remembers the compensation still owed.
func WithSyncCompensation(undo func(ctx context.Context, orderID, reason string) error) GatewayOption {
	return func(g *Gateway) { g.undoSync = undo }
}

// NewGateway connects to the broker and declares the twin's topology.
func NewGateway(ctx context.Context, cfg Config, rm *workflow.ReadModel, m *Metrics, log *slog.Logger, opts ...GatewayOption) (*Gateway, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if rm == nil {
		return nil, fmt.Errorf("gateway: nil read model (pass workflow.NewReadModelFor(cfg.Plan()))")
	}
	if rm.StepCount() != cfg.Plan().Len() {
		return nil, fmt.Errorf("gateway: the read model completes orders after %d steps but the plan is a %s: build it with workflow.NewReadModelFor(cfg.Plan())",
			rm.StepCount(), cfg.Plan())
	}
	if err := m.forBroker(cfg.Broker()); err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	if log == nil {
		log = slog.Default()
	}
	conn, err := cfg.Dial(ctx, "edabench/"+cfg.Prefix+"/gateway", bus.WithLogger(log), bus.WithObserver(m.observer(cfg)))
	if err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	g := &Gateway{cfg: cfg, rm: rm, conn: conn, m: m, log: log, defaultDeadline: 10 * time.Second, subscribed: bus.NewOnce()}
	for _, o := range opts {
		o(g)
	}
	if cfg.SyncPayment && g.undoSync == nil {
		conn.Close()
		return nil, errors.New("gateway: a hybrid gateway (SyncPayment) needs WithSyncCompensation, or a failed order's payment stays in force")
	}
	return g, nil
}

// Close closes the broker connection.
func (g *Gateway) Close() error { return g.conn.Close() }

// PlaceOrder stores the order, publishes OrderPlaced and waits for the confirm.
func (g *Gateway) PlaceOrder(ctx context.Context, req *orderpb.PlaceOrderRequest) (*orderpb.PlaceOrderReply, error) {
	o := workflow.FromRequest(req)
	if err := o.Validate(); err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	v, isNew := g.rm.Accept(o.ID, req.GetIdempotencyKey(), time.Now())
	if !isNew {
		// A retry: its OrderPlaced was confirmed before; answer from the read model.
		return &orderpb.PlaceOrderReply{OrderId: v.ID, Status: v.Status, Reason: v.Reason}, nil
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, g.defaultDeadline)
		defer cancel()
	}
	err := publishEvent(ctx, g.conn, KeyOrderPlaced, &orderpb.Event{Type: TypeOrderPlaced, Order: o.Proto(), OccurredAt: timestamppb.New(v.AcceptedAt)})
	if err != nil {
		// Unconfirmed is indeterminate: the event may be in the queue. A
		// retry publishes it again and the consumers' idempotency absorbs it.
		g.rm.Forget(o.ID)
		code := codes.Unavailable
		if errors.Is(err, context.DeadlineExceeded) {
			code = codes.DeadlineExceeded
		}
		return nil, status.Errorf(code, "order %s not accepted: the broker did not confirm OrderPlaced: %v", o.ID, err)
	}
	return &orderpb.PlaceOrderReply{OrderId: o.ID, Status: orderpb.OrderStatus_ACCEPTED}, nil
}

// HandOff is the hybrid gateway's step from the synchronous part to the
// events: payment applied over gRPC (at is its completion time), it
// publishes payment's success event, persistent, and waits for the broker's
// confirm; the consumers carry the order on from there. When payment is the
// whole plan the event is OrderCompleted and completed is true. Errors are
// bus.Publish's: one wrapping bus.ErrNotPublished means no step will ever
// see the order; any other may hide an event that was enqueued.
func (g *Gateway) HandOff(ctx context.Context, o workflow.Order, at time.Time) (completed bool, err error) {
	if !g.cfg.SyncPayment {
		return false, errors.New("hand-off: this gateway publishes OrderPlaced, not payment's event (set Config.SyncPayment for the hybrid twin)")
	}
	plan := g.cfg.Plan()
	key, typ := successKey(plan, workflow.Payment)
	if completed = plan.Len() == 1; completed {
		// Fanout too: with no step after payment there is nothing to join.
		key, typ = KeyOrderCompleted, TypeOrderCompleted
	}
	err = publishEvent(ctx, g.conn, key, &orderpb.Event{Type: typ, Order: o.Proto(), Step: string(workflow.Payment), OccurredAt: timestamppb.New(at)})
	if err != nil {
		return false, fmt.Errorf("order %s: the broker did not confirm %s: %w", o.ID, typ, err)
	}
	return completed, nil
}

// GetOrder answers from the read model, which lags the workflow by design.
func (g *Gateway) GetOrder(ctx context.Context, req *orderpb.GetOrderRequest) (*orderpb.Order, error) {
	v, ok := g.rm.Get(req.GetOrderId())
	if !ok {
		return nil, status.Errorf(codes.NotFound, "order %q is unknown to this gateway", req.GetOrderId())
	}
	return v.Proto(), nil
}

// RunProjector consumes the gateway's queue into the read model until ctx
// ends. In the fanout topology it is also the join: once every step has
// reported, it publishes OrderCompleted.
func (g *Gateway) RunProjector(ctx context.Context) error {
	return g.conn.Consume(ctx, g.cfg.QueueName("gateway"), bus.ConsumeOptions{Subscribed: g.subscribed.Do}, g.project)
}

// Subscribed is closed once RunProjector's first subscription is in place.
func (g *Gateway) Subscribed() <-chan struct{} { return g.subscribed.Done() }

func (g *Gateway) project(ctx context.Context, d bus.Delivery) error {
	g.m.observeLag(d)
	ev, err := decode(d.Body)
	if err != nil {
		return bus.Poison(err)
	}
	id, at := ev.GetOrder().GetOrderId(), eventTime(ev)
	switch d.RoutingKey {
	case KeyOrderCompleted:
		g.rm.Complete(id, at)
		if g.cfg.Topology == workflow.Chain {
			// The last step's own success event is OrderCompleted.
			g.rm.StepDone(id, g.cfg.Plan().Last(), at)
		}
	case KeyOrderFailed:
		if g.undoSync != nil {
			if err := g.undoSync(ctx, id, ev.GetReason()); err != nil {
				return fmt.Errorf("order %s failed at %s, and compensating the synchronous steps failed (OrderFailed is delivered again): %w",
					id, ev.GetStep(), err)
			}
		}
		g.rm.Reject(id, ev.GetReason(), at)
	default:
		step, ok := stepOfKey(g.cfg.Plan(), d.RoutingKey)
		if !ok {
			return nil
		}
		if g.rm.StepDone(id, step, at) && g.cfg.Topology == workflow.Fanout {
			return publishEvent(ctx, g.conn, KeyOrderCompleted, &orderpb.Event{Type: TypeOrderCompleted, Order: ev.GetOrder(),
				Step: string(step), OccurredAt: timestamppb.New(at)})
		}
	}
	return nil
}
