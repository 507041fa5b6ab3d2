// Package supervise runs target services as child processes: logs captured
// to a file, readiness taken from the child's own announcement, signals for
// fault injection, and a stop that never leaves a child behind.
package supervise

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ReadyPrefix starts the line a target prints on stdout once it serves:
// "EDABENCH_READY {json}". Ports may be chosen by the kernel (":0"), so the
// child, not the parent, is the one that knows its addresses.
const ReadyPrefix = "EDABENCH_READY "

// Ready is what a child announces.
type Ready struct {
	Service string            `json:"service"`
	GRPC    string            `json:"grpc,omitempty"`
	HTTP    string            `json:"http,omitempty"`
	Extra   map[string]string `json:"extra,omitempty"`
}

// Announce prints the ready line; targets call it once they serve.
func Announce(w io.Writer, r Ready) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s%s\n", ReadyPrefix, b)
	return err
}

// Spec describes one child.
type Spec struct {
	Name    string
	Path    string
	Args    []string
	Env     []string // added to the parent's environment
	LogPath string   // stdout and stderr go here; required
	// ReadyTimeout bounds the wait for the ready line (default 30 s).
	ReadyTimeout time.Duration
}

// Process is a running child.
type Process struct {
	spec  Spec
	cmd   *exec.Cmd
	ready Ready
	log   *os.File
	done  chan struct{}
	mu    sync.Mutex
	err   error // exit status once done
}

// Start starts the child and waits for its ready line. A child that exits or
// stays silent fails Start with the tail of its log.
func Start(ctx context.Context, spec Spec) (*Process, error) {
	if spec.ReadyTimeout == 0 {
		spec.ReadyTimeout = 30 * time.Second
	}
	if err := os.MkdirAll(filepath.Dir(spec.LogPath), 0o755); err != nil {
		return nil, fmt.Errorf("%s: log dir: %w", spec.Name, err)
	}
	logf, err := os.OpenFile(spec.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("%s: open log: %w", spec.Name, err)
	}
	cmd := exec.Command(spec.Path, spec.Args...)
	cmd.Env = append(os.Environ(), spec.Env...)
	cmd.Stderr = logf
	// Its own process group: a Ctrl-C at the terminal reaches the harness,
	// which then stops its children in order, instead of every child at once.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		logf.Close()
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("%s: start %s: %w", spec.Name, spec.Path, err)
	}
	p := &Process{spec: spec, cmd: cmd, log: logf, done: make(chan struct{})}
	readyc := make(chan Ready, 1)
	go p.pump(stdout, readyc)
	go func() {
		err := cmd.Wait()
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
		close(p.done)
	}()

	t := time.NewTimer(spec.ReadyTimeout)
	defer t.Stop()
	select {
	case r := <-readyc:
		p.ready = r
		return p, nil
	case <-p.done:
		p.log.Close()
		return nil, fmt.Errorf("%s exited before it was ready (%v); its log %s ends:\n%s", spec.Name, p.ExitErr(), spec.LogPath, Tail(spec.LogPath, 15))
	case <-t.C:
		p.kill()
		return nil, fmt.Errorf("%s not ready after %v; its log %s ends:\n%s", spec.Name, spec.ReadyTimeout, spec.LogPath, Tail(spec.LogPath, 15))
	case <-ctx.Done():
		p.kill()
		return nil, fmt.Errorf("%s: %w", spec.Name, ctx.Err())
	}
}

// pump copies stdout to the log and picks out the ready line.
func (p *Process) pump(r io.Reader, readyc chan<- Ready) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	sent := false
	for sc.Scan() {
		line := sc.Bytes()
		if !sent && bytes.HasPrefix(line, []byte(ReadyPrefix)) {
			var rd Ready
			if json.Unmarshal(line[len(ReadyPrefix):], &rd) == nil {
				readyc <- rd
				sent = true
			}
		}
		p.log.Write(append(line, '\n'))
	}
}

// Name is the spec's name.
func (p *Process) Name() string { return p.spec.Name }

// Ready is what the child announced.
func (p *Process) Ready() Ready { return p.ready }

// PID of the child.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// LogPath is where its output goes.
func (p *Process) LogPath() string { return p.spec.LogPath }

// Done is closed when the child has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// ExitErr is the child's exit status once it exited (nil for a clean exit).
func (p *Process) ExitErr() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// Exited reports whether the child has exited.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Signal sends sig to the child (SIGSTOP and SIGCONT for pauses, SIGKILL for crashes).
func (p *Process) Signal(sig syscall.Signal) error {
	if p.Exited() {
		return fmt.Errorf("%s has already exited", p.spec.Name)
	}
	return p.cmd.Process.Signal(sig)
}

// Stop asks the child to shut down (SIGTERM, after a SIGCONT in case it was
// paused) and kills it if it has not exited when ctx ends or grace passes.
func (p *Process) Stop(ctx context.Context, grace time.Duration) error {
	defer p.log.Close()
	if p.Exited() {
		return p.exitResult()
	}
	_ = p.cmd.Process.Signal(syscall.SIGCONT)
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-p.done:
		return p.exitResult()
	case <-t.C:
	case <-ctx.Done():
	}
	p.kill()
	return fmt.Errorf("%s did not stop within %v after SIGTERM; killed", p.spec.Name, grace)
}

func (p *Process) exitResult() error {
	err := p.ExitErr()
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.Sys().(syscall.WaitStatus).Signaled() {
		// Killed by a fault on purpose, or by us: not a failure of Stop.
		return nil
	}
	return err
}

func (p *Process) kill() {
	_ = p.cmd.Process.Signal(syscall.SIGCONT)
	_ = p.cmd.Process.Kill()
	<-p.done
}

// Kill sends SIGKILL and waits for the exit.
func (p *Process) Kill() {
	if !p.Exited() {
		p.kill()
	}
}

// Tail returns the last n lines of a file, for error messages.
func Tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "  " + strings.Join(lines, "\n  ")
}
