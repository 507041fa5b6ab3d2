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
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// StepService consumes one step's queue.
type StepService struct {
	cfg        Config
	exec       *workflow.Executor
	conn       *bus.Conn
	m          *Metrics
	log        *slog.Logger
	subscribed *bus.Once
}

// NewStepService connects to the broker and declares the twin's topology.
func NewStepService(ctx context.Context, cfg Config, exec *workflow.Executor, m *Metrics, log *slog.Logger) (*StepService, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if !cfg.Plan().Includes(exec.Step()) {
		return nil, fmt.Errorf("%s: not a step of the %s: run the twin with more steps, or do not start %s", exec.Step(), cfg.Plan(), exec.Step())
	}
	if !cfg.consumes(exec.Step()) {
		return nil, fmt.Errorf("%s: the hybrid twin calls it over gRPC, so it has no queue to consume: run it as an RR step server (target --twin hybrid --service %s)",
			exec.Step(), exec.Step())
	}
	if err := m.forBroker(cfg.Broker()); err != nil {
		return nil, fmt.Errorf("%s: %w", exec.Step(), err)
	}
	if log == nil {
		log = slog.Default()
	}
	name := fmt.Sprintf("edabench/%s/%s", cfg.Prefix, exec.Step())
	conn, err := cfg.Dial(ctx, name, bus.WithLogger(log), bus.WithObserver(m.observer(cfg)))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", exec.Step(), err)
	}
	return &StepService{cfg: cfg, exec: exec, conn: conn, m: m, log: log, subscribed: bus.NewOnce()}, nil
}

// Run consumes until ctx ends.
func (s *StepService) Run(ctx context.Context) error {
	q := s.cfg.QueueName(string(s.exec.Step()))
	return s.conn.Consume(ctx, q, bus.ConsumeOptions{Subscribed: s.subscribed.Do}, s.handle)
}

// Step names the step the service consumes for.
func (s *StepService) Step() string { return string(s.exec.Step()) }

// Subscribed is closed once Run's first subscription is in place.
func (s *StepService) Subscribed() <-chan struct{} { return s.subscribed.Done() }

// Close closes the broker connection.
func (s *StepService) Close() error { return s.conn.Close() }

// handle applies the step, publishes what follows, and returns nil only
// when that publish was confirmed: the delivery is acked after the effect is
// stored and its consequence is safe in the broker, never before.
func (s *StepService) handle(ctx context.Context, d bus.Delivery) error {
	s.m.observeLag(d)
	ev, err := decode(d.Body)
	if err != nil {
		return bus.Poison(err)
	}
	order := workflow.FromProto(ev.GetOrder())
	step := s.exec.Step()
	if d.RoutingKey == KeyOrderFailed {
		if ev.GetStep() == string(step) {
			return nil
		}
		// Siblings in the fanout may see the failure before their own
		// trigger: compensating an unapplied step leaves a tombstone that
		// refuses the late trigger.
		if _, err := s.exec.Compensate(order.ID); err != nil {
			return err
		}
		return nil
	}
	res, err := s.exec.Execute(ctx, order)
	switch {
	case errors.Is(err, workflow.ErrStepFailed):
		return s.publish(ctx, KeyOrderFailed, &orderpb.Event{Type: TypeOrderFailed, Order: ev.GetOrder(),
			Step: string(step), Reason: err.Error(), OccurredAt: timestamppb.New(res.At)})
	case errors.Is(err, workflow.ErrCompensated):
		return nil
	case err != nil:
		return err // transient: redelivered, bounded, then dead-lettered
	}
	// A duplicate publishes again: the first attempt may have died between
	// storing the effect and the confirm, and downstream is idempotent.
	key, typ := successKey(s.cfg.Plan(), step)
	return s.publish(ctx, key, &orderpb.Event{Type: typ, Order: ev.GetOrder(), Step: string(step), OccurredAt: timestamppb.New(res.At)})
}

func (s *StepService) publish(ctx context.Context, key string, ev *orderpb.Event) error {
	return publishEvent(ctx, s.conn, key, ev)
}

func publishEvent(ctx context.Context, c *bus.Conn, key string, ev *orderpb.Event) error {
	body, err := proto.Marshal(ev)
	if err != nil {
		return err
	}
	return c.Publish(ctx, key, bus.Message{Body: body, CorrelationID: ev.GetOrder().GetOrderId(), Type: ev.GetType(),
		ContentType: "application/x-protobuf"})
}

func decode(b []byte) (*orderpb.Event, error) {
	ev := &orderpb.Event{}
	if err := proto.Unmarshal(b, ev); err != nil {
		return nil, fmt.Errorf("event body is not an edabench.v1.Event: %w", err)
	}
	if ev.GetOrder().GetOrderId() == "" {
		return nil, errors.New("event has no order id")
	}
	return ev, nil
}

// eventTime is when the event's step decided, or now when it has none.
func eventTime(ev *orderpb.Event) time.Time {
	if ev.GetOccurredAt() != nil {
		return ev.GetOccurredAt().AsTime()
	}
	return time.Now()
}
