package runner

import (
	"context"
	"testing"

	"github.com/edabench/edabench/targets/eda"
)

// A twin started elsewhere over its own broker (--target with --amqp):
// the run started no node, so there is nothing to claim, and the twin's
// run goes on (k6smoke's EDA cross-check panicked here).
func TestClaimWithoutANode(t *testing.T) {
	for _, twin := range []string{"rr", "eda", "hybrid"} {
		r := &Runner{o: Options{Target: "127.0.0.1:7200"}}
		release := r.claimTopology(context.Background(), twin, eda.DefaultConfig())
		release(context.Background())
	}
}
