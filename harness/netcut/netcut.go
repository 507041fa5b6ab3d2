// Package netcut cuts one local process tree off the network at the
// kernel while every process keeps its addresses on 127.0.0.1: the tree
// runs in a cgroup (v2) of its own from its first instruction (Group,
// Into), and Cut loads an nftables table of its own whose input and
// output hooks drop every packet to or from a socket of that cgroup.
// Loopback traffic crosses both hooks, so the tree loses its peers and
// its clients in both directions, on every port it listens on or dials,
// whatever the protocol: Erlang distribution, whose ports the nodes find
// through epmd and which a proxy would miss, included. Established
// connections stall (nothing is reset), new ones time out, as in a real
// partition; Heal deletes the table and traffic resumes.
//
// Why cgroups and not network namespaces: a broker node in a namespace
// needs an address of its own, and a RabbitMQ or Kafka cluster names its
// peers by host and port in its config, its data and its clients' URLs;
// here nothing about the cluster changes, only the kernel's filter.
//
// Everything is named edabench-...: the cgroups (edabench-<node>, at the
// top of the cgroup v2 hierarchy) and the tables (inet edabench-<node>).
// Nothing else is touched. A table's owner (pid and start time) is
// recorded in StateDir before the table is made, so that Sweep removes
// what a killed owner left; a cgroup is removed when its node stops, or
// by Sweep once empty.
package netcut

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Prefix starts the name of every cgroup and nftables table this package
// makes, and nothing else's.
const Prefix = "edabench-"

// StateDir holds one record per table (its owner), on the tmpfs that, like
// the tables themselves, does not survive a reboot.
const StateDir = "/run/edabench/netcut"

// cmdTimeout bounds one nft(8) command: they take milliseconds, and a hung
// one must not hold a fault's undo forever.
const cmdTimeout = 10 * time.Second

// emptyAge is how long an empty cgroup is left to the start that made it
// before Sweep removes it: a start makes its group and moves its process
// in within milliseconds.
const emptyAge = time.Minute

// cgroupMounts lists the mounts to find the cgroup v2 hierarchy in.
const cgroupMounts = "/proc/self/mounts"

// nftCgroupRoot is where nft(8) resolves a cgroup path given in a rule.
const nftCgroupRoot = "/sys/fs/cgroup"

var unsafeChars = regexp.MustCompile(`[^a-z0-9-]+`)

func logger() *slog.Logger { return slog.Default().With("component", "netcut") }

// GroupName is the cgroup a node whose data lives in dir runs in: its
// folder's name and a hash of the whole path, so two clusters' node-1 differ.
func GroupName(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		abs = dir
	}
	sum := sha256.Sum256([]byte(abs))
	base := strings.Trim(unsafeChars.ReplaceAllString(strings.ToLower(filepath.Base(abs)), "-"), "-")
	if len(base) > 24 {
		base = base[:24]
	}
	return Prefix + base + "-" + hex.EncodeToString(sum[:4])
}

// Root is the cgroup v2 hierarchy's mount point (/sys/fs/cgroup on a
// unified host, /sys/fs/cgroup/unified on a hybrid one).
func Root() (string, error) {
	f, err := os.Open(cgroupMounts)
	if err != nil {
		return "", fmt.Errorf("netcut: %w", err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) >= 3 && fields[2] == "cgroup2" {
			return fields[1], nil
		}
	}
	return "", errors.New("netcut: no cgroup v2 hierarchy is mounted: mount one (mount -t cgroup2 none /sys/fs/cgroup/unified) to cut a node off")
}

// Group is a node's cgroup, open for a start to place its process in.
type Group struct {
	Name string
	dir  *os.File
}

// OpenGroup makes (or reuses) the cgroup name and opens it.
func OpenGroup(name string) (*Group, error) {
	if !strings.HasPrefix(name, Prefix) || strings.ContainsAny(name, "/.") {
		return nil, fmt.Errorf("netcut: group %q: want %s followed by a-z, 0-9 and -", name, Prefix)
	}
	root, err := Root()
	if err != nil {
		return nil, err
	}
	path := filepath.Join(root, name)
	if err := os.Mkdir(path, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return nil, fmt.Errorf("netcut: make cgroup %s (needs root): %w", path, err)
	}
	// The start that follows is what makes the group busy; touching it
	// tells Sweep it is new.
	now := time.Now()
	_ = os.Chtimes(path, now, now)
	d, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("netcut: open cgroup %s: %w", path, err)
	}
	return &Group{Name: name, dir: d}, nil
}

// Into makes cmd start inside the group (clone3 with CLONE_INTO_CGROUP):
// every socket the process and its children ever open belongs to it. The
// group must stay open until cmd has started.
func (g *Group) Into(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.UseCgroupFD = true
	cmd.SysProcAttr.CgroupFD = int(g.dir.Fd())
}

// Close releases the open group (not the cgroup).
func (g *Group) Close() error { return g.dir.Close() }

// RemoveGroup removes the cgroup name if no process is left in it; one
// still holding a process is left, and said so.
func RemoveGroup(name string) error {
	root, err := Root()
	if err != nil {
		return err
	}
	path := filepath.Join(root, name)
	// A node's last processes (RabbitMQ's wrapper script, the VM's port
	// helpers) exit a moment after the one its stop waited for.
	deadline := time.Now().Add(removeWait)
	for {
		err := syscall.Rmdir(path)
		switch {
		case err == nil || errors.Is(err, syscall.ENOENT):
			return nil
		case !errors.Is(err, syscall.EBUSY) || time.Now().After(deadline):
			return fmt.Errorf("netcut: remove cgroup %s: %w", path, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// removeWait is how long RemoveGroup waits for a group's last processes.
const removeWait = 10 * time.Second

// IsCut reports whether pid's group is cut off now (a cut's record is
// there from before its table is loaded until after it is deleted): a
// lookup that would wait on it for nothing can skip it.
func IsCut(pid int) bool {
	g, err := GroupOf(pid)
	if err != nil || g == "" {
		return false
	}
	_, err = os.Stat(recordPath(g))
	return err == nil
}

// GroupOf is the cgroup pid runs in if it is one of ours ("" otherwise).
func GroupOf(pid int) (string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		return "", fmt.Errorf("netcut: pid %d: %w", pid, err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if path, ok := strings.CutPrefix(line, "0::/"); ok {
			if strings.HasPrefix(path, Prefix) && !strings.Contains(path, "/") {
				return path, nil
			}
			return "", nil
		}
	}
	return "", nil
}

// populated reads a cgroup's cgroup.events.
func populated(dir string) bool {
	b, err := os.ReadFile(filepath.Join(dir, "cgroup.events"))
	return err != nil || !strings.Contains(string(b), "populated 0")
}

// pidAlive is true if pid runs with the start time ticks (0: any).
func pidAlive(pid int, ticks uint64) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	if ticks == 0 {
		return true
	}
	got, err := startTicks(b)
	return err == nil && got == ticks
}

// startTicks is field 22 of /proc/PID/stat, after the command's closing
// parenthesis (the command may hold spaces).
func startTicks(stat []byte) (uint64, error) {
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, errors.New("netcut: malformed stat")
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 {
		return 0, errors.New("netcut: short stat")
	}
	return strconv.ParseUint(f[19], 10, 64)
}
