package broker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/edabench/edabench/harness/brokernode"
	"github.com/edabench/edabench/harness/netcut"
	"github.com/edabench/edabench/harness/nodeproc"
)

// The default cluster's resources: its own epmd and ports, clear of the
// single node's (4380, 5682, 15682, 15702, 25682), member i (from 0) on
// base+i, and its own data dirs (~/.cache/edabench/broker-cluster/node-N),
// so a cluster and the single node can run side by side.
const (
	ClusterEPMDPort = 4390
	clusterAMQPBase = 5690
	clusterMgmtBase = 15690
	clusterPromBase = 15710
	clusterDistBase = 25690
	// MaxClusterNodes bounds --cluster: every member is a VM of its own on
	// a small machine.
	MaxClusterNodes = 5
)

// clusterErlArgs caps each member at two scheduler threads (one dirty CPU
// scheduler) and turns off their busy waiting: three VMs each sized for
// the machine's cores, spinning while idle, would starve one another and
// the twins on a small machine. Not one thread: on the shared 2-core
// machine a single-threaded member got so small a share of the CPU that
// its management API took 7 s to answer and a warm-up at 50 orders/s
// timed out.
const clusterErlArgs = "+S 2:2 +SDcpu 1:1 +sbwt none +sbwtdcpu none +sbwtdio none"

// Budgets of the cluster's own steps (each member's boot has its own).
const (
	joinTimeout = 3 * time.Minute
	ctlTimeout  = time.Minute
)

// Cluster is a private RabbitMQ cluster: members joined to the first one,
// every quorum queue declared on it replicated to all of them (a quorum
// queue's initial group is the cluster's size).
type Cluster struct{ members []*Node }

// The cluster is a brokernode.Cluster; the build fails here if it stops
// being one.
var _ brokernode.Cluster = (*Cluster)(nil)

// DefaultClusterConfigs is the default cluster of nodes members, rooted at
// ~/.cache/edabench/broker-cluster (EDABENCH_BROKER_DIR + "-cluster").
func DefaultClusterConfigs(nodes int) ([]Config, error) {
	root := DefaultConfig().DataDir + "-cluster"
	return ClusterConfigs(nodes, root, ClusterEPMDPort, func(i int) [4]int {
		return [4]int{clusterAMQPBase + i, clusterMgmtBase + i, clusterPromBase + i, clusterDistBase + i}
	})
}

// ClusterConfigs describes a cluster of nodes members under root, sharing
// the epmd on epmdPort and one cookie (made once, kept in root), member i
// on ports(i): AMQP, management, Prometheus, distribution.
func ClusterConfigs(nodes int, root string, epmdPort int, ports func(i int) [4]int) ([]Config, error) {
	if nodes < 2 || nodes > MaxClusterNodes {
		return nil, fmt.Errorf("a RabbitMQ cluster of %d nodes: want 2 to %d (3 keeps a quorum through one node's loss)", nodes, MaxClusterNodes)
	}
	cookie, err := clusterCookie(root)
	if err != nil {
		return nil, err
	}
	cfgs := make([]Config, nodes)
	for i := range cfgs {
		p := ports(i)
		cfgs[i] = Config{
			Name:     fmt.Sprintf("edabench-c%d@localhost", i+1),
			AMQPPort: p[0], MgmtPort: p[1], PromPort: p[2], DistPort: p[3],
			EPMDPort: epmdPort,
			DataDir:  filepath.Join(root, fmt.Sprintf("node-%d", i+1)),
			ErlArgs:  clusterErlArgs,
			Cookie:   cookie,
		}
	}
	return cfgs, nil
}

// clusterCookie is the cluster's Erlang cookie, chosen once.
func clusterCookie(root string) (string, error) {
	path := filepath.Join(root, "cookie")
	if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) > 0 {
		return strings.TrimSpace(string(b)), nil
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", fmt.Errorf("broker cluster: %w", err)
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	cookie := strings.ToUpper(hex.EncodeToString(b))
	if err := os.WriteFile(path, []byte(cookie+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("broker cluster: %w", err)
	}
	return cookie, nil
}

// OpenCluster is a handle on the cluster cfgs describe, without starting it.
func OpenCluster(cfgs []Config) (*Cluster, error) {
	c := &Cluster{}
	for _, cfg := range cfgs {
		n, err := Open(cfg)
		if err != nil {
			return nil, err
		}
		c.members = append(c.members, n)
	}
	if len(c.members) < 2 {
		return nil, errors.New("broker cluster: fewer than two members")
	}
	return c, nil
}

// StartCluster starts (or reuses) every member at once, since a member of
// an earlier run waits at boot for the peers it knew, then joins each to
// the first and waits until the first sees them all running.
func StartCluster(ctx context.Context, cfgs []Config) (*Cluster, error) {
	c, err := OpenCluster(cfgs)
	if err != nil {
		return nil, err
	}
	if err := EnsureInstalled(ctx); err != nil {
		return nil, err
	}
	if err := c.Start(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// Start starts every member not running (all at once) and joins them.
func (c *Cluster) Start(ctx context.Context) error {
	c.resume()
	// A harness killed during a partition-node fault left a member cut off.
	if _, err := netcut.Sweep(ctx); err != nil {
		logger().WarnContext(ctx, "broker cluster: could not remove every stale network cut", "err", err)
	}
	if err := c.members[0].startEPMD(ctx); err != nil {
		return fmt.Errorf("broker cluster: %w", err)
	}
	errs := make([]error, len(c.members))
	var wg sync.WaitGroup
	for i, m := range c.members {
		wg.Go(func() { errs[i] = m.Start(ctx) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("broker cluster: %w", err)
	}
	return c.join(ctx)
}

// join makes every member not yet in the first one's cluster join it
// (rabbitmqctl stop_app, join_cluster, start_app) and waits for all.
func (c *Cluster) join(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, joinTimeout)
	defer cancel()
	first := c.members[0]
	in, err := c.clustered(ctx)
	if err != nil {
		return err
	}
	for _, m := range c.members[1:] {
		if in[m.Name()] {
			continue
		}
		logger().InfoContext(ctx, "joining the cluster", "node", m.Name(), "to", first.Name())
		for _, args := range [][]string{{"stop_app"}, {"join_cluster", first.Name()}, {"start_app"}} {
			if err := m.ctl(ctx, args...); err != nil {
				return err
			}
		}
		if err := m.awaitReady(ctx, nil); err != nil {
			return fmt.Errorf("broker cluster: %s after joining: %w", m.Name(), err)
		}
	}
	return c.awaitRunning(ctx)
}

// clustered is the members the first one counts in its cluster (running
// or not), from its management API.
func (c *Cluster) clustered(ctx context.Context) (map[string]bool, error) {
	var nodes []struct {
		Name    string `json:"name"`
		Running bool   `json:"running"`
	}
	if err := c.members[0].mgmtGet(ctx, "/api/nodes?columns=name,running", &nodes); err != nil {
		return nil, fmt.Errorf("broker cluster: list the nodes: %w", err)
	}
	out := map[string]bool{}
	for _, n := range nodes {
		out[n.Name] = n.Running
	}
	return out, nil
}

// awaitRunning waits until the first member sees every member running.
func (c *Cluster) awaitRunning(ctx context.Context) error {
	for {
		in, err := c.clustered(ctx)
		missing := []string{}
		for _, m := range c.members {
			if err != nil || !in[m.Name()] {
				missing = append(missing, m.Name())
			}
		}
		if len(missing) == 0 {
			logger().InfoContext(ctx, "broker cluster ready", "nodes", len(c.members), "amqp", c.ClientURL())
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("broker cluster: %s not running in %s's cluster: %w (logs under %s)",
				strings.Join(missing, ", "), c.members[0].Name(), ctx.Err(), filepath.Dir(c.members[0].cfg.DataDir))
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// ctl runs rabbitmqctl on member n, with the node's own environment (its
// cookie, its epmd).
func (n *Node) ctl(ctx context.Context, args ...string) error {
	ctx, cancel := context.WithTimeout(ctx, ctlTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(rabbitBinDir, "rabbitmqctl"), append([]string{"-n", n.cfg.Name}, args...)...)
	cmd.Env = n.cfg.env(os.Environ())
	cmd.Dir = n.cfg.DataDir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("broker %s: rabbitmqctl %s: %w: %s", n.cfg.Name, strings.Join(args, " "), err, lastLines(string(out), 5))
	}
	return nil
}

// Stop stops every member, the last first, so the first (which the others
// joined) is the last to leave.
func (c *Cluster) Stop(ctx context.Context) error {
	c.resume() // a stopped VM would sit out its SIGTERM
	var errs []error
	for _, m := range slices.Backward(c.members) {
		errs = append(errs, m.Stop(ctx))
	}
	return errors.Join(errs...)
}

// Restart stops and starts the whole cluster.
func (c *Cluster) Restart(ctx context.Context) error {
	if err := c.Stop(ctx); err != nil {
		return err
	}
	return c.Start(ctx)
}

// Members are the cluster's nodes in order.
func (c *Cluster) Members() []brokernode.Node {
	out := make([]brokernode.Node, len(c.members))
	for i, m := range c.members {
		out[i] = m
	}
	return out
}

// Nodes are the members as this package's nodes.
func (c *Cluster) Nodes() []*Node { return slices.Clone(c.members) }

// Name names every member.
func (c *Cluster) Name() string {
	names := make([]string, len(c.members))
	for i, m := range c.members {
		names[i] = m.Name()
	}
	return "cluster(" + strings.Join(names, ",") + ")"
}

// ClientURL lists every member's AMQP URL, comma-separated: the RabbitMQ
// driver tries them in turn.
func (c *Cluster) ClientURL() string {
	urls := make([]string, len(c.members))
	for i, m := range c.members {
		urls[i] = m.AMQPURL()
	}
	return strings.Join(urls, ",")
}

// AdminURL is the first member's management API.
func (c *Cluster) AdminURL() string { return c.members[0].MgmtURL() }

// PID is the first running member's VM (the process meter's broker).
func (c *Cluster) PID() int {
	for _, m := range c.members {
		if pid := m.PID(); pid > 0 {
			return pid
		}
	}
	return 0
}

// QueueDepths asks the members in turn: any one reports the whole cluster.
func (c *Cluster) QueueDepths(ctx context.Context) (map[string]QueueStat, error) {
	var errs []error
	for _, m := range c.members {
		q, err := m.QueueDepths(ctx)
		if err == nil {
			return q, nil
		}
		errs = append(errs, err)
	}
	return nil, errors.Join(errs...)
}

// Claim records t in the first member's data dir, whose start sweeps it.
func (c *Cluster) Claim(ctx context.Context, t Topology) func(context.Context) {
	return c.members[0].Claim(ctx, t)
}

// DeleteTopology deletes t through the first member that answers.
func (c *Cluster) DeleteTopology(ctx context.Context, t Topology) error {
	var errs []error
	for _, m := range c.members {
		if m.PID() == 0 {
			continue
		}
		err := m.DeleteTopology(ctx, t)
		if err == nil {
			return nil
		}
		errs = append(errs, err)
	}
	return errors.Join(append(errs, errors.New("broker cluster: no member deleted the topology"))...)
}

// Version is the installed RabbitMQ's version.
func (c *Cluster) Version(ctx context.Context) string { return c.members[0].Version(ctx) }

// queueLeader is one queue of the management API's list.
type queueLeader struct {
	Name     string `json:"name"`
	Type     string `json:"type"`
	Leader   string `json:"leader"`
	Messages int64  `json:"messages"`
}

// Leader is the member leading queue, or the quorum queue holding the
// most messages now (the management API's queue list, the figures
// rabbitmq-queues and `rabbitmqctl list_queues leader` print, without
// booting their CLI's VM inside a fault window; from the queue totals,
// since the full statistics took seconds to answer on a loaded machine).
func (c *Cluster) Leader(ctx context.Context, queue string) (int, string, error) {
	var qs []queueLeader
	var errs []error
	// The totals ask every queue's leader for its length, and a dead
	// leader's peers take longer than a short fault to answer that (every
	// lookup of an 8 s kill-node window ran out, CI 2026-12-05): watching
	// one queue's leader needs no length.
	path := "/api/queues?disable_stats=true&enable_queue_totals=true&columns=name,type,leader,messages"
	if queue != "" {
		path = "/api/queues?disable_stats=true&columns=name,type,leader"
	}
	for _, m := range c.members {
		// A paused member's listener takes the request and never
		// answers; a cut-off one's never sees it.
		if pid := m.PID(); pid == 0 || nodeproc.Stopped(pid) || netcut.IsCut(pid) {
			continue
		}
		err := m.mgmtGet(ctx, path, &qs)
		if err == nil {
			errs = nil
			break
		}
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return -1, "", fmt.Errorf("broker cluster: list the queues: %w", errors.Join(errs...))
	}
	// Ties (a quiet cluster: every queue empty) go to the first by name,
	// so two lookups agree.
	slices.SortFunc(qs, func(a, b queueLeader) int { return strings.Compare(a.Name, b.Name) })
	best := -1
	for i, q := range qs {
		if q.Type != "quorum" || (queue != "" && q.Name != queue) || (queue == "" && q.Leader == "") {
			continue
		}
		if best < 0 || q.Messages > qs[best].Messages {
			best = i
		}
	}
	if best < 0 && queue != "" {
		return -1, queue, nil // gone from the listing for a moment
	}
	if best < 0 {
		return -1, "", errors.New("broker cluster: no quorum queue has a leader: declare the twin's queues first")
	}
	for i, m := range c.members {
		if m.Name() == qs[best].Leader {
			if m.PID() == 0 || nodeproc.Stopped(m.PID()) {
				return -1, qs[best].Name, nil // the listing still names the dead leader
			}
			return i, qs[best].Name, nil
		}
	}
	return -1, qs[best].Name, nil // no leader listed: an election under way
}

// RemoveData deletes the cluster's data dirs (and its cookie) once no
// member runs.
func (c *Cluster) RemoveData() error {
	for _, m := range c.members {
		if pid := m.PID(); pid > 0 {
			return fmt.Errorf("broker cluster: %s still runs (pid %d): stop it first", m.Name(), pid)
		}
	}
	root := filepath.Dir(c.members[0].cfg.DataDir)
	for _, m := range c.members {
		if filepath.Dir(m.cfg.DataDir) != root {
			return fmt.Errorf("broker cluster: members' data dirs are not under one folder (%s): delete them by hand", root)
		}
	}
	if err := os.RemoveAll(root); err != nil {
		return fmt.Errorf("broker cluster: %w", err)
	}
	return nil
}

// resume continues every member a harness killed during a pause-node
// fault left stopped (SIGSTOP): a stopped member answers nothing.
func (c *Cluster) resume() {
	for _, m := range c.members {
		if pid := m.PID(); pid > 0 {
			_ = syscall.Kill(pid, syscall.SIGCONT)
		}
	}
}
