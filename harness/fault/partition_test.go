package fault

import (
	"context"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/edabench/edabench/harness/netcut"
)

func TestPartitionNodeCheck(t *testing.T) {
	testChecks(t, []checkCase{
		{entry{"type": "partition-node", "target": "leader"}, nil},
		{entry{"type": "partition-node", "target": "node-3"}, nil},
		{entry{"type": "partition-node", "target": "n2"}, []string{"target"}},
		{entry{"type": "partition-node"}, []string{"target"}},
	})
}

// Without a cluster partition-node says how to get one.
func TestPartitionNodeNeedsACluster(t *testing.T) {
	in := New(nil, nil, nil, nil)
	_, err := (&partitionNode{}).Apply(t.Context(), in.env, "leader")
	if err == nil || !strings.Contains(err.Error(), "--cluster 3") {
		t.Fatalf("err = %v, want the hint to run with --cluster 3", err)
	}
}

// groupedCluster is a fake cluster of three members (sleep processes),
// each started in a cgroup of its own as nodeproc.SpawnGrouped starts a
// broker's nodes; the members and groups go at the test's end.
func groupedCluster(t *testing.T) *fakeCluster {
	t.Helper()
	c := &fakeCluster{members: []*fakeMember{{name: "a"}, {name: "b"}, {name: "c"}}}
	for _, m := range c.members {
		g, err := netcut.OpenGroup(netcut.GroupName(filepath.Join(t.TempDir(), m.name)))
		if err != nil {
			t.Fatal(err)
		}
		m.start = func(cmd *exec.Cmd) { g.Into(cmd) }
		err = m.Start(t.Context())
		g.Close()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = m.Stop(context.Background())
			if err := netcut.RemoveGroup(g.Name); err != nil {
				t.Error(err)
			}
		})
	}
	return c
}

// TestPartitionNodeApplyAndUndo cuts node-2: its table is loaded while
// the fault lasts, the report names it, and the undo removes the table;
// the member runs throughout. What the cut does to traffic is
// harness/netcut's test, on real listeners.
func TestPartitionNodeApplyAndUndo(t *testing.T) {
	if testing.Short() {
		t.Skip("makes cgroups and an nftables table (root, nftables); the -short tier changes no kernel state")
	}
	c := groupedCluster(t)
	group, err := netcut.GroupOf(c.members[1].PID())
	if err != nil || group == "" {
		t.Fatalf("node-2 runs in no group of its own: %q, %v", group, err)
	}
	in := New(nil, nil, c, nil)
	var got NodeReport
	in.env.node = func(r NodeReport) { got = r }
	undo, err := (&partitionNode{}).Apply(t.Context(), in.env, "node-2")
	if err != nil {
		t.Fatal(err)
	}
	tables, err := netcut.Tables(t.Context())
	if err != nil || !slices.Contains(tables, group) || !netcut.IsCut(c.members[1].PID()) {
		t.Errorf("while cut off the tables are %v (%v), want %s", tables, err, group)
	}
	if err := undo(t.Context()); err != nil {
		t.Fatal(err)
	}
	if tables, _ := netcut.Tables(t.Context()); slices.Contains(tables, group) {
		t.Errorf("after the undo %s is still loaded", group)
	}
	if got.Node != "node-2 b" {
		t.Errorf("report %+v, want node-2 b", got)
	}
	if pid := c.members[1].PID(); pid == 0 || syscall.Kill(pid, 0) != nil {
		t.Error("node-2 does not run after the partition")
	}
}

// TestPartitionNodeHealsOnInterrupt: a run interrupted mid-window (Ctrl-C
// cancels its context, then the runner stops the injector) heals the cut
// at once, long before the window would have ended.
func TestPartitionNodeHealsOnInterrupt(t *testing.T) {
	if testing.Short() {
		t.Skip("makes cgroups and an nftables table (root, nftables); the -short tier changes no kernel state")
	}
	c := groupedCluster(t)
	group, _ := netcut.GroupOf(c.members[2].PID())
	in := New([]Spec{{Type: &partitionNode{}, Target: "node-3", Duration: time.Hour}}, nil, c, nil)
	ctx, interrupt := context.WithCancel(t.Context())
	in.Start(ctx, time.Now())
	deadline := time.Now().Add(10 * time.Second)
	for len(in.Active()) == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if tables, _ := netcut.Tables(t.Context()); !slices.Contains(tables, group) {
		t.Fatalf("node-3 was not cut off: windows %+v", in.Windows())
	}
	interrupt()
	if err := in.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if tables, _ := netcut.Tables(t.Context()); slices.Contains(tables, group) {
		t.Errorf("after the interrupt %s is still loaded", group)
	}
}
