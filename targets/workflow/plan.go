package workflow

import (
	"fmt"
	"slices"
	"strings"
)

// MaxSteps is the length of the whole workflow, Steps().
const MaxSteps = 4

// Plan is the workflow one twin runs: the first N steps of Steps(), payment
// always first, arranged by Topology. A shorter plan makes a shorter RR call
// chain (N+1 hops with the client's), which is how the cost of each hop is
// measured. Every service of a twin must run the same plan.
type Plan struct {
	Topology Topology
	// N is how many steps run; 0 means all MaxSteps, so Plan{Topology: t}
	// is the whole workflow.
	N int
}

// CheckStepCount accepts a workflow length the twins can run.
func CheckStepCount(n int) error {
	if n < 1 || n > MaxSteps {
		return fmt.Errorf("%d steps: want 1 to %d (the first N of %s)", n, MaxSteps, stepList())
	}
	return nil
}

// Validate names what is wrong with the plan.
func (p Plan) Validate() error {
	if _, err := ParseTopology(string(p.Topology)); err != nil {
		return err
	}
	if p.N != 0 {
		return CheckStepCount(p.N)
	}
	return nil
}

// Len is how many steps the plan runs.
func (p Plan) Len() int {
	if p.N <= 0 || p.N > MaxSteps {
		return MaxSteps
	}
	return p.N
}

// Steps are the plan's steps in chain order.
func (p Plan) Steps() []Step { return Steps()[:p.Len()] }

// Includes reports whether step runs in this plan.
func (p Plan) Includes(step Step) bool { return slices.Contains(p.Steps(), step) }

// Last is the plan's last step in chain order: in the chain, the one whose
// success completes the order.
func (p Plan) Last() Step { return p.Steps()[p.Len()-1] }

// Next returns the steps of the plan that run once step has applied: the
// following one in the chain; after payment, all the others at once in
// the fanout.
func (p Plan) Next(step Step) []Step {
	steps := p.Steps()
	i := slices.Index(steps, step)
	if i < 0 || i+1 == len(steps) {
		return nil
	}
	if p.Topology == Fanout {
		if step == Payment {
			return slices.Clone(steps[1:])
		}
		return nil
	}
	return []Step{steps[i+1]}
}

// String reads like "chain of 2 steps (payment, inventory)", for messages.
func (p Plan) String() string {
	names := make([]string, 0, p.Len())
	for _, s := range p.Steps() {
		names = append(names, string(s))
	}
	return fmt.Sprintf("%s of %d steps (%s)", p.Topology, p.Len(), strings.Join(names, ", "))
}
