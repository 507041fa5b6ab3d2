package broker

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/edabench/edabench/harness/brokernode"
	"github.com/edabench/edabench/harness/claims"
	"github.com/edabench/edabench/targets/bus"
)

// Topology is what a process claims on the node; the type is brokernode's.
type Topology = brokernode.Topology

// claimsQueue reports whether t covers the queue name, its dead-letter
// queue included.
func claimsQueue(t Topology, name string) bool {
	for _, q := range t.Queues {
		if name == q || name == bus.DLQName(q) {
			return true
		}
	}
	return underPrefix(name, t.Prefixes)
}

// claimsExchange reports whether t covers the exchange name, its
// dead-letter exchange included.
func claimsExchange(t Topology, name string) bool {
	for _, e := range t.Exchanges {
		if name == e || name == e+".dlx" {
			return true
		}
	}
	return underPrefix(name, t.Prefixes)
}

func underPrefix(name string, prefixes []string) bool { return claims.UnderPrefix(name, prefixes) }

// Record is one claim on disk: a Topology and the process that owns it (see
// harness/claims).
type Record = claims.Record

// claimsDir holds one file per claim; its name starts with the owner's PID
// so a listing shows who claimed what.
func (c Config) claimsDir() string { return filepath.Join(c.DataDir, "claims") }

// Claim records that this process owns t on the node, before it declares
// any of it: a run killed between declaring and recording would otherwise
// leave queues nobody knows about. The returned release deletes what is
// left of t on the node and then the record; call it once the topology's
// users have stopped. A failure either way is logged, never returned: a
// run must not fail because its bookkeeping did. A nil Node claims nothing.
func (n *Node) Claim(ctx context.Context, t Topology) (release func(context.Context)) {
	if n == nil {
		return func(context.Context) {}
	}
	return claims.Claim(ctx, logger(), "broker", "; if it is killed, `brokerctl clean --unclaimed` removes it",
		n.cfg.claimsDir(), t, func(ctx context.Context, own string) error {
			ctx, cancel := context.WithTimeout(ctx, mgmtTimeout+30*time.Second)
			defer cancel()
			return n.deleteTopology(ctx, t, func(r Record) bool { return r.Path == own })
		})
}

// Records reads every claim on the node. A file that cannot be parsed is
// reported in the error and skipped, never treated as dead.
func (n *Node) Records() ([]Record, error) {
	recs, err := claims.Read(n.cfg.claimsDir())
	if err != nil {
		err = fmt.Errorf("broker: %w", err)
	}
	return recs, err
}
