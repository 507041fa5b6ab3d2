package runner

import (
	"context"

	"github.com/edabench/edabench/harness/brokernode"
	"github.com/edabench/edabench/harness/completion"
	"github.com/edabench/edabench/internal/twinkind"
	"github.com/edabench/edabench/targets/eda"
)

// claimTopology records on the node what this run is about to declare, so
// that if the run is killed the next node start deletes it; the returned
// release deletes what is left once the twin stopped. A twin the harness
// did not start (Target) keeps its topology: only the harness's own
// completion queue is the run's.
func (r *Runner) claimTopology(ctx context.Context, twin string, cfg eda.Config) func(context.Context) {
	if !twinkind.Of(twin).UsesBroker() || r.node == nil {
		// No private node of this run (a --target twin's broker): the
		// harness deletes its own queue on its way out (observeOrders).
		return func(context.Context) {}
	}
	t := brokernode.Topology{Prefixes: []string{cfg.Prefix}}
	if r.o.Target != "" {
		t = brokernode.Topology{Queues: []string{completion.QueueName(cfg)}}
	}
	return r.node.Claim(ctx, t)
}
