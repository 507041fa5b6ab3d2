package supervise

import (
	"context"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The children here are small shell scripts: what is under test is the
// supervision, not a target.
func sh(t *testing.T, script string, timeout time.Duration) (*Process, error) {
	t.Helper()
	return Start(context.Background(), Spec{Name: "child", Path: "/bin/sh", Args: []string{"-c", script},
		LogPath: filepath.Join(t.TempDir(), "child.log"), ReadyTimeout: timeout})
}

func TestStartReadsTheReadyLine(t *testing.T) {
	p, err := sh(t, `echo starting; echo >&2 a log line; echo 'EDABENCH_READY {"service":"x","grpc":"127.0.0.1:1"}'; exec sleep 30`, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if p.Ready().GRPC != "127.0.0.1:1" || p.Ready().Service != "x" {
		t.Fatalf("ready = %+v", p.Ready())
	}
	if err := p.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	// Stop must work on a paused child: it sends SIGCONT before SIGTERM.
	if err := p.Stop(context.Background(), 5*time.Second); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if tail := Tail(p.LogPath(), 5); !strings.Contains(tail, "a log line") || !strings.Contains(tail, "starting") {
		t.Fatalf("log does not hold the child's output:\n%s", tail)
	}
}

func TestStartReportsAChildThatDies(t *testing.T) {
	_, err := sh(t, `echo >&2 "fatal: port in use"; exit 3`, 10*time.Second)
	if err == nil || !strings.Contains(err.Error(), "exited before it was ready") || !strings.Contains(err.Error(), "fatal: port in use") {
		t.Fatalf("err = %v; want the exit and the log's tail", err)
	}
}

func TestStartGivesUpOnASilentChild(t *testing.T) {
	_, err := sh(t, `exec sleep 30`, 300*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "not ready after") {
		t.Fatalf("err = %v", err)
	}
}

func TestStopKillsAChildThatIgnoresSIGTERM(t *testing.T) {
	p, err := sh(t, `trap '' TERM; echo 'EDABENCH_READY {}'; while :; do sleep 1; done`, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Stop(context.Background(), 200*time.Millisecond); err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("stop = %v, want it to say the child was killed", err)
	}
	if !p.Exited() {
		t.Fatal("child still running after Stop")
	}
}
