// Package nodetest is what the per-broker test helpers (brokertest for
// RabbitMQ, kafkatest for Kafka) share: starting the shared default node
// and a dedicated node of a test's own, retried on a port another process
// took meanwhile, stopped in t.Cleanup and its data dir removed only after
// a clean stop. What a broker needs installed, and its Config, stay in its
// helper.
package nodetest

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/edabench/edabench/harness/brokernode"
)

const (
	// A three-node cluster boots its members at once and then joins them:
	// about a minute on a quiet 2-core machine, several on a loaded one.
	startTimeout = 6 * time.Minute
	stopTimeout  = 2 * time.Minute
	// Free ports are picked by the kernel and then released, so another
	// process may grab one before the node binds it; retry a few times.
	portAttempts = 3
)

// Shared starts or reuses a shared node with start and fails the test,
// naming helper (e.g. "brokertest.Shared"), when it cannot.
func Shared[N brokernode.Node](t testing.TB, helper string, start func(context.Context) (N, error)) N {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), startTimeout)
	defer cancel()
	n, err := start(ctx)
	if err != nil {
		t.Fatalf("%s: %v", helper, err)
	}
	return n
}

// Dedicated makes a data dir (os.MkdirTemp with dirPattern) and starts a
// node in it with start, which picks free ports each call; a start that
// fails with portInUse is retried. The node is stopped in t.Cleanup and
// the dir removed after a clean stop; otherwise the dir is kept and named,
// since its logs explain the failure.
func Dedicated[N brokernode.Node](t testing.TB, helper, dirPattern string, portInUse error,
	start func(ctx context.Context, dir string) (N, error)) N {
	t.Helper()
	// Not t.TempDir: the directory must outlive every cleanup that could
	// still touch the node, and is removed only after Stop succeeded.
	dir, err := os.MkdirTemp("", dirPattern)
	if err != nil {
		t.Fatalf("%s: %v", helper, err)
	}
	var n N
	for attempt := 1; ; attempt++ {
		ctx, cancel := context.WithTimeout(t.Context(), startTimeout)
		n, err = start(ctx, dir)
		cancel()
		if err == nil {
			break
		}
		if errors.Is(err, portInUse) && attempt < portAttempts {
			t.Logf("%s: retrying with other ports: %v", helper, err)
			continue
		}
		t.Fatalf("%s: %v\n(data dir kept for inspection: %s)", helper, err, dir)
	}
	t.Cleanup(func() {
		// t.Context() is already cancelled when cleanups run.
		ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
		defer cancel()
		if err := n.Stop(ctx); err != nil {
			t.Errorf("%s: stop %s: %v (data dir kept: %s)", helper, n.Name(), err, dir)
			return
		}
		if err := os.RemoveAll(dir); err != nil {
			t.Logf("%s: remove %s: %v", helper, dir, err)
		}
	})
	return n
}
