// Package natsnode starts, supervises and stops a private NATS node with
// JetStream for edabench: one nats-server process on its own ports on
// 127.0.0.1 (clients and HTTP monitoring), its file store, log and config
// in its own directory (~/.cache/edabench/nats/node), run from the binary
// `make nats` builds from the Go module proxy.
//
// As with the other nodes (harness/broker, harness/kafkanode), the node is
// a detached process that outlives whoever started it: brokerctl and test
// binaries share one node per data dir, coordinating through an flock
// there, and a pid file (pid and process start time) finds it again.
// Start reuses a node whose /varz names this data dir's server name.
package natsnode

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/edabench/edabench/harness/nodeproc"
)

// Budgets for the slow steps. nats-server boots in well under a second; a
// restart recovers its streams from the store first, which the start
// budget covers on a loaded machine without hiding a hang.
const (
	startTimeout = 2 * time.Minute
	reuseTimeout = 30 * time.Second
	stopTimeout  = time.Minute
	killGrace    = 10 * time.Second
	pingTimeout  = 3 * time.Second
)

// Node is a handle on the private NATS node a Config describes.
type Node struct{ cfg Config }

// Open returns a handle on the node cfg describes without starting it.
func Open(cfg Config) (*Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("nats config: %w", err)
	}
	cfg.DataDir = abs // the process is recognised by this exact path (isOurs)
	return &Node{cfg: cfg}, nil
}

// Start starts the node (or reuses it if it runs from this data dir) and
// waits until JetStream answers its health check.
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

// Config is the node's configuration, with its data dir made absolute.
func (n *Node) Config() Config { return n.cfg }

// Addr is the client listener, host:port.
func (n *Node) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(n.cfg.Port)) }

// Name identifies the node in messages.
func (n *Node) Name() string { return "nats@" + n.Addr() }

// ClientURL is what clients dial: nats://127.0.0.1:PORT.
func (n *Node) ClientURL() string { return "nats://" + n.Addr() }

// AdminURL is the HTTP monitoring endpoint (/varz, /jsz, /healthz).
func (n *Node) AdminURL() string {
	return "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(n.cfg.MonitorPort))
}

// LogPath is the server's log file.
func (n *Node) LogPath() string { return n.cfg.paths().nodeLog }

// PID is the node's process, 0 when it is not running.
func (n *Node) PID() int {
	return nodeproc.RunningPID(n.cfg.paths().pidFile, isOurs(n.cfg.paths().conf))
}

// Start starts the node again with its Config (after Stop), or reuses it.
func (n *Node) Start(ctx context.Context) error {
	_, err := Start(ctx, n.cfg)
	return err
}

// Stop stops the node with SIGTERM (nats-server flushes and closes its
// stores), waits for it to exit and kills it only when it does not within
// a minute. Stopping a node that is not running is not an error.
func (n *Node) Stop(ctx context.Context) error {
	return nodeproc.Locked(ctx, n.lock, n.stopLocked)
}

// Restart stops and starts the node with the same Config and store, so
// streams, consumers and messages survive (the broker-restart fault).
func (n *Node) Restart(ctx context.Context) error {
	return nodeproc.Locked(ctx, n.lock, func(ctx context.Context) error {
		return nodeproc.Restart(ctx, n.stopLocked, n.startLocked)
	})
}

// Version is the server's version from /varz, "" when it does not answer.
func (n *Node) Version(ctx context.Context) string {
	v, err := n.varz(ctx)
	if err != nil {
		return ""
	}
	return v.Version
}

// Ping checks that the monitoring port answers with this node's server
// name (not another NATS that took the port) and that JetStream is up.
func (n *Node) Ping(ctx context.Context) error {
	v, err := n.varz(ctx)
	if err != nil {
		return err
	}
	if v.ServerName != n.cfg.serverName() {
		return fmt.Errorf("nats monitoring port %d answers for server %q, not this node's %q (data dir %s)",
			n.cfg.MonitorPort, v.ServerName, n.cfg.serverName(), n.cfg.DataDir)
	}
	return n.healthy(ctx)
}

func (n *Node) lock(ctx context.Context) (*nodeproc.Lock, error) {
	return nodeproc.LockDir(ctx, n.cfg.DataDir, lockName, "NATS node", EnvDir)
}

func (n *Node) startLocked(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	if pid := n.PID(); pid > 0 {
		return n.reuseLocked(ctx, pid)
	}
	p := n.cfg.paths()
	if err := nodeproc.RemoveFiles(p.pidFile); err != nil {
		return fmt.Errorf("nats: remove stale pid file: %w", err)
	}
	for _, port := range n.cfg.ports() {
		if err := nodeproc.PortFree(port.Port); err != nil {
			return nodeproc.PortInUse(ErrPortInUse, port, nodeproc.Listener(port.Port), err)
		}
	}
	err := nodeproc.WriteStartFiles([]string{p.store}, p.runningConf, n.cfg,
		nodeproc.File{Path: p.conf, Body: n.cfg.serverConf()})
	if err != nil {
		return fmt.Errorf("nats: %w", err)
	}
	began := time.Now()
	cmd := exec.Command(n.cfg.Binary, n.cfg.serverArgs()...)
	cmd.Dir = n.cfg.DataDir
	srv, err := nodeproc.Spawn(cmd, p.stdoutLog)
	if err != nil {
		return fmt.Errorf("nats: %w", err)
	}
	if err := srv.RecordPID(p.pidFile); err != nil {
		return errors.Join(fmt.Errorf("nats: %w", err), n.killStarting(srv))
	}
	logger().InfoContext(ctx, "starting NATS", "addr", n.Addr(), "pid", srv.PID, "data_dir", n.cfg.DataDir)
	if err := nodeproc.AwaitReady(ctx, n.Ping, srv.Exited, "nats-server"); err != nil {
		return n.bootFailed(ctx, srv, err)
	}
	logger().InfoContext(ctx, "NATS ready", "addr", n.Addr(), "pid", srv.PID, "took", time.Since(began).Round(time.Millisecond))
	return nil
}

// reuseLocked checks that the node already running from DataDir is the
// one cfg describes, and ready.
func (n *Node) reuseLocked(ctx context.Context, pid int) error {
	c := n.cfg
	if running, differs := nodeproc.RunningDiffers(c.paths().runningConf, c); differs {
		return fmt.Errorf("nats: a node already runs from data dir %s (pid %d) with another config:\n  running:   %+v\n  requested: %+v\n"+
			"stop it first (brokerctl down --broker nats, with the same environment it was started with) or use another data dir (%s)",
			c.DataDir, pid, running, c, EnvDir)
	}
	rctx, rcancel := context.WithTimeout(ctx, reuseTimeout)
	err := nodeproc.AwaitReady(rctx, n.Ping, nil, "nats-server")
	rcancel()
	if err != nil {
		return fmt.Errorf("nats node (pid %d, data dir %s) runs but does not answer on port %d: %w; "+
			"stop it with `brokerctl down --broker nats` and retry (log: %s)", pid, c.DataDir, c.MonitorPort, err, c.paths().nodeLog)
	}
	logger().InfoContext(ctx, "reusing running NATS", "addr", n.Addr(), "pid", pid)
	return nil
}

// bootFailed tears down a node that did not come up and says why, with
// the tails of its logs.
func (n *Node) bootFailed(ctx context.Context, srv *nodeproc.Process, cause error) error {
	p := n.cfg.paths()
	if err := n.killStarting(srv); err != nil {
		logger().WarnContext(ctx, "nats: tearing down the failed node", "err", err)
	}
	var logs strings.Builder
	for _, f := range []string{p.stdoutLog, p.nodeLog} {
		if tail := nodeproc.TailFile(f, 15); strings.TrimSpace(tail) != "" {
			fmt.Fprintf(&logs, "\n--- last lines of %s ---\n%s", f, tail)
		}
	}
	return fmt.Errorf("nats node on %s did not come up: %w (data dir %s, log %s)%s",
		n.Addr(), cause, n.cfg.DataDir, p.nodeLog, logs.String())
}

func (n *Node) killStarting(srv *nodeproc.Process) error {
	_ = syscall.Kill(-srv.PID, syscall.SIGKILL) // Setsid: the server leads its group
	var err error
	select {
	case <-srv.Exited:
	case <-time.After(killGrace):
		err = fmt.Errorf("pid %d survived SIGKILL for %s", srv.PID, killGrace)
	}
	return errors.Join(err, nodeproc.RemoveFiles(n.cfg.paths().pidFile))
}

func (n *Node) stopLocked(ctx context.Context) error {
	p := n.cfg.paths()
	if pid := n.PID(); pid > 0 {
		logger().InfoContext(ctx, "stopping NATS", "addr", n.Addr(), "pid", pid)
		began := time.Now()
		if err := syscall.Kill(pid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
			return fmt.Errorf("nats: signal pid %d to stop: %w", pid, err)
		}
		if !nodeproc.WaitExit(ctx, pid, stopTimeout) {
			logger().WarnContext(ctx, "NATS did not stop on SIGTERM; sending SIGKILL", "pid", pid, "waited", stopTimeout)
			_ = syscall.Kill(pid, syscall.SIGKILL)
			if !nodeproc.WaitExit(context.WithoutCancel(ctx), pid, killGrace) {
				return fmt.Errorf("nats: pid %d survived SIGKILL: %w", pid, errors.Join(ctx.Err(), errors.New("still running")))
			}
		}
		logger().InfoContext(ctx, "NATS stopped", "addr", n.Addr(), "took", time.Since(began).Round(time.Millisecond))
	}
	if err := nodeproc.RemoveFiles(p.pidFile, p.runningConf); err != nil {
		return fmt.Errorf("nats: %w", err)
	}
	return nil
}
