package nodeproc_test

import (
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/edabench/edabench/harness/nodeproc"
)

// A process is Stopped between SIGSTOP and SIGCONT, and never when gone.
func TestStopped(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a process; the -short tier starts none")
	}
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	want := func(stopped bool) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); nodeproc.Stopped(pid) != stopped; {
			if time.Now().After(deadline) {
				t.Fatalf("Stopped(%d) = %v, want %v", pid, !stopped, stopped)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	want(false)
	_ = syscall.Kill(pid, syscall.SIGSTOP)
	want(true)
	_ = syscall.Kill(pid, syscall.SIGCONT)
	want(false)
	if nodeproc.Stopped(0) {
		t.Error("Stopped(0) = true")
	}
}
