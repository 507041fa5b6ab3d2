package fault

import (
	"context"
	"fmt"
)

// restartNode stops one member of the broker's cluster the way the broker
// stops itself (SIGTERM: it hands its leaderships over) and starts it
// again when the window ends.
type restartNode struct{ nodeFault }

func (*restartNode) Name() string { return "restart-node" }

func (*restartNode) Apply(ctx context.Context, env *Env, target string) (Undo, error) {
	a, err := aimAt(ctx, env, target)
	if err != nil {
		return nil, err
	}
	if a.member.PID() == 0 {
		return nil, fmt.Errorf("%s is not running", a.member.Name())
	}
	stop := a.report(ctx, env)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), restartBudget)
	defer cancel()
	if err := a.member.Stop(sctx); err != nil {
		stop()
		return nil, fmt.Errorf("stop %s: %w", a.member.Name(), err)
	}
	return func(ctx context.Context) error {
		stop()
		return startMember(ctx, a.member)
	}, nil
}
