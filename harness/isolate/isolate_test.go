package isolate

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/edabench/edabench/harness/cpucap"
)

func TestBudgets(t *testing.T) {
	svcs := []string{"gateway", "payment", "inventory", "shipping", "notification"}
	for _, tc := range []struct {
		name   string
		broker bool
		svc    float64
	}{
		{"eda", true, 0.2}, // (2 - 0.5 - 0.5) / 5
		{"rr", false, 0.3}, // (2 - 0.5) / 5
	} {
		b := Budgets(2, svcs, tc.broker)
		total := 0.0
		for _, c := range b {
			total += c
		}
		if math.Abs(total-2) > 1e-9 {
			t.Errorf("%s: budgets total %v cores, want the machine's 2", tc.name, total)
		}
		if b[Generator] != 0.5 || math.Abs(b["payment"]-tc.svc) > 1e-9 {
			t.Errorf("%s: %v, want generator 0.5 and %v per service", tc.name, b, tc.svc)
		}
		if _, ok := b[Broker]; ok != tc.broker {
			t.Errorf("%s: broker budget present %v, want %v", tc.name, ok, tc.broker)
		}
	}
}

// available fails where the kernel side cannot be exercised: a skip would
// pass CI without ever creating a group (run as root with a mounted cpu
// controller, or use -short).
func available(t *testing.T) cpucap.Hierarchy {
	t.Helper()
	h, err := Available()
	if err != nil {
		t.Fatalf("cgroup CPU budgets cannot be tested here: %v", err)
	}
	return h
}

func sleeper(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd.Process.Pid
}

func cgroupOf(t *testing.T, h cpucap.Hierarchy, pid int) string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) == 3 && ((h.Version == cpucap.V1 && slices.Contains(strings.Split(parts[1], ","), "cpu")) || (h.Version == cpucap.V2 && parts[0] == "0")) {
			return parts[2]
		}
	}
	t.Fatalf("process %d: no cpu cgroup in %s", pid, b)
	return ""
}

func TestStartStop(t *testing.T) {
	if testing.Short() {
		t.Skip("creates cgroups: not pure logic")
	}
	h := available(t)
	a, b := sleeper(t), sleeper(t)
	before := cgroupOf(t, h, a)
	d, err := Start(t.Context(), h, "test", []Tier{
		{Name: "a", Cores: 0.3, PIDs: func() []int { return []int{a} }},
		{Name: "b", Cores: 0.2, PIDs: func() []int { return []int{b} }},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	groups := Groups(h, os.Getpid())
	if len(groups) != 2 {
		d.Stop()
		t.Fatalf("groups %v, want one per tier", groups)
	}
	if got := cgroupOf(t, h, a); !strings.HasSuffix(got, "-test-a") {
		t.Errorf("tier a's process is in %s", got)
	}
	quota := filepath.Join(h.Root, groups[0], "cpu.cfs_quota_us")
	if h.Version == cpucap.V2 {
		quota = filepath.Join(h.Root, groups[0], "cpu.max")
	}
	if q, _ := os.ReadFile(quota); !strings.HasPrefix(string(q), "30000") {
		t.Errorf("tier a's quota %q, want 30000 µs per 100 ms", q)
	}
	if err := d.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := d.Stop(); err != nil {
		t.Fatalf("a second Stop: %v", err)
	}
	if left := Groups(h, os.Getpid()); len(left) > 0 {
		t.Errorf("groups left after Stop: %v", left)
	}
	if after := cgroupOf(t, h, a); after != before {
		t.Errorf("after Stop the process is in %s, was in %s", after, before)
	}
}

// childEnv makes the test binary the helper of TestInterrupted: a run that
// isolates itself and a child, and waits for a signal.
const childEnv = "EDABENCH_ISOLATE_HELPER"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(helper())
	}
	os.Exit(m.Run())
}

// helper does what the runner does: isolate on start, Stop on the way out
// of an interrupted (signal.NotifyContext) run.
func helper() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	h, err := Available()
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	svc := exec.Command("sleep", "60")
	if err := svc.Start(); err != nil {
		fmt.Println("error:", err)
		return 1
	}
	defer svc.Process.Kill()
	d, err := Start(ctx, h, "helper", []Tier{
		{Name: "service", Cores: 0.5, PIDs: func() []int { return []int{svc.Process.Pid} }},
		{Name: Generator, Cores: 0.5, PIDs: func() []int { return []int{os.Getpid()} }},
	}, nil)
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	defer d.Stop()
	fmt.Println("ready", svc.Process.Pid)
	<-ctx.Done()
	if err := d.Stop(); err != nil {
		fmt.Println("error:", err)
		return 1
	}
	return 0
}

// TestInterrupted interrupts a run that isolated itself (SIGINT, as Ctrl-C
// does) and kills another outright (SIGKILL): the first removes its groups
// on its way out, the second's are removed by the next run's sweep.
func TestInterrupted(t *testing.T) {
	if testing.Short() {
		t.Skip("creates cgroups: not pure logic")
	}
	h := available(t)
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGKILL} {
		t.Run(sig.String(), func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), childEnv+"=1")
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			// The helper's sleep outlives a SIGKILLed helper: the group goes.
			t.Cleanup(func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); cmd.Wait() })
			line, err := bufio.NewReader(out).ReadString('\n')
			if err != nil || !strings.HasPrefix(line, "ready") {
				t.Fatalf("helper: %q, %v", line, err)
			}
			svc, _ := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "ready")))
			if g := Groups(h, cmd.Process.Pid); len(g) != 2 {
				t.Fatalf("the helper holds groups %v, want 2", g)
			}
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				if sig == syscall.SIGINT && err != nil {
					t.Fatalf("the interrupted helper failed: %v", err)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("the helper did not exit within 30 s of the signal")
			}
			if sig == syscall.SIGKILL {
				if g := Groups(h, cmd.Process.Pid); len(g) == 0 {
					t.Fatal("a SIGKILLed helper left no groups: the sweep is untested")
				}
				if err := Sweep(h); err != nil {
					t.Fatal(err)
				}
			}
			if g := Groups(h, cmd.Process.Pid); len(g) > 0 {
				t.Errorf("groups left behind after %v: %v", sig, g)
			}
			if g := cgroupOf(t, h, svc); strings.Contains(g, groupPrefix) {
				t.Errorf("the helper's service is still in %s", g)
			}
		})
	}
}
