package fault

import (
	"context"
	"errors"
	"fmt"
	"syscall"
)

// pauseNode freezes one member of the broker's cluster (SIGSTOP) until
// the window ends (SIGCONT): a long GC pause or a stuck disk. Its peers
// and clients see a node that holds its connections and answers nothing.
type pauseNode struct{ nodeFault }

func (*pauseNode) Name() string { return "pause-node" }

func (*pauseNode) Apply(ctx context.Context, env *Env, target string) (Undo, error) {
	a, err := aimAt(ctx, env, target)
	if err != nil {
		return nil, err
	}
	pid := a.member.PID()
	if pid == 0 {
		return nil, fmt.Errorf("%s is not running", a.member.Name())
	}
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		return nil, fmt.Errorf("pause %s (pid %d): %w", a.member.Name(), pid, err)
	}
	stop := a.report(ctx, env)
	return func(context.Context) error {
		stop()
		// A member that died while paused has nothing to resume.
		if err := syscall.Kill(pid, syscall.SIGCONT); err != nil && !errors.Is(err, syscall.ESRCH) {
			return fmt.Errorf("resume %s (pid %d): %w", a.member.Name(), pid, err)
		}
		return nil
	}, nil
}
