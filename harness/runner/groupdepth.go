package runner

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/edabench/edabench/harness/brokernode"
	"github.com/edabench/edabench/harness/brokernodes"
	"github.com/edabench/edabench/targets/bus"
	"github.com/edabench/edabench/targets/bus/drivers"
	"github.com/edabench/edabench/targets/eda"
)

// groupDepthNode is a node whose twin queues' depths come from the broker
// driver's QueueStats instead of the node's own QueueDepths. On Kafka the
// node's figure is the records a topic holds, which only grows: read as a
// backlog it would re-anchor a drained queue to every record ever
// published. The driver's figure is the consumer group's backlog (log end
// minus the group's commit), what RabbitMQ's ready + unacked means. The
// dead-letter topics keep the node's figure: nobody consumes them, so the
// records they hold are what was dead-lettered, as on RabbitMQ.
type groupDepthNode struct {
	brokernode.Node
	conn   *bus.Conn
	queues []string
}

// newGroupDepthNode dials cfg's driver (declaring no queue: it only reads
// offsets) for the depths of queues on node; close it once the lag
// sampler stopped.
func newGroupDepthNode(ctx context.Context, node brokernode.Node, cfg eda.Config, queues []string) (*groupDepthNode, error) {
	kind, err := cfg.Kind()
	if err != nil {
		return nil, err
	}
	conn, err := bus.Dial(ctx, kind, bus.WithURL(cfg.URL), bus.WithExchange(cfg.Exchange()),
		bus.WithConnectionName(cfg.Prefix+".harness-depth"), bus.WithDriverOptions(cfg.Options))
	if err != nil {
		return nil, fmt.Errorf("queue depths over the %s driver at %s: %w", kind.Name, cfg.URL, err)
	}
	return &groupDepthNode{Node: node, conn: conn, queues: queues}, nil
}

// QueueDepths is the node's figures with each twin queue's replaced by its
// group's backlog. Kafka cannot tell records in flight from waiting ones,
// so the backlog is Ready and Unacked is 0. The queues are read at once:
// each is four admin round trips, and read one after the other on a
// loaded 2-core machine they outlasted the lag's tick and the drain's
// quiescence polls (seen: every poll of a hybrid's drain timing out at a
// load average of 20-30).
func (g *groupDepthNode) QueueDepths(ctx context.Context) (map[string]brokernode.QueueStat, error) {
	stats := make([]bus.QueueStats, len(g.queues))
	errs := make([]error, len(g.queues)+1)
	var all map[string]brokernode.QueueStat
	var wg sync.WaitGroup
	wg.Go(func() { all, errs[len(g.queues)] = g.Node.QueueDepths(ctx) })
	for i, q := range g.queues {
		wg.Go(func() { stats[i], errs[i] = g.conn.QueueStats(ctx, q) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	for i, q := range g.queues {
		n := int64(stats[i].Messages)
		all[q] = brokernode.QueueStat{Name: q, Messages: n, Ready: n, Consumers: stats[i].Consumers}
	}
	return all, nil
}

// Close closes the driver's connection.
func (g *groupDepthNode) Close() error { return g.conn.Close() }

// nodeDepthIsBacklog says whether broker's node reports a queue's backlog
// itself (RabbitMQ's ready + unacked) rather than what a topic or stream
// holds: a broker that routes on the broker (an exchange), not a driver
// that routes by the topology its service declared (Kind.RoutesItself).
func nodeDepthIsBacklog(broker string) bool {
	k, err := drivers.Builtin().Lookup(broker)
	return err != nil || !k.RoutesItself
}

// externalNode is the node of a running twin's broker that edabench did
// not start (--target): only its depths are read, through the broker's
// node kind (Kind.Depths), at the twin's client URL; it is never started,
// stopped or cleaned by the run.
func externalNode(broker, url string) (brokernode.Node, error) {
	kind, err := brokernodes.Builtin().Lookup(broker)
	if err != nil {
		return nil, err
	}
	r, err := kind.Depths(url, "")
	if err != nil {
		return nil, fmt.Errorf("the running twin's %s broker at %s: %w", broker, url, err)
	}
	return readOnlyNode{DepthReader: r, name: broker + "@" + url, url: url}, nil
}

// readOnlyNode is a brokernode.Node that only reads depths.
type readOnlyNode struct {
	brokernode.DepthReader
	name, url string
}

func (n readOnlyNode) Name() string                                              { return n.name }
func (n readOnlyNode) ClientURL() string                                         { return n.url }
func (n readOnlyNode) AdminURL() string                                          { return "" }
func (n readOnlyNode) PID() int                                                  { return 0 }
func (n readOnlyNode) Start(context.Context) error                               { return errNotOurs }
func (n readOnlyNode) Stop(context.Context) error                                { return errNotOurs }
func (n readOnlyNode) Restart(context.Context) error                             { return errNotOurs }
func (n readOnlyNode) Version(context.Context) string                            { return "" }
func (n readOnlyNode) DeleteTopology(context.Context, brokernode.Topology) error { return errNotOurs }
func (n readOnlyNode) Claim(context.Context, brokernode.Topology) func(context.Context) {
	return func(context.Context) {}
}

var errNotOurs = errors.New("the running twin's broker is not edabench's: it is only read")
