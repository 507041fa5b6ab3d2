package fault

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Link is one broker node's network link, which a partition cuts and
// heals: a harness/netns Node is one (its hub-side veth goes down, so the
// node loses the other nodes and every client at once).
type Link interface {
	Cut(ctx context.Context) error
	Heal(ctx context.Context) error
}

// partitionNode cuts one cluster node off the network at the kernel (its
// namespace's link down) until the window ends: the others and the
// clients see it vanish without a close, as in a real partition.
type partitionNode struct{}

func (*partitionNode) Name() string { return "partition-node" }
func (*partitionNode) Bind(Binder)  {}

func (*partitionNode) Check(target string) []Problem {
	if target == "" {
		return []Problem{{"target", "missing: name the cluster node to cut off (e.g. target: n2)"}}
	}
	return nil
}

func (*partitionNode) Apply(ctx context.Context, env *Env, target string) (Undo, error) {
	link, ok := env.Links[target]
	if !ok {
		if len(env.Links) == 0 {
			return nil, errors.New("no broker node runs in a network namespace: partition-node needs a cluster started with one per node")
		}
		names := make([]string, 0, len(env.Links))
		for n := range env.Links {
			names = append(names, n)
		}
		slices.Sort(names)
		return nil, fmt.Errorf("no node %q to cut off; the nodes are %s", target, strings.Join(names, ", "))
	}
	if err := link.Cut(ctx); err != nil {
		return nil, fmt.Errorf("cut node %s off: %w", target, err)
	}
	return func(ctx context.Context) error {
		// A node left cut off would poison every later run on the
		// cluster: heal even when the run is being torn down.
		return link.Heal(context.WithoutCancel(ctx))
	}, nil
}
