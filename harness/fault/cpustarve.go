package fault

import (
	"context"
	"fmt"

	"github.com/edabench/edabench/harness/cpucap"
)

// cpuStarve caps one service's CPU with a cgroup quota.
type cpuStarve struct {
	// Cores is the cap: 0.1 is a tenth of one CPU.
	Cores float64
}

func (*cpuStarve) Name() string    { return "cpu-starve" }
func (c *cpuStarve) Bind(b Binder) { b.Number("cores", &c.Cores) }

func (c *cpuStarve) Check(target string) []Problem {
	out := serviceTarget(target)
	if c.Cores <= 0 || c.Cores > 64 {
		out = append(out, Problem{"cores", fmt.Sprintf("%v: cpu-starve needs the CPU cap in cores, e.g. cores: 0.1 for a tenth of one CPU", c.Cores)})
	}
	return out
}

func (c *cpuStarve) Apply(_ context.Context, env *Env, target string) (Undo, error) {
	p, err := running(env, target)
	if err != nil {
		return nil, err
	}
	h, err := cpucap.Detect()
	if err != nil {
		return nil, err
	}
	undo, err := h.Cap(p.PID(), fmt.Sprintf("%s-%d", p.Name(), p.PID()), c.Cores)
	if err != nil {
		return nil, err
	}
	return func(context.Context) error { return undo() }, nil
}
