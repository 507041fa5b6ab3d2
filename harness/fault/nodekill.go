package fault

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"time"

	"github.com/edabench/edabench/harness/nodeproc"
)

// killNode kills one member of the broker's cluster (SIGKILL: no clean
// shutdown, no handing over) and starts it again when the window ends.
type killNode struct{ nodeFault }

func (*killNode) Name() string { return "kill-node" }

func (*killNode) Apply(ctx context.Context, env *Env, target string) (Undo, error) {
	a, err := aimAt(ctx, env, target)
	if err != nil {
		return nil, err
	}
	pid := a.member.PID()
	if pid == 0 {
		return nil, fmt.Errorf("%s is not running", a.member.Name())
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return nil, fmt.Errorf("kill %s (pid %d): %w", a.member.Name(), pid, err)
	}
	stop := a.report(ctx, env)
	if !nodeproc.WaitExit(context.WithoutCancel(ctx), pid, 10*time.Second) {
		stop()
		return nil, fmt.Errorf("%s (pid %d) survived SIGKILL", a.member.Name(), pid)
	}
	return func(ctx context.Context) error {
		stop()
		return startMember(ctx, a.member)
	}, nil
}
