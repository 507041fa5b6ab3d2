package rr

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/edabench/edabench/targets/api/orderpb"
	"github.com/edabench/edabench/targets/resilience"
	"github.com/edabench/edabench/targets/workflow"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Gateway is the RR twin's OrderService: PlaceOrder runs the workflow
// synchronously and replies COMPLETED, REJECTED, or a gRPC error when the
// outcome could not be reached in time (the order is then compensated).
type Gateway struct {
	orderpb.UnimplementedOrderServiceServer
	cfg   Config
	rm    *workflow.ReadModel
	peers map[workflow.Step]*peerClient
	m     *metrics
	log   *slog.Logger
	track tracker
	comp  *compensator

	mu      sync.Mutex
	running map[string]chan struct{} // order ID -> closed when its PlaceOrder is done
	handoff Handoff

	once sync.Once
	cerr error
}

// Handoff carries an order on once the gateway's calls applied, in place of
// replying COMPLETED: the hybrid twin publishes payment's event and lets the
// consumers do the rest. It returns the reply. An error wrapping
// ErrNotHandedOff says nothing after the calls will ever run, so the
// gateway compensates them and the order reads REJECTED; any other error
// leaves their effects in force (the hand-off may have happened) and is
// the client's indeterminate answer.
type Handoff func(ctx context.Context, o workflow.Order) (*orderpb.PlaceOrderReply, error)

// ErrNotHandedOff marks a Handoff that certainly did not happen.
var ErrNotHandedOff = errors.New("order not handed off")

// GatewayOption configures a Gateway.
type GatewayOption func(*Gateway)

// WithHandoff makes the gateway the synchronous front of a longer workflow
// (the hybrid twin): it runs cfg's plan over gRPC, then h. The read model
// then covers the whole workflow, of which cfg's plan is the start.
func WithHandoff(h Handoff) GatewayOption { return func(g *Gateway) { g.handoff = h } }

// NewGateway dials the steps it calls: payment in the chain, every step of
// the plan in the fanout. rm is its read model (GetOrder), built for the
// same plan (or a longer one, WithHandoff).
func NewGateway(cfg Config, peers Peers, rm *workflow.ReadModel, reg prometheus.Registerer, opts ...GatewayOption) (*Gateway, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if rm == nil {
		return nil, fmt.Errorf("rr gateway: nil read model (pass workflow.NewReadModelFor(cfg.Plan()))")
	}
	plan := cfg.Plan()
	g := &Gateway{cfg: cfg, rm: rm, running: make(map[string]chan struct{})}
	for _, o := range opts {
		o(g)
	}
	if rm.StepCount() != plan.Len() && (g.handoff == nil || rm.StepCount() < plan.Len()) {
		return nil, fmt.Errorf("rr gateway: the read model completes orders after %d steps but the plan is a %s: build it with workflow.NewReadModelFor(cfg.Plan())",
			rm.StepCount(), plan)
	}
	calls := []workflow.Step{workflow.Payment}
	if cfg.Topology == workflow.Fanout {
		calls = plan.Steps()
	}
	if err := peers.need("gateway", cfg, calls); err != nil {
		return nil, err
	}
	m, err := newMetrics(reg, true)
	if err != nil {
		return nil, fmt.Errorf("rr gateway: %w", err)
	}
	log := cfg.logger().With("service", "gateway")
	clients, err := dialPeers("gateway", cfg, peers, calls, m.rpc)
	if err != nil {
		return nil, err
	}
	g.peers, g.m, g.log = clients, m, log
	g.comp = &compensator{cfg: cfg, m: m, log: log, track: &g.track}
	return g, nil
}

// Close refuses new orders, waits for those in progress and their
// compensations (bounded by ShutdownGrace), then closes the connections. Idempotent.
func (g *Gateway) Close() error {
	g.once.Do(func() {
		if !g.track.drain(g.cfg.ShutdownGrace) {
			g.log.Warn("closing with orders or compensations still running: they are abandoned, and any effect they were undoing stays in force (the audit shows it)")
		}
		g.cerr = closePeers(g.peers)
	})
	return g.cerr
}

// PlaceOrder validates the order, runs the workflow and replies with its
// outcome. A retry of a known order is answered from the read model (see
// the package doc).
func (g *Gateway) PlaceOrder(ctx context.Context, req *orderpb.PlaceOrderRequest) (*orderpb.PlaceOrderReply, error) {
	if !g.track.enter() {
		return nil, status.Error(codes.Unavailable, "gateway is shutting down")
	}
	defer g.track.leave()
	g.m.inflight.Inc()
	defer g.m.inflight.Dec()

	o := workflow.FromRequest(req)
	if err := o.Validate(); err != nil {
		g.m.orders.WithLabelValues("NONE", codes.InvalidArgument.String()).Inc()
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, g.cfg.DefaultDeadline)
		defer cancel()
	}
	v, isNew, running := g.accept(o.ID, req.GetIdempotencyKey())
	if !isNew {
		return g.replay(ctx, v, running)
	}
	rep, err := g.run(ctx, o)
	g.finish(v.ID, running)
	st := "NONE"
	if rep != nil {
		st = rep.GetStatus().String()
	}
	g.m.orders.WithLabelValues(st, status.Code(err).String()).Inc()
	return rep, err
}

// GetOrder answers from the read model.
func (g *Gateway) GetOrder(_ context.Context, req *orderpb.GetOrderRequest) (*orderpb.Order, error) {
	v, ok := g.rm.Get(req.GetOrderId())
	if !ok {
		return nil, status.Errorf(codes.NotFound, "order %q is unknown to this gateway", req.GetOrderId())
	}
	return v.Proto(), nil
}

// accept records a new order, or finds the one a retry refers to and, if it
// is still running, what to wait on.
func (g *Gateway) accept(id, key string) (workflow.View, bool, chan struct{}) {
	g.mu.Lock()
	defer g.mu.Unlock()
	v, isNew := g.rm.Accept(id, key, time.Now())
	if isNew {
		ch := make(chan struct{})
		g.running[v.ID] = ch
		return v, true, ch
	}
	return v, false, g.running[v.ID]
}

// finish runs after the read model has the order's outcome. An order that
// was forgotten (never started) may already run again under a new entry:
// only this run's entry is removed.
func (g *Gateway) finish(id string, ch chan struct{}) {
	g.mu.Lock()
	defer g.mu.Unlock()
	close(ch)
	if g.running[id] == ch {
		delete(g.running, id)
	}
}

// replay answers a retried PlaceOrder: it waits for an order still running,
// up to its own reply deadline, so a client that retried after a timeout
// gets the outcome rather than a second workflow or a bare ACCEPTED.
func (g *Gateway) replay(ctx context.Context, v workflow.View, running <-chan struct{}) (*orderpb.PlaceOrderReply, error) {
	if v.Status == orderpb.OrderStatus_ACCEPTED && running != nil {
		// Nothing to compensate here, so the reply can leave as early as
		// the calls of a new order would have to stop.
		deadline, _ := ctx.Deadline()
		waitBy, _ := g.budget(deadline)
		wctx, cancel := context.WithDeadline(ctx, waitBy)
		select {
		case <-running:
		case <-wctx.Done():
		}
		cancel()
		cur, ok := g.rm.Get(v.ID)
		if !ok {
			return nil, status.Errorf(codes.Unavailable, "order %s was not started: a step's circuit was open; nothing was applied: retry", v.ID)
		}
		v = cur
	}
	g.m.replays.WithLabelValues(v.Status.String()).Inc()
	return &orderpb.PlaceOrderReply{OrderId: v.ID, Status: v.Status, Reason: v.Reason}, nil
}

// budget splits the time to deadline: calls may run until workBy, and the
// reply must leave by replyBy, so the client gets our answer rather than
// its own DeadlineExceeded.
func (g *Gateway) budget(deadline time.Time) (workBy, replyBy time.Time) {
	margin := min(g.cfg.ReplyMargin, time.Until(deadline)/10)
	if margin < 0 {
		margin = 0
	}
	return deadline.Add(-margin), deadline.Add(-margin / 2)
}

// outcome is how the workflow calls ended.
type outcome struct {
	steps  []*orderpb.StepTime
	failed *peerClient // the step whose failure decides the reply; nil on success
	err    error
	// compensate are the steps that may hold an effect nobody else will undo.
	compensate []*peerClient
	// notStarted: the first call was refused by a breaker; nothing was sent.
	notStarted bool
}

func (g *Gateway) run(ctx context.Context, o workflow.Order) (*orderpb.PlaceOrderReply, error) {
	deadline, _ := ctx.Deadline()
	workBy, replyBy := g.budget(deadline)
	work, cancel := context.WithDeadline(ctx, workBy)
	defer cancel()
	if err := work.Err(); err != nil {
		g.rm.Forget(o.ID)
		return nil, status.Errorf(status.FromContextError(err).Code(), "order %s arrived with no time left to run it: %v", o.ID, err)
	}
	req := &orderpb.StepRequest{Order: o.Proto()}
	var out outcome
	if g.cfg.Topology == workflow.Fanout {
		out = g.fanout(work, req)
	} else {
		out = g.chain(work, req)
	}
	if out.failed == nil {
		if err := g.checkSteps(out.steps); err != nil {
			out = outcome{failed: g.peers[workflow.Payment], err: err, compensate: g.all()}
		}
	}
	if out.failed != nil {
		return g.fail(ctx, replyBy, o.ID, out)
	}
	for _, t := range out.steps {
		st, _ := workflow.ParseStep(t.GetStep()) // checkSteps parsed them
		g.rm.StepDone(o.ID, st, t.GetCompletedAt().AsTime())
	}
	if g.handoff != nil {
		return g.handOff(ctx, work, replyBy, o)
	}
	g.rm.Complete(o.ID, time.Now())
	return &orderpb.PlaceOrderReply{OrderId: o.ID, Status: orderpb.OrderStatus_COMPLETED}, nil
}

// handOff runs the Handoff within the calls' budget, so a hand-off that
// certainly failed still leaves time to compensate and reply.
func (g *Gateway) handOff(ctx, work context.Context, replyBy time.Time, o workflow.Order) (*orderpb.PlaceOrderReply, error) {
	rep, err := g.handoff(work, o)
	switch {
	case err == nil:
		return rep, nil
	case errors.Is(err, ErrNotHandedOff):
		// Relayed: the failure is not the first peer's, whose address
		// describe would otherwise put in front of it.
		st := resilience.Relay(status.New(codes.Unavailable, err.Error()))
		return g.fail(ctx, replyBy, o.ID, outcome{failed: g.peers[workflow.Payment], err: st.Err(), compensate: g.all()})
	}
	code := codes.Unavailable
	if errors.Is(err, context.DeadlineExceeded) {
		code = codes.DeadlineExceeded
	}
	return nil, status.Errorf(code, "order %s: %v; its synchronous steps applied and it may still complete: GetOrder tells", o.ID, err)
}

// Compensate undoes the gateway's synchronous steps of an order that failed
// later, outside this gateway (the hybrid twin: a consumer failed). It
// returns nil once every step confirmed, within CompensationTimeout; an
// error leaves an effect in force, for the caller to retry.
func (g *Gateway) Compensate(ctx context.Context, orderID, reason string) error {
	g.track.enterAlways()
	defer g.track.leave()
	ctx, cancel := context.WithTimeout(ctx, g.cfg.CompensationTimeout)
	defer cancel()
	for _, p := range g.all() {
		if err := g.comp.call(ctx, p, orderID, reason); err != nil {
			return fmt.Errorf("compensate %s of order %s at %s: %w", p.step, orderID, p.addr, err)
		}
		g.markCompensated(orderID, p.step)
	}
	return nil
}

// chain calls payment, which calls the rest of the chain.
func (g *Gateway) chain(work context.Context, req *orderpb.StepRequest) outcome {
	p := g.peers[workflow.Payment]
	rep, err := p.stub.Apply(work, req)
	if err != nil {
		return firstCallFailed(p, err)
	}
	return outcome{steps: rep.GetSteps()}
}

func firstCallFailed(p *peerClient, err error) outcome {
	out := outcome{failed: p, err: err}
	switch classify(err) {
	case indeterminate:
		out.compensate = []*peerClient{p}
	case notSent:
		out.notStarted = true
	}
	return out
}

// fanout calls payment, then the other steps concurrently. The first
// failure cancels the calls still running: the order cannot complete, and
// every step that applied or may have applied is compensated.
func (g *Gateway) fanout(work context.Context, req *orderpb.StepRequest) outcome {
	p := g.peers[workflow.Payment]
	rep, err := p.stub.Apply(work, req)
	if err != nil {
		return firstCallFailed(p, err)
	}
	rest := g.cfg.Plan().Next(workflow.Payment)
	type result struct {
		rep *orderpb.StepReply
		err error
	}
	results := make([]result, len(rest))
	ctx, cancel := context.WithCancel(work)
	var wg sync.WaitGroup
	for i, st := range rest {
		wg.Go(func() {
			r, err := g.peers[st].stub.Apply(ctx, req)
			results[i] = result{r, err}
			if err != nil {
				cancel()
			}
		})
	}
	wg.Wait()
	cancel()

	out := outcome{steps: rep.GetSteps(), compensate: []*peerClient{p}}
	primary := -1
	for i, r := range results {
		peer := g.peers[rest[i]]
		if r.err == nil {
			out.steps = append(out.steps, r.rep.GetSteps()...)
			out.compensate = append(out.compensate, peer)
			continue
		}
		if classify(r.err) == indeterminate {
			out.compensate = append(out.compensate, peer)
		}
		// A rejection decides the reply over an infrastructure error, and
		// a real failure over the cancellations it caused.
		if primary < 0 || rank(r.err) < rank(results[primary].err) {
			primary = i
		}
	}
	if primary < 0 {
		return outcome{steps: out.steps}
	}
	out.failed, out.err = g.peers[rest[primary]], results[primary].err
	return out
}

func rank(err error) int {
	switch c := status.Code(err); {
	case rejects(c):
		return 0
	case c != codes.Canceled:
		return 1
	}
	return 2
}

// checkSteps catches services that disagree on the topology or --steps: a chain
// payment that does not call on, or a fanout gateway in front of a chain.
func (g *Gateway) checkSteps(steps []*orderpb.StepTime) error {
	plan := g.cfg.Plan()
	var got []workflow.Step
	for _, t := range steps {
		st, err := workflow.ParseStep(t.GetStep())
		if err != nil || t.GetCompletedAt() == nil || slices.Contains(got, st) || !plan.Includes(st) {
			return status.Errorf(codes.Internal, "the steps replied %v, want each of %v once with a time: "+
				"do all services run --topology %s --steps %d?", stepNames(steps), plan.Steps(), g.cfg.Topology, plan.Len())
		}
		got = append(got, st)
	}
	if len(got) != plan.Len() {
		return status.Errorf(codes.Internal, "the steps replied %v, want each of %v: do all services run --topology %s --steps %d?",
			stepNames(steps), plan.Steps(), g.cfg.Topology, plan.Len())
	}
	return nil
}

func stepNames(steps []*orderpb.StepTime) []string {
	out := make([]string, 0, len(steps))
	for _, t := range steps {
		out = append(out, t.GetStep())
	}
	return out
}

func (g *Gateway) all() []*peerClient {
	out := make([]*peerClient, 0, len(g.peers))
	for _, st := range g.cfg.Plan().Steps() {
		if p, ok := g.peers[st]; ok {
			out = append(out, p)
		}
	}
	return out
}

// fail settles a failed order: it compensates what may be in force, waits
// for that until the reply must leave (the rest finishes in the
// background), records REJECTED and replies.
func (g *Gateway) fail(ctx context.Context, replyBy time.Time, id string, out outcome) (*orderpb.PlaceOrderReply, error) {
	st := describe(out.failed, out.err)
	code := st.Code()
	if out.notStarted {
		g.rm.Forget(id)
		return nil, status.Errorf(code, "order %s not started: %s; nothing was applied: retry later", id, st.Message())
	}
	reason := st.Message()
	if !rejects(code) {
		reason = fmt.Sprintf("not completed: %s: %s", code, st.Message())
	}
	var done <-chan bool
	if len(out.compensate) > 0 {
		done = g.comp.start(ctx, id, reason, out.compensate, func(p *peerClient) { g.markCompensated(id, p.step) })
	}
	g.rm.Reject(id, reason, time.Now())
	if done != nil {
		wctx, cancel := context.WithDeadline(ctx, replyBy)
		select {
		case <-done:
		case <-wctx.Done():
			g.m.background.Inc()
		}
		cancel()
	}
	if rejects(code) {
		return &orderpb.PlaceOrderReply{OrderId: id, Status: orderpb.OrderStatus_REJECTED, Reason: reason}, nil
	}
	return nil, status.Errorf(code, "order %s %s; it is compensated and reads REJECTED: place it again under a new order_id", id, reason)
}

// markCompensated records a confirmed compensation; in the chain it
// cascaded, so every step from this one on is compensated.
func (g *Gateway) markCompensated(id string, from workflow.Step) {
	if g.cfg.Topology != workflow.Chain {
		g.rm.MarkCompensated(id, from)
		return
	}
	steps := g.cfg.Plan().Steps()
	for _, st := range steps[slices.Index(steps, from):] {
		g.rm.MarkCompensated(id, st)
	}
}
