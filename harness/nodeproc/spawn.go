package nodeproc

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"
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
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
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
