package fault

import (
	"context"
	"fmt"
)

// errorStep raises a step's error probability through its admin endpoint.
type errorStep struct {
	ErrorProb float64
}

func (*errorStep) Name() string    { return "error-step" }
func (e *errorStep) Bind(b Binder) { b.Number("error_prob", &e.ErrorProb) }

func (e *errorStep) Check(target string) []Problem {
	out := stepTarget(target)
	if e.ErrorProb <= 0 || e.ErrorProb > 1 {
		out = append(out, Problem{"error_prob", fmt.Sprintf("%v: error-step needs a probability in (0, 1]", e.ErrorProb)})
	}
	return out
}

func (e *errorStep) Apply(ctx context.Context, env *Env, target string) (Undo, error) {
	return changeCost(ctx, env, target, func(map[string]any) map[string]any {
		return map[string]any{"error_prob": e.ErrorProb}
	})
}
