// Package broker starts, supervises and stops a private RabbitMQ node for
// edabench: its own node name, ports, epmd and data directory, so it never
// touches a broker that is already running on the machine.
//
// The node is a detached process (its own session) that outlives whoever
// started it: `brokerctl up` and test binaries share one node per Config,
// and callers in different processes coordinate through an flock in
// DataDir. Everything the node writes lives in DataDir.
//
// The node is reused across runs and tests, so what they declare must not
// pile up in it: each process records what it declares (Node.Claim, a file
// in DataDir/claims with its PID and start time), and every Start deletes
// the topologies of owners that are no longer alive (Node.Clean). Queues no
// record claims are only listed (Node.Leftovers), never deleted unasked.
package broker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/edabench/edabench/harness/brokernode"
	"github.com/edabench/edabench/harness/nodeproc"
)

// Config names every resource the private node owns.
type Config struct {
	Name     string // Erlang node name, e.g. "edabench@localhost"
	AMQPPort int    // AMQP 0-9-1 listener on 127.0.0.1
	MgmtPort int    // management HTTP API on 127.0.0.1
	PromPort int    // rabbitmq_prometheus on 127.0.0.1
	DistPort int    // Erlang distribution port
	EPMDPort int    // private epmd port
	DataDir  string // mnesia, logs, pid file, config, HOME (cookie)
	// ErlArgs are extra flags for the node's Erlang VM (a cluster member
	// limits its scheduler threads so three fit on two cores); "" for none.
	ErlArgs string
	// Cookie, when set, is written as the node's Erlang cookie before it
	// starts: the members of a cluster must share one. "" lets the node
	// make its own.
	Cookie string
}

// Node is a running (or reused) private node.
type Node struct{ cfg Config }

// QueueStat is one queue's depth as the management API last saw it: message
// counts at most ~1 s old (collect_statistics_interval), Consumers ~1-2 s.
// The type is brokernode's, so that a second broker shares it without
// importing this package.
type QueueStat = brokernode.QueueStat

// Budgets for the slow steps. Boot took ~7 s on a 2-core machine; the
// generous start budget covers a loaded CI box without hiding a hang forever.
const (
	startTimeout = 2 * time.Minute
	reuseTimeout = 30 * time.Second
	stopTimeout  = 60 * time.Second
	killGrace    = 10 * time.Second
	pingTimeout  = 5 * time.Second
	mgmtTimeout  = 10 * time.Second
)

// Open returns a handle on the node cfg describes without starting it, so
// that a node started by another process (brokerctl, another test binary)
// can be inspected or stopped.
func Open(cfg Config) (*Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	// The node's shell scripts do not quote paths.
	if strings.ContainsAny(cfg.DataDir, " \t\n'\"") {
		return nil, fmt.Errorf("broker config: DataDir %q contains whitespace or quotes, which rabbitmq's scripts cannot handle; set %s to a plain path", cfg.DataDir, EnvDir)
	}
	abs, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("broker config: DataDir: %w", err)
	}
	// The node identifies itself by this exact string (see isOurBeam).
	cfg.DataDir = abs
	return &Node{cfg: cfg}, nil
}

// Start starts the node (or reuses it if already running with this Config) and waits until it is ready.
func Start(ctx context.Context, cfg Config) (*Node, error) {
	n, err := Open(cfg)
	if err != nil {
		return nil, err
	}
	if err := EnsureInstalled(ctx); err != nil {
		return nil, err
	}
	if err := nodeproc.StartLocked(ctx, n.lock, n.startLocked, n.sweep); err != nil {
		return nil, err
	}
	return n, nil
}

// Config is the node's configuration, with DataDir made absolute.
func (n *Node) Config() Config { return n.cfg }

// AMQPURL is amqp://guest:guest@127.0.0.1:PORT/ (guest works from loopback).
func (n *Node) AMQPURL() string {
	return fmt.Sprintf("amqp://guest:guest@127.0.0.1:%d/", n.cfg.AMQPPort)
}

// MgmtURL is http://127.0.0.1:PORT; use guest/guest basic auth.
func (n *Node) MgmtURL() string { return fmt.Sprintf("http://127.0.0.1:%d", n.cfg.MgmtPort) }

// PrometheusURL is the rabbitmq_prometheus scrape endpoint.
func (n *Node) PrometheusURL() string {
	return fmt.Sprintf("http://127.0.0.1:%d/metrics", n.cfg.PromPort)
}

// LogPath is the node's own log file; StdoutLogPath catches what the VM
// prints before logging is up (boot failures).
func (n *Node) LogPath() string       { return n.cfg.paths().nodeLog }
func (n *Node) StdoutLogPath() string { return n.cfg.paths().stdoutLog }

// PID is the OS pid of the node's Erlang VM, or 0 when it is not running.
// It is read fresh each time because Restart (possibly from another
// process) changes it.
func (n *Node) PID() int { return n.runningPID() }

// Running reports whether the node's VM is alive; it does not mean the node
// is ready (use Ping).
func (n *Node) Running() bool { return n.runningPID() > 0 }

// Stop stops the node gracefully (falling back to signals) and then its
// private epmd. Stopping a node that is not running is not an error.
func (n *Node) Stop(ctx context.Context) error {
	return nodeproc.Locked(ctx, n.lock, n.stopLocked)
}

// Restart stops and starts the node with the same Config and DataDir, so
// durable queues and persistent messages survive. Holding the lock across
// both halves keeps a concurrent Start elsewhere from slipping in between.
func (n *Node) Restart(ctx context.Context) error {
	return nodeproc.Locked(ctx, n.lock, func(ctx context.Context) error {
		return nodeproc.Restart(ctx, n.stopLocked, n.startLocked)
	})
}

// Ping opens (and closes) an authenticated AMQP connection: the only check
// that proves clients can actually use the broker.
func (n *Node) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(n.cfg.AMQPPort))
	conn, err := amqp.DialConfig(n.AMQPURL(), amqp.Config{
		Heartbeat: heartbeatSeconds * time.Second,
		Locale:    "en_US",
		Dial: func(network, _ string) (net.Conn, error) {
			var d net.Dialer
			c, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			// amqp091 clears the deadline once the handshake completes.
			if dl, ok := ctx.Deadline(); ok {
				_ = c.SetDeadline(dl)
			}
			return c, nil
		},
	})
	if err != nil {
		return fmt.Errorf("broker %s: AMQP ping %s: %w", n.cfg.Name, addr, err)
	}
	_ = conn.Close()
	return nil
}

// QueueDepths returns every queue's depth from the management API (see
// Admin.QueueDepths).
func (n *Node) QueueDepths(ctx context.Context) (map[string]QueueStat, error) {
	return n.admin().QueueDepths(ctx)
}

// admin is the node's management API, as the guest user loopback allows.
func (n *Node) admin() Admin {
	return Admin{URL: n.MgmtURL(), User: "guest", Password: "guest", name: n.cfg.Name}
}

func (n *Node) mgmtGet(ctx context.Context, path string, v any) error {
	return n.admin().get(ctx, path, v)
}

func (n *Node) lock(ctx context.Context) (*nodeproc.Lock, error) {
	return nodeproc.LockDir(ctx, n.cfg.DataDir, lockName, "broker", EnvDir)
}

func (n *Node) runningPID() int {
	return nodeproc.RunningPID(n.cfg.paths().pidFile, isOurBeam(n.cfg.DataDir))
}

// ready is stricter than `rabbitmqctl ping`: the management listener on
// our port must report our node name (so it is not some other broker) and
// AMQP clients must be able to log in. /api/nodes/NAME would also give the
// OS pid, but only after the first stats emission, ~5 s after boot.
func (n *Node) ready(ctx context.Context) error {
	var info struct {
		Node string `json:"node"`
	}
	if err := n.mgmtGet(ctx, "/api/overview?columns=node", &info); err != nil {
		return err
	}
	if info.Node != n.cfg.Name {
		return fmt.Errorf("management port %d belongs to node %q, not %q", n.cfg.MgmtPort, info.Node, n.cfg.Name)
	}
	return n.Ping(ctx)
}

func (n *Node) awaitReady(ctx context.Context, exited <-chan struct{}) error {
	return nodeproc.AwaitReady(ctx, n.ready, exited, "rabbitmq-server")
}

func (n *Node) startLocked(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	c, p := n.cfg, n.cfg.paths()
	if pid := n.runningPID(); pid > 0 {
		return n.reuseLocked(ctx, pid)
	}

	// A pid file without a live node is left over from a crash or SIGKILL.
	if err := nodeproc.RemoveFiles(p.pidFile); err != nil {
		return fmt.Errorf("broker: remove stale pid file: %w", err)
	}
	if err := n.checkPorts(ctx); err != nil {
		return err
	}
	if err := n.writeFiles(); err != nil {
		return err
	}
	// The VM would start a missing epmd inside the node's own cgroup, and
	// the stop would then wait out RemoveGroup's 10 s for it (a restart's
	// start asked 8 s late): started here, it stays outside.
	if err := n.startEPMD(ctx); err != nil {
		return fmt.Errorf("broker: %w", err)
	}

	began := time.Now()
	srv, err := n.spawn()
	if err != nil {
		return err
	}
	logger().InfoContext(ctx, "starting broker", "node", c.Name, "amqp_port", c.AMQPPort, "data_dir", c.DataDir)

	// Readiness is polled from the spawn on (cheap: a refused connection
	// every quarter second) rather than followed with `rabbitmqctl wait`,
	// whose CLI is an Erlang VM of its own: booting it beside the node
	// took seconds of CPU the node's own boot needed on a loaded 2-core
	// machine, inside every broker-restart window.
	if err := n.awaitReady(ctx, srv.Exited); err != nil {
		return n.bootFailed(ctx, srv, err)
	}
	pid, err := nodeproc.ReadPIDFile(p.pidFile)
	if err != nil {
		return n.bootFailed(ctx, srv, fmt.Errorf("read pid file after boot: %w", err))
	}
	logger().InfoContext(ctx, "broker ready", "node", c.Name, "pid", pid.PID, "amqp", n.AMQPURL(),
		"mgmt", n.MgmtURL(), "took", time.Since(began).Round(time.Millisecond))
	return nil
}

// reuseLocked checks that the node already running from DataDir is the one
// cfg describes and ready.
func (n *Node) reuseLocked(ctx context.Context, pid int) error {
	c, p := n.cfg, n.cfg.paths()
	if running, differs := nodeproc.RunningDiffers(p.runningConf, c); differs {
		return fmt.Errorf("broker: a node already runs from data dir %s (pid %d) with a different config:\n  running:   %+v\n  requested: %+v\n"+
			"stop it first (go run ./harness/cmd/brokerctl down --dir %s) or use another data dir (%s)",
			c.DataDir, pid, running, c, c.DataDir, EnvDir)
	}
	rctx, rcancel := context.WithTimeout(ctx, reuseTimeout)
	err := n.awaitReady(rctx, nil)
	rcancel()
	if err != nil {
		return fmt.Errorf("broker %s (pid %d, data dir %s) is running but not ready on AMQP port %d / management port %d: %w; "+
			"it may have been started with other ports: stop it with `go run ./harness/cmd/brokerctl down --dir %s` and retry (log: %s)",
			c.Name, pid, c.DataDir, c.AMQPPort, c.MgmtPort, err, c.DataDir, p.nodeLog)
	}
	logger().InfoContext(ctx, "reusing running broker", "node", c.Name, "pid", pid, "amqp", n.AMQPURL())
	return nil
}

// spawn starts the rabbitmq-server wrapper script, which runs the VM.
func (n *Node) spawn() (*nodeproc.Process, error) {
	c, p := n.cfg, n.cfg.paths()
	mk := func() *exec.Cmd {
		cmd := exec.Command(serverBin)
		cmd.Env = c.env(os.Environ())
		cmd.Dir = c.DataDir
		return cmd
	}
	srv, err := nodeproc.SpawnGrouped(mk, p.stdoutLog, c.DataDir)
	if err != nil {
		return nil, fmt.Errorf("broker: %w", err)
	}
	return srv, nil
}

// bootFailed tears down a node that did not come up and says why, with the
// tails of its logs.
func (n *Node) bootFailed(ctx context.Context, srv *nodeproc.Process, cause error) error {
	c, p := n.cfg, n.cfg.paths()
	select {
	case <-srv.Exited:
		// The wrapper script exits 0 whatever the VM did, and the
		// readiness check's complaint is only a symptom: the log says why.
		cause = errors.New("rabbitmq-server exited during boot")
		if srv.Err != nil {
			cause = fmt.Errorf("rabbitmq-server exited during boot: %w", srv.Err)
		}
	default:
	}
	n.killStarting(ctx, srv.PID, srv.Exited)
	var logs strings.Builder
	for _, f := range []string{p.stdoutLog, p.nodeLog} {
		if tail := nodeproc.TailFile(f, 12); strings.TrimSpace(tail) != "" {
			fmt.Fprintf(&logs, "\n--- last lines of %s ---\n%s", f, tail)
		}
	}
	return fmt.Errorf("broker %s failed to start: %w (data dir %s)%s", c.Name, cause, c.DataDir, logs.String())
}

// killStarting tears down a node that failed to boot so the next attempt
// does not find half a node holding our ports.
func (n *Node) killStarting(ctx context.Context, wrapperPID int, exited <-chan struct{}) {
	// Often called because ctx expired; the teardown must still run.
	ctx = context.WithoutCancel(ctx)
	// Setsid made the wrapper script the leader of a group holding the VM.
	_ = syscall.Kill(-wrapperPID, syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(killGrace):
		_ = syscall.Kill(-wrapperPID, syscall.SIGKILL)
		<-exited
	}
	if pid := n.runningPID(); pid > 0 {
		_ = syscall.Kill(pid, syscall.SIGKILL)
		nodeproc.WaitExit(ctx, pid, killGrace)
	}
	_ = os.Remove(n.cfg.paths().pidFile)
	if err := n.stopEPMD(ctx); err != nil {
		logger().WarnContext(ctx, "broker: could not stop private epmd after failed start", "err", err)
	}
}

func (n *Node) checkPorts(ctx context.Context) error {
	c := n.cfg
	for _, pr := range c.ports() {
		err := nodeproc.PortFree(pr.Port)
		if err == nil {
			continue
		}
		if pr.Port != c.EPMDPort {
			return nodeproc.PortInUse(ErrPortInUse, pr, "", err)
		}
		// An epmd left on our port (e.g. after a crash) is harmless to share;
		// only a non-epmd listener, or our node name registered by a node we
		// do not know about, is a real conflict.
		names, nerr := epmdNames(ctx, pr.Port)
		if nerr != nil {
			return nodeproc.PortInUse(ErrPortInUse, pr, "", err)
		}
		short, _, _ := strings.Cut(c.Name, "@")
		if _, taken := names[short]; taken {
			return fmt.Errorf("broker: node name %q is already registered with the epmd on port %d, but no node runs from data dir %s: "+
				"a node with the same name runs from another data dir; stop it (brokerctl down --dir THAT_DIR) or set %s",
				c.Name, c.EPMDPort, c.DataDir, EnvName)
		}
	}
	return nil
}

func (n *Node) writeFiles() error {
	c, p := n.cfg, n.cfg.paths()
	if err := c.writeCookie(); err != nil {
		return fmt.Errorf("broker: %w", err)
	}
	err := nodeproc.WriteStartFiles([]string{p.confDir, p.logDir, p.mnesiaBase}, p.runningConf, c,
		nodeproc.File{Path: p.conf, Body: c.rabbitmqConf()},
		nodeproc.File{Path: p.plugins, Body: enabledPlugins},
		nodeproc.File{Path: p.envConf, Body: envConfContents})
	if err != nil {
		return fmt.Errorf("broker: %w", err)
	}
	return nil
}

func (n *Node) stopLocked(ctx context.Context) error {
	// Stop what actually runs: `brokerctl down` without the exact flags the
	// node was started with must still reach it (name, epmd port).
	if running, err := nodeproc.ReadRunningConfig[Config](n.cfg.paths().runningConf); err == nil && running.DataDir == n.cfg.DataDir && running != n.cfg {
		if err := running.Validate(); err == nil {
			return (&Node{cfg: running}).stopLocked(ctx)
		}
	}
	c, p := n.cfg, n.cfg.paths()
	if pid := n.runningPID(); pid > 0 {
		logger().InfoContext(ctx, "stopping broker", "node", c.Name, "pid", pid)
		began := time.Now()
		if err := n.dropStatsHandler(ctx); err != nil {
			logger().WarnContext(ctx, "broker: could not remove the management agent's event handler before the stop; "+
				"the stop will wait 5 s in it", "node", c.Name, "err", err)
		}
		// SIGTERM is RabbitMQ's own graceful stop (its rabbitmq-server
		// script sends it): the node closes its listeners, tells every
		// client (connection.close 320) and stops its queues, as with
		// `rabbitmqctl stop`, but without first booting the CLI's Erlang
		// VM, which took 1.5-3.4 s on a loaded 2-core machine before the
		// node was even asked.
		if err := syscall.Kill(pid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
			return fmt.Errorf("broker %s: signal pid %d to stop: %w", c.Name, pid, err)
		}
		if !nodeproc.WaitExit(ctx, pid, stopTimeout) {
			logger().WarnContext(ctx, "broker did not stop on SIGTERM; sending SIGKILL", "node", c.Name, "pid", pid, "waited", stopTimeout)
			_ = syscall.Kill(pid, syscall.SIGKILL)
			if !nodeproc.WaitExit(ctx, pid, killGrace) {
				return fmt.Errorf("broker %s: pid %d survived SIGKILL: %w", c.Name, pid, errors.Join(ctx.Err(), errors.New("still running")))
			}
		}
		logger().InfoContext(ctx, "broker stopped", "node", c.Name, "took", time.Since(began).Round(time.Millisecond))
	}
	nodeproc.RemoveGroup(c.DataDir)
	if err := nodeproc.RemoveFiles(p.pidFile, p.runningConf); err != nil {
		return fmt.Errorf("broker: %w", err)
	}
	return n.stopEPMD(ctx)
}

// stopEPMD kills the epmd on our private port, and only if no node is
// registered with it any more: a registered node means somebody else shares
// it, and epmd itself refuses to die in that case anyway.
func (n *Node) stopEPMD(ctx context.Context) error {
	port := n.cfg.EPMDPort
	short, _, _ := strings.Cut(n.cfg.Name, "@")
	var names map[string]int
	deadline := time.Now().Add(3 * time.Second)
	for {
		var err error
		if names, err = epmdNames(ctx, port); err != nil {
			return nil // nothing (or nothing epmd-like) to stop
		}
		// A just-stopped node deregisters when its connection to epmd
		// closes, which can lag the process exit by a moment.
		if _, ours := names[short]; !ours || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(names) > 0 {
		logger().WarnContext(ctx, "leaving private epmd running: nodes are still registered with it", "port", port, "nodes", names)
		return nil
	}
	bin, err := epmdBinary()
	if err != nil {
		return fmt.Errorf("broker: stop epmd on port %d: %w", port, err)
	}
	cmd := exec.CommandContext(ctx, bin, "-port", strconv.Itoa(port), "-kill")
	cmd.Env = n.cfg.env(os.Environ())
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("broker: epmd -port %d -kill: %w: %s", port, err, strings.TrimSpace(string(out)))
	}
	// Wait for the port to close so an immediate Start sees it free.
	for range 30 {
		if nodeproc.PortFree(port) == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	return nil
}

// startEPMD starts the private epmd unless one answers on its port, from
// the harness, outside every node's cgroup: a VM would start it inside its
// own (nodeproc.SpawnGrouped), where cutting that member off
// (partition-node) would cut the others' name service with it, and the
// node's stop would wait for it to leave the group.
func (n *Node) startEPMD(ctx context.Context) error {
	port := n.cfg.EPMDPort
	if _, err := epmdNames(ctx, port); err == nil {
		return nil
	}
	bin, err := epmdBinary()
	if err != nil {
		return fmt.Errorf("start epmd on port %d: %w", port, err)
	}
	cmd := exec.CommandContext(ctx, bin, "-port", strconv.Itoa(port), "-daemon")
	cmd.Env = n.cfg.env(os.Environ())
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("epmd -port %d -daemon: %w: %s", port, err, strings.TrimSpace(string(out)))
	}
	for range 50 {
		if _, err := epmdNames(ctx, port); err == nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("the epmd started on port %d does not answer", port)
}

func epmdBinary() (string, error) {
	if p, err := exec.LookPath("epmd"); err == nil {
		return p, nil
	}
	if m, _ := filepath.Glob("/usr/lib/erlang/erts-*/bin/epmd"); len(m) > 0 {
		return m[len(m)-1], nil
	}
	return "", errors.New("epmd binary not found (is erlang-base installed?)")
}

// Name is the node's Erlang name.
func (n *Node) Name() string { return n.cfg.Name }

// ClientURL is AMQPURL: what the twins dial.
func (n *Node) ClientURL() string { return n.AMQPURL() }

// AdminURL is MgmtURL.
func (n *Node) AdminURL() string { return n.MgmtURL() }

// Start starts the node again with its Config (after Stop), or reuses it.
func (n *Node) Start(ctx context.Context) error {
	_, err := Start(ctx, n.cfg)
	return err
}

// DeleteTopology deletes what t covers and no live claim does (so a
// claimed topology is deleted by its Claim's release instead).
func (n *Node) DeleteTopology(ctx context.Context, t Topology) error {
	return n.deleteTopology(ctx, t, nil)
}

// Version is the installed rabbitmq-server package's version, "" when
// unknown.
func (n *Node) Version(ctx context.Context) string {
	out, err := exec.CommandContext(ctx, "dpkg-query", "-W", "-f", "${Version}", "rabbitmq-server").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}
