package fault

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/edabench/edabench/targets/ops"
	"github.com/edabench/edabench/targets/workflow"
)

// shippingOps serves a real shipping step's ops endpoint with cost c.
func shippingOps(t *testing.T, c workflow.Cost) (*fakeTwin, *workflow.Executor) {
	t.Helper()
	store, err := workflow.OpenStore("")
	if err != nil {
		t.Fatal(err)
	}
	e := workflow.NewExecutor(workflow.Shipping, store, workflow.NewCostControl(c), nil, 1)
	srv := httptest.NewServer(ops.Handler(ops.Config{Twin: "rr", Service: "shipping", Executors: []*workflow.Executor{e}, Admin: true}))
	t.Cleanup(srv.Close)
	return &fakeTwin{t: t, http: strings.TrimPrefix(srv.URL, "http://")}, e
}

// TestStepFaults changes a real step's cost model and puts it back.
func TestStepFaults(t *testing.T) {
	base := workflow.Cost{Dist: workflow.Fixed, Mean: time.Millisecond, Cap: 5 * time.Millisecond, Mode: workflow.Wait}
	tests := []struct {
		e    entry
		want workflow.Cost // while the fault is in effect
	}{
		{entry{"type": "slow-step", "target": "shipping", "mean": "3ms"}, // below the cap: the cap stays
			workflow.Cost{Dist: workflow.Fixed, Mean: 3 * time.Millisecond, Cap: 5 * time.Millisecond, Mode: workflow.Wait}},
		{entry{"type": "slow-step", "target": "shipping", "mean": "40ms"}, // above it: raised with the mean
			workflow.Cost{Dist: workflow.Fixed, Mean: 40 * time.Millisecond, Cap: 400 * time.Millisecond, Mode: workflow.Wait}},
		{entry{"type": "error-step", "target": "shipping", "error_prob": "0.3"},
			workflow.Cost{Dist: workflow.Fixed, Mean: time.Millisecond, Cap: 5 * time.Millisecond, Mode: workflow.Wait, ErrorProb: 0.3}},
	}
	for _, tt := range tests {
		t.Run(tt.e["type"]+tt.e["mean"], func(t *testing.T) {
			tw, e := shippingOps(t, base)
			s := decode(t, tt.e)
			env := &Env{Twin: tw, HTTP: http.DefaultClient}
			undo, err := s.Type.Apply(context.Background(), env, s.Target)
			if err != nil {
				t.Fatal(err)
			}
			if got := e.Cost().Load(); got != tt.want {
				t.Errorf("cost during the fault: %+v, want %+v", got, tt.want)
			}
			if err := undo(context.Background()); err != nil {
				t.Fatal(err)
			}
			if got := e.Cost().Load(); got != base {
				t.Errorf("cost after the undo: %+v, want %+v back", got, base)
			}
		})
	}
}

// TestStepFaultOnAServiceWithoutTheStep: the admin endpoint answers, but
// runs another step; nothing changes and the error names both.
func TestStepFaultOnAServiceWithoutTheStep(t *testing.T) {
	tw, _ := shippingOps(t, workflow.DefaultCost())
	_, err := (&errorStep{ErrorProb: 0.5}).Apply(context.Background(), &Env{Twin: tw, HTTP: http.DefaultClient}, "payment")
	if err == nil || !strings.Contains(err.Error(), "no cost model for payment") {
		t.Fatalf("err = %v, want: no cost model for payment", err)
	}
}
