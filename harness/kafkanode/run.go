package kafkanode

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/edabench/edabench/harness/nodeproc"
)

// spawn starts the broker's JVM detached and records its pid file at once,
// so a concurrent PID() (the process meter) finds it while it boots.
func (n *Node) spawn() (*nodeproc.Process, error) {
	p := n.cfg.paths()
	java, err := Java()
	if err != nil {
		return nil, err
	}
	mk := func() *exec.Cmd {
		cmd := exec.Command(java, n.cfg.serverArgs()...)
		cmd.Dir = n.cfg.DataDir
		return cmd
	}
	srv, err := nodeproc.SpawnGrouped(mk, p.stdoutLog, n.cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("kafka: %w", err)
	}
	if err := srv.RecordPID(p.pidFile); err != nil {
		return srv, errors.Join(fmt.Errorf("kafka: %w", err), n.killStarting(srv))
	}
	return srv, nil
}

// bootFailed tears down a node that did not come up and says why, with
// the tails of its logs and where they are.
func (n *Node) bootFailed(ctx context.Context, srv *nodeproc.Process, cause error) error {
	p := n.cfg.paths()
	select {
	case <-srv.Exited:
		if srv.Err != nil {
			cause = fmt.Errorf("the Kafka JVM exited during boot: %w", srv.Err)
		}
	default:
	}
	if err := n.killStarting(srv); err != nil {
		logger().WarnContext(ctx, "kafka: tearing down the failed node", "err", err)
	}
	// A JVM older than the jars fails on its first class; say what fixes it.
	if strings.Contains(nodeproc.TailFile(p.stdoutLog, 40), "UnsupportedClassVersionError") {
		cause = fmt.Errorf("%w; Kafka %s needs Java 17 or newer: apt-get install -y openjdk-17-jre-headless, "+
			"or set %s to a JDK 17+", cause, Version, EnvJava)
	}
	var logs strings.Builder
	for _, f := range []string{p.stdoutLog, p.nodeLog} {
		if tail := nodeproc.TailFile(f, 15); strings.TrimSpace(tail) != "" {
			fmt.Fprintf(&logs, "\n--- last lines of %s ---\n%s", f, tail)
		}
	}
	return fmt.Errorf("kafka node on 127.0.0.1:%d did not come up: %w (data dir %s, log %s)%s",
		n.cfg.Port, cause, n.cfg.DataDir, p.nodeLog, logs.String())
}

// killStarting kills a node that failed to boot, so the next attempt does
// not find half a node holding the ports.
func (n *Node) killStarting(srv *nodeproc.Process) error {
	_ = syscall.Kill(-srv.PID, syscall.SIGKILL) // Setsid: the JVM leads its group
	var err error
	select {
	case <-srv.Exited:
	case <-time.After(killGrace):
		err = fmt.Errorf("pid %d survived SIGKILL for %s", srv.PID, killGrace)
	}
	if rmErr := nodeproc.RemoveFiles(n.cfg.paths().pidFile); rmErr != nil {
		err = errors.Join(err, rmErr)
	}
	return err
}

func (n *Node) stopLocked(ctx context.Context) error {
	p := n.cfg.paths()
	if pid := n.PID(); pid > 0 {
		logger().InfoContext(ctx, "stopping Kafka", "addr", n.Addr(), "pid", pid)
		began := time.Now()
		// SIGTERM is what kafka-server-stop.sh sends: the JVM's shutdown
		// hook runs a controlled shutdown and closes the logs cleanly, so
		// the next start needs no log recovery.
		if err := syscall.Kill(pid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
			return fmt.Errorf("kafka: signal pid %d to stop: %w", pid, err)
		}
		if !nodeproc.WaitExit(ctx, pid, stopTimeout) {
			logger().WarnContext(ctx, "Kafka did not stop on SIGTERM; sending SIGKILL", "pid", pid, "waited", stopTimeout)
			_ = syscall.Kill(pid, syscall.SIGKILL)
			if !nodeproc.WaitExit(context.WithoutCancel(ctx), pid, killGrace) {
				return fmt.Errorf("kafka: pid %d survived SIGKILL: %w", pid, errors.Join(ctx.Err(), errors.New("still running")))
			}
		}
		logger().InfoContext(ctx, "Kafka stopped", "addr", n.Addr(), "took", time.Since(began).Round(time.Millisecond))
	}
	nodeproc.RemoveGroup(n.cfg.DataDir)
	if err := nodeproc.RemoveFiles(p.pidFile, p.runningConf); err != nil {
		return fmt.Errorf("kafka: %w", err)
	}
	return nil
}
