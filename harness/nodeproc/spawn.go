package nodeproc

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/edabench/edabench/harness/netcut"
)

// Process is a node's process being started; Err is set before Exited is
// closed.
type Process struct {
	PID    int
	Exited chan struct{}
	Err    error
}

// Spawn starts cmd as a detached node: in its own session, so that Ctrl-C
// on `go test` or the end of brokerctl does not reach it (cmd must not be a
// CommandContext: the node outlives ctx and this process), with stdout and
// stderr to stdoutLog, which holds what it prints before its own logging
// is up. The process is reaped when it ends, so a long-lived caller (a
// test binary that later restarts the node) never sees its own zombie as
// still running.
func Spawn(cmd *exec.Cmd, stdoutLog string) (*Process, error) {
	out, err := os.OpenFile(stdoutLog, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", stdoutLog, err)
	}
	cmd.Stdout, cmd.Stderr = out, out
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setsid = true
	err = cmd.Start()
	out.Close()
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", cmd.Args[0], err)
	}
	p := &Process{PID: cmd.Process.Pid, Exited: make(chan struct{})}
	go func() {
		p.Err = cmd.Wait()
		close(p.Exited)
	}()
	return p, nil
}

// SpawnGrouped is Spawn of the command mk makes, started in a cgroup of
// its own named after the node's data dir (netcut.GroupName), so that
// partition-node can cut this node alone off the network: every socket
// the node ever opens belongs to that group. A host where the group
// cannot be made or entered starts the node without one, and says so
// (everything but partition-node works as before).
func SpawnGrouped(mk func() *exec.Cmd, stdoutLog, dataDir string) (*Process, error) {
	g, err := netcut.OpenGroup(netcut.GroupName(dataDir))
	if err == nil {
		defer g.Close()
		cmd := mk()
		g.Into(cmd)
		p, serr := Spawn(cmd, stdoutLog)
		if serr == nil {
			return p, nil
		}
		err = serr
	}
	slog.Warn("the node runs outside a cgroup of its own: partition-node cannot cut it off", "data_dir", dataDir, "err", err)
	return Spawn(mk(), stdoutLog)
}

// RemoveGroup removes the cgroup SpawnGrouped made for the node of
// dataDir, once its processes have exited.
func RemoveGroup(dataDir string) {
	if err := netcut.RemoveGroup(netcut.GroupName(dataDir)); err != nil {
		slog.Warn("could not remove the node's cgroup (the next start's sweep retries)", "data_dir", dataDir, "err", err)
	}
}

// File is one file a node's start writes into its data dir.
type File struct{ Path, Body string }

// WriteStartFiles makes dirs, then writes cfg as JSON to runningConf (what
// RunningDiffers compares a later Start with) and files: everything a
// start rewrites, so an edited Config always takes effect.
func WriteStartFiles(dirs []string, runningConf string, cfg any, files ...File) error {
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	running, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return err
	}
	files = append([]File{{runningConf, string(running) + "\n"}}, files...)
	for _, f := range files {
		if err := os.WriteFile(f.Path, []byte(f.Body), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// RecordPID writes the process's pid file (WritePIDFile). A server that
// rejects its config can exit, and be reaped, before its start time is
// read; then it gets no pid file and RecordPID returns nil, so the
// caller's readiness wait sees Exited and reports the boot failure with
// the server's own words. The grace covers the reaper not yet having
// closed Exited.
func (p *Process) RecordPID(path string) error {
	err := WritePIDFile(path, p.PID)
	if err == nil {
		return nil
	}
	select {
	case <-p.Exited:
		return nil
	case <-time.After(exitedGrace):
		return err
	}
}

// exitedGrace is how long RecordPID waits for a vanished process's reaper.
const exitedGrace = 500 * time.Millisecond
