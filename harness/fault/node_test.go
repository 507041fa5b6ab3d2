package fault

import (
	"context"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/edabench/edabench/harness/brokernode"
)

func TestNodeFaultChecks(t *testing.T) {
	var cases []checkCase
	for _, typ := range []string{"kill-node", "pause-node", "restart-node"} {
		cases = append(cases,
			checkCase{entry{"type": typ, "target": "leader"}, nil},
			checkCase{entry{"type": typ, "target": "node-2"}, nil},
			checkCase{entry{"type": typ, "target": "node-0"}, []string{"target"}},
			checkCase{entry{"type": typ, "target": "payment"}, []string{"target"}},
			checkCase{entry{"type": typ}, []string{"target"}},
		)
	}
	testChecks(t, cases)
}

// fakeMember is a cluster member whose "broker" is a sleep process, so a
// fault's signals reach a real process.
type fakeMember struct {
	brokernode.Node
	name string
	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	// start, if set, prepares the member's process (a cgroup to start in).
	start func(*exec.Cmd)
}

func (m *fakeMember) Name() string { return m.name }

func (m *fakeMember) Start(context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cmd != nil {
		return nil
	}
	cmd := exec.Command("sleep", "300")
	if m.start != nil {
		m.start(cmd)
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	m.cmd, m.done = cmd, make(chan struct{})
	go func(done chan struct{}) { _ = cmd.Wait(); close(done) }(m.done)
	return nil
}

func (m *fakeMember) PID() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cmd == nil {
		return 0
	}
	select {
	case <-m.done:
		m.cmd = nil
		return 0
	default:
		return m.cmd.Process.Pid
	}
}

func (m *fakeMember) Stop(context.Context) error {
	if pid := m.PID(); pid > 0 {
		_ = syscall.Kill(pid, syscall.SIGKILL)
		m.mu.Lock()
		done := m.done
		m.mu.Unlock()
		<-done
	}
	return nil
}

// fakeCluster leads its one queue from the first running member.
type fakeCluster struct {
	brokernode.Node
	members []*fakeMember
}

func (c *fakeCluster) Members() []brokernode.Node {
	out := make([]brokernode.Node, len(c.members))
	for i, m := range c.members {
		out[i] = m
	}
	return out
}

func (c *fakeCluster) Leader(context.Context, string) (int, string, error) {
	for i, m := range c.members {
		if m.PID() > 0 && !stopped(m.PID()) {
			return i, "orders", nil
		}
	}
	return -1, "orders", nil
}

func (c *fakeCluster) RemoveData() error { return nil }

// stopped reports whether pid is stopped by a signal (state T).
func stopped(pid int) bool {
	b, err := exec.Command("ps", "-o", "stat=", "-p", strconv.Itoa(pid)).Output()
	return err == nil && strings.HasPrefix(strings.TrimSpace(string(b)), "T")
}

// Each node fault hits the leader, reports another member leading, and
// its undo brings the member back (killed and restarted: a new process;
// paused: the same one, running).
func TestNodeFaultsApplyAndUndo(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes; the -short tier starts none")
	}
	for _, typ := range []Type{&killNode{}, &pauseNode{}, &restartNode{}} {
		t.Run(typ.Name(), func(t *testing.T) {
			c := &fakeCluster{members: []*fakeMember{{name: "a"}, {name: "b"}, {name: "c"}}}
			for _, m := range c.members {
				if err := m.Start(t.Context()); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = syscall.Kill(m.PID(), syscall.SIGCONT); _ = m.Stop(context.Background()) })
			}
			in := New(nil, nil, c, nil)
			var got NodeReport
			in.env.node = func(r NodeReport) { got = r }
			before := c.members[0].PID()
			undo, err := typ.Apply(t.Context(), in.env, "leader")
			if err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(10 * time.Second)
			for got.NewLeaderMs < 0 && time.Now().Before(deadline) {
				time.Sleep(50 * time.Millisecond)
			}
			if err := undo(t.Context()); err != nil {
				t.Fatal(err)
			}
			if got.Node != "node-1 a" || got.Queue != "orders" || got.NewLeaderMs < 0 {
				t.Errorf("report %+v, want node-1 a leading orders and a new leader", got)
			}
			after := c.members[0].PID()
			if after == 0 || stopped(after) || (typ.Name() == "pause-node") != (after == before) {
				t.Errorf("after the undo node-1 is pid %d (before %d, stopped %v)", after, before, stopped(after))
			}
		})
	}
}

// Without a cluster a node fault says how to get one.
func TestNodeFaultNeedsACluster(t *testing.T) {
	in := New(nil, nil, nil, nil)
	_, err := (&killNode{}).Apply(t.Context(), in.env, "leader")
	if err == nil || !strings.Contains(err.Error(), "--cluster 3") {
		t.Fatalf("err = %v, want the hint to run with --cluster 3", err)
	}
}
