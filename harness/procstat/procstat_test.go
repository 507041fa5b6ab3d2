package procstat

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

func burn(d time.Duration) uint64 {
	var x uint64
	for end := time.Now().Add(d); time.Now().Before(end); {
		for i := range 10000 {
			x += uint64(i) * x
		}
	}
	return x
}

func TestReadSelf(t *testing.T) {
	_ = burn(300 * time.Millisecond)
	u, err := Read(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if u.CPUSeconds <= 0 || u.RSSBytes <= 0 || u.PeakRSSBytes < u.RSSBytes {
		t.Fatalf("Read(self) = %+v, want CPU > 0 and 0 < RSS <= peak", u)
	}
}

func TestReadGone(t *testing.T) {
	cmd := exec.Command("/bin/true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(cmd.Process.Pid); !errors.Is(err, ErrNotRunning) {
		t.Errorf("Read of an exited pid: err = %v, want ErrNotRunning", err)
	}
	if _, err := Read(0); !errors.Is(err, ErrNotRunning) {
		t.Errorf("Read(0): err = %v, want ErrNotRunning", err)
	}
}

func TestReadZombie(t *testing.T) {
	cmd := exec.Command("/bin/true")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Not waited for yet: a zombie whose /proc entry still exists.
	t.Cleanup(func() { _ = cmd.Wait() })
	waitFor(t, 5*time.Second, "the child to exit", func() bool {
		_, err := Read(cmd.Process.Pid)
		return errors.Is(err, ErrNotRunning)
	})
}

func TestParseStatOddComm(t *testing.T) {
	line := "42 (a) b (c)) S 7 42 42 0 -1 4194560 100 0 0 0 150 25 3 4 20 0 1 0 9999 1000 10 18446744073709551615"
	st, err := parseStat([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	if st.comm != "a) b (c)" || st.state != 'S' || st.ppid != 7 || st.utime != 150 || st.stime != 25 ||
		st.cutime != 3 || st.cstime != 4 || st.starttime != 9999 {
		t.Fatalf("parseStat = %+v", st)
	}
}

// startGroup starts a shell script in its own process group, so that the
// test can kill it with everything it spawned.
func startGroup(t *testing.T, script string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("/bin/sh", "-c", script)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { killGroup(cmd) })
	return cmd
}

func killGroup(cmd *exec.Cmd) {
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	_ = cmd.Wait()
}

func TestReadTreeIncludesChildren(t *testing.T) {
	// The shell only waits; its child does the work.
	cmd := startGroup(t, "(while :; do :; done) & wait")
	pid := cmd.Process.Pid
	var tree Usage
	waitFor(t, 30*time.Second, "the tree to use 0.3 s of CPU", func() bool {
		var err error
		tree, err = ReadTree(pid)
		if err != nil {
			t.Fatal(err)
		}
		return tree.CPUSeconds >= 0.3
	})
	own, err := Read(pid)
	if err != nil {
		t.Fatal(err)
	}
	if own.CPUSeconds > 0.1 {
		t.Errorf("the waiting shell itself used %v s of CPU; the test assumes it idles", own.CPUSeconds)
	}
	if tree.RSSBytes <= own.RSSBytes || tree.PeakRSSBytes < tree.RSSBytes {
		t.Errorf("tree %+v vs own %+v: want the tree's memory to include the child's", tree, own)
	}
}

func TestReadTreeCountsReapedChildren(t *testing.T) {
	// The subshell burns ~0.5 s and exits; the shell waits for it (so its
	// time moves into the shell's cutime) and then idles in sleep.
	cmd := startGroup(t, "(i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done); exec sleep 60")
	pid := cmd.Process.Pid
	waitFor(t, 60*time.Second, "the shell to exec sleep", func() bool {
		c, err := Comm(pid)
		return err == nil && c == "sleep"
	})
	tree, err := ReadTree(pid)
	if err != nil {
		t.Fatal(err)
	}
	own, err := Read(pid)
	if err != nil {
		t.Fatal(err)
	}
	if tree.CPUSeconds < 0.2 || own.CPUSeconds > 0.1 {
		t.Errorf("ReadTree = %v s, Read = %v s: want the exited child's CPU in the tree only", tree.CPUSeconds, own.CPUSeconds)
	}
}

// TestMeterAccumulatesAcrossRestarts kills a tracked CPU burner and starts
// another under the same name: the name's CPU must be the sum of both.
func TestMeterAccumulatesAcrossRestarts(t *testing.T) {
	m := NewMeter(20 * time.Millisecond)
	var cur atomic.Int64
	m.Track("burner", func() int { return int(cur.Load()) })
	m.Track("harness", os.Getpid)
	m.Track("never", func() int { return 0 })
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()

	// Each incarnation runs until it used 0.4 s and the Meter saw it.
	var seen float64
	var killed []float64
	for range 2 {
		cmd := startGroup(t, "while :; do :; done")
		cur.Store(int64(cmd.Process.Pid))
		waitFor(t, 60*time.Second, "the burner to use 0.4 s and the Meter to see it", func() bool {
			return m.Usage()["burner"].CPUSeconds >= seen+0.4
		})
		u, err := Read(cmd.Process.Pid)
		if err != nil {
			t.Fatal(err)
		}
		cur.Store(0)
		killGroup(cmd)
		killed = append(killed, u.CPUSeconds)
		seen = m.Usage()["burner"].CPUSeconds
	}
	_ = burn(100 * time.Millisecond)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := m.Run(t.Context()); err == nil {
		t.Error("a second Run succeeded; want an error")
	}

	got := m.Usage()
	b := got["burner"]
	sum := killed[0] + killed[1]
	// The Meter's last reading of each may trail the test's by a tick.
	if b.CPUSeconds < sum-0.1 || b.CPUSeconds > sum+0.1 {
		t.Errorf("burner CPU = %v s, want the sum of both incarnations' %v (%v s)", b.CPUSeconds, killed, sum)
	}
	if b.RSSBytes <= 0 || b.PeakRSSBytes < b.RSSBytes {
		t.Errorf("burner memory = %+v, want the dead incarnation's last reading kept", b)
	}
	// The harness started before Run: only CPU used since counts, and the
	// 100 ms burn above is part of it.
	if h := got["harness"]; h.CPUSeconds < 0.05 || h.RSSBytes <= 0 {
		t.Errorf("harness usage = %+v", h)
	}
	if n, ok := got["never"]; !ok || n != (Usage{}) {
		t.Errorf("never-running name = %+v (present %v), want zeros", n, ok)
	}
}

// TestMeterCountsOnlySinceRun tracks a process that was already busy
// before Run: its earlier CPU is not the run's.
func TestMeterCountsOnlySinceRun(t *testing.T) {
	cmd := startGroup(t, "while :; do :; done")
	pid := cmd.Process.Pid
	waitFor(t, 60*time.Second, "the burner to use 0.5 s before the Meter starts", func() bool {
		u, err := Read(pid)
		return err == nil && u.CPUSeconds >= 0.5
	})
	m := NewMeter(20 * time.Millisecond)
	m.Track("old", func() int { return pid })
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	if err := m.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if u := m.Usage()["old"]; u.CPUSeconds > 0.35 || u.PeakRSSBytes <= 0 {
		t.Errorf("usage over a 200 ms run = %+v, want under 0.35 s of CPU (not the 0.5 s before) and a peak", u)
	}
}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
