package cpucap

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// Group is one cgroup with a CPU quota that processes are moved into, and
// moved back out of, one by one: a tier of a deployment (a service and its
// children, the broker). Safe for concurrent use.
type Group struct {
	h     Hierarchy
	dir   string
	Cores float64

	mu   sync.Mutex
	orig map[int]string // pid -> the cgroup it came from
}

// NewGroup creates the cgroup name (under the hierarchy's root, as Cap's)
// limited to cores CPUs.
func (h Hierarchy) NewGroup(name string, cores float64) (*Group, error) {
	if cores <= 0 {
		return nil, fmt.Errorf("cpu budget %v for %s: want a positive number of cores, e.g. 0.5", cores, name)
	}
	quota := max(int64(cores*period), 1000) // the kernel's minimum: 1 ms per period
	if h.Version == V2 {
		// Processes may only live in leaves once cpu is delegated; the
		// root is exempt, so the groups go right under it (see Cap).
		if err := write(filepath.Join(h.Root, "cgroup.subtree_control"), "+cpu"); err != nil {
			return nil, fmt.Errorf("enable the cpu controller for cgroups under %s: %w", h.Root, err)
		}
	}
	dir := filepath.Join(h.Root, name)
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return nil, fmt.Errorf("create cgroup %s: %w (cgroups need root)", dir, err)
	}
	var err error
	switch h.Version {
	case V1:
		err = errors.Join(write(filepath.Join(dir, "cpu.cfs_period_us"), strconv.Itoa(period)),
			write(filepath.Join(dir, "cpu.cfs_quota_us"), strconv.FormatInt(quota, 10)))
	case V2:
		err = write(filepath.Join(dir, "cpu.max"), fmt.Sprintf("%d %d", quota, period))
	default:
		err = fmt.Errorf("cgroup version %d: want 1 or 2", h.Version)
	}
	if err != nil {
		os.Remove(dir)
		return nil, err
	}
	return &Group{h: h, dir: dir, Cores: cores, orig: map[int]string{}}, nil
}

// Dir is the cgroup's directory.
func (g *Group) Dir() string { return g.dir }

// Add moves pid (every thread of it) into the group, remembering where it
// was; adding it again is a no-op unless it left.
func (g *Group) Add(pid int) error {
	cur, err := g.h.current(pid)
	if err != nil {
		return err
	}
	if cur == g.dir {
		return nil
	}
	if err := write(filepath.Join(g.dir, "cgroup.procs"), strconv.Itoa(pid)); err != nil {
		return fmt.Errorf("move process %d into %s: %w", pid, g.dir, err)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, ok := g.orig[pid]; !ok {
		g.orig[pid] = cur
	}
	return nil
}

// Remove moves every process still in the group back where it came from
// (a process that was never added, a child forked inside, goes where its
// parent came from, else to the root), then removes the cgroup. Safe to
// call more than once.
func (g *Group) Remove() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	var errs []error
	for _, pid := range g.members() {
		to, ok := g.orig[pid]
		if !ok {
			to = g.h.Root
			if pp, err := parent(g.h.Proc, pid); err == nil && g.orig[pp] != "" {
				to = g.orig[pp]
			}
		}
		if err := write(filepath.Join(to, "cgroup.procs"), strconv.Itoa(pid)); err != nil && !gone(g.h.Proc, pid) {
			errs = append(errs, fmt.Errorf("move process %d back to %s: %w", pid, to, err))
		}
	}
	if err := os.Remove(g.dir); err != nil && !errors.Is(err, os.ErrNotExist) {
		errs = append(errs, fmt.Errorf("remove cgroup %s: %w", g.dir, err))
	}
	return errors.Join(errs...)
}

// members are the processes in the group now.
func (g *Group) members() []int {
	b, err := os.ReadFile(filepath.Join(g.dir, "cgroup.procs"))
	if err != nil {
		return nil
	}
	var out []int
	for _, f := range strings.Fields(string(b)) {
		if pid, err := strconv.Atoi(f); err == nil {
			out = append(out, pid)
		}
	}
	return out
}

// parent is pid's parent process.
func parent(proc string, pid int) (int, error) {
	b, err := os.ReadFile(filepath.Join(proc, strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, err
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 2 {
		return 0, fmt.Errorf("/proc/%d/stat: too short", pid)
	}
	return strconv.Atoi(f[1])
}

// Descendants lists pid's children, their children and so on, from /proc.
func (h Hierarchy) Descendants(pid int) []int {
	ents, err := os.ReadDir(h.Proc)
	if err != nil {
		return nil
	}
	kids := map[int][]int{}
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if pp, err := parent(h.Proc, p); err == nil {
			kids[pp] = append(kids[pp], p)
		}
	}
	var out []int
	queue := []int{pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		out = append(out, kids[p]...)
		queue = append(queue, kids[p]...)
	}
	return out
}

// Groups lists the cgroups under the root whose names start with prefix,
// for a sweep of those a killed run left behind.
func (h Hierarchy) Groups(prefix string) []string {
	ents, err := os.ReadDir(h.Root)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range ents {
		if e.IsDir() && strings.HasPrefix(e.Name(), prefix) {
			out = append(out, e.Name())
		}
	}
	return out
}

// Adopt is the group already at name (one a killed run left behind), so it
// can be removed.
func (h Hierarchy) Adopt(name string) *Group {
	return &Group{h: h, dir: filepath.Join(h.Root, name), orig: map[int]string{}}
}
