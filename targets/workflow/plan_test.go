package workflow

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestPlanNext(t *testing.T) {
	const (
		P, I, S, N = Payment, Inventory, Shipping, Notification
	)
	tests := []struct {
		top  Topology
		n    int
		want map[Step][]Step // every step of the plan; absent steps are not in it
	}{
		{Chain, 1, map[Step][]Step{P: nil}},
		{Chain, 2, map[Step][]Step{P: {I}, I: nil}},
		{Chain, 3, map[Step][]Step{P: {I}, I: {S}, S: nil}},
		{Chain, 4, map[Step][]Step{P: {I}, I: {S}, S: {N}, N: nil}},
		{Chain, 0, map[Step][]Step{P: {I}, I: {S}, S: {N}, N: nil}},
		{Fanout, 1, map[Step][]Step{P: nil}},
		{Fanout, 2, map[Step][]Step{P: {I}, I: nil}},
		{Fanout, 3, map[Step][]Step{P: {I, S}, I: nil, S: nil}},
		{Fanout, 4, map[Step][]Step{P: {I, S, N}, I: nil, S: nil, N: nil}},
	}
	for _, tt := range tests {
		p := Plan{Topology: tt.top, N: tt.n}
		if err := p.Validate(); err != nil {
			t.Fatalf("%v: %v", p, err)
		}
		if p.Len() != len(tt.want) {
			t.Errorf("%v: Len %d, want %d", p, p.Len(), len(tt.want))
		}
		if steps := p.Steps(); steps[0] != Payment || p.Last() != steps[len(steps)-1] {
			t.Errorf("%v: steps %v, last %s: want payment first and Last the final one", p, steps, p.Last())
		}
		for _, st := range Steps() {
			want, in := tt.want[st]
			if p.Includes(st) != in {
				t.Errorf("%v: Includes(%s) = %v, want %v", p, st, !in, in)
			}
			if got := p.Next(st); !slices.Equal(got, want) {
				t.Errorf("%v: Next(%s) = %v, want %v", p, st, got, want)
			}
		}
	}
	// The whole workflow is what Topology.Next always described.
	for _, top := range []Topology{Chain, Fanout} {
		for _, st := range Steps() {
			if got, want := top.Next(st), (Plan{Topology: top, N: MaxSteps}).Next(st); !slices.Equal(got, want) {
				t.Errorf("%s.Next(%s) = %v, want %v", top, st, got, want)
			}
		}
	}
	if len(Steps()) != MaxSteps {
		t.Fatalf("MaxSteps %d, but Steps() has %d", MaxSteps, len(Steps()))
	}
}

func TestPlanValidate(t *testing.T) {
	tests := []struct {
		p    Plan
		want string // substring of the error; "" for valid
	}{
		{Plan{Topology: Chain, N: 1}, ""},
		{Plan{Topology: Fanout, N: 4}, ""},
		{Plan{Topology: Chain}, ""},
		{Plan{Topology: Chain, N: 5}, "5 steps: want 1 to 4"},
		{Plan{Topology: Fanout, N: -1}, "-1 steps: want 1 to 4"},
		{Plan{Topology: "ring", N: 2}, `unknown topology "ring"`},
	}
	for _, tt := range tests {
		err := tt.p.Validate()
		if (err == nil) != (tt.want == "") || (err != nil && !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("%+v.Validate() = %v, want %q", tt.p, err, tt.want)
		}
	}
	if got := (Plan{Topology: Chain, N: 2}).String(); got != "chain of 2 steps (payment, inventory)" {
		t.Errorf("String() = %q", got)
	}
}

// A read model built for a shorter plan completes an order once the plan's
// steps are done, not all four.
func TestReadModelForPlan(t *testing.T) {
	for n := 1; n <= MaxSteps; n++ {
		p := Plan{Topology: Fanout, N: n}
		m := NewReadModelFor(p)
		if m.StepCount() != n {
			t.Fatalf("StepCount %d, want %d", m.StepCount(), n)
		}
		now := time.Now()
		m.Accept("o", "", now)
		for i, st := range p.Steps() {
			if done := m.StepDone("o", st, now); done != (i == n-1) {
				t.Fatalf("%v: StepDone(%s) = %v, want %v", p, st, done, i == n-1)
			}
		}
	}
	if NewReadModel().StepCount() != MaxSteps {
		t.Fatal("NewReadModel does not cover the whole workflow")
	}
}
