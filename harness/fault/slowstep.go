package fault

import (
	"context"
	"time"
)

// slowStep raises a step's mean service time through its admin endpoint.
type slowStep struct {
	Mean time.Duration
}

func (*slowStep) Name() string    { return "slow-step" }
func (s *slowStep) Bind(b Binder) { b.Duration("mean", &s.Mean) }

func (s *slowStep) Check(target string) []Problem {
	out := stepTarget(target)
	if s.Mean <= 0 {
		out = append(out, Problem{"mean", "missing; slow-step needs the slowed mean service time, e.g. mean: 50ms"})
	}
	return out
}

func (s *slowStep) Apply(ctx context.Context, env *Env, target string) (Undo, error) {
	return changeCost(ctx, env, target, func(before map[string]any) map[string]any {
		change := map[string]any{"mean": s.Mean.String()}
		if cp, ok := before["cap"].(string); ok {
			// A cap below the new mean would refuse the change.
			if c, err := time.ParseDuration(cp); err == nil && c > 0 && c < s.Mean {
				change["cap"] = (10 * s.Mean).String()
			}
		}
		return change
	})
}
