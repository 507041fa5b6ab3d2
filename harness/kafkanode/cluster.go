package kafkanode

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/edabench/edabench/harness/brokernode"
	"github.com/edabench/edabench/harness/netcut"
	"github.com/edabench/edabench/harness/nodeproc"
)

// The default cluster's ports, clear of the single node's 9102 and 9103:
// member i (from 0) serves clients on 9120+i and its controller on 9130+i.
const (
	clusterPortBase       = 9120
	clusterControllerBase = 9130
	// MaxClusterNodes bounds --cluster: every member is a JVM.
	MaxClusterNodes = 5
)

// A member's heap: three JVMs share the machine with the twins; Kafka
// keeps records in the page cache, not the heap.
const (
	clusterHeapMin = "256m"
	clusterHeapMax = "768m"
)

// Cluster is a private Kafka cluster: KRaft nodes that are each broker and
// controller, a controller quorum of all of them, every topic replicated
// to all with min.insync.replicas one less (2 of 3).
type Cluster struct{ members []*Node }

var _ brokernode.Cluster = (*Cluster)(nil)

// DefaultClusterConfigs is the default cluster of nodes members, in
// ~/.cache/edabench/kafka/cluster (EDABENCH_KAFKA_DIR + "-cluster").
func DefaultClusterConfigs(nodes int) ([]Config, error) {
	base := DefaultConfig()
	root := filepath.Join(filepath.Dir(base.DataDir), "cluster")
	if d, ok := os.LookupEnv(EnvDir); ok && d != "" {
		root = d + "-cluster"
	}
	return ClusterConfigs(nodes, root, base, func(i int) (int, int) {
		return clusterPortBase + i, clusterControllerBase + i
	})
}

// ClusterConfigs describes a cluster of nodes members under root, each
// base with its own id, data dir and ports(i) (client, controller), one
// cluster id (chosen once, kept in root) and the quorum of all.
func ClusterConfigs(nodes int, root string, base Config, ports func(i int) (client, controller int)) ([]Config, error) {
	if nodes < 2 || nodes > MaxClusterNodes {
		return nil, fmt.Errorf("a Kafka cluster of %d nodes: want 2 to %d (3: replication factor 3, min.insync.replicas 2)", nodes, MaxClusterNodes)
	}
	id, err := sharedClusterID(root)
	if err != nil {
		return nil, err
	}
	cfgs := make([]Config, nodes)
	voters := make([]string, nodes)
	for i := range cfgs {
		cfg := base
		cfg.Port, cfg.ControllerPort = ports(i)
		cfg.NodeID = i + 1
		cfg.DataDir = filepath.Join(root, fmt.Sprintf("node-%d", i+1))
		cfg.HeapMin, cfg.HeapMax = clusterHeapMin, clusterHeapMax
		cfg.Replicas, cfg.MinISR = nodes, nodes-1
		cfg.ClusterID = id
		cfgs[i] = cfg
		voters[i] = fmt.Sprintf("%d@127.0.0.1:%d", cfg.NodeID, cfg.ControllerPort)
	}
	for i := range cfgs {
		cfgs[i].Voters = strings.Join(voters, ",")
	}
	return cfgs, nil
}

// sharedClusterID is the id every member is formatted with, chosen once.
func sharedClusterID(root string) (string, error) {
	path := filepath.Join(root, "cluster.id")
	if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) > 0 {
		return strings.TrimSpace(string(b)), nil
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", fmt.Errorf("kafka cluster: %w", err)
	}
	var id string
	for id == "" || strings.HasPrefix(id, "-") { // Kafka rejects a leading '-'
		b := make([]byte, 16)
		_, _ = rand.Read(b)
		id = base64.RawURLEncoding.EncodeToString(b)
	}
	if err := os.WriteFile(path, []byte(id+"\n"), 0o644); err != nil {
		return "", fmt.Errorf("kafka cluster: %w", err)
	}
	return id, nil
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
		return nil, errors.New("kafka cluster: fewer than two members")
	}
	return c, nil
}

// StartCluster starts (or reuses) every member at once: no member serves
// before a majority of the controller quorum is up.
func StartCluster(ctx context.Context, cfgs []Config) (*Cluster, error) {
	c, err := OpenCluster(cfgs)
	if err != nil {
		return nil, err
	}
	if err := c.members[0].cfg.Installed(); err != nil {
		return nil, err
	}
	if err := c.Start(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// Start starts every member not running, all at once.
func (c *Cluster) Start(ctx context.Context) error {
	c.resume()
	// A harness killed during a partition-node fault left a member cut off.
	if _, err := netcut.Sweep(ctx); err != nil {
		logger().WarnContext(ctx, "kafka cluster: could not remove every stale network cut", "err", err)
	}
	errs := make([]error, len(c.members))
	var wg sync.WaitGroup
	for i, m := range c.members {
		wg.Go(func() { errs[i] = m.Start(ctx) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("kafka cluster: %w", err)
	}
	logger().InfoContext(ctx, "Kafka cluster ready", "nodes", len(c.members), "seeds", c.ClientURL())
	return nil
}

// Stop stops every member at once: one by one, the last would wait for a
// controller quorum that left before it.
func (c *Cluster) Stop(ctx context.Context) error {
	c.resume() // a stopped JVM would sit out its SIGTERM
	errs := make([]error, len(c.members))
	var wg sync.WaitGroup
	for i, m := range c.members {
		wg.Go(func() { errs[i] = m.Stop(ctx) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Restart stops and starts the whole cluster.
func (c *Cluster) Restart(ctx context.Context) error {
	if err := c.Stop(ctx); err != nil {
		return err
	}
	return c.Start(ctx)
}

// Members are the cluster's nodes; member i has node.id i+1.
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
func (c *Cluster) Name() string { return "kafka cluster(" + c.ClientURL() + ")" }

// ClientURL is the seed list of every member.
func (c *Cluster) ClientURL() string {
	addrs := make([]string, len(c.members))
	for i, m := range c.members {
		addrs[i] = m.Addr()
	}
	return strings.Join(addrs, ",")
}

// AdminURL is "", as on the single node.
func (c *Cluster) AdminURL() string { return "" }

// PID is the first running member's JVM.
func (c *Cluster) PID() int {
	for _, m := range c.members {
		if pid := m.PID(); pid > 0 {
			return pid
		}
	}
	return 0
}

// live is the first running member, through which the cluster is asked.
func (c *Cluster) live() *Node {
	for _, m := range c.members {
		if m.PID() > 0 {
			return m
		}
	}
	return c.members[0]
}

// QueueDepths asks a running member (any one answers for the cluster).
func (c *Cluster) QueueDepths(ctx context.Context) (map[string]brokernode.QueueStat, error) {
	return c.live().QueueDepths(ctx)
}

// Claim records t in the first member's data dir, whose start sweeps it.
func (c *Cluster) Claim(ctx context.Context, t brokernode.Topology) func(context.Context) {
	return c.members[0].Claim(ctx, t)
}

// DeleteTopology deletes t through a running member.
func (c *Cluster) DeleteTopology(ctx context.Context, t brokernode.Topology) error {
	return c.live().DeleteTopology(ctx, t)
}

// Version is the jars' version.
func (c *Cluster) Version(ctx context.Context) string { return c.members[0].Version(ctx) }

// Leader is the member leading partition (TOPIC[N]), or the partition
// holding the most records (the admin API's metadata and end offsets,
// what kafka-topics --describe and kafka-get-offsets print), internal
// topics left out.
func (c *Cluster) Leader(ctx context.Context, partition string) (int, string, error) {
	var seeds []string
	for _, m := range c.members {
		if pid := m.PID(); pid > 0 && !nodeproc.Stopped(pid) && !netcut.IsCut(pid) {
			seeds = append(seeds, m.Addr())
		}
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.DialTimeout(pingTimeout))
	if err != nil {
		return -1, "", fmt.Errorf("kafka cluster: client: %w", err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	md, err := adm.Metadata(ctx)
	if err != nil {
		return -1, "", fmt.Errorf("kafka cluster: metadata: %w", err)
	}
	if partition != "" {
		return c.leaderOf(md, partition)
	}
	var topics []string
	for name, t := range md.Topics {
		if !t.IsInternal && !strings.HasPrefix(name, "__") {
			topics = append(topics, name)
		}
	}
	ends, err := adm.ListEndOffsets(ctx, topics...)
	if err != nil {
		return -1, "", fmt.Errorf("kafka cluster: end offsets: %w", err)
	}
	best, bestTopic, bestPart := int64(-1), "", int32(-1)
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err == nil && o.Offset > best {
			best, bestTopic, bestPart = o.Offset, o.Topic, o.Partition
		}
	})
	if bestTopic == "" {
		return -1, "", errors.New("kafka cluster: no topic has a partition with an end offset: declare the twin's topics first")
	}
	return c.leaderOf(md, fmt.Sprintf("%s[%d]", bestTopic, bestPart))
}

// leaderOf is the member md names leader of partition (TOPIC[N]), -1 when
// none is (an election under way).
func (c *Cluster) leaderOf(md kadm.Metadata, partition string) (int, string, error) {
	open := strings.LastIndex(partition, "[")
	var p int32
	if open < 0 || !strings.HasSuffix(partition, "]") {
		return -1, "", fmt.Errorf("kafka cluster: partition %q: want TOPIC[N]", partition)
	}
	if _, err := fmt.Sscanf(partition[open+1:], "%d]", &p); err != nil {
		return -1, "", fmt.Errorf("kafka cluster: partition %q: want TOPIC[N]", partition)
	}
	pd, ok := md.Topics[partition[:open]].Partitions[p]
	if !ok {
		return -1, "", fmt.Errorf("kafka cluster: no partition %s", partition)
	}
	// pd.Err is not looked at: with a replica offline Kafka answers
	// REPLICA_NOT_AVAILABLE for a partition that has a leader.
	for i, m := range c.members {
		if pd.Leader >= 0 && int32(m.cfg.nodeID()) == pd.Leader && m.PID() > 0 {
			return i, partition, nil
		}
	}
	return -1, partition, nil
}

// RemoveData deletes the cluster's data dirs once no member runs.
func (c *Cluster) RemoveData() error {
	for _, m := range c.members {
		if pid := m.PID(); pid > 0 {
			return fmt.Errorf("kafka cluster: %s still runs (pid %d): stop it first", m.Name(), pid)
		}
	}
	root := filepath.Dir(c.members[0].cfg.DataDir)
	for _, m := range c.members {
		if filepath.Dir(m.cfg.DataDir) != root {
			return fmt.Errorf("kafka cluster: members' data dirs are not under one folder (%s): delete them by hand", root)
		}
	}
	if err := os.RemoveAll(root); err != nil {
		return fmt.Errorf("kafka cluster: %w", err)
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
