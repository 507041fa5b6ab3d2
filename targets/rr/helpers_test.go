package rr

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edabench/edabench/targets/api/orderpb"
	"github.com/edabench/edabench/targets/workflow"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// testConfig is DefaultConfig with fast retries, for tests.
func testConfig(top workflow.Topology) Config {
	c := DefaultConfig()
	c.Topology = top
	c.Logger = quiet
	c.Retry.InitialBackoff = time.Millisecond
	c.Retry.MaxBackoff = 20 * time.Millisecond
	return c
}

// twin is a whole RR twin in the test process: every service on its own
// gRPC server on loopback TCP, so every hop is a real network call.
type twin struct {
	t       testing.TB
	cfg     Config
	execs   map[workflow.Step]*workflow.Executor
	steps   map[workflow.Step]*StepServer
	servers map[string]*grpc.Server
	regs    map[string]*prometheus.Registry
	peers   Peers
	gw      *Gateway
	rm      *workflow.ReadModel
	client  orderpb.OrderServiceClient
}

func listen(t testing.TB) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

func serve(t testing.TB, ln net.Listener, register func(*grpc.Server)) *grpc.Server {
	srv := grpc.NewServer(ServerOptions()...)
	register(srv)
	go func() {
		if err := srv.Serve(ln); err != nil {
			t.Errorf("serve %s: %v", ln.Addr(), err)
		}
	}()
	return srv
}

// startTwin starts the four steps and the gateway. costs overrides the cost
// of some steps (default: workflow.DefaultCost(), 1 ms fixed).
func startTwin(t testing.TB, cfg Config, costs map[workflow.Step]workflow.Cost) *twin {
	t.Helper()
	tw := &twin{t: t, cfg: cfg, execs: map[workflow.Step]*workflow.Executor{}, steps: map[workflow.Step]*StepServer{},
		servers: map[string]*grpc.Server{}, regs: map[string]*prometheus.Registry{}, peers: Peers{}, rm: workflow.NewReadModel()}
	lns := map[workflow.Step]net.Listener{}
	for _, st := range workflow.Steps() {
		lns[st] = listen(t)
		tw.peers[st] = lns[st].Addr().String()
	}
	for i, st := range workflow.Steps() {
		store, err := workflow.OpenStore("")
		if err != nil {
			t.Fatal(err)
		}
		cost, ok := costs[st]
		if !ok {
			cost = workflow.DefaultCost()
		}
		tw.execs[st] = workflow.NewExecutor(st, store, workflow.NewCostControl(cost), nil, uint64(i+1))
		tw.regs[string(st)] = prometheus.NewRegistry()
		ss, err := NewStepServer(cfg, tw.execs[st], tw.peers, tw.regs[string(st)])
		if err != nil {
			t.Fatal(err)
		}
		tw.steps[st] = ss
		tw.servers[string(st)] = serve(t, lns[st], func(s *grpc.Server) { orderpb.RegisterStepServiceServer(s, ss) })
	}
	tw.regs["gateway"] = prometheus.NewRegistry()
	gw, err := NewGateway(cfg, tw.peers, tw.rm, tw.regs["gateway"])
	if err != nil {
		t.Fatal(err)
	}
	tw.gw = gw
	gln := listen(t)
	tw.servers["gateway"] = serve(t, gln, func(s *grpc.Server) { orderpb.RegisterOrderServiceServer(s, gw) })
	cc, err := grpc.NewClient(gln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	tw.client = orderpb.NewOrderServiceClient(cc)
	t.Cleanup(func() {
		cc.Close()
		tw.servers["gateway"].Stop()
		if err := gw.Close(); err != nil {
			t.Errorf("close gateway: %v", err)
		}
		for _, st := range workflow.Steps() {
			tw.servers[string(st)].Stop()
			if err := tw.steps[st].Close(); err != nil {
				t.Errorf("close %s: %v", st, err)
			}
		}
	})
	return tw
}

func newOrder(id string) *orderpb.PlaceOrderRequest {
	return &orderpb.PlaceOrderRequest{OrderId: id, Customer: "cust-" + id,
		Items: []*orderpb.Item{{Sku: "sku-1", Quantity: 1}, {Sku: "sku-2", Quantity: 3}}, AmountCents: 4200}
}

type placed struct {
	id    string
	reply *orderpb.PlaceOrderReply
	err   error
}

// place sends n orders named prefix-i from workers concurrent callers, each
// call under deadline.
func (tw *twin) place(prefix string, n, workers int, deadline time.Duration) []placed {
	out := make([]placed, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				id := fmt.Sprintf("%s-%05d", prefix, i)
				ctx, cancel := context.WithTimeout(context.Background(), deadline)
				rep, err := tw.client.PlaceOrder(ctx, newOrder(id))
				cancel()
				out[i] = placed{id, rep, err}
			}
		})
	}
	wg.Wait()
	return out
}

func (tw *twin) audit(st workflow.Step) workflow.AuditTotals {
	_, tot := tw.execs[st].Store().Audit()
	return tot
}

// awaitInForce polls until every step has want effects in force: the
// compensations that outlive a reply settle on their own time.
func (tw *twin) awaitInForce(want int, bound time.Duration) {
	tw.t.Helper()
	end := time.Now().Add(bound)
	for {
		bad := ""
		for _, st := range workflow.Steps() {
			if a := tw.audit(st); a.InForce != want || a.DuplicatesApplied != 0 {
				bad += fmt.Sprintf(" %s: in force %d, applied twice %d;", st, a.InForce, a.DuplicatesApplied)
			}
		}
		if bad == "" {
			return
		}
		if time.Now().After(end) {
			tw.t.Fatalf("after %v, want %d effects in force and none applied twice:%s", bound, want, bad)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// metric sums the samples of a counter or gauge whose labels include match.
func metric(t testing.TB, reg *prometheus.Registry, name string, match map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, lp := range m.GetLabel() {
				labels[lp.GetName()] = lp.GetValue()
			}
			for k, v := range match {
				if labels[k] != v {
					continue next
				}
			}
			switch {
			case m.GetCounter() != nil:
				sum += m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				sum += m.GetGauge().GetValue()
			case m.GetHistogram() != nil:
				sum += float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return sum
}

// fakeStep is a StepService whose Apply the test scripts, over real gRPC:
// it lets a test count exactly what reaches a peer.
type fakeStep struct {
	orderpb.UnimplementedStepServiceServer
	applies, compensations atomic.Int64
	healthy                atomic.Bool
}

func (f *fakeStep) Apply(ctx context.Context, req *orderpb.StepRequest) (*orderpb.StepReply, error) {
	f.applies.Add(1)
	if !f.healthy.Load() {
		return nil, status.Error(codes.Unavailable, "fake payment is down")
	}
	rep := &orderpb.StepReply{}
	for _, st := range workflow.Steps() {
		rep.Steps = append(rep.Steps, &orderpb.StepTime{Step: string(st), CompletedAt: timestamppb.Now()})
	}
	return rep, nil
}

func (f *fakeStep) Compensate(ctx context.Context, req *orderpb.CompensateRequest) (*orderpb.CompensateReply, error) {
	f.compensations.Add(1)
	return &orderpb.CompensateReply{}, nil
}
