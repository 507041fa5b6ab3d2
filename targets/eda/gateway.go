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
}

// NewGateway connects to the broker and declares the twin's topology.
func NewGateway(ctx context.Context, cfg Config, rm *workflow.ReadModel, m *Metrics, log *slog.Logger) (*Gateway, error) {
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
	if log == nil {
		log = slog.Default()
	}
	conn, err := bus.Dial(ctx, cfg.busOptions("edabench/"+cfg.Prefix+"/gateway", bus.WithLogger(log), bus.WithObserver(m.observer()))...)
	if err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	return &Gateway{cfg: cfg, rm: rm, conn: conn, m: m, log: log, defaultDeadline: 10 * time.Second}, nil
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
	return g.conn.Consume(ctx, g.cfg.QueueName("gateway"), bus.ConsumeOptions{Prefetch: g.cfg.Prefetch}, g.project)
}

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
