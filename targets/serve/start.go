package serve

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/edabench/edabench/harness/supervise"
	"github.com/edabench/edabench/internal/twinkind"
	"github.com/edabench/edabench/targets/api/orderpb"
	"github.com/edabench/edabench/targets/eda"
	"github.com/edabench/edabench/targets/hybrid"
	"github.com/edabench/edabench/targets/ops"
	"github.com/edabench/edabench/targets/rr"
	"github.com/edabench/edabench/targets/workflow"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"
)

// group runs the process's long-lived parts; the first to fail stops the rest.
type group struct {
	wg   sync.WaitGroup
	once sync.Once
	err  error
	stop context.CancelFunc
}

func (g *group) go_(f func() error) {
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		if err := f(); err != nil && !errors.Is(err, context.Canceled) {
			g.once.Do(func() { g.err = err })
			g.stop()
		}
	}()
}

func (s *service) run(parent context.Context, stdout io.Writer) error {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	g := &group{stop: cancel}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	execs, err := s.executors(reg)
	if err != nil {
		return err
	}
	defer func() {
		for _, e := range execs {
			e.Store().Close()
		}
	}()

	ready := supervise.Ready{Service: s.o.service}
	readyCheck, err := s.starters()[s.o.twin](ctx, g, reg, execs, &ready)
	if err != nil {
		cancel()
		g.wg.Wait()
		return err
	}

	hln, err := listen(s.o.httpAddr, "--http")
	if err != nil {
		cancel()
		g.wg.Wait()
		return err
	}
	ready.HTTP = hln.Addr().String()
	h := ops.Handler(ops.Config{Twin: s.o.twin, Service: s.o.service, Gatherer: reg, Executors: execs, Ready: readyCheck, Admin: s.o.admin, Profiling: s.o.pprof})
	g.go_(func() error { return ops.Serve(ctx, hln, h) })

	if err := s.announce(stdout, ready); err != nil {
		cancel()
	}
	s.log.Info("serving", "twin", s.o.twin, "service", s.o.service, "topology", s.topology, "steps", s.plan.Len(), "grpc", ready.GRPC, "http", ready.HTTP)
	<-ctx.Done()
	g.wg.Wait()
	return g.err
}

func listen(addr, flagName string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w (is another edabench service or process using the port? pick another with %s, or 127.0.0.1:0)", flagName, addr, err, flagName)
	}
	return ln, nil
}

// executors builds one executor per step this process runs, each with its
// metrics labelled by twin and service.
func (s *service) executors(reg prometheus.Registerer) ([]*workflow.Executor, error) {
	var out []*workflow.Executor
	for i, st := range s.steps {
		var opts []workflow.StoreOption
		if s.o.fsync {
			opts = append(opts, workflow.WithFsync())
		}
		store, err := workflow.OpenStore(s.journalPath(st), opts...)
		if err != nil {
			return nil, err
		}
		m := workflow.NewMetrics(s.wrap(reg, string(st)))
		out = append(out, workflow.NewExecutor(st, store, workflow.NewCostControl(s.costs[st]), m, s.o.seed+uint64(i)))
	}
	return out, nil
}

// clientMetrics gives a service its driver's own client metrics
// (bus.Kind.Instrument; Kafka's kafka.MetricProduceRecords...), labelled
// with its twin and service; a driver with none keeps its config as it is.
func (s *service) clientMetrics(cfg eda.Config, reg prometheus.Registerer, service string) eda.Config {
	kind, err := cfg.Kind()
	if err != nil || kind.Instrument == nil || cfg.Options == nil {
		return cfg
	}
	cfg.Options = kind.Instrument(cfg.Options, s.wrap(reg, service))
	return cfg
}

func (s *service) wrap(reg prometheus.Registerer, service string) prometheus.Registerer {
	return prometheus.WrapRegistererWith(prometheus.Labels{"twin": s.o.twin, "service": service}, reg)
}

func newGRPCServer() *grpc.Server {
	// The RR clients' keepalive and window settings; harmless for EDA's gateway.
	srv := grpc.NewServer(rr.ServerOptions()...)
	hs := health.NewServer()
	healthpb.RegisterHealthServer(srv, hs)
	reflection.Register(srv)
	return srv
}

// serveGRPC serves until ctx ends, then drains in-flight calls for a bounded time.
func serveGRPC(ctx context.Context, g *group, srv *grpc.Server, ln net.Listener) {
	g.go_(func() error {
		errc := make(chan error, 1)
		go func() { errc <- srv.Serve(ln) }()
		select {
		case err := <-errc:
			return fmt.Errorf("grpc %s: %w", ln.Addr(), err)
		case <-ctx.Done():
		}
		done := make(chan struct{})
		go func() { srv.GracefulStop(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			srv.Stop()
		}
		return nil
	})
}

func (s *service) rrConfig() rr.Config {
	c := rr.DefaultConfig()
	c.Topology, c.Steps = s.topology, s.plan.N
	c.DefaultDeadline = s.o.deadline
	c.CompensationTimeout = s.o.compTimeout
	c.Retry.MaxRetries = s.o.retries
	c.Breaker.FailureThreshold = s.o.breakerFailures
	c.Breaker.OpenFor = s.o.breakerOpen
	c.Logger = s.log
	c.Allow = s.o.allow
	return c
}

// starter runs one twin's services in this process and returns their
// readiness check.
type starter func(ctx context.Context, g *group, reg prometheus.Registerer, execs []*workflow.Executor, ready *supervise.Ready) (func() error, error)

// starters is where each twin's implementation is registered, by the name
// its descriptor (internal/twinkind) has; the name was checked at parse time.
func (s *service) starters() map[string]starter {
	return map[string]starter{twinkind.RR: s.startRR, twinkind.EDA: s.startEDA, twinkind.Hybrid: s.startHybrid}
}

func (s *service) startRR(ctx context.Context, g *group, reg prometheus.Registerer, execs []*workflow.Executor, ready *supervise.Ready) (func() error, error) {
	cfg := s.rrConfig()
	peers := s.peerCopy()
	var closers []func() error
	defer func() { closeOnDone(ctx, g, closers) }()
	if s.o.service == "all" {
		// In one process, every step still gets its own gRPC server on
		// loopback TCP: the hops stay real network calls.
		lns, err := loopbackListeners(execs, peers)
		if err != nil {
			return nil, err
		}
		for _, e := range execs {
			c, err := s.serveRRStep(ctx, g, reg, cfg, e, peers, lns[e.Step()])
			if err != nil {
				return nil, err
			}
			closers = append(closers, c)
		}
	}
	if s.gateway {
		gw, err := rr.NewGateway(cfg, peers, workflow.NewReadModelFor(cfg.Plan()), s.wrap(reg, "gateway"))
		if err != nil {
			return nil, err
		}
		closers = append(closers, gw.Close)
		return nil, s.serveGateway(ctx, g, gw, ready)
	}
	ln, err := listen(s.o.listen, "--listen")
	if err != nil {
		return nil, err
	}
	ready.GRPC = ln.Addr().String()
	c, err := s.serveRRStep(ctx, g, reg, cfg, execs[0], peers, ln)
	if err != nil {
		return nil, err
	}
	closers = append(closers, c)
	return nil, nil
}

func (s *service) startEDA(ctx context.Context, g *group, reg prometheus.Registerer, execs []*workflow.Executor, ready *supervise.Ready) (func() error, error) {
	cfg := s.edaConfig
	if err := s.runConsumers(ctx, g, reg, cfg, execs); err != nil {
		return nil, err
	}
	if !s.gateway {
		return nil, nil
	}
	gw, err := eda.NewGateway(ctx, s.clientMetrics(cfg, reg, "gateway"), workflow.NewReadModelFor(cfg.Plan()), eda.NewMetrics(s.wrap(reg, "gateway"), cfg.Broker()), s.log.With("service", "gateway"))
	if err != nil {
		return nil, err
	}
	return nil, s.serveEventGateway(ctx, g, gw, ready)
}

// startHybrid runs payment as an RR step server and the other steps as
// EDA consumers; its gateway is both an RR caller and an EDA publisher.
func (s *service) startHybrid(ctx context.Context, g *group, reg prometheus.Registerer, execs []*workflow.Executor, ready *supervise.Ready) (func() error, error) {
	rrCfg := hybrid.RRConfig(s.rrConfig())
	peers := s.peerCopy()
	var consumers, called []*workflow.Executor
	for _, e := range execs {
		if e.Step() == workflow.Payment {
			called = append(called, e)
		} else {
			consumers = append(consumers, e)
		}
	}
	if err := s.runConsumers(ctx, g, reg, s.edaConfig, consumers); err != nil {
		return nil, err
	}
	var closers []func() error
	defer func() { closeOnDone(ctx, g, closers) }()
	if len(called) > 0 {
		var ln net.Listener
		if s.gateway {
			lns, err := loopbackListeners(called, peers)
			if err != nil {
				return nil, err
			}
			ln = lns[workflow.Payment]
		} else {
			var err error
			if ln, err = listen(s.o.listen, "--listen"); err != nil {
				return nil, err
			}
			ready.GRPC = ln.Addr().String()
		}
		c, err := s.serveRRStep(ctx, g, reg, rrCfg, called[0], peers, ln)
		if err != nil {
			return nil, err
		}
		closers = append(closers, c)
	}
	if !s.gateway {
		return nil, nil
	}
	gw, err := hybrid.NewGateway(ctx, rrCfg, s.clientMetrics(s.edaConfig, reg, "gateway"), peers, s.wrap(reg, "gateway"), eda.NewMetrics(s.wrap(reg, "gateway"), s.edaConfig.Broker()),
		s.log.With("service", "gateway"))
	if err != nil {
		return nil, err
	}
	return nil, s.serveEventGateway(ctx, g, gw, ready)
}

func (s *service) peerCopy() rr.Peers {
	peers := rr.Peers{}
	for k, v := range s.peers {
		peers[k] = v
	}
	return peers
}

// loopbackListeners gives each step of a one-process twin a listener of its
// own, and tells peers where.
func loopbackListeners(execs []*workflow.Executor, peers rr.Peers) (map[workflow.Step]net.Listener, error) {
	lns := map[workflow.Step]net.Listener{}
	for _, e := range execs {
		ln, err := listen("127.0.0.1:0", "--listen")
		if err != nil {
			for _, l := range lns {
				l.Close()
			}
			return nil, err
		}
		lns[e.Step()] = ln
		peers[e.Step()] = ln.Addr().String()
	}
	return lns, nil
}

// serveRRStep serves e's step over gRPC on ln; the returned func closes it.
func (s *service) serveRRStep(ctx context.Context, g *group, reg prometheus.Registerer, cfg rr.Config, e *workflow.Executor, peers rr.Peers, ln net.Listener) (func() error, error) {
	ss, err := rr.NewStepServer(cfg, e, peers, s.wrap(reg, string(e.Step())))
	if err != nil {
		ln.Close()
		return nil, err
	}
	srv := newGRPCServer()
	orderpb.RegisterStepServiceServer(srv, ss)
	serveGRPC(ctx, g, srv, ln)
	return ss.Close, nil
}

// serveGateway serves gw's OrderService on --listen.
func (s *service) serveGateway(ctx context.Context, g *group, gw orderpb.OrderServiceServer, ready *supervise.Ready) error {
	ln, err := listen(s.o.listen, "--listen")
	if err != nil {
		return err
	}
	ready.GRPC = ln.Addr().String()
	srv := newGRPCServer()
	orderpb.RegisterOrderServiceServer(srv, gw)
	serveGRPC(ctx, g, srv, ln)
	return nil
}

// serveEventGateway serves a gateway that also consumes its queue, and
// closes it once both have stopped.
func (s *service) serveEventGateway(ctx context.Context, g *group, gw eventGateway, ready *supervise.Ready) error {
	if err := s.serveGateway(ctx, g, gw, ready); err != nil {
		gw.Close()
		return err
	}
	g.go_(func() error {
		defer gw.Close()
		return gw.RunProjector(ctx)
	})
	s.awaitSubscribed(ctx, "gateway", gw.Subscribed())
	return nil
}

// eventGateway is a gateway with a projector consuming its queue: the EDA
// and hybrid twins'.
type eventGateway interface {
	orderpb.OrderServiceServer
	RunProjector(ctx context.Context) error
	Subscribed() <-chan struct{}
	Close() error
}

// subscribeWait bounds how long a service holds its ready line for its
// consumers' first subscriptions. Past it the service announces anyway
// (logged): its consumers keep joining, and nothing published meanwhile
// is lost, only late.
const subscribeWait = time.Minute

// awaitSubscribed waits until a consumer's first subscription is in
// place, so that the harness, which starts the load once every service
// announced itself, does not measure consumers still joining (a Kafka
// group's first assignment took about a second on 2 cores).
func (s *service) awaitSubscribed(ctx context.Context, what string, subscribed <-chan struct{}) {
	t := time.NewTimer(subscribeWait)
	defer t.Stop()
	select {
	case <-subscribed:
	case <-ctx.Done():
	case <-t.C:
		s.log.Warn("consumer not subscribed yet; announcing ready while it joins", "consumer", what, "waited", subscribeWait)
	}
}

// runConsumers runs each executor's step as an EDA consumer.
func (s *service) runConsumers(ctx context.Context, g *group, reg prometheus.Registerer, cfg eda.Config, execs []*workflow.Executor) error {
	var subs []*eda.StepService
	for _, e := range execs {
		st, err := eda.NewStepService(ctx, s.clientMetrics(cfg, reg, string(e.Step())), e, eda.NewMetrics(s.wrap(reg, string(e.Step())), cfg.Broker()), s.log.With("step", e.Step()))
		if err != nil {
			return err
		}
		g.go_(func() error {
			defer st.Close()
			return st.Run(ctx)
		})
		subs = append(subs, st)
	}
	for _, st := range subs {
		s.awaitSubscribed(ctx, st.Step(), st.Subscribed())
	}
	return nil
}

// closeOnDone closes what a service opened once its context ends.
func closeOnDone(ctx context.Context, g *group, closers []func() error) {
	if len(closers) == 0 {
		return
	}
	g.go_(func() error {
		<-ctx.Done()
		for _, c := range closers {
			c()
		}
		return nil
	})
}
