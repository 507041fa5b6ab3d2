package fault

import (
	"context"
	"time"

	"github.com/edabench/edabench/harness/hops"
)

// latency adds latency and jitter, each way, on one hop.
type latency struct {
	Latency, Jitter time.Duration
}

func (*latency) Name() string { return "latency" }

func (l *latency) Bind(b Binder) {
	b.Duration("latency", &l.Latency)
	b.Duration("jitter", &l.Jitter)
}

func (l *latency) Check(target string) []Problem {
	out := hopTarget(target)
	if l.Latency <= 0 {
		out = append(out, Problem{"latency", "missing; a latency fault needs the latency added each way, e.g. latency: 50ms (and optionally jitter: 10ms)"})
	}
	if l.Jitter < 0 || l.Latency < 0 {
		out = append(out, Problem{"jitter", "latency and jitter must not be negative"})
	}
	return out
}

func (l *latency) degradation() (hops.Degradation, error) {
	return hops.Degradation{Latency: l.Latency, Jitter: l.Jitter}, nil
}

func (l *latency) Apply(ctx context.Context, env *Env, target string) (Undo, error) {
	return degradeHop(ctx, env, target, l)
}
