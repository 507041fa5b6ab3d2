package fault

import (
	"context"

	"github.com/edabench/edabench/harness/hops"
)

// bandwidth throttles one hop.
type bandwidth struct {
	// RateKBps is the limit, each way.
	RateKBps int64
}

func (*bandwidth) Name() string    { return "bandwidth" }
func (w *bandwidth) Bind(b Binder) { b.Count("rate_kbps", &w.RateKBps) }

func (w *bandwidth) Check(target string) []Problem {
	out := hopTarget(target)
	if w.RateKBps <= 0 {
		out = append(out, Problem{"rate_kbps", "missing; a bandwidth fault needs the limit in KB/s each way, e.g. rate_kbps: 64"})
	}
	return out
}

func (w *bandwidth) degradation() (hops.Degradation, error) {
	return hops.Degradation{RateKBps: w.RateKBps}, nil
}

func (w *bandwidth) Apply(ctx context.Context, env *Env, target string) (Undo, error) {
	return degradeHop(ctx, env, target, w)
}
