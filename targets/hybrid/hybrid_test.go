package hybrid

import (
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/edabench/edabench/harness/broker/brokertest"
	"github.com/edabench/edabench/targets/api/orderpb"
	"github.com/edabench/edabench/targets/eda"
	"github.com/edabench/edabench/targets/rr"
	"github.com/edabench/edabench/targets/workflow"
	"google.golang.org/grpc"
)

// twin is the hybrid in one test process: payment a real gRPC server on
// loopback, the other steps consumers on a real broker.
type twin struct {
	gw    *Gateway
	execs map[workflow.Step]*workflow.Executor
}

func startTwin(t *testing.T, top workflow.Topology, failing workflow.Step) *twin {
	t.Helper()
	node := brokertest.Shared(t)
	ecfg := eda.DefaultConfig()
	// Claimed, and checked empty after the cleanup below deleted it.
	ecfg.URL, ecfg.Topology, ecfg.Prefix = node.AMQPURL(), top, brokertest.Prefix(t, node, "hybridtest")
	ecfg = EDAConfig(ecfg)
	rcfg := RRConfig(rr.DefaultConfig())
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	tw := &twin{execs: map[workflow.Step]*workflow.Executor{}}
	for i, st := range workflow.Steps() {
		c := workflow.Cost{Dist: workflow.Fixed, Mode: workflow.Wait}
		if st == failing {
			c.ErrorProb = 0.5
		}
		store, _ := workflow.OpenStore("")
		tw.execs[st] = workflow.NewExecutor(st, store, workflow.NewCostControl(c), nil, uint64(i))
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ss, err := rr.NewStepServer(rcfg, tw.execs[workflow.Payment], rr.Peers{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(rr.ServerOptions()...)
	orderpb.RegisterStepServiceServer(srv, ss)
	go srv.Serve(ln)
	for _, st := range workflow.Steps()[1:] {
		s, err := eda.NewStepService(ctx, ecfg, tw.execs[st], eda.NewMetrics(nil, ecfg.Broker()), nil)
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() { s.Run(ctx); s.Close() })
	}
	gw, err := NewGateway(ctx, rcfg, ecfg, rr.Peers{workflow.Payment: ln.Addr().String()}, nil, eda.NewMetrics(nil, ecfg.Broker()), nil)
	if err != nil {
		t.Fatal(err)
	}
	tw.gw = gw
	wg.Go(func() { gw.RunProjector(ctx) })
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		gw.Close()
		srv.Stop()
		ss.Close()
		eda.DeleteTopology(context.Background(), node.AMQPURL(), ecfg)
	})
	return tw
}

// TestHybridTwin places orders on the hybrid and waits for each to end:
// every one replies PAYMENT_CAPTURED at once, and a side effect that fails
// compensates the payment over gRPC, leaving nothing of a rejected order
// in force.
func TestHybridTwin(t *testing.T) {
	tests := []struct {
		name    string
		top     workflow.Topology
		failing workflow.Step // "" fails nothing
	}{
		{"chain", workflow.Chain, ""},
		{"fanout", workflow.Fanout, ""},
		{"chain/shipping fails", workflow.Chain, workflow.Shipping},
		{"fanout/shipping fails", workflow.Fanout, workflow.Shipping},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tw := startTwin(t, tt.top, tt.failing)
			ids := make([]string, 200)
			for i := range ids {
				ids[i] = fmt.Sprintf("h%d", i)
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				rep, err := tw.gw.PlaceOrder(ctx, &orderpb.PlaceOrderRequest{OrderId: ids[i], Customer: "c",
					Items: []*orderpb.Item{{Sku: "s", Quantity: 1}}, AmountCents: 100})
				cancel()
				if err != nil || rep.GetStatus() != orderpb.OrderStatus_PAYMENT_CAPTURED {
					t.Fatalf("order %s: %v, %v; want PAYMENT_CAPTURED", ids[i], rep.GetStatus(), err)
				}
			}
			end := time.Now().Add(time.Minute)
			for {
				counts := map[orderpb.OrderStatus]int{}
				for _, id := range ids {
					o, _ := tw.gw.GetOrder(context.Background(), &orderpb.GetOrderRequest{OrderId: id})
					counts[o.GetStatus()]++
				}
				inForce := map[workflow.Step]int{}
				dup := 0
				for st, e := range tw.execs {
					_, tot := e.Store().Audit()
					inForce[st], dup = tot.InForce, dup+tot.DuplicatesApplied
				}
				done := counts[orderpb.OrderStatus_ACCEPTED] == 0
				settled := true
				for _, n := range inForce {
					settled = settled && n == counts[orderpb.OrderStatus_COMPLETED]
				}
				if dup != 0 {
					t.Fatalf("%d effects applied twice", dup)
				}
				if done && settled {
					if (tt.failing != "") != (counts[orderpb.OrderStatus_REJECTED] > 0) {
						t.Fatalf("final statuses %v with %q failing", counts, tt.failing)
					}
					return
				}
				if time.Now().After(end) {
					t.Fatalf("after a minute: statuses %v, effects in force %v", counts, inForce)
				}
				time.Sleep(50 * time.Millisecond)
			}
		})
	}
}
