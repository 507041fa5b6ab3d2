package fault

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// brokerRestart stops the private broker node; the window's end starts it.
type brokerRestart struct{}

func (*brokerRestart) Name() string { return "broker-restart" }
func (*brokerRestart) Bind(Binder)  {}

func (*brokerRestart) Check(target string) []Problem {
	if target != "" && target != "broker" {
		return []Problem{{"target", fmt.Sprintf("%q: broker-restart takes no target (or broker)", target)}}
	}
	return nil
}

func (*brokerRestart) Apply(ctx context.Context, env *Env, _ string) (Undo, error) {
	if env.Broker == nil {
		return nil, errors.New("this twin uses no broker: nothing to restart")
	}
	// Not cut short when the run ends: a broker stopped half-way is worse
	// than a window that ends late. Stop escalates to SIGKILL within its
	// own bounds; a loaded machine can need all of them.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	if err := env.Broker.Stop(sctx); err != nil {
		return nil, fmt.Errorf("stop the broker: %w", err)
	}
	node := env.Broker
	return func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		return node.Start(ctx)
	}, nil
}
