package fault

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/edabench/edabench/harness/brokernode"
)

// The targets of a node fault: the leader of the busiest queue (RabbitMQ)
// or partition (Kafka) when the fault begins, or a member by its place.
const (
	leaderTarget = "leader"
	nodePrefix   = "node-"
)

// A node fault acts on one member of the broker's private cluster (killed,
// paused, restarted or cut off the network): nodeFault is what they
// share, with the aim and the leader watch.
type nodeFault struct{}

func (nodeFault) Bind(Binder) {}

// Check takes leader or node-N (N from 1; the cluster's size is known
// only when the fault is applied).
func (nodeFault) Check(target string) []Problem {
	if target == leaderTarget {
		return nil
	}
	if n, err := strconv.Atoi(strings.TrimPrefix(target, nodePrefix)); strings.HasPrefix(target, nodePrefix) && err == nil && n >= 1 {
		return nil
	}
	return []Problem{{"target", fmt.Sprintf("%q: use leader (the leader of the busiest queue or partition) or node-N (the cluster's Nth node, from node-1)", target)}}
}

// aim is the member target names, with the queue it leads if the fault
// is meant for a leader ("" otherwise).
type aim struct {
	cluster brokernode.Cluster
	index   int
	member  brokernode.Node
	queue   string
}

// aimAt resolves target on the run's cluster.
func aimAt(ctx context.Context, env *Env, target string) (aim, error) {
	c, ok := env.Broker.(brokernode.Cluster)
	if !ok || env.Broker == nil {
		return aim{}, errors.New("a node fault needs the broker's private cluster: run with --cluster 3 (or brokers: {nodes: 3} in the scenario)")
	}
	members := c.Members()
	lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	led, queue, lerr := c.Leader(lctx, "")
	a := aim{cluster: c, index: led}
	if target != leaderTarget {
		n, _ := strconv.Atoi(strings.TrimPrefix(target, nodePrefix))
		if n < 1 || n > len(members) {
			return aim{}, fmt.Errorf("%s: the cluster has %d nodes, node-1 to node-%d", target, len(members), len(members))
		}
		a.index = n - 1
	}
	switch {
	case target == leaderTarget && lerr != nil:
		return aim{}, fmt.Errorf("find the leader: %w", lerr)
	case target == leaderTarget && led < 0:
		return aim{}, fmt.Errorf("find the leader: %s has no live leader now", queue)
	case lerr == nil && led == a.index:
		a.queue = queue
	}
	a.member = members[a.index]
	return a, nil
}

// leaderGrace is how long the leader watch goes on after the window ends:
// RabbitMQ's management API, the watch's only view, can take most of a
// short window to answer while the cluster reorganises (CI, 2026-12-05:
// every lookup of an 8 s kill-node window ran out), and a leader elected
// then was still elected because of the fault.
const leaderGrace = 20 * time.Second

// report records the hit member and, when it led the queue aimed at,
// watches for another leader from now until leaderGrace after the
// returned stop runs (the window's end) or the injector stops:
// NewLeaderMs stays -1 if none took over by then.
func (a aim) report(ctx context.Context, env *Env) (stop func()) {
	began := time.Now()
	r := NodeReport{Node: fmt.Sprintf("%s%d %s", nodePrefix, a.index+1, a.member.Name()), Queue: a.queue}
	if a.queue == "" {
		env.ReportNode(r)
		return func() {}
	}
	r.NewLeaderMs = -1
	env.ReportNode(r)
	ctx, cancel := context.WithCancel(ctx)
	env.background(func() {
		defer cancel()
		a.watchLeader(ctx, env, r, began)
	})
	return func() { time.AfterFunc(leaderGrace, cancel) }
}

// watchLeader polls the queue's leader until another member leads it or
// ctx ends, and reports when that happened.
func (a aim) watchLeader(ctx context.Context, env *Env, r NodeReport, began time.Time) {
	var last error
	seen := -2
	for {
		lctx, lcancel := context.WithTimeout(ctx, 10*time.Second)
		led, _, err := a.cluster.Leader(lctx, a.queue)
		lcancel()
		if err == nil && led >= 0 && led != a.index {
			r.NewLeaderMs = float64(time.Since(began).Microseconds()) / 1000
			env.ReportNode(r)
			return
		}
		if ctx.Err() == nil {
			last, seen = err, led
		}
		select {
		case <-ctx.Done():
			// Say why no new leader was seen: the lookups failed, or
			// the broker still named none (or the same member).
			slog.Warn("fault: no new leader seen within the window and its grace", "queue", a.queue, "hit", r.Node,
				"last_leader", seen, "last_err", last)
			return
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// restartBudget bounds a member's start at a window's end: a loaded
// machine can need all of it, and a member left down is worse than a
// window that ends late.
const restartBudget = 3 * time.Minute

// startMember starts a stopped member again (it rejoins its cluster).
func startMember(ctx context.Context, m brokernode.Node) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), restartBudget)
	defer cancel()
	if err := m.Start(ctx); err != nil {
		return fmt.Errorf("start %s again: %w", m.Name(), err)
	}
	return nil
}
