// Package cpucap caps a running process's CPU with a cgroup quota, and
// undoes the cap by moving the process back where it was: a noisy
// neighbour, a throttled container. cgroups v1 (a mounted cpu controller)
// and v2 (the unified hierarchy with the cpu controller) are both handled.
package cpucap

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// period is the quota's accounting period: 100 ms, the kernel's default, so
// a capped process runs in bursts no longer than a scheduler would give it.
const period = 100_000 // µs

// Version is a cgroup hierarchy layout.
type Version int

const (
	V1 Version = 1
	V2 Version = 2
)

// Hierarchy is where the cpu controller is mounted.
type Hierarchy struct {
	Version Version
	// Root is the mount point: /sys/fs/cgroup/cpu (v1, or cpu,cpuacct) or
	// /sys/fs/cgroup (v2).
	Root string
	// Proc is /proc; a test points it at a fixture.
	Proc string
}

// Detect finds the cpu controller from /proc/self/mountinfo. v1 wins when
// both are mounted (a hybrid layout), since v2 then has no cpu controller.
func Detect() (Hierarchy, error) {
	return detect("/proc")
}

func detect(proc string) (Hierarchy, error) {
	f, err := os.Open(filepath.Join(proc, "self", "mountinfo"))
	if err != nil {
		return Hierarchy{}, fmt.Errorf("find the cgroup mounts: %w", err)
	}
	defer f.Close()
	var v2 string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// id parent major:minor root mountpoint options [optional...] - fstype source superoptions
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		fields, after := strings.Fields(pre), strings.Fields(post)
		if len(fields) < 5 || len(after) < 3 {
			continue
		}
		mnt := fields[4]
		switch after[0] {
		case "cgroup":
			for _, o := range strings.Split(after[2], ",") {
				if o == "cpu" {
					return Hierarchy{Version: V1, Root: mnt, Proc: proc}, nil
				}
			}
		case "cgroup2":
			b, err := os.ReadFile(filepath.Join(mnt, "cgroup.controllers"))
			if err == nil && hasWord(string(b), "cpu") {
				v2 = mnt
			}
		}
	}
	if v2 != "" {
		return Hierarchy{Version: V2, Root: v2, Proc: proc}, nil
	}
	return Hierarchy{}, errors.New("no cgroup cpu controller is mounted (looked in /proc/self/mountinfo for a cgroup v1 cpu mount or a cgroup2 mount offering cpu): cpu-starve needs one, and root")
}

func hasWord(s, w string) bool {
	for _, f := range strings.Fields(s) {
		if f == w {
			return true
		}
	}
	return false
}

// Cap moves pid into a new cgroup named name limited to cores CPUs (0.25 is
// a quarter of one) and returns the function that moves it back and removes
// the cgroup.
func (h Hierarchy) Cap(pid int, name string, cores float64) (func() error, error) {
	if cores <= 0 {
		return nil, fmt.Errorf("cpu cap %v: want a positive number of cores, e.g. 0.2", cores)
	}
	quota := int64(cores * period)
	if quota < 1000 {
		quota = 1000 // the kernel's minimum: 1 ms per period
	}
	orig, err := h.current(pid)
	if err != nil {
		return nil, err
	}
	parent := h.Root
	if h.Version == V2 {
		// v2 forbids processes in an inner cgroup whose children have
		// controllers, so the cap goes right under the root, which is
		// exempt, with cpu delegated to its children.
		if err := write(filepath.Join(parent, "cgroup.subtree_control"), "+cpu"); err != nil {
			return nil, fmt.Errorf("enable the cpu controller for cgroups under %s: %w", parent, err)
		}
	}
	dir := filepath.Join(parent, "edabench-"+name)
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return nil, fmt.Errorf("create cgroup %s: %w (cpu-starve needs root)", dir, err)
	}
	rm := func() { os.Remove(dir) }
	switch h.Version {
	case V1:
		if err := write(filepath.Join(dir, "cpu.cfs_period_us"), strconv.Itoa(period)); err != nil {
			rm()
			return nil, err
		}
		if err := write(filepath.Join(dir, "cpu.cfs_quota_us"), strconv.FormatInt(quota, 10)); err != nil {
			rm()
			return nil, err
		}
	case V2:
		if err := write(filepath.Join(dir, "cpu.max"), fmt.Sprintf("%d %d", quota, period)); err != nil {
			rm()
			return nil, err
		}
	default:
		rm()
		return nil, fmt.Errorf("cgroup version %d: want 1 or 2", h.Version)
	}
	// cgroup.procs moves every thread of the process, in both versions.
	if err := write(filepath.Join(dir, "cgroup.procs"), strconv.Itoa(pid)); err != nil {
		rm()
		return nil, fmt.Errorf("move process %d into %s: %w", pid, dir, err)
	}
	return func() error {
		err := write(filepath.Join(orig, "cgroup.procs"), strconv.Itoa(pid))
		if err != nil && !gone(h.Proc, pid) {
			return fmt.Errorf("move process %d back to %s: %w", pid, orig, err)
		}
		if err := os.Remove(dir); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove cgroup %s: %w", dir, err)
		}
		return nil
	}, nil
}

// current is the directory of pid's cgroup in this hierarchy.
func (h Hierarchy) current(pid int) (string, error) {
	b, err := os.ReadFile(filepath.Join(h.Proc, strconv.Itoa(pid), "cgroup"))
	if err != nil {
		return "", fmt.Errorf("read process %d's cgroups: %w", pid, err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		// hierarchy-id:controllers:path
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		v1cpu := false
		for _, c := range strings.Split(parts[1], ",") {
			v1cpu = v1cpu || c == "cpu"
		}
		if (h.Version == V1 && v1cpu) || (h.Version == V2 && parts[0] == "0" && parts[1] == "") {
			return filepath.Join(h.Root, parts[2]), nil
		}
	}
	return "", fmt.Errorf("process %d is in no cgroup v%d cpu hierarchy (/proc/%d/cgroup)", pid, h.Version, pid)
}

func gone(proc string, pid int) bool {
	_, err := os.Stat(filepath.Join(proc, strconv.Itoa(pid)))
	return errors.Is(err, os.ErrNotExist)
}

func write(path, v string) error {
	if err := os.WriteFile(path, []byte(v), 0o644); err != nil {
		return fmt.Errorf("write %q to %s: %w", v, path, err)
	}
	return nil
}
