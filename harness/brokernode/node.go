// Package brokernode is the harness's handle on a private broker node,
// whichever broker it runs: start or reuse it, its addresses, the faults
// done to it (stop, restart), its backlog per queue, the topologies runs
// claim and delete, and its version for a run's environment block. The
// runner, lag, fault and the commands use only Node; each broker is one
// implementation package exporting a Kind, listed in
// harness/brokernodes.Builtin().
//
// This package imports no broker: its types are the neutral ones every
// implementation speaks, so that a second broker needs none of RabbitMQ's
// code and the implementations can import it without a cycle.
package brokernode

import (
	"context"
	"fmt"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// QueueStat is one queue's depth as the broker itself reports it.
type QueueStat struct {
	Vhost     string // the queue's namespace ("/" on RabbitMQ's default vhost)
	Name      string
	Messages  int64 // Ready + Unacked
	Ready     int64 // waiting for a consumer
	Unacked   int64 // delivered, not yet acknowledged
	Consumers int
}

// Topology names what a process declares (or will declare) on the node, so
// that what a killed run left behind can be found and deleted later.
type Topology struct {
	// Prefixes claim every queue and exchange named PREFIX or PREFIX.*:
	// a twin's whole topology, its dead-letter queues and exchange, the
	// harness's and k6's queues under the same prefix.
	Prefixes []string `json:"prefixes,omitempty"`
	// Queues and Exchanges claim exact names (with a queue's dead-letter
	// queue and an exchange's dead-letter exchange), for a process that
	// declares a few queues under a prefix somebody else owns.
	Queues    []string `json:"queues,omitempty"`
	Exchanges []string `json:"exchanges,omitempty"`
}

// Empty reports whether t claims nothing.
func (t Topology) Empty() bool {
	return len(t.Prefixes) == 0 && len(t.Queues) == 0 && len(t.Exchanges) == 0
}

// DepthReader reads every queue's depth by queue name.
type DepthReader interface {
	QueueDepths(ctx context.Context) (map[string]QueueStat, error)
}

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
	// (the end of a broker-restart window), or reuses it when it runs;
	// Stop stops it; Restart is both.
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	Restart(ctx context.Context) error
	// QueueDepths is every queue's depth by queue name, the broker's own
	// figure (it may move on a coarse tick; lag checks the twins' counters
	// against it).
	DepthReader
	// Claim records t as this process's before it is declared; release
	// deletes what is left of it.
	Claim(ctx context.Context, t Topology) (release func(context.Context))
	// DeleteTopology deletes what t covers now (a run's own cleanup).
	DeleteTopology(ctx context.Context, t Topology) error
	// Version is the broker's version for the environment block, "" when
	// unknown.
	Version(ctx context.Context) string
}

// Exporter is a node that exports the broker's own figures as Prometheus
// metrics, for a broker with no Prometheus endpoint of its own (NATS
// serves JSON): a run serves them on the harness's /metrics.
type Exporter interface {
	Collector() prometheus.Collector
}

// Kind is one broker's node implementation.
type Kind struct {
	Name string
	// Start starts (or reuses) the default private node of this broker.
	Start func(ctx context.Context) (Node, error)
	// Open returns a handle on the default node without starting it.
	Open func() (Node, error)
	// Depths reads the queue depths of a node somebody else runs, known
	// only by its client and admin URLs (the k6 extension's gauges); the
	// credentials come from the client URL.
	Depths func(clientURL, adminURL string) (DepthReader, error)
	// StartCluster starts (or reuses) the default private cluster of
	// nodes members, replicated; OpenCluster is a handle on it without
	// starting it. Nil when the broker has no cluster.
	StartCluster func(ctx context.Context, nodes int) (Node, error)
	OpenCluster  func(nodes int) (Node, error)
	// StartByHand is the command that starts the default node outside a
	// run, for messages ("`make broker-up`").
	StartByHand string
}

// Check names the required fields k lacks (all but the cluster ones).
func (k Kind) Check() error {
	var missing []string
	for _, f := range []struct {
		name string
		ok   bool
	}{
		{"Name", k.Name != ""}, {"Start", k.Start != nil}, {"Open", k.Open != nil},
		{"Depths", k.Depths != nil}, {"StartByHand", k.StartByHand != ""},
		{"StartCluster and OpenCluster both or neither", (k.StartCluster == nil) == (k.OpenCluster == nil)},
	} {
		if !f.ok {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("broker node kind %q: no %s", k.Name, strings.Join(missing, ", "))
	}
	return nil
}

// Default is the broker a run uses when none is named.
const Default = "rabbitmq"

// NewKind is the Kind of a node package whose start and open act on its
// default node. It exists because a failed start's nil *N inside the Node
// interface would be a non-nil Node: it returns a nil Node with the error.
func NewKind[N Node](name string, start func(context.Context) (N, error), open func() (N, error),
	depths func(clientURL, adminURL string) (DepthReader, error)) Kind {
	return Kind{
		Name: name,
		Start: func(ctx context.Context) (Node, error) {
			n, err := start(ctx)
			if err != nil {
				return nil, err
			}
			return n, nil
		},
		Open: func() (Node, error) {
			n, err := open()
			if err != nil {
				return nil, err
			}
			return n, nil
		},
		Depths: depths,
	}
}

// ServeProber is a Node that can show it serves clients, not merely that
// it runs: one publish the broker confirms, through a fresh client. A
// broker fault times the node's "serving" mark with it, so that a node that
// answers its readiness check but cannot yet take a message is not counted
// back. Nodes without it are counted serving when their Start returns.
type ServeProber interface {
	// ProbeServe publishes one message and waits for the broker's
	// confirm, leaving nothing behind on the node; an error means not
	// serving (yet).
	ProbeServe(ctx context.Context) error
}

// Cluster is a Node made of several broker processes on this machine,
// replicating every queue: the node faults (kill-node, pause-node,
// restart-node) act on one member while the others serve. Its ClientURL
// names every member (RabbitMQ: a comma-separated list of AMQP URLs tried
// in turn; Kafka: the seed list), so clients fail over.
type Cluster interface {
	Node
	// Members are the cluster's nodes, each a Node of its own (its Name,
	// PID, Start, Stop), in a fixed order: member i is node-(i+1).
	Members() []Node
	// Leader finds, through the broker's own tools, the member leading
	// queue now (RabbitMQ: a quorum queue; Kafka: a partition, TOPIC[N]),
	// or, when queue is "", the busiest queue or partition, and names it.
	// member is -1 while the queue has no live leader.
	Leader(ctx context.Context, queue string) (member int, led string, err error)
	// RemoveData deletes the stopped cluster's data dirs.
	RemoveData() error
}

// Members is n's members when it is a cluster, else n alone.
func Members(n Node) []Node {
	if c, ok := n.(Cluster); ok {
		return c.Members()
	}
	return []Node{n}
}
