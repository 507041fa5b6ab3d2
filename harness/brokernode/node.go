// Package brokernode is the harness's handle on a private broker node,
// whichever broker it runs: start or reuse it, its addresses, the faults
// done to it (stop, restart), its backlog per queue, the topologies runs
// claim and delete, and its version for a run's environment block. The
// runner, lag, fault and the commands use only Node; each broker is one
// implementation, chosen by name from Builtin().
package brokernode

import (
	"context"

	"github.com/edabench/edabench/harness/broker"
)

// QueueStat is one queue's depth as the broker itself reports it.
type QueueStat = broker.QueueStat

// Topology is what a process claims on the node before declaring it.
type Topology = broker.Topology

// Node is a running (or reused) private broker node.
type Node interface {
	// Name identifies the node in messages (RabbitMQ: its Erlang node name).
	Name() string
	// ClientURL is what twins and probes dial; AdminURL is the node's own
	// management endpoint, "" when it has none.
	ClientURL() string
	AdminURL() string
	// PID is the node's OS process (0 when not running), for the process
	// meter; it changes across restarts.
	PID() int
	// Start starts the node again with the same configuration and data
	// (the end of a broker-restart window); Stop stops it; Restart is both.
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	Restart(ctx context.Context) error
	// QueueDepths is every queue's depth by queue name, the broker's own
	// figure (it may move on a coarse tick; lag checks the twins' counters
	// against it).
	QueueDepths(ctx context.Context) (map[string]QueueStat, error)
	// Claim records t as this process's before it is declared; release
	// deletes what is left of it.
	Claim(ctx context.Context, t Topology) (release func(context.Context))
	// DeleteTopology deletes what t covers now (a run's own cleanup).
	DeleteTopology(ctx context.Context, t Topology) error
	// Version is the broker's version for the environment block, "" when
	// unknown.
	Version(ctx context.Context) string
}

// Kind is one broker's node implementation.
type Kind struct {
	Name string
	// Start starts (or reuses) the default private node of this broker.
	Start func(ctx context.Context) (Node, error)
	// Open returns a handle on the default node without starting it.
	Open func() (Node, error)
}

// Registry is the broker nodes edabench can run, by name.
type Registry struct{ kinds []Kind }

// Builtin lists every broker node implementation.
func Builtin() Registry {
	return Registry{kinds: []Kind{rabbitMQ()}}
}

// Default is the broker a run uses when none is named.
const Default = "rabbitmq"
