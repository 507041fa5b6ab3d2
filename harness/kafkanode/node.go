// Package kafkanode starts, supervises and stops a private Apache Kafka
// node for edabench: one KRaft process that is both broker and controller
// (no ZooKeeper), on its own ports on 127.0.0.1, with its data, logs and
// config in its own directory (~/.cache/edabench/kafka/node), run from the
// jars `make kafka` fetches from Maven Central with Maven.
//
// As with the RabbitMQ node (harness/broker), the node is a detached
// process that outlives whoever started it: brokerctl and test binaries
// share one node per data dir, coordinating through an flock there, and a
// pid file (pid and process start time) finds it again. Start reuses a
// node that answers a metadata request with the cluster id this data dir
// was formatted with.
package kafkanode

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/edabench/edabench/harness/nodeproc"
)

// Budgets for the slow steps. A cold boot took about 4 s on a 2-core
// machine; the start budget covers a loaded CI box without hiding a hang.
const (
	startTimeout  = 2 * time.Minute
	reuseTimeout  = 30 * time.Second
	formatTimeout = time.Minute
	stopTimeout   = time.Minute
	killGrace     = 10 * time.Second
	pingTimeout   = 3 * time.Second
)

// Node is a handle on the private Kafka node a Config describes.
type Node struct{ cfg Config }

// Open returns a handle on the node cfg describes without starting it, so
// that a node started by another process can be inspected or stopped.
func Open(cfg Config) (*Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	for _, d := range []*string{&cfg.DataDir, &cfg.LibsDir} {
		abs, err := filepath.Abs(*d)
		if err != nil {
			return nil, fmt.Errorf("kafka config: %w", err)
		}
		// The JVM is recognised by this exact string (isOurJava).
		*d = abs
	}
	return &Node{cfg: cfg}, nil
}

// Start starts the node (or reuses it if it runs from this data dir) and
// waits until it answers a metadata request. The first start formats the
// storage.
func Start(ctx context.Context, cfg Config) (*Node, error) {
	n, err := Open(cfg)
	if err != nil {
		return nil, err
	}
	if err := n.cfg.Installed(); err != nil {
		return nil, err
	}
	if err := nodeproc.StartLocked(ctx, n.lock, n.startLocked, n.sweep); err != nil {
		return nil, err
	}
	return n, nil
}

// Config is the node's configuration, with its folders made absolute.
func (n *Node) Config() Config { return n.cfg }

// Addr is the client listener, host:port, the form franz-go's seed
// brokers take.
func (n *Node) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(n.cfg.Port)) }

// Name identifies the node in messages.
func (n *Node) Name() string { return "kafka@" + n.Addr() }

// ClientURL is Addr: what clients dial (a comma-separated seed list of one).
func (n *Node) ClientURL() string { return n.Addr() }

// AdminURL is "": Kafka is administered over its client protocol, which
// ClientURL reaches.
func (n *Node) AdminURL() string { return "" }

// LogPath is the broker's log file; StdoutLogPath holds what the JVM
// prints before logging is up.
func (n *Node) LogPath() string       { return n.cfg.paths().nodeLog }
func (n *Node) StdoutLogPath() string { return n.cfg.paths().stdoutLog }

// PID is the node's JVM, 0 when it is not running; read fresh each time,
// since a restart (possibly by another process) changes it.
func (n *Node) PID() int {
	return nodeproc.RunningPID(n.cfg.paths().pidFile, isOurJava(n.cfg.DataDir))
}

// Start starts the node again with its Config (after Stop), or reuses it.
func (n *Node) Start(ctx context.Context) error {
	_, err := Start(ctx, n.cfg)
	return err
}

// Stop stops the node the way kafka-server-stop.sh does (SIGTERM: a
// controlled shutdown that flushes the logs), waits for the JVM to exit
// and kills it only when it does not within a minute. Stopping a node
// that is not running is not an error.
func (n *Node) Stop(ctx context.Context) error {
	return nodeproc.Locked(ctx, n.lock, n.stopLocked)
}

// Restart stops and starts the node with the same Config and data, so
// topics and records survive (the broker-restart fault). Holding the lock
// across both halves keeps another starter from slipping in between.
func (n *Node) Restart(ctx context.Context) error {
	return nodeproc.Locked(ctx, n.lock, func(ctx context.Context) error {
		return nodeproc.Restart(ctx, n.stopLocked, n.startLocked)
	})
}

// Version is the version in the broker jar's name, "" when unknown.
func (n *Node) Version(context.Context) string {
	jar, err := serverJar(n.cfg.LibsDir)
	if err != nil {
		return ""
	}
	return jarVersion(jar)
}

// Client is a franz-go client on the node; the caller closes it.
func (n *Node) Client(opts ...kgo.Opt) (*kgo.Client, error) {
	base := []kgo.Opt{kgo.SeedBrokers(n.Addr()), kgo.DialTimeout(pingTimeout)}
	c, err := kgo.NewClient(append(base, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("kafka %s: client: %w", n.Name(), err)
	}
	return c, nil
}

// Ping asks the node for its metadata and checks it is this data dir's
// cluster (not another Kafka that took the port).
func (n *Node) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	c, err := n.Client(kgo.RequestRetries(0))
	if err != nil {
		return err
	}
	defer c.Close()
	md, err := kadm.NewClient(c).BrokerMetadata(ctx)
	if err != nil {
		return fmt.Errorf("kafka %s: metadata request: %w", n.Name(), err)
	}
	want, err := os.ReadFile(n.cfg.paths().clusterID)
	if err == nil && md.Cluster != strings.TrimSpace(string(want)) {
		return fmt.Errorf("kafka port %d answers for cluster %q, not this node's %q (data dir %s)",
			n.cfg.Port, md.Cluster, strings.TrimSpace(string(want)), n.cfg.DataDir)
	}
	return nil
}

func (n *Node) lock(ctx context.Context) (*nodeproc.Lock, error) {
	return nodeproc.LockDir(ctx, n.cfg.DataDir, lockName, "Kafka node", EnvDir)
}

func (n *Node) awaitReady(ctx context.Context, exited <-chan struct{}) error {
	return nodeproc.AwaitReady(ctx, n.Ping, exited, "the Kafka JVM")
}

func (n *Node) startLocked(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	if pid := n.PID(); pid > 0 {
		return n.reuseLocked(ctx, pid)
	}
	// A pid file without a live node is left from a crash or SIGKILL.
	if err := nodeproc.RemoveFiles(n.cfg.paths().pidFile); err != nil {
		return fmt.Errorf("kafka: remove stale pid file: %w", err)
	}
	if err := n.checkPorts(); err != nil {
		return err
	}
	if err := n.writeFiles(); err != nil {
		return err
	}
	if err := n.format(ctx); err != nil {
		return err
	}
	began := time.Now()
	srv, err := n.spawn()
	if err != nil {
		return err
	}
	logger().InfoContext(ctx, "starting Kafka", "addr", n.Addr(), "pid", srv.PID, "data_dir", n.cfg.DataDir)
	if err := n.awaitReady(ctx, srv.Exited); err != nil {
		return n.bootFailed(ctx, srv, err)
	}
	logger().InfoContext(ctx, "Kafka ready", "addr", n.Addr(), "pid", srv.PID, "took", time.Since(began).Round(time.Millisecond))
	return nil
}

// reuseLocked checks that the node already running from DataDir is the
// one cfg describes, and ready.
func (n *Node) reuseLocked(ctx context.Context, pid int) error {
	c := n.cfg
	if running, differs := nodeproc.RunningDiffers(c.paths().runningConf, c); differs {
		return fmt.Errorf("kafka: a node already runs from data dir %s (pid %d) with another config:\n  running:   %+v\n  requested: %+v\n"+
			"stop it first (brokerctl down --broker kafka, with the same environment it was started with) or use another data dir (%s)",
			c.DataDir, pid, running, c, EnvDir)
	}
	rctx, rcancel := context.WithTimeout(ctx, reuseTimeout)
	err := n.awaitReady(rctx, nil)
	rcancel()
	if err != nil {
		return fmt.Errorf("kafka node (pid %d, data dir %s) runs but does not answer on port %d: %w; "+
			"stop it with `brokerctl down --broker kafka` and retry (log: %s)", pid, c.DataDir, c.Port, err, c.paths().nodeLog)
	}
	logger().InfoContext(ctx, "reusing running Kafka", "addr", n.Addr(), "pid", pid)
	return nil
}

func (n *Node) checkPorts() error {
	for _, p := range n.cfg.ports() {
		if err := nodeproc.PortFree(p.Port); err != nil {
			return nodeproc.PortInUse(ErrPortInUse, p, nodeproc.Listener(p.Port), err)
		}
	}
	return nil
}

func (n *Node) writeFiles() error {
	c, p := n.cfg, n.cfg.paths()
	err := nodeproc.WriteStartFiles([]string{p.logDirs, filepath.Dir(p.nodeLog)}, p.runningConf, c,
		nodeproc.File{Path: p.props, Body: c.serverProperties()},
		nodeproc.File{Path: p.log4j, Body: c.log4jProperties()})
	if err != nil {
		return fmt.Errorf("kafka: %w", err)
	}
	return nil
}

// clusterID reads this data dir's cluster id, choosing one the first time
// in Kafka's form: 16 random bytes, URL-safe base64 without padding.
func (n *Node) clusterID() (string, error) {
	p := n.cfg.paths().clusterID
	if b, err := os.ReadFile(p); err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	id := n.cfg.ClusterID
	for id == "" || strings.HasPrefix(id, "-") { // Kafka rejects a leading '-'
		b := make([]byte, 16)
		_, _ = rand.Read(b)
		id = base64.RawURLEncoding.EncodeToString(b)
	}
	if err := os.WriteFile(p, []byte(id+"\n"), 0o644); err != nil {
		return "", fmt.Errorf("kafka: %w", err)
	}
	return id, nil
}

// format runs the storage format (kafka-storage.sh format) when the log
// dirs were never formatted; a formatted dir is left alone, so records
// survive every later start.
func (n *Node) format(ctx context.Context) error {
	p := n.cfg.paths()
	if fileExists(filepath.Join(p.logDirs, "meta.properties")) {
		return nil
	}
	id, err := n.clusterID()
	if err != nil {
		return err
	}
	java, err := Java()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, formatTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, java, n.cfg.formatArgs(id)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("kafka: format the storage in %s: %w\n%s", p.logDirs, err, lastLines(string(out), 12))
	}
	logger().InfoContext(ctx, "formatted Kafka storage", "dir", p.logDirs, "cluster_id", id)
	return nil
}

func lastLines(s string, k int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > k {
		lines = lines[len(lines)-k:]
	}
	return strings.Join(lines, "\n")
}
