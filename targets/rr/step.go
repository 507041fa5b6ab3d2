package rr

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/edabench/edabench/targets/api/orderpb"
	"github.com/edabench/edabench/targets/resilience"
	"github.com/edabench/edabench/targets/workflow"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// StepServer is one step of the RR twin (orderpb.StepServiceServer). In the
// chain topology it calls the next step before it replies.
type StepServer struct {
	orderpb.UnimplementedStepServiceServer
	cfg   Config
	exec  *workflow.Executor
	step  workflow.Step
	next  *peerClient // chain only; nil for the last step and in the fanout
	peers map[workflow.Step]*peerClient
	m     *metrics
	log   *slog.Logger
	track tracker
	comp  *compensator
	once  sync.Once
	cerr  error
}

// NewStepServer serves exec's step. In the chain topology it dials the next
// step, whose address peers must hold; other entries of peers are ignored.
func NewStepServer(cfg Config, exec *workflow.Executor, peers Peers, reg prometheus.Registerer) (*StepServer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if exec == nil {
		return nil, fmt.Errorf("rr step server: nil executor")
	}
	step := exec.Step()
	plan := cfg.Plan()
	if !plan.Includes(step) {
		return nil, fmt.Errorf("rr %s: not a step of the %s: run the twin with more steps, or do not start %s", step, plan, step)
	}
	var downstream []workflow.Step
	if cfg.Topology == workflow.Chain {
		downstream = plan.Next(step)
	}
	who := string(step)
	if err := peers.need(who, cfg, downstream); err != nil {
		return nil, err
	}
	m, err := newMetrics(reg, false)
	if err != nil {
		return nil, fmt.Errorf("rr %s: %w", step, err)
	}
	log := cfg.logger().With("service", who)
	clients, err := dialPeers(who, cfg, peers, downstream, m.rpc)
	if err != nil {
		return nil, err
	}
	s := &StepServer{cfg: cfg, exec: exec, step: step, peers: clients, m: m, log: log}
	s.comp = &compensator{cfg: cfg, m: m, log: log, track: &s.track}
	if len(downstream) == 1 {
		s.next = clients[downstream[0]]
	}
	return s, nil
}

// Close refuses new calls, waits for those in progress and for the
// compensations they started (bounded by ShutdownGrace), then closes the connection downstream. Idempotent.
func (s *StepServer) Close() error {
	s.once.Do(func() {
		if !s.track.drain(s.cfg.ShutdownGrace) {
			s.log.Warn("closing with calls or compensations still running: they are abandoned, and any effect they were undoing stays in force (the audit shows it)")
		}
		s.cerr = closePeers(s.peers)
	})
	return s.cerr
}

// Apply applies the step and, in the chain, the rest of the chain, and
// replies with the completion time of each. On failure nothing this call
// applied stays in force, or the error says it may (see the package doc).
func (s *StepServer) Apply(ctx context.Context, req *orderpb.StepRequest) (*orderpb.StepReply, error) {
	if !s.track.enter() {
		return nil, status.Errorf(codes.Unavailable, "%s is shutting down", s.step)
	}
	defer s.track.leave()
	s.m.inflight.Inc()
	defer s.m.inflight.Dec()

	o := workflow.FromProto(req.GetOrder())
	if err := o.Validate(); err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "%s: %v", s.step, err)
	}
	// A duplicate (a retried call) succeeds without applying again, and still
	// calls downstream: the first attempt may have died before it did.
	res, err := s.exec.Execute(ctx, o)
	if err != nil {
		return nil, executeStatus(s.step, err).Err()
	}
	mine := &orderpb.StepTime{Step: string(s.step), CompletedAt: timestamppb.New(res.At)}
	if s.next == nil {
		return &orderpb.StepReply{Steps: []*orderpb.StepTime{mine}}, nil
	}
	if err := ctx.Err(); err != nil {
		// The caller is gone and nothing was sent downstream: undo our own
		// effect now rather than wait for the caller's compensation.
		return nil, s.undoOwn(o.ID, status.FromContextError(err), nil)
	}
	rep, err := s.next.stub.Apply(ctx, req)
	if err != nil {
		return nil, s.downstreamFailed(ctx, o.ID, err)
	}
	steps := make([]*orderpb.StepTime, 0, 1+len(rep.GetSteps()))
	return &orderpb.StepReply{Steps: append(append(steps, mine), rep.GetSteps()...)}, nil
}

// downstreamFailed undoes this step's effect, makes sure the downstream's
// is undone too, and answers with the downstream's code, marked as owned so
// the hops in front neither retry nor compensate again.
func (s *StepServer) downstreamFailed(ctx context.Context, orderID string, err error) error {
	st := describe(s.next, err)
	if classify(err) == indeterminate {
		// The next step may have applied before its reply was lost. We own
		// its compensation from here on; it runs past our reply if it must.
		s.comp.start(ctx, orderID, fmt.Sprintf("%s: %s", s.step, st.Message()), []*peerClient{s.next}, nil)
	}
	return s.undoOwn(orderID, st, err)
}

// undoOwn compensates this step's effect and returns st marked as owned,
// or, when even that failed, an unmarked error so the caller compensates.
func (s *StepServer) undoOwn(orderID string, st *status.Status, cause error) error {
	if _, err := s.exec.Compensate(orderID); err != nil {
		s.log.Error("compensating own effect failed; the caller will compensate", "order", orderID, "err", err, "cause", cause)
		return status.Errorf(codes.Unavailable, "%s: %s; and undoing %s failed: %v", s.step, st.Message(), s.step, err)
	}
	return owned(st, s.step, true)
}

// Compensate undoes the step for the order and, in the chain, forwards the
// compensation down the rest of the chain. It succeeds only when the whole
// rest of the chain confirmed; it is idempotent, so a caller may repeat it.
func (s *StepServer) Compensate(ctx context.Context, req *orderpb.CompensateRequest) (*orderpb.CompensateReply, error) {
	s.track.enterAlways()
	defer s.track.leave()
	id := req.GetOrderId()
	if id == "" {
		return nil, status.Errorf(codes.InvalidArgument, "%s: compensate: order_id is empty", s.step)
	}
	if _, err := s.exec.Compensate(id); err != nil {
		return nil, executeStatus(s.step, err).Err()
	}
	if s.next == nil {
		return &orderpb.CompensateReply{}, nil
	}
	// Detached: a caller that gives up must not stop the cascade half-way.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.CompensationTimeout)
	defer cancel()
	if err := s.comp.call(fctx, s.next, id, req.GetReason()); err != nil {
		st := describe(s.next, err)
		return nil, resilience.Relay(status.Newf(st.Code(), "%s compensated, but forwarding to %s failed: %s",
			s.step, s.next.step, st.Message())).Err()
	}
	return &orderpb.CompensateReply{}, nil
}
