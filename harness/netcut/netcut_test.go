package netcut

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// helperEnv makes the test binary a helper process: echo (a listener on
// 127.0.0.1 that echoes, printing its address), dial ADDR (prints ok or
// the error) or cut GROUP (cuts GROUP off, prints cut, then waits to be
// killed).
const helperEnv = "NETCUT_TEST_HELPER"

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(helper(mode))
	}
	os.Exit(m.Run())
}

func helper(mode string) int {
	verb, arg, _ := strings.Cut(mode, " ")
	switch verb {
	case "echo":
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			fmt.Println(err)
			return 1
		}
		fmt.Println(ln.Addr())
		for {
			c, err := ln.Accept()
			if err != nil {
				return 1
			}
			go func() { _, _ = io.Copy(c, c) }()
		}
	case "dial":
		c, err := net.DialTimeout("tcp", arg, time.Second)
		if err != nil {
			fmt.Println(err)
			return 0
		}
		c.Close()
		fmt.Println("ok")
	case "cut":
		if _, err := CutGroup(context.Background(), arg); err != nil {
			fmt.Println(err)
			return 1
		}
		fmt.Println("cut")
		time.Sleep(time.Minute) // killed long before
	}
	return 0
}

func TestGroupName(t *testing.T) {
	for _, tc := range []struct{ dir, want string }{
		{"/root/.cache/edabench/broker-cluster/node-1", "edabench-node-1-"},
		{"/tmp/Some Dir_With.Stuff", "edabench-some-dir-with-stuff-"},
	} {
		got := GroupName(tc.dir)
		if !strings.HasPrefix(got, tc.want) || len(got) != len(tc.want)+8 {
			t.Errorf("GroupName(%q) = %q, want %s + 8 hex", tc.dir, got, tc.want)
		}
	}
	if GroupName("/a/cluster/node-1") == GroupName("/b/cluster/node-1") {
		t.Error("two clusters' node-1 share a group")
	}
}

func TestStartTicks(t *testing.T) {
	got, err := startTicks([]byte("42 (a b) c) S 1 42 42 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 98765 1000 10"))
	if err != nil || got != 98765 {
		t.Fatalf("startTicks = %d, %v; want 98765", got, err)
	}
}

func TestOpenGroupRefusesOtherNames(t *testing.T) {
	for _, n := range []string{"other", "edabench-a/b", "edabench-.."} {
		if _, err := OpenGroup(n); err == nil || !strings.Contains(err.Error(), Prefix) {
			t.Errorf("OpenGroup(%q) = %v, want a refusal naming %s", n, err, Prefix)
		}
	}
}

// kernelTest skips under -short: the rest change kernel state (cgroups,
// nftables) and need root.
func kernelTest(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("makes cgroups and nftables tables (root, nftables): run without -short")
	}
}

// group makes a group of the test's own, removed at its end.
func group(t *testing.T, name string) *Group {
	t.Helper()
	g, err := OpenGroup(GroupName(filepath.Join(t.TempDir(), name)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = g.Close()
		if err := RemoveGroup(g.Name); err != nil {
			t.Error(err)
		}
	})
	return g
}

// start runs the test binary as a helper in g (nil: the test's own
// cgroup) and returns its first line of output; it is killed at the end.
func start(t *testing.T, g *Group, mode string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), helperEnv+"="+mode)
	if g != nil {
		g.Into(cmd)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start helper %s: %v", mode, err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("helper %s: %v", mode, err)
	}
	return cmd, strings.TrimSpace(line)
}

func reach(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 500*time.Millisecond)
	if err == nil {
		c.Close()
	}
	return err
}

// echo writes to c and reads it back within d.
func echo(c net.Conn, d time.Duration) error {
	_ = c.SetDeadline(time.Now().Add(d))
	if _, err := c.Write([]byte("x")); err != nil {
		return err
	}
	_, err := c.Read(make([]byte, 1))
	return err
}

// TestCutOneOfTwoListeners: two listeners on 127.0.0.1 in groups of their
// own; cutting one leaves the other reachable, stalls the cut one's
// established connection both ways, blocks its new ones in and out, and
// healing restores all of it.
func TestCutOneOfTwoListeners(t *testing.T) {
	kernelTest(t)
	ctx := t.Context()
	ga, gb := group(t, "a"), group(t, "b")
	cmdA, addrA := start(t, ga, "echo")
	_, addrB := start(t, gb, "echo")
	if g, err := GroupOf(cmdA.Process.Pid); err != nil || g != ga.Name {
		t.Fatalf("GroupOf(listener a) = %q, %v; want %s", g, err, ga.Name)
	}
	held, err := net.Dial("tcp", addrA)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	if err := echo(held, 5*time.Second); err != nil {
		t.Fatalf("before the cut: %v", err)
	}
	cut, err := CutPID(ctx, cmdA.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cut.Heal(context.Background()) })
	if !IsCut(cmdA.Process.Pid) {
		t.Error("IsCut(listener a) is false while it is cut off")
	}
	if err := reach(addrA); err == nil {
		t.Error("a new connection reached the cut listener")
	}
	if err := reach(addrB); err != nil {
		t.Errorf("the other listener, during the cut: %v", err)
	}
	if err := echo(held, time.Second); err == nil {
		t.Error("the cut listener's established connection still echoed")
	}
	if _, out := start(t, ga, "dial "+addrB); out == "ok" {
		t.Error("a process in the cut group dialled out")
	}
	if _, out := start(t, gb, "dial "+addrB); out != "ok" {
		t.Errorf("a process in the other group, during the cut: %s", out)
	}
	if err := cut.Heal(ctx); err != nil {
		t.Fatal(err)
	}
	if tables, err := Tables(ctx); err != nil || slices.Contains(tables, ga.Name) {
		t.Fatalf("after Heal the tables are %v (%v)", tables, err)
	}
	if err := reach(addrA); err != nil {
		t.Errorf("after Heal: %v", err)
	}
	if IsCut(cmdA.Process.Pid) {
		t.Error("IsCut(listener a) is true after Heal")
	}
	// The held connection's unanswered byte is retransmitted (the RTO has
	// backed off to seconds by now); its echo, and the test's
	// second one, arrive.
	if _, err := held.Read(make([]byte, 1)); err != nil && !isTimeout(err) {
		t.Fatalf("held connection after Heal: %v", err)
	}
	if err := echo(held, 20*time.Second); err != nil {
		t.Errorf("held connection after Heal: %v", err)
	}
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// TestSweepAfterAKilledOwner: a harness that cut a node's group off is
// killed (SIGKILL: no deferred Heal runs), and so is the node; the next
// sweep, as every cluster start and partition runs one, removes the
// harness's table and record and the node's empty group, and leaves a
// live owner's table and a group still holding a process.
func TestSweepAfterAKilledOwner(t *testing.T) {
	kernelTest(t)
	ctx := t.Context()
	dead, live := group(t, "dead"), group(t, "live")
	node, _ := start(t, dead, "echo")
	_, _ = start(t, live, "echo")
	owner, out := start(t, nil, "cut "+dead.Name)
	if out != "cut" {
		t.Fatalf("owner: %s", out)
	}
	_ = node.Process.Kill()
	_ = node.Wait()
	liveCut, err := CutGroup(ctx, live.Name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = liveCut.Heal(context.Background()) })
	if err := owner.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = owner.Wait()
	tables, err := Tables(ctx)
	if err != nil || !slices.Contains(tables, dead.Name) {
		t.Fatalf("the killed owner's table is not loaded: %v (%v)", tables, err)
	}
	s, err := sweep(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(s.Tables, dead.Name) || slices.Contains(s.Tables, live.Name) {
		t.Fatalf("swept %v: want %s and not %s", s.Tables, dead.Name, live.Name)
	}
	if !slices.Contains(s.Groups, dead.Name) || slices.Contains(s.Groups, live.Name) {
		t.Fatalf("swept groups %v: want %s (empty) and not %s (holds a process)", s.Groups, dead.Name, live.Name)
	}
	tables, _ = Tables(ctx)
	if slices.Contains(tables, dead.Name) || !slices.Contains(tables, live.Name) {
		t.Fatalf("after the sweep the tables are %v", tables)
	}
	if _, err := os.Stat(recordPath(dead.Name)); !os.IsNotExist(err) {
		t.Errorf("the dead owner's record is left: %v", err)
	}
	if err := liveCut.Heal(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(recordPath(live.Name)); !os.IsNotExist(err) {
		t.Errorf("Heal left its record: %v", err)
	}
}

// TestCutPIDOutsideAGroup names the fix.
func TestCutPIDOutsideAGroup(t *testing.T) {
	kernelTest(t)
	_, err := CutPID(t.Context(), os.Getpid())
	if err == nil || !strings.Contains(err.Error(), "runs in no "+Prefix) {
		t.Fatalf("CutPID(self) = %v, want a refusal", err)
	}
}
