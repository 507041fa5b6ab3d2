package rr

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/edabench/edabench/targets/api/orderpb"
	"github.com/edabench/edabench/targets/resilience"
	"github.com/edabench/edabench/targets/workflow"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

var topologies = []workflow.Topology{workflow.Chain, workflow.Fanout}

func TestEveryOrderCompletesExactlyOnce(t *testing.T) {
	const n = 1000
	for _, top := range topologies {
		t.Run(string(top), func(t *testing.T) {
			tw := startTwin(t, testConfig(top), nil)
			for _, p := range tw.place(string(top), n, 16, 30*time.Second) {
				if p.err != nil || p.reply.GetStatus() != orderpb.OrderStatus_COMPLETED {
					t.Fatalf("order %s: %v %v, want COMPLETED", p.id, p.reply, p.err)
				}
				o, err := tw.client.GetOrder(context.Background(), &orderpb.GetOrderRequest{OrderId: p.id})
				if err != nil || o.GetStatus() != orderpb.OrderStatus_COMPLETED {
					t.Fatalf("GetOrder %s: %v %v, want COMPLETED", p.id, o, err)
				}
				if len(o.GetSteps()) != 4 {
					t.Fatalf("GetOrder %s: %d step times, want 4", p.id, len(o.GetSteps()))
				}
				for _, s := range o.GetSteps() {
					if s.GetCompletedAt() == nil || s.GetCompensated() {
						t.Fatalf("GetOrder %s: step %v", p.id, s)
					}
				}
			}
			for _, st := range workflow.Steps() {
				a := tw.audit(st)
				if a.Applied != n || a.InForce != n || a.DuplicatesApplied != 0 || a.Tombstones != 0 {
					t.Errorf("%s: %+v, want %d applied once each and in force", st, a, n)
				}
			}
			if got := metric(t, tw.regs["gateway"], MetricGatewayOrders, map[string]string{"status": "COMPLETED"}); got != n {
				t.Errorf("gateway counted %v COMPLETED orders, want %d", got, n)
			}
			if got := metric(t, tw.regs["gateway"], MetricInflight, nil); got != 0 {
				t.Errorf("in-flight gauge %v after the run, want 0", got)
			}
		})
	}
}

func TestBusinessFailureRejectsAndLeavesNothingInForce(t *testing.T) {
	const n = 50
	for _, top := range topologies {
		for _, failing := range workflow.Steps() {
			t.Run(string(top)+"/"+string(failing), func(t *testing.T) {
				bad := workflow.DefaultCost()
				bad.ErrorProb = 1
				tw := startTwin(t, testConfig(top), map[workflow.Step]workflow.Cost{failing: bad})
				for _, p := range tw.place("rej", n, 8, 30*time.Second) {
					if p.err != nil || p.reply.GetStatus() != orderpb.OrderStatus_REJECTED {
						t.Fatalf("order %s: %v %v, want REJECTED", p.id, p.reply, p.err)
					}
					// Both twins give the failing step's own words as the reason.
					if want := "step failed: " + string(failing) + ": "; !strings.HasPrefix(p.reply.GetReason(), want) {
						t.Fatalf("order %s: reason %q, want it to start with %q", p.id, p.reply.GetReason(), want)
					}
					o, err := tw.client.GetOrder(context.Background(), &orderpb.GetOrderRequest{OrderId: p.id})
					if err != nil || o.GetStatus() != orderpb.OrderStatus_REJECTED || o.GetReason() != p.reply.GetReason() {
						t.Fatalf("GetOrder %s: %v %v, want REJECTED %q", p.id, o, err, p.reply.GetReason())
					}
				}
				// REJECTED is only replied once the compensation is done:
				// no polling here.
				for _, st := range workflow.Steps() {
					a := tw.audit(st)
					if a.InForce != 0 || a.DuplicatesApplied != 0 {
						t.Errorf("%s: %+v, want no effect in force (orphaned effects)", st, a)
					}
					if st == failing && a.Failed != n {
						t.Errorf("%s failed %d orders, want %d", st, a.Failed, n)
					}
				}
			})
		}
	}
}

func TestDownstreamStoppedFailsWithinDeadlineAndCompensates(t *testing.T) {
	for _, top := range topologies {
		t.Run(string(top), func(t *testing.T) {
			cfg := testConfig(top)
			tw := startTwin(t, cfg, nil)
			const before, during = 20, 50
			for _, p := range tw.place("pre", before, 4, 30*time.Second) {
				if p.err != nil || p.reply.GetStatus() != orderpb.OrderStatus_COMPLETED {
					t.Fatalf("before the fault, order %s: %v %v", p.id, p.reply, p.err)
				}
			}
			tw.servers[string(workflow.Shipping)].Stop()

			circuitOpen := 0
			for _, p := range tw.place("down", during, 4, 2*time.Second) {
				s, _ := status.FromError(p.err)
				if p.err == nil || (s.Code() != codes.Unavailable && s.Code() != codes.DeadlineExceeded) {
					t.Fatalf("order %s with shipping stopped: %v %v, want Unavailable or DeadlineExceeded", p.id, p.reply, p.err)
				}
				// The gateway's own answer names the order; a client that
				// timed out by itself would only say "context deadline exceeded".
				if !strings.Contains(s.Message(), p.id) {
					t.Fatalf("order %s: %q is not the gateway's reply", p.id, s.Message())
				}
				if strings.Contains(s.Message(), "circuit open to shipping") {
					circuitOpen++
				}
			}
			tw.awaitInForce(before, 30*time.Second)
			for i := range during {
				id := fmt.Sprintf("down-%05d", i)
				o, err := tw.client.GetOrder(context.Background(), &orderpb.GetOrderRequest{OrderId: id})
				if err == nil && o.GetStatus() == orderpb.OrderStatus_COMPLETED {
					t.Fatalf("order %s is COMPLETED in the read model although its call failed", id)
				}
			}

			// Who calls shipping: inventory in the chain, the gateway in the fanout.
			caller := "gateway"
			if top == workflow.Chain {
				caller = string(workflow.Inventory)
			}
			reg := tw.regs[caller]
			retries := metric(t, reg, resilience.MetricRPCRetries, map[string]string{"peer": "shipping"})
			compensations := metric(t, reg, MetricCompensations, map[string]string{"peer": "shipping"})
			// Each Apply is retried at most MaxRetries times, each compensation
			// at most CompensationRetries times, and nothing else retries.
			bound := float64(during*cfg.Retry.MaxRetries) + compensations*float64(cfg.CompensationRetries)
			if retries > bound {
				t.Errorf("%s retried shipping %v times, more than the bound %v", caller, retries, bound)
			}
			if got := metric(t, reg, resilience.MetricBreakerState, map[string]string{"peer": "shipping"}); got != float64(resilience.Open) {
				t.Errorf("%s's breaker to shipping is %v, want open (2)", caller, got)
			}
			if circuitOpen == 0 {
				t.Errorf("no order failed fast on the open circuit")
			}
			// The hops in front of the failure must not retry it again.
			for _, svc := range []string{"gateway", string(workflow.Payment)} {
				if svc == caller {
					continue
				}
				if got := metric(t, tw.regs[svc], resilience.MetricRPCRetries, nil); got != 0 {
					t.Errorf("%s retried %v relayed failures, want 0", svc, got)
				}
			}
			t.Logf("%s: %d failed (%d on the open circuit); %s retried shipping %v times, sent %v compensations",
				top, during, circuitOpen, caller, retries, compensations)
		})
	}
}

func TestSlowDownstreamTimesOutWithinDeadlineAndCompensates(t *testing.T) {
	for _, top := range topologies {
		t.Run(string(top), func(t *testing.T) {
			cfg := testConfig(top)
			// A big margin keeps the test about the logic, not about how fast
			// a loaded machine schedules the reply.
			cfg.ReplyMargin = time.Second
			slow := workflow.DefaultCost()
			slow.Mean = time.Minute
			tw := startTwin(t, cfg, map[workflow.Step]workflow.Cost{workflow.Shipping: slow})
			for _, p := range tw.place("slow", 10, 10, 3*time.Second) {
				s, _ := status.FromError(p.err)
				if s.Code() != codes.DeadlineExceeded || !strings.Contains(s.Message(), p.id) {
					t.Fatalf("order %s: %v %v, want the gateway's DeadlineExceeded", p.id, p.reply, p.err)
				}
			}
			tw.awaitInForce(0, 30*time.Second)
		})
	}
}

func TestRetriesAreBoundedAndBreakerFailsFast(t *testing.T) {
	cfg := testConfig(workflow.Chain)
	cfg.Retry.MaxRetries = 2
	// OpenFor outlasts the ten fast failures even on a stalled machine.
	cfg.Breaker = resilience.BreakerPolicy{FailureThreshold: 5, OpenFor: time.Second, HalfOpenProbes: 1}
	fake := &fakeStep{}
	ln := listen(t)
	srv := serve(t, ln, func(s *grpc.Server) { orderpb.RegisterStepServiceServer(s, fake) })
	defer srv.Stop()
	reg := prometheus.NewRegistry()
	rm := workflow.NewReadModel()
	gw, err := NewGateway(cfg, Peers{workflow.Payment: ln.Addr().String()}, rm, reg)
	if err != nil {
		t.Fatal(err)
	}
	defer gw.Close()

	// Sequential orders against a peer that always answers Unavailable:
	// order 1 makes 3 attempts (2 retries), order 2 opens the circuit on its
	// second attempt (failure 5) and stops retrying, the rest fail fast.
	const n = 10
	for i := range n {
		id := fmt.Sprintf("o%d", i)
		req := newOrder(id)
		req.IdempotencyKey = "key-" + id
		_, err := gw.PlaceOrder(context.Background(), req)
		if status.Code(err) != codes.Unavailable {
			t.Fatalf("order %s: %v, want Unavailable", id, err)
		}
		open := strings.Contains(err.Error(), "circuit open to payment")
		if open != (i >= 2) {
			t.Fatalf("order %s: %v; want a fast failure on the open circuit from the third order on", id, err)
		}
		v, known := rm.Get(id)
		switch {
		case open && known:
			t.Fatalf("order %s never left the gateway but is in the read model as %v: a retry could not start it", id, v.Status)
		case !open && (!known || v.Status != orderpb.OrderStatus_REJECTED):
			t.Fatalf("order %s may have applied and was compensated: want REJECTED, got %+v", id, v)
		}
	}
	if got := fake.applies.Load(); got != 5 {
		t.Errorf("payment received %d Apply calls, want 5 (3 + 2, then the circuit opened)", got)
	}
	if got := metric(t, reg, resilience.MetricRPCRetries, map[string]string{"peer": "payment"}); got != 3 {
		t.Errorf("retries %v, want 3", got)
	}
	if got := metric(t, reg, resilience.MetricBreakerRejected, map[string]string{"peer": "payment"}); got != n-2 {
		t.Errorf("fast failures %v, want %d", got, n-2)
	}
	if got := metric(t, reg, resilience.MetricBreakerState, map[string]string{"peer": "payment"}); got != 2 {
		t.Errorf("breaker state %v, want 2 (open)", got)
	}
	// The two orders that reached payment are compensated through the open circuit.
	end := time.Now().Add(10 * time.Second)
	for fake.compensations.Load() < 2 && time.Now().Before(end) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := fake.compensations.Load(); got != 2 {
		t.Errorf("payment received %d compensations, want 2", got)
	}

	// Once the peer is healthy, a probe after OpenFor closes the circuit and
	// an order refused earlier can be placed again: under the same ID, or
	// (its key forgotten with it) under another ID with the same key.
	fake.healthy.Store(true)
	var rep *orderpb.PlaceOrderReply
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if rep, err = gw.PlaceOrder(context.Background(), newOrder("o8")); err == nil {
			break
		}
	}
	if err != nil || rep.GetStatus() != orderpb.OrderStatus_COMPLETED {
		t.Fatalf("after recovery: %v %v, want COMPLETED", rep, err)
	}
	again := newOrder("o9-again")
	again.IdempotencyKey = "key-o9"
	if rep, err := gw.PlaceOrder(context.Background(), again); err != nil || rep.GetOrderId() != "o9-again" ||
		rep.GetStatus() != orderpb.OrderStatus_COMPLETED {
		t.Fatalf("key of a forgotten order under a new ID: %v %v, want o9-again COMPLETED", rep, err)
	}
	if v, ok := rm.Get("o9"); ok {
		t.Fatalf("the forgotten order o9 came back as %v through its stale key", v.Status)
	}
	if got := metric(t, reg, resilience.MetricBreakerState, map[string]string{"peer": "payment"}); got != 0 {
		t.Errorf("breaker state %v after a successful probe, want 0 (closed)", got)
	}
}

func TestRetriedPlaceOrder(t *testing.T) {
	slow := workflow.DefaultCost()
	slow.Mean = 2 * time.Second
	tw := startTwin(t, testConfig(workflow.Chain), map[workflow.Step]workflow.Cost{workflow.Shipping: slow})
	ctx := context.Background()

	// The first call runs the workflow; a retry of an order still running
	// waits for its outcome, or answers ACCEPTED when its own deadline comes first.
	first := make(chan placed, 1)
	go func() {
		rep, err := tw.client.PlaceOrder(ctx, newOrder("r1"))
		first <- placed{"r1", rep, err}
	}()
	for {
		if _, ok := tw.rm.Get("r1"); ok {
			break
		}
		time.Sleep(time.Millisecond)
	}
	short, cancel := context.WithTimeout(ctx, time.Second)
	rep, err := tw.client.PlaceOrder(short, newOrder("r1"))
	cancel()
	if err != nil || rep.GetStatus() != orderpb.OrderStatus_ACCEPTED {
		t.Fatalf("retry with a short deadline while running: %v %v, want ACCEPTED", rep, err)
	}
	rep, err = tw.client.PlaceOrder(ctx, newOrder("r1"))
	if err != nil || rep.GetStatus() != orderpb.OrderStatus_COMPLETED {
		t.Fatalf("retry that waits: %v %v, want COMPLETED", rep, err)
	}
	if p := <-first; p.err != nil || p.reply.GetStatus() != orderpb.OrderStatus_COMPLETED {
		t.Fatalf("first call: %v %v, want COMPLETED", p.reply, p.err)
	}

	// A finished order is answered from the read model, by ID or by key.
	req := newOrder("r2")
	req.IdempotencyKey = "key-2"
	if rep, err := tw.client.PlaceOrder(ctx, req); err != nil || rep.GetStatus() != orderpb.OrderStatus_COMPLETED {
		t.Fatalf("r2: %v %v", rep, err)
	}
	again := newOrder("r2-typo")
	again.IdempotencyKey = "key-2"
	rep, err = tw.client.PlaceOrder(ctx, again)
	if err != nil || rep.GetStatus() != orderpb.OrderStatus_COMPLETED || rep.GetOrderId() != "r2" {
		t.Fatalf("same key, other ID: %v %v, want r2 COMPLETED", rep, err)
	}
	for _, st := range workflow.Steps() {
		if a := tw.audit(st); a.Applied != 2 || a.DuplicatesDelivered != 0 {
			t.Errorf("%s: %+v, want 2 applied and no call repeated", st, a)
		}
	}
	if got := metric(t, tw.regs["gateway"], MetricGatewayReplays, nil); got != 3 {
		t.Errorf("%v replays counted, want 3", got)
	}
}

func TestCompensatedOrderIsRefusedForever(t *testing.T) {
	tw := startTwin(t, testConfig(workflow.Chain), nil)
	ctx := context.Background()
	// A compensation that overtakes its order leaves tombstones down the chain.
	cc, err := grpc.NewClient(tw.peers[workflow.Payment], grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	pay := orderpb.NewStepServiceClient(cc)
	for range 2 { // idempotent
		if _, err := pay.Compensate(ctx, &orderpb.CompensateRequest{OrderId: "late", Reason: "test"}); err != nil {
			t.Fatal(err)
		}
	}
	for _, st := range workflow.Steps() {
		if a := tw.audit(st); a.Tombstones != 1 {
			t.Errorf("%s: %+v, want one tombstone", st, a)
		}
	}
	rep, err := tw.client.PlaceOrder(ctx, newOrder("late"))
	if err != nil || rep.GetStatus() != orderpb.OrderStatus_REJECTED || !strings.Contains(rep.GetReason(), "compensated") {
		t.Fatalf("order placed after its compensation: %v %v, want REJECTED as compensated", rep, err)
	}
	tw.awaitInForce(0, 10*time.Second)
}

func TestGatewayValidatesAndAnswersUnknownOrders(t *testing.T) {
	tw := startTwin(t, testConfig(workflow.Chain), nil)
	ctx := context.Background()
	bad := newOrder("x")
	bad.Items = nil
	if _, err := tw.client.PlaceOrder(ctx, bad); status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "no items") {
		t.Fatalf("order without items: %v, want InvalidArgument naming the problem", err)
	}
	if _, err := tw.client.GetOrder(ctx, &orderpb.GetOrderRequest{OrderId: "nope"}); status.Code(err) != codes.NotFound {
		t.Fatalf("unknown order: %v, want NotFound", err)
	}
}

func TestTopologyMismatchIsReportedAndCompensated(t *testing.T) {
	// Steps in the chain behind a fanout gateway: payment's reply already
	// holds every step, and the gateway calls the others again.
	tw := startTwin(t, testConfig(workflow.Chain), nil)
	cfg := testConfig(workflow.Fanout)
	gw, err := NewGateway(cfg, tw.peers, workflow.NewReadModel(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer gw.Close()
	_, err = gw.PlaceOrder(context.Background(), newOrder("mix"))
	if status.Code(err) != codes.Internal || !strings.Contains(err.Error(), "--topology") {
		t.Fatalf("fanout gateway over chain steps: %v, want Internal naming --topology", err)
	}
	tw.awaitInForce(0, 10*time.Second)
}

func TestConfigAndPeersAreChecked(t *testing.T) {
	exec := workflow.NewExecutor(workflow.Inventory, mustStore(t), workflow.NewCostControl(workflow.DefaultCost()), nil, 1)
	for _, tc := range []struct {
		name  string
		cfg   Config
		peers Peers
		want  string
	}{
		{"missing next step", testConfig(workflow.Chain), Peers{}, "--peer shipping="},
		{"not loopback", testConfig(workflow.Chain), Peers{workflow.Shipping: "10.0.0.1:7000"}, "not a loopback"},
		{"no port", testConfig(workflow.Chain), Peers{workflow.Shipping: "127.0.0.1"}, "want 127.0.0.1:PORT"},
		{"bad topology", testConfig("ring"), Peers{}, "unknown topology"},
		{"bad retry", func() Config { c := testConfig(workflow.Chain); c.Retry.MaxRetries = -1; return c }(), Peers{}, "max retries"},
	} {
		_, err := NewStepServer(tc.cfg, exec, tc.peers, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
	// In the fanout a step calls nobody and needs no peers.
	ss, err := NewStepServer(testConfig(workflow.Fanout), exec, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := errors.Join(ss.Close(), ss.Close()); err != nil {
		t.Fatal(err)
	}
}

func mustStore(t testing.TB) *workflow.Store {
	s, err := workflow.OpenStore("")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// BenchmarkChainPlaceOrder is one order through the gateway and the 4-hop
// chain over loopback TCP with zero service time: the cost of the RR
// plumbing itself (gRPC, interceptors, store, read model).
func BenchmarkChainPlaceOrder(b *testing.B) {
	free := workflow.DefaultCost()
	free.Mean = 0
	costs := map[workflow.Step]workflow.Cost{}
	for _, st := range workflow.Steps() {
		costs[st] = free
	}
	tw := startTwin(b, testConfig(workflow.Chain), costs)
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		rep, err := tw.client.PlaceOrder(ctx, newOrder(fmt.Sprintf("b%d", i)))
		if err != nil || rep.GetStatus() != orderpb.OrderStatus_COMPLETED {
			b.Fatalf("%v %v", rep, err)
		}
	}
}
