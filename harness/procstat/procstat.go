// Package procstat reads what a process costs, CPU time and resident
// memory, from Linux's /proc, so a run can report what each service, the
// broker and the load generator itself consumed.
package procstat

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// clockTicks is USER_HZ, the unit of /proc/PID/stat's times. The kernel
// fixes it at 100 in its user ABI on every architecture Go supports,
// whatever CONFIG_HZ is, which is why Go's standard library can do without
// sysconf(_SC_CLK_TCK).
const clockTicks = 100

// ErrNotRunning means the process has exited (or is a zombie awaiting its
// parent's wait): there is nothing left to measure.
var ErrNotRunning = errors.New("process not running")

// Usage is what a process (or a tree of them) has consumed.
type Usage struct {
	// CPUSeconds is user plus system time.
	CPUSeconds float64 `json:"cpu_seconds"`
	// RSSBytes is the resident set now (VmRSS).
	RSSBytes int64 `json:"rss_bytes"`
	// PeakRSSBytes is the largest resident set (VmHWM): over the process's
	// life from Read, over what a Meter saw from Meter.Usage.
	PeakRSSBytes int64 `json:"peak_rss_bytes"`
}

// stat is the part of /proc/PID/stat procstat uses, in clock ticks.
type stat struct {
	comm                         string
	state                        byte
	ppid                         int
	utime, stime, cutime, cstime uint64
	starttime                    uint64 // since boot: with pid, names one incarnation
}

func readStat(pid int) (stat, error) {
	var st stat
	if pid <= 0 {
		return st, fmt.Errorf("procstat: pid %d: %w", pid, ErrNotRunning)
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ESRCH) {
			return st, fmt.Errorf("procstat: pid %d: %w", pid, ErrNotRunning)
		}
		return st, fmt.Errorf("procstat: %w", err)
	}
	st, err = parseStat(b)
	if err != nil {
		return st, fmt.Errorf("procstat: /proc/%d/stat: %w", pid, err)
	}
	switch st.state {
	case 'Z', 'X', 'x':
		return st, fmt.Errorf("procstat: pid %d (%s) has exited: %w", pid, st.comm, ErrNotRunning)
	}
	return st, nil
}

// parseStat parses "pid (comm) state ppid ...". comm may hold spaces and
// parentheses, so fields are counted from the last ')'.
func parseStat(b []byte) (stat, error) {
	var st stat
	open, end := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if open < 0 || end < open {
		return st, errors.New("malformed: no (comm)")
	}
	st.comm = string(b[open+1 : end])
	f := strings.Fields(string(b[end+1:]))
	// f[0] is field 3 (state) of proc(5), so field N is f[N-3].
	if len(f) < 20 {
		return st, fmt.Errorf("malformed: %d fields after comm, want at least 20", len(f))
	}
	st.state = f[0][0]
	var err error
	if st.ppid, err = strconv.Atoi(f[1]); err != nil {
		return st, fmt.Errorf("ppid: %w", err)
	}
	for i, dst := range []*uint64{&st.utime, &st.stime, &st.cutime, &st.cstime} {
		// cutime and cstime are signed in proc(5) but never negative.
		if *dst, err = strconv.ParseUint(f[11+i], 10, 64); err != nil {
			return st, fmt.Errorf("field %d: %w", 14+i, err)
		}
	}
	if st.starttime, err = strconv.ParseUint(f[19], 10, 64); err != nil {
		return st, fmt.Errorf("starttime: %w", err)
	}
	return st, nil
}

// readMem returns VmRSS and VmHWM in bytes.
func readMem(pid int) (rss, hwm int64, err error) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ESRCH) {
			return 0, 0, fmt.Errorf("procstat: pid %d: %w", pid, ErrNotRunning)
		}
		return 0, 0, fmt.Errorf("procstat: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	found := 0
	for sc.Scan() && found < 2 {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || (k != "VmRSS" && k != "VmHWM") {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("procstat: /proc/%d/status %s: %w", pid, k, err)
		}
		if k == "VmRSS" {
			rss = kb << 10
		} else {
			hwm = kb << 10
		}
		found++
	}
	if err := sc.Err(); err != nil {
		return 0, 0, fmt.Errorf("procstat: /proc/%d/status: %w", pid, err)
	}
	// Kernel threads and exiting processes have no Vm lines; an exiting
	// one is caught by the state check, so no lines means no user memory.
	return rss, hwm, nil
}

// Read is pid's own CPU time (all its threads; not its children) and
// memory.
func Read(pid int) (Usage, error) {
	u, _, err := readOne(pid)
	return u, err
}

func readOne(pid int) (Usage, stat, error) {
	st, err := readStat(pid)
	if err != nil {
		return Usage{}, st, err
	}
	rss, hwm, err := readMem(pid)
	if err != nil {
		return Usage{}, st, err
	}
	return Usage{CPUSeconds: ticksToSeconds(st.utime + st.stime), RSSBytes: rss, PeakRSSBytes: hwm}, st, nil
}

// ReadTree is Read summed over pid and its live descendants, plus the CPU
// time of every descendant that has exited and been waited for (cutime,
// cstime), so short-lived helpers are counted too. Descendants that
// daemonized (epmd) were reparented away and are not included.
//
// PeakRSSBytes sums each process's own peak: an upper bound, since the
// processes need not have peaked at the same moment.
func ReadTree(pid int) (Usage, error) {
	u, _, err := readTree(pid)
	return u, err
}

func readTree(pid int) (Usage, stat, error) {
	root, err := readStat(pid)
	if err != nil {
		return Usage{}, root, err
	}
	pids, err := descendants(pid)
	if err != nil {
		return Usage{}, root, err
	}
	var u Usage
	for i, p := range append([]int{pid}, pids...) {
		st := root
		if i > 0 {
			if st, err = readStat(p); err != nil {
				continue // exited since the scan; its parent's cutime has it once waited for
			}
		}
		rss, hwm, err := readMem(p)
		if err != nil {
			if i == 0 {
				return Usage{}, root, err
			}
			continue
		}
		u.CPUSeconds += ticksToSeconds(st.utime + st.stime + st.cutime + st.cstime)
		u.RSSBytes += rss
		u.PeakRSSBytes += hwm
	}
	return u, root, nil
}

// descendants walks /proc once: the kernel keeps no child list that
// survives across namespaces, but every process names its parent.
func descendants(pid int) ([]int, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("procstat: list processes: %w", err)
	}
	children := make(map[int][]int)
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue // exited during the walk
		}
		st, err := parseStat(b)
		if err != nil {
			continue
		}
		children[st.ppid] = append(children[st.ppid], p)
	}
	var out []int
	queue := []int{pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[p] {
			if c != pid {
				out = append(out, c)
				queue = append(queue, c)
			}
		}
	}
	return out, nil
}

func ticksToSeconds(t uint64) float64 { return float64(t) / clockTicks }

// Comm is the process's command name (at most 15 bytes), e.g. "beam.smp".
func Comm(pid int) (string, error) {
	st, err := readStat(pid)
	return st.comm, err
}
