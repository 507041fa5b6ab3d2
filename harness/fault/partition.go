package fault

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/edabench/edabench/harness/netcut"
)

// partitionNode cuts one member of the broker's cluster off the network
// at the kernel until the window ends (harness/netcut: every packet to or
// from a socket of the member's cgroup dropped, in both directions), so
// its peers and its clients lose it without a close, as in a real
// partition, while it keeps running on its own. A proxy would miss
// Erlang distribution (the nodes find each other's ports through epmd);
// the kernel's filter misses nothing the member sends or is sent.
type partitionNode struct{ nodeFault }

func (*partitionNode) Name() string { return "partition-node" }

func (*partitionNode) Apply(ctx context.Context, env *Env, target string) (Undo, error) {
	a, err := aimAt(ctx, env, target)
	if err != nil {
		return nil, err
	}
	pid := a.member.PID()
	if pid == 0 {
		return nil, fmt.Errorf("%s is not running", a.member.Name())
	}
	// What a harness killed during an earlier partition left goes first.
	if _, err := netcut.Sweep(ctx); err != nil {
		slog.WarnContext(ctx, "fault: could not remove every stale network cut", "err", err)
	}
	cut, err := netcut.CutPID(ctx, pid)
	if err != nil {
		return nil, fmt.Errorf("cut %s off: %w", a.member.Name(), err)
	}
	stop := a.report(ctx, env)
	return func(ctx context.Context) error {
		stop()
		// A member left cut off would poison every later run on the
		// cluster: heal even when the run is being torn down.
		if err := cut.Heal(context.WithoutCancel(ctx)); err != nil {
			return fmt.Errorf("heal %s: %w", a.member.Name(), err)
		}
		return nil
	}, nil
}
