package cpucap

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestDetect(t *testing.T) {
	v2root := t.TempDir()
	os.WriteFile(filepath.Join(v2root, "cgroup.controllers"), []byte("cpuset cpu io memory pids\n"), 0o644)
	tests := []struct {
		name      string
		mountinfo string
		want      Hierarchy
		err       string
	}{
		{"v1 with a unified mount beside it", "mountinfo-v1", Hierarchy{Version: V1, Root: "/sys/fs/cgroup/cpu"}, ""},
		{"v1 cpu,cpuacct", "mountinfo-v1-cpuacct", Hierarchy{Version: V1, Root: "/sys/fs/cgroup/cpu,cpuacct"}, ""},
		{"v2", "", Hierarchy{Version: V2, Root: v2root}, ""},
		{"none", "mountinfo-none", Hierarchy{}, "no cgroup cpu controller"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			proc := t.TempDir()
			os.MkdirAll(filepath.Join(proc, "self"), 0o755)
			info := "35 1 0:30 / " + v2root + " rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n"
			if tt.mountinfo != "" {
				b, err := os.ReadFile(filepath.Join("testdata", tt.mountinfo))
				if err != nil {
					t.Fatal(err)
				}
				info = string(b)
			}
			os.WriteFile(filepath.Join(proc, "self", "mountinfo"), []byte(info), 0o644)
			got, err := detect(proc)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Version != tt.want.Version || got.Root != tt.want.Root {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestCapFiles checks what Cap writes where, on a fake tree of each
// version: the kernel's side is exercised by TestCapThrottles.
func TestCapFiles(t *testing.T) {
	tests := []struct {
		name    string
		version Version
		cgroup  string // /proc/PID/cgroup
		files   map[string]string
	}{
		{"v1", V1, "4:memory:/x\n1:cpu:/svc\n0::/\n", map[string]string{
			"edabench-inventory/cpu.cfs_period_us": "100000",
			"edabench-inventory/cpu.cfs_quota_us":  "25000",
			"edabench-inventory/cgroup.procs":      "42",
		}},
		{"v2", V2, "0::/svc\n", map[string]string{
			"cgroup.subtree_control":          "+cpu",
			"edabench-inventory/cpu.max":      "25000 100000",
			"edabench-inventory/cgroup.procs": "42",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root, proc := t.TempDir(), t.TempDir()
			os.MkdirAll(filepath.Join(root, "svc"), 0o755)
			os.MkdirAll(filepath.Join(proc, "42"), 0o755)
			os.WriteFile(filepath.Join(proc, "42", "cgroup"), []byte(tt.cgroup), 0o644)
			h := Hierarchy{Version: tt.version, Root: root, Proc: proc}
			undo, err := h.Cap(42, "inventory", 0.25)
			if err != nil {
				t.Fatal(err)
			}
			for f, want := range tt.files {
				b, err := os.ReadFile(filepath.Join(root, f))
				if err != nil || string(b) != want {
					t.Errorf("%s = %q, %v; want %q", f, b, err, want)
				}
			}
			// The fake cgroup keeps its files, so it cannot be removed as a
			// real (empty) one would: only the move back is checked.
			undo()
			if b, _ := os.ReadFile(filepath.Join(root, "svc", "cgroup.procs")); string(b) != "42" {
				t.Errorf("not moved back: svc/cgroup.procs = %q", b)
			}
		})
	}
	if _, err := (Hierarchy{Version: V1, Root: t.TempDir(), Proc: t.TempDir()}).Cap(1, "x", 0); err == nil {
		t.Error("a cap of 0 cores was accepted")
	}
}

// TestCapThrottles caps a spinning child on this machine's real cgroups and
// checks the kernel holds it near its quota, then that undo frees it.
func TestCapThrottles(t *testing.T) {
	h, err := Detect()
	if err != nil {
		t.Skipf("SKIPPED LOUDLY: %v; cpu-starve cannot run on this machine", err)
	}
	if os.Geteuid() != 0 {
		t.Skip("SKIPPED LOUDLY: cgroups need root to create; run the tests as root (CI does)")
	}
	cmd := exec.Command("sh", "-c", "while :; do :; done")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	pid := cmd.Process.Pid
	before, _ := h.current(pid)
	undo, err := h.Cap(pid, "test-"+strconv.Itoa(pid), 0.1)
	if err != nil {
		t.Fatal(err)
	}
	undone := false
	defer func() {
		if !undone {
			undo()
		}
	}()
	c0, t0 := cpuTicks(t, pid), time.Now()
	time.Sleep(2 * time.Second)
	used := float64(cpuTicks(t, pid)-c0) / 100 // USER_HZ
	share := used / time.Since(t0).Seconds()
	// The cap is an upper bound the kernel enforces per 100 ms period; a
	// spinning process uncapped uses a whole core.
	if share > 0.3 {
		t.Fatalf("capped at 0.1 cores, the child used %.2f cores", share)
	}
	if err := undo(); err != nil {
		t.Fatal(err)
	}
	undone = true
	if now, _ := h.current(pid); now != before {
		t.Fatalf("after undo the child is in %s, was in %s", now, before)
	}
	if _, err := os.Stat(filepath.Join(h.Root, "edabench-test-"+strconv.Itoa(pid))); !os.IsNotExist(err) {
		t.Fatalf("the cgroup was not removed: %v", err)
	}
	t.Logf("capped at 0.1 cores: used %.3f cores (%s, cgroup v%d)", share, h.Root, h.Version)
}

func cpuTicks(t *testing.T, pid int) int64 {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	u, _ := strconv.ParseInt(f[11], 10, 64)
	k, _ := strconv.ParseInt(f[12], 10, 64)
	return u + k
}
