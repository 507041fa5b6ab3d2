package eda

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/edabench/edabench/harness/broker/brokertest"
	"github.com/edabench/edabench/targets/api/orderpb"
	"github.com/edabench/edabench/targets/workflow"
)

// twin is the EDA twin in one test process, on a real broker.
type twin struct {
	gw    *Gateway
	rm    *workflow.ReadModel
	execs map[workflow.Step]*workflow.Executor
}

func startTwin(t *testing.T, top workflow.Topology, costs map[workflow.Step]workflow.Cost) *twin {
	t.Helper()
	node := brokertest.Shared(t)
	cfg := DefaultConfig()
	cfg.URL, cfg.Topology = node.AMQPURL(), top
	// Claimed, and checked empty after the cleanup below deleted it.
	cfg.Prefix = brokertest.Prefix(t, node, "edatest")
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	tw := &twin{rm: workflow.NewReadModel(), execs: map[workflow.Step]*workflow.Executor{}}
	for i, st := range workflow.Steps() {
		c, ok := costs[st]
		if !ok {
			c = workflow.Cost{Dist: workflow.Fixed, Mode: workflow.Wait}
		}
		store, _ := workflow.OpenStore("")
		e := workflow.NewExecutor(st, store, workflow.NewCostControl(c), nil, uint64(i))
		tw.execs[st] = e
		s, err := NewStepService(ctx, cfg, e, NewMetrics(nil, cfg.Broker()), nil)
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() { defer wg.Done(); s.Run(ctx); s.Close() }()
	}
	gw, err := NewGateway(ctx, cfg, tw.rm, NewMetrics(nil, cfg.Broker()), nil)
	if err != nil {
		t.Fatal(err)
	}
	tw.gw = gw
	wg.Add(1)
	go func() { defer wg.Done(); gw.RunProjector(ctx); gw.Close() }()
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		DeleteTopology(context.Background(), node.AMQPURL(), cfg)
	})
	return tw
}

func order(id string) *orderpb.PlaceOrderRequest {
	return &orderpb.PlaceOrderRequest{OrderId: id, Customer: "c", Items: []*orderpb.Item{{Sku: "s", Quantity: 1}}, AmountCents: 100}
}

func (tw *twin) placeAll(t *testing.T, ids []string) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, len(ids))
	sem := make(chan struct{}, 16)
	for _, id := range ids {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			rep, err := tw.gw.PlaceOrder(ctx, order(id))
			if err == nil && rep.GetStatus() != orderpb.OrderStatus_ACCEPTED {
				err = fmt.Errorf("%s: status %v", id, rep.GetStatus())
			}
			if err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// awaitFinal waits until every order has left ACCEPTED.
func (tw *twin) awaitFinal(t *testing.T, ids []string) map[orderpb.OrderStatus]int {
	t.Helper()
	end := time.Now().Add(time.Minute)
	for {
		counts := map[orderpb.OrderStatus]int{}
		for _, id := range ids {
			v, _ := tw.rm.Get(id)
			counts[v.Status]++
		}
		if counts[orderpb.OrderStatus_ACCEPTED] == 0 {
			return counts
		}
		if time.Now().After(end) {
			t.Fatalf("orders still in progress after a minute: %v", counts)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func ids(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%d", prefix, i)
	}
	return out
}

func TestEDATwinCompletesEveryOrder(t *testing.T) {
	for _, top := range []workflow.Topology{workflow.Chain, workflow.Fanout} {
		t.Run(string(top), func(t *testing.T) {
			tw := startTwin(t, top, nil)
			orders := ids(string(top), 300)
			tw.placeAll(t, orders)
			if got := tw.awaitFinal(t, orders); got[orderpb.OrderStatus_COMPLETED] != len(orders) {
				t.Fatalf("final statuses %v", got)
			}
			for st, e := range tw.execs {
				_, tot := e.Store().Audit()
				if tot.Applied != len(orders) || tot.DuplicatesApplied != 0 {
					t.Errorf("%s: %+v", st, tot)
				}
			}
			v, _ := tw.rm.Get(orders[0])
			if p := v.Proto(); len(p.GetSteps()) != 4 || p.GetCompletedAt() == nil {
				t.Fatalf("read model of a completed order: %v", p)
			}
		})
	}
}

func TestEDATwinFailedStepCompensates(t *testing.T) {
	for _, top := range []workflow.Topology{workflow.Chain, workflow.Fanout} {
		t.Run(string(top), func(t *testing.T) {
			failing := workflow.Shipping
			tw := startTwin(t, top, map[workflow.Step]workflow.Cost{
				failing: {Dist: workflow.Fixed, Mode: workflow.Wait, ErrorProb: 0.5},
			})
			orders := ids("f"+string(top), 200)
			tw.placeAll(t, orders)
			got := tw.awaitFinal(t, orders)
			if got[orderpb.OrderStatus_REJECTED] == 0 || got[orderpb.OrderStatus_COMPLETED] == 0 {
				t.Fatalf("with p=0.5 failures want both outcomes, got %v", got)
			}
			// Compensation is asynchronous: wait until every effect of a
			// rejected order is undone, and nothing else.
			end := time.Now().Add(30 * time.Second)
			for {
				orphans := 0
				for _, st := range workflow.Steps() {
					_, tot := tw.execs[st].Store().Audit()
					if tot.DuplicatesApplied != 0 {
						t.Fatalf("%s applied twice: %+v", st, tot)
					}
					orphans += tot.InForce - got[orderpb.OrderStatus_COMPLETED]
				}
				if orphans == 0 {
					break
				}
				if time.Now().After(end) {
					t.Fatalf("%d effects of rejected orders still in force", orphans)
				}
				time.Sleep(50 * time.Millisecond)
			}
			for _, id := range orders {
				if v, _ := tw.rm.Get(id); v.Status == orderpb.OrderStatus_REJECTED && v.Reason == "" {
					t.Fatalf("order %s rejected without a reason", id)
				}
			}
		})
	}
}
