package runner

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/edabench/edabench/harness/isolate"
)

// TestIsolatedRunInterrupted interrupts an isolated RR run under the
// datacenter network mid-load, as Ctrl-C does (the CLI cancels the run's
// context on SIGINT): the run ends partial, records its budgets and its
// network, and leaves no cgroup behind, with the harness back where it was.
func TestIsolatedRunInterrupted(t *testing.T) {
	bin, err := buildTarget(t)
	if err != nil {
		t.Fatal(err)
	}
	h, err := isolate.Available()
	if err != nil {
		t.Skipf("SKIPPED LOUDLY: %v", err)
	}
	before, _ := os.ReadFile("/proc/self/cgroup")
	sc := mustScenario(t, `
name: isolated
arrival: uniform
stages:
  - {name: steady, duration: 30s, rate: 20}
timeout: 2s
drain: 1s
steps: 2
network: datacenter
deployment: isolated
`)
	listening := listeners(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	held := make(chan []string, 1)
	var during int
	go func() {
		// Interrupt once the groups are in place and the load has begun.
		for i := 0; i < 300; i++ {
			time.Sleep(100 * time.Millisecond)
			if g := isolate.Groups(h, os.Getpid()); len(g) > 0 && i > 30 {
				during = listeners(t)
				held <- g
				cancel()
				return
			}
		}
		held <- nil
		cancel()
	}()
	sum, dir, err := Run(ctx, WithTwins("rr"), WithScenario(sc), WithBinary(bin), WithOutDir(t.TempDir()), WithMetricsAddr("off"))
	if g := <-held; len(g) != 4 {
		t.Fatalf("groups during the run %v (err %v): want generator, gateway, payment, inventory", g, err)
	}
	if left := isolate.Groups(h, os.Getpid()); len(left) > 0 {
		t.Errorf("cgroups left after the interrupted run: %v", left)
	}
	if during < listening+3 {
		t.Errorf("%d sockets listening during the run, %d before: want the proxies of payment, inventory and the generator's hop", during, listening)
	}
	if now := listeners(t); now > listening {
		t.Errorf("%d sockets listening in the harness after the run, %d before: proxies left behind", now, listening)
	}
	if after, _ := os.ReadFile("/proc/self/cgroup"); string(after) != string(before) {
		t.Errorf("the harness is in %q after the run, was in %q", after, before)
	}
	if sum == nil || !sum.Partial || sum.Twins["rr"] == nil {
		t.Fatalf("summary %+v, err %v: want a partial one", sum, err)
	}
	b := sum.Twins["rr"].CPUBudgets
	if b[isolate.Generator] <= 0 || b["payment"] <= 0 || len(b) != 4 {
		t.Errorf("cpu_budgets %v: want the generator and the three services", b)
	}
	raw, _ := os.ReadFile(dir + "/summary.json")
	if !strings.Contains(string(raw), `"name":"datacenter"`) && !strings.Contains(string(raw), `"name": "datacenter"`) {
		t.Errorf("summary.json does not record the network profile")
	}
	checkSchema(t, dir)
}

// listeners counts this process's listening TCP sockets: the hops' proxies
// are among them while a twin runs.
func listeners(t *testing.T) int {
	t.Helper()
	inodes := map[string]bool{}
	fds, _ := os.ReadDir("/proc/self/fd")
	for _, fd := range fds {
		if l, err := os.Readlink("/proc/self/fd/" + fd.Name()); err == nil && strings.HasPrefix(l, "socket:[") {
			inodes[strings.TrimSuffix(strings.TrimPrefix(l, "socket:["), "]")] = true
		}
	}
	n := 0
	for _, f := range []string{"/proc/self/net/tcp", "/proc/self/net/tcp6"} {
		b, _ := os.ReadFile(f)
		for _, line := range strings.Split(string(b), "\n")[1:] {
			if fs := strings.Fields(line); len(fs) > 9 && fs[3] == "0A" && inodes[fs[9]] {
				n++
			}
		}
	}
	return n
}
